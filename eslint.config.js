// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.miglio/**',
      'dashboards/dist/**',
      'coverage/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
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
  {
    files: ['services/shared/contracts/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'pg', 'mqtt', 'kysely', '../../*'] },
      ],
    },
  },
  {
    files: ['dashboards/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['../services/*/!(shared)', '../simulator/*', 'node:*'] },
      ],
    },
  },
  {
    // The bundler script runs in Node, not in the browser.
    files: ['dashboards/build.ts', 'dashboards/build.test.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['simulator/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '**/services/ingest/**',
            '**/services/api/**',
            '**/shared/db/**',
            'pg',
            'kysely',
          ],
        },
      ],
    },
  },
  {
    files: ['services/ingest/**'],
    // Tests are the harness: they may drive ingest with the simulator.
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/api/**', '**/simulator/**'] }] },
  },
  {
    files: ['services/api/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/ingest/**', '**/simulator/**'] }],
    },
  },
)
