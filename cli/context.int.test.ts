import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// `miglio context import <file>` as a user runs it: a child process on the CLI's default, an
// embedded database in a temporary data directory (the API test covers the import on both engines).
const BIN = new URL('../bin/miglio.mjs', import.meta.url).pathname

async function miglio(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, out, err }
}

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miglio-context-'))
  await writeFile(
    join(dir, 'meteo.csv'),
    'time;zone;variable;value\n2026-11-21 10:00;;rain_mm;2,4\n2026-11-21;;market;1\n',
  )
  await writeFile(
    join(dir, 'bad.csv'),
    'time,zone,variable,value\n2026-11-21T10:00:00Z,,rain_mm,1\n2026-11-31,,rain_mm,2\n',
  )
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('miglio context import', () => {
  it('imports a file, and refuses a file with a bad row naming the row', async () => {
    const env = { MIGLIO_DATA_DIR: join(dir, 'data') }
    const good = await miglio(['context', 'import', join(dir, 'meteo.csv')], env)
    expect(good.code, good.err).toBe(0)
    expect(good.out).toMatch(
      /^imported 2 rows from meteo\.csv \(rain_mm, market\) as [0-9a-f-]{36}\n$/,
    )

    const bad = await miglio(['context', 'import', join(dir, 'bad.csv')], env)
    expect(bad.code).not.toBe(0)
    expect(bad.err).toMatch(/nothing imported: row 3: time: 2026-11-31 is not a date/)
    expect(bad.out).toBe('')
  }, 200_000)
})
