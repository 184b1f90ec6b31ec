import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Miglio's root directory (migrations/, the worker scripts, node_modules): the nearest directory at
 * or above `from` whose package.json is Miglio's. Found by walking up rather than by a fixed
 * relative path, so the same code finds it from the TypeScript sources (run through tsx) and from
 * the compiled bundle in dist/ (`npm run build`), where every module's `import.meta.url` is the
 * bundle's.
 */
export function packageRoot(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }
      if (pkg.name === 'miglio') return dir
    } catch {
      // no package.json here, or not readable: keep walking up
    }
    const up = dirname(dir)
    if (up === dir) throw new Error(`Miglio's package.json not found above ${fileURLToPath(from)}`)
    dir = up
  }
}

export const PACKAGE_ROOT = packageRoot()
