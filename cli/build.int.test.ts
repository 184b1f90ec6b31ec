import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../services/shared/testing/engines.ts'
import { MIGRATIONS_DIR } from '../services/shared/db/migrate.ts'

// `npm run build`: the CLI as one compiled module, dist/miglio.mjs, run without tsx.
const ROOT = new URL('..', import.meta.url).pathname
const BUILT = new URL('../dist/miglio.mjs', import.meta.url).pathname

function node(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  })
}

let database: TestDatabase
beforeAll(async () => {
  const built = node(['bin/build.mjs'])
  expect(built.status, built.stderr).toBe(0)
  expect(built.stdout).toMatch(/dist\/miglio\.mjs built from \d+ modules/)
  database = await createTestDatabase({ migrate: false })
}, 180_000)
afterAll(async () => {
  await database?.close()
})

describe('the compiled CLI (dist/miglio.mjs)', () => {
  it('runs without the TypeScript loader and lists the commands', () => {
    const help = node([BUILT, '--help'])
    expect(help.status, help.stderr).toBe(0)
    for (const command of ['start', 'ingest', 'api', 'migrate'])
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'))
  })

  it('finds the migrations from dist/ and applies every one of them', async () => {
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f))
    const migrate = node([BUILT, 'migrate'], { DATABASE_URL: database.url })
    expect(migrate.status, migrate.stderr).toBe(0)
    expect(migrate.stdout).toContain(`applied ${files.length} migrations`)
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM kysely_migration`.execute(database.db)
    expect(rows[0]?.n).toBe(files.length)
  })
})
