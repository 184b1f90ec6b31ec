// @ts-check
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const ROOT = dirname(fileURLToPath(import.meta.url))

/**
 * The house (docs/architecture.md): the part of the repository a path belongs to (first match),
 * and below, the parts each may import besides its own files. A part without arrows (cli, test,
 * bench) may import anything; nothing but them may import cli or start (no arrow leads there).
 * @type {[part: string, prefix: string][]}
 */
const PARTS = [
  ['contracts', 'services/shared/contracts/'],
  ['shared', 'services/shared/'],
  ['ingest', 'services/ingest/'],
  ['api', 'services/api/'],
  ['start', 'start/'],
  ['cli', 'cli/'],
  ['cli', 'bin/'],
  ['simulator', 'simulator/'],
  ['dashboards', 'dashboards/'],
  ['test', 'test/'],
  ['bench', 'bench/'],
]
/** @type {Record<string, string[]>} */
const ARROWS = {
  contracts: [],
  shared: ['contracts'],
  ingest: ['shared', 'contracts'],
  api: ['shared', 'contracts'],
  start: ['shared', 'contracts', 'ingest', 'api', 'simulator', 'dashboards'],
  simulator: ['contracts'],
  dashboards: ['contracts'],
}
/**
 * The exceptions, each a reason: [importing file (regex on its repository path), imported path
 * prefix].
 * @type {[file: RegExp, prefix: string][]}
 */
const EXCEPTIONS = [
  // Ingest's tests drive it with the simulator's traffic.
  [/^services\/ingest\/.*\.test\.ts$/, 'simulator/'],
  // The simulator's tests publish to the suite's broker.
  [/^simulator\/.*\.test\.ts$/, 'services/shared/testing/'],
  // The API process bundles the pages it serves.
  [/^services\/api\/main\.ts$/, 'dashboards/build.ts'],
]

/** @param {string} path a path relative to the repository, `/`-separated */
const partOf = (path) => PARTS.find(([, prefix]) => path.startsWith(prefix))?.[0]

/** @type {import('eslint').Rule.RuleModule} */
const arrowsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the arrows of the house (docs/architecture.md)' },
    schema: [],
  },
  create(context) {
    const from = relative(ROOT, context.filename).split(sep).join('/')
    const fromPart = partOf(from)
    const allowed = fromPart === undefined ? undefined : ARROWS[fromPart]
    if (!allowed) return {}
    /** @param {import('estree').Node | null | undefined} source */
    const check = (source) => {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return
      if (!source.value.startsWith('.')) return
      const to = relative(ROOT, resolve(dirname(context.filename), source.value))
        .split(sep)
        .join('/')
      const toPart = partOf(to)
      if (toPart === undefined || toPart === fromPart || allowed.includes(toPart)) return
      if (EXCEPTIONS.some(([file, prefix]) => file.test(from) && to.startsWith(prefix))) return
      context.report({
        node: source,
        message: `${fromPart} must not import ${toPart} (${to}): ${fromPart} imports only ${allowed.join(', ') || 'itself'} (docs/architecture.md)`,
      })
    }
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    }
  },
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.miglio/**',
      'dashboards/dist/**',
      'dist/**',
      'bench/.build/**',
      'coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    plugins: { miglio: { rules: { arrows: arrowsRule } } },
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      'miglio/arrows': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read process.env only in main/cli entry points (config).',
        },
      ],
    },
  },
  {
    files: ['cli/**', 'bin/**', 'test/**', 'bench/**', '**/*.test.ts', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  // Packages a part must not use (its imports of other parts: miglio/arrows above).
  {
    files: ['services/shared/contracts/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'pg', 'mqtt', 'kysely'] }],
    },
  },
  {
    files: ['dashboards/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['node:*'] }] },
  },
  {
    // The bundler script runs in Node, not in the browser.
    files: ['dashboards/build.ts', 'dashboards/build.test.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['simulator/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['pg', 'kysely'] }] },
  },
)
