/// <reference types="node" />
import { build } from 'esbuild'
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const STATIC_FILES = ['index.html', 'styles.css'] as const

export function dashboardsSourceDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'src')
}

export async function buildDashboards(
  outDir: string,
): Promise<{ outDir: string; files: string[] }> {
  const target = resolve(outDir)
  const sourceDir = dashboardsSourceDir()
  const workDir = dirname(sourceDir)
  await mkdir(target, { recursive: true })

  const result = await build({
    entryPoints: [join(sourceDir, 'main.ts')],
    outfile: join(target, 'app.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    target: 'es2022',
    format: 'esm',
    platform: 'browser',
    charset: 'utf8',
    legalComments: 'eof',
    logLevel: 'silent',
    metafile: true,
    absWorkingDir: workDir,
  })

  await Promise.all(STATIC_FILES.map((file) => copyFile(join(sourceDir, file), join(target, file))))

  const bundled = Object.keys(result.metafile.outputs).map((output) =>
    relative(target, resolve(workDir, output)),
  )
  const files = [...bundled, ...STATIC_FILES].sort()
  return { outDir: target, files }
}
