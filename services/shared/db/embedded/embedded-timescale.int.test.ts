import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { startEmbeddedTimescale, type EmbeddedTimescale } from './embedded-timescale.ts'
import { createDb } from '../create-db.ts'
import { runMigrations } from '../migrate.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'miglio-embedded-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function start(dir: string): Promise<EmbeddedTimescale> {
  const e = await startEmbeddedTimescale({ dataDir: dir })
  cleanups.push(() => e.stop())
  return e
}

describe(startEmbeddedTimescale.name, () => {
  it('refuses a second instance on a data directory that is in use, and allows it after stop', async () => {
    const dir = await tempDir()
    const first = await start(dir)
    await expect(startEmbeddedTimescale({ dataDir: dir })).rejects.toMatchObject({
      code: 'data_dir_locked',
    })
    await first.stop()
    const second = await start(dir)
    expect(second.port).toBeGreaterThan(0)
  })

  it('reopens a data directory with compressed transit chunks and counts them right', async () => {
    const dir = await tempDir()
    const first = await start(dir)
    let { db } = createDb({ url: first.url, maxConnections: 1 })
    await runMigrations(db)
    const day = 86_400_000
    const base = Date.now() - 10 * day
    const n = 3000
    await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s, peak_rssi,
                            samples, radio, randomised, visitor, threshold_version)
      SELECT to_timestamp((${base}::float8 + i * 600000) / 1000), to_timestamp((${base}::float8 + i * 600000 + 30000) / 1000),
             'gw-' || (i % 3), 'zone-' || (i % 3), NULL, i, 30, -70, 3, 'wifi', false, (i % 4 = 0), 1
      FROM generate_series(1, ${n}) AS i`.execute(db)
    const compressed = await sql<{ c: string }>`
      SELECT compress_chunk(c, if_not_compressed => true)::text AS c
      FROM show_chunks('transits', older_than => INTERVAL '4 days') c`.execute(db)
    expect(compressed.rows.length).toBeGreaterThan(3)
    await db.destroy()
    await first.stop()

    const second = await start(dir)
    ;({ db } = createDb({ url: second.url, maxConnections: 1 }))
    try {
      const count = await sql<{ n: number; visitors: number }>`
        SELECT count(*)::int AS n, count(*) FILTER (WHERE visitor)::int AS visitors FROM transits`.execute(
        db,
      )
      expect(count.rows[0]).toEqual({ n, visitors: Math.floor(n / 4) })
      const stats = await sql<{ compressed: number }>`
        SELECT count(*)::int AS compressed FROM timescaledb_information.chunks
        WHERE hypertable_name = 'transits' AND is_compressed`.execute(db)
      expect(stats.rows[0]!.compressed).toBe(compressed.rows.length)
    } finally {
      await db.destroy()
    }
  })
})
