import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The front door only parses commands and calls the processes' mains; the mains and the
 * composition of `miglio start` only wire. None of their functions may grow back into a page-long
 * command (buildCli was 210 lines). A function is counted by the TypeScript parser from its first
 * line to its last, the functions nested in it included; tests are not counted.
 */
const MAX_FUNCTION_LINES = 150

const root = fileURLToPath(new URL('..', import.meta.url))

/** cli/ and start/, and every process's main. */
function sources(): string[] {
  const inDir = (dir: string) =>
    readdirSync(join(root, dir))
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
      .map((name) => join(root, dir, name))
  return [
    ...inDir('cli'),
    ...inDir('start'),
    ...['services/ingest/main.ts', 'services/api/main.ts', 'simulator/main.ts'].map((p) =>
      join(root, p),
    ),
  ]
}

/** The length in lines of every function (declaration, expression, arrow, method) of a file. */
function functionSizes(path: string, text: string): { where: string; lines: number }[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const sizes: { where: string; lines: number }[] = []
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line
      const name = node.name?.getText(file) ?? '(anonymous)'
      sizes.push({ where: `${relative(root, path)}:${first + 1} ${name}`, lines: last - first + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return sizes
}

describe('function sizes of the entry points', () => {
  it('counts nested functions, each from its first line to its last', () => {
    const text = ['function outer() {', '  const f = () => {', '    return 1', '  }', '}'].join(
      '\n',
    )
    expect(functionSizes(join(root, 'x.ts'), text)).toEqual([
      { where: 'x.ts:1 outer', lines: 5 },
      { where: 'x.ts:2 (anonymous)', lines: 3 },
    ])
  })

  it(`keeps every function of cli/, start/ and the mains within ${MAX_FUNCTION_LINES} lines`, () => {
    const sizes = sources().flatMap((path) => functionSizes(path, readFileSync(path, 'utf8')))
    expect(sizes.map((s) => s.where)).toContainEqual(
      expect.stringMatching(/^cli\/main\.ts:\d+ buildCli$/),
    )
    const tooLong = sizes
      .filter((s) => s.lines > MAX_FUNCTION_LINES)
      .sort((a, b) => b.lines - a.lines)
    expect(tooLong).toEqual([])
  })
})
