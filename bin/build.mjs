#!/usr/bin/env node
// `npm run build`: the CLI compiled to one ES module, dist/miglio.mjs — the same commands as
// bin/miglio.mjs without the TypeScript loader, for production processes (`node dist/miglio.mjs
// ingest`): about 50 MB less resident memory per process (tsx's loader runs in a thread of its own
// with its own heap) and a faster start. Packages stay in node_modules; the worker scripts and the
// migrations are read from the repository (services/shared/package-root.ts), so dist/ must stay
// inside it. Rebuild after changing the sources: nothing checks that dist/ is current.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const started = Date.now()
const result = await build({
  absWorkingDir: root,
  entryPoints: ['cli/run.ts'],
  outfile: 'dist/miglio.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'external',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
process.stdout.write(
  `dist/miglio.mjs built from ${Object.keys(result.metafile.inputs).length} modules (${(bytes / 2 ** 20).toFixed(1)} MiB with its source map) in ${Date.now() - started} ms\n`,
)
