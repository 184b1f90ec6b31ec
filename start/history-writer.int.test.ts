import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../services/shared/config.ts'
import { loadDistrict } from '../services/shared/registry/district-repository.ts'
import {
  createTestDatabase,
  waitFor,
  type TestDatabase,
} from '../services/shared/testing/engines.ts'
import { tinyDistrict } from '../services/shared/testing/fixtures.ts'
import { createLogCapture, MAC_PATTERN } from '../services/shared/testing/helpers.ts'
import { startHistoryWriter } from './history-writer.ts'

// The demo history (SIM_HISTORY): written once per database through ingest's pure steps, straight to
// the database, visible in the aggregates, without pseudonyms or keys left behind.
let t: TestDatabase
const district = tinyDistrict()
const tz = district.timezone
const endMs = Date.parse('2026-11-30T10:00:00Z')
const capture = createLogCapture('info')

beforeAll(async () => {
  t = await createTestDatabase()
  await loadDistrict(t.db, district)
})

afterAll(async () => {
  await t?.close()
})

const run = (env: Record<string, string>) =>
  startHistoryWriter({
    config: loadConfig({ SIM_FLAT_DAY: 'true', ...env }),
    district,
    db: t.db,
    tz,
    endMs,
    log: capture.log,
  }).done

const count = async () =>
  Number(
    (
      await sql<{ n: string; named: string }>`
        SELECT count(*) AS n, count(pseudonym) AS named FROM transits`.execute(t.db)
    ).rows[0]?.n,
  )

describe('the demo history', () => {
  it('writes its days once, into the aggregates, and a restart writes nothing', async () => {
    const first = await run({ SIM_HISTORY: '1d' })
    expect(first.kind, capture.text().slice(-2000)).toBe('written')
    const written = first.kind === 'written' ? first.transits : 0
    expect(written).toBeGreaterThan(100)
    expect(await count()).toBe(written)

    const named = await sql<{ n: string }>`
      SELECT count(*) AS n FROM transits WHERE pseudonym IS NOT NULL`.execute(t.db)
    expect(Number(named.rows[0]?.n)).toBe(0)
    const keys = await sql<{ n: string }>`SELECT count(*) AS n FROM pseudonym_keys`.execute(t.db)
    expect(Number(keys.rows[0]?.n)).toBe(0)

    // Materialised, not only real-time: the hourly aggregate holds every transit of the history.
    const hourly = await sql<{ n: string }>`
      SELECT coalesce(sum(passers_by + visitors), 0) AS n FROM footfall_1h
      WHERE bucket < ${new Date(endMs)}`.execute(t.db)
    expect(Number(hourly.rows[0]?.n)).toBe(written)

    // Flows between zones for its whole days, computed before the pseudonyms were dropped.
    const flows = await sql<{ n: string }>`
      SELECT coalesce(sum(flows), 0) AS n FROM flows_daily WHERE bucket < ${new Date(endMs)}`.execute(
      t.db,
    )
    expect(Number(flows.rows[0]?.n)).toBeGreaterThan(0)

    const record = await t.db.selectFrom('demo_history').selectAll().executeTakeFirstOrThrow()
    expect(record.days_done).toBe(record.days_total)
    expect(record.finished_at).not.toBeNull()

    const again = await run({ SIM_HISTORY: '1d' })
    expect(again.kind).toBe('already')
    expect(await count()).toBe(written)
    expect(capture.text()).toContain('BACKFILL MODE')
    expect(capture.text()).toContain('demo history already written')
    expect(capture.text()).not.toMatch(MAC_PATTERN)
  })

  it('writes nothing with SIM_HISTORY=0', async () => {
    expect((await run({ SIM_HISTORY: '0' })).kind).toBe('off')
  })

  it('stops between days: what it wrote is whole and recorded, and nothing follows the stop', async () => {
    const other = await createTestDatabase()
    try {
      await loadDistrict(other.db, district)
      const log = createLogCapture('info')
      const writer = startHistoryWriter({
        config: loadConfig({ SIM_FLAT_DAY: 'true', SIM_HISTORY: '30d' }),
        district,
        db: other.db,
        tz,
        endMs,
        log: log.log,
      })
      const done = async () =>
        (await other.db.selectFrom('demo_history').select('days_done').executeTakeFirst())
          ?.days_done ?? 0
      await waitFor(done, (n) => n >= 1, { timeoutMs: 120_000, what: 'a first history day' })
      await writer.stop()
      expect((await writer.done).kind).toBe('stopped')
      const lines = log
        .text()
        .split('\n')
        .filter((l) => l.includes('"daysDone"'))
        .map((l) => JSON.parse(l) as { transits: number; keysAlive: number })
      const recorded = await done()
      expect(recorded).toBe(lines.length)
      expect(recorded).toBeLessThan(31)
      expect(lines.every((l) => l.keysAlive === 0)).toBe(true)
      const rows = async () =>
        Number(
          (await sql<{ n: string }>`SELECT count(*) AS n FROM transits`.execute(other.db)).rows[0]
            ?.n,
        )
      const n = await rows()
      expect(n).toBe(lines.reduce((a, l) => a + l.transits, 0))
      // The workers are gone: no day is written after the stop.
      await new Promise<void>((resolve) => setImmediate(resolve))
      expect(await rows()).toBe(n)
      expect(await done()).toBe(recorded)
    } finally {
      await other.close()
    }
  })
})
