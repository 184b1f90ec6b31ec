/// <reference types="node" />
/* eslint-disable no-restricted-imports -- this test reads the dashboards' sources from disk */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
/* eslint-enable no-restricted-imports */
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The dashboards are views of panels, panels of charts: no function is allowed to grow back into a
 * page-long closure. A function's length is counted by the TypeScript parser from its first line to
 * its last, the functions nested in it included; tests are not counted.
 */
const MAX_FUNCTION_LINES = 150

const root = fileURLToPath(new URL('.', import.meta.url))

interface FunctionSize {
  /** `file:line name` */
  where: string
  lines: number
}

/** Every TypeScript source under `dir` but tests, build output and dependencies. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sources(path)
    }
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

function nameOf(node: ts.SignatureDeclaration, file: ts.SourceFile): string {
  if (node.name) return node.name.getText(file)
  const parent = node.parent
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(file)
  }
  return '(anonymous)'
}

/** The length in lines of every function (declaration, expression, arrow, method) of a file. */
function functionSizes(path: string, text: string): FunctionSize[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const sizes: FunctionSize[] = []
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line
      sizes.push({
        where: `${relative(root, path)}:${first + 1} ${nameOf(node, file)}`,
        lines: last - first + 1,
      })
    }
    ts.forEachChild(node, visit)
  }
  visit(file)
  return sizes
}

describe('function sizes', () => {
  it('counts nested functions and arrows, each from its first line to its last', () => {
    const text = [
      'function outer() {',
      '  const inner = () => {',
      '    return 1',
      '  }',
      '}',
      'const o = { m() { return 2 } }',
    ].join('\n')

    expect(functionSizes(join(root, 'x.ts'), text)).toEqual([
      { where: 'x.ts:1 outer', lines: 5 },
      { where: 'x.ts:2 inner', lines: 3 },
      { where: 'x.ts:6 m', lines: 1 },
    ])
  })

  it(`keeps every function of the dashboards within ${MAX_FUNCTION_LINES} lines`, () => {
    const sizes = sources(root).flatMap((path) => functionSizes(path, readFileSync(path, 'utf8')))

    expect(sizes.length).toBeGreaterThan(100)
    const tooLong = sizes
      .filter((size) => size.lines > MAX_FUNCTION_LINES)
      .sort((a, b) => b.lines - a.lines)
    expect(tooLong).toEqual([])
  })
})
