import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir } from 'node:fs/promises'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { refreshAggregate } from '../testing/background-jobs.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { loadDistrict } from '../registry/district-repository.ts'
import { MIGRATIONS_DIR, runMigrations } from './migrate.ts'
import type { Db } from './create-db.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

const iso = (ms: number) => new Date(ms).toISOString()

async function migrationFiles(): Promise<string[]> {
  return (await readdir(MIGRATIONS_DIR))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => f.replace(/\.sql$/, ''))
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const r = await sql<{ name: string }>`
    SELECT name FROM kysely_migration ORDER BY timestamp, name`.execute(db)
  return r.rows.map((row) => row.name)
}

describe('migrations on an empty database', () => {
  let t: TestDatabase

  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('applies every migration once, in order', async () => {
    const files = await migrationFiles()
    // Every file is picked up by the provider: NNNN_snake_case.sql, numbered without gaps, from
    // the baseline on.
    expect(files[0]).toBe('0001_baseline')
    files.forEach((name, i) => {
      expect(name).toMatch(/^\d{4}_[a-z0-9_]+$/)
      expect(Number(name.slice(0, 4))).toBe(i + 1)
    })

    expect((await runMigrations(t.db)).applied).toEqual(files)
    expect(await appliedMigrations(t.db)).toEqual(files)

    expect((await runMigrations(t.db)).applied).toEqual([])
    expect(await appliedMigrations(t.db)).toEqual(files)
  })

  it('leaves the hypertables, aggregates, views and jobs the app relies on', async () => {
    const hypertables = await sql<{ name: string }>`
      SELECT hypertable_name AS name FROM timescaledb_information.hypertables
      WHERE hypertable_schema = 'public' ORDER BY 1`.execute(t.db)
    expect(hypertables.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'dead_letters',
        'flows_daily',
        'flows_hourly',
        'ingest_batches',
        'transits',
      ]),
    )
    const caggs = await sql<{ name: string; materialized_only: boolean; compression: boolean }>`
      SELECT view_name AS name, materialized_only, compression_enabled AS compression
      FROM timescaledb_information.continuous_aggregates ORDER BY 1`.execute(t.db)
    expect(caggs.rows).toEqual(
      expect.arrayContaining(
        ['footfall_15m', 'footfall_1d', 'footfall_1h'].map((name) => ({
          name,
          materialized_only: false,
          compression: true,
        })),
      ),
    )
    // Until a district is loaded, the days of footfall_1d are UTC days.
    const zone = await sql<{ timezone: string }>`SELECT timezone FROM footfall_1d_zone`.execute(
      t.db,
    )
    expect(zone.rows).toEqual([{ timezone: 'UTC' }])
    const views = await sql<{ name: string }>`
      SELECT table_name AS name FROM information_schema.views
      WHERE table_schema = 'public' AND table_name LIKE 'v\\_%' ORDER BY 1`.execute(t.db)
    expect(views.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'v_flows_hourly',
        'v_footfall_zone_15m',
        'v_footfall_zone_1h',
        'v_gateway_health',
      ]),
    )
    // The jobs carry no time zone: they read the district's when they run.
    const jobs = await sql<{ proc_name: string; hypertable_name: string | null; config: unknown }>`
      SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs
      WHERE proc_name IN ('miglio_compute_flows', 'miglio_forget_pseudonyms') ORDER BY 1`.execute(
      t.db,
    )
    expect(jobs.rows).toEqual([
      {
        proc_name: 'miglio_compute_flows',
        hypertable_name: null,
        config: { settle: '30 minutes', lookback: '5 hours' },
      },
      {
        proc_name: 'miglio_forget_pseudonyms',
        hypertable_name: null,
        config: { lookback: '5 hours', max_age: '44 hours' },
      },
    ])
  })
})

describe('a database migrated with the squashed history', () => {
  let t: TestDatabase

  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('is refused with what to do, not migrated on top', async () => {
    // What kysely's Migrator left in a database migrated with 0001_timescaledb … 0015.
    await sql`
      CREATE TABLE kysely_migration (name varchar(255) PRIMARY KEY, timestamp varchar(255) NOT NULL)`.execute(
      t.db,
    )
    await sql`
      INSERT INTO kysely_migration (name, timestamp)
      VALUES ('0001_timescaledb', '2026-01-01T00:00:00.000Z'),
             ('0002_registry', '2026-01-01T00:00:00.001Z')`.execute(t.db)
    await expect(runMigrations(t.db)).rejects.toMatchObject({
      code: 'migration_failed',
      message: expect.stringMatching(/squashed into 0001_baseline.*recreate it/),
    })
    const tables = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name = 'transits'`.execute(t.db)
    expect(tables.rows[0]!.n).toBe(0)
  })
})

type Totals = { gateway_id: string; passers_by: number; visitors: number; people: number }

// What the removed "upgrade from 0007" tests protected and still matters: transits already stored —
// recent ones with pseudonyms and older ones in compressed chunks — are counted by every footfall
// aggregate once refreshed (the daily one rebuilt for the district's zone by the loader), from the
// materialisation and not only by real-time aggregation; open sessions are left alone.
describe('footfall aggregates over stored transits', () => {
  let t: TestDatabase
  let expected: Totals[]

  beforeAll(async () => {
    t = await createTestDatabase()
    await loadDistrict(t.db, tinyDistrict())
  })
  afterAll(async () => {
    await t?.close()
  })

  it('counts recent and compressed transits in every aggregate, materialised', async () => {
    const r = await sql<{ now: Date }>`SELECT now() AS now`.execute(t.db)
    const now = r.rows[0]!.now.getTime()
    const rows: {
      gw: string
      zone: string
      shop: string | null
      first: number
      p: number | null
    }[] = []
    for (let i = 0; i < 12; i++) {
      const shop = i % 3 === 0
      rows.push({
        gw: shop ? 'gw-shop-one' : 'gw-street-a',
        zone: shop ? 'shop-one' : 'street-a',
        shop: shop ? 'shop-one' : null,
        first: now - 5 * HOUR + i * 10 * MIN,
        p: 1000 + i,
      })
      rows.push({
        gw: 'gw-street-a',
        zone: 'street-a',
        shop: null,
        first: now - 5 * DAY + i * 10 * MIN,
        p: null,
      })
    }
    for (const row of rows) {
      const visitor = row.shop !== null && row.p !== null && row.p % 2 === 0
      await sql`
        INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                              peak_rssi, samples, radio, randomised, visitor, threshold_version,
                              calibration_factor)
        VALUES (${iso(row.first)}::timestamptz, ${iso(row.first + 2 * MIN)}::timestamptz, ${row.gw},
                ${row.zone}, ${row.shop}, ${row.p}::bigint, 120, -60, 4, 'wifi', true, ${visitor}, 1,
                ${row.shop ? 1.5 : 1})`.execute(t.db)
    }
    await sql`
      INSERT INTO open_transits (gateway_id, pseudonym, first_seen, last_seen, peak_rssi, samples,
                                 radio, randomised)
      VALUES ('gw-shop-one', 2000, now() - INTERVAL '10 minutes', now() - INTERVAL '1 minute', -55,
              9, 'ble', false)`.execute(t.db)

    const job = await sql<{ job_id: number }>`
      SELECT job_id FROM timescaledb_information.jobs
      WHERE proc_name = 'policy_compression' AND hypertable_name = 'transits'`.execute(t.db)
    await sql`CALL run_job(${sql.lit(job.rows[0]!.job_id)})`.execute(t.db)
    const compressed = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM timescaledb_information.chunks
      WHERE hypertable_name = 'transits' AND is_compressed`.execute(t.db)
    expect(compressed.rows[0]!.n).toBeGreaterThanOrEqual(1)

    const totals = await sql<Totals>`
      SELECT gateway_id, count(*) FILTER (WHERE NOT visitor)::int AS passers_by,
             count(*) FILTER (WHERE visitor)::int AS visitors,
             sum(calibration_factor)::float8 AS people
      FROM transits GROUP BY 1 ORDER BY 1`.execute(t.db)
    expected = totals.rows
    expect(expected.reduce((s, row) => s + row.visitors, 0)).toBeGreaterThan(0)

    for (const view of ['footfall_15m', 'footfall_1h', 'footfall_1d']) {
      await refreshAggregate(t.db, view)
    }
    for (const view of ['footfall_15m', 'footfall_1h', 'footfall_1d']) {
      const f = await sql<Totals & { version: number }>`
        SELECT gateway_id, sum(passers_by)::int AS passers_by, sum(visitors)::int AS visitors,
               sum(estimated_people)::float8 AS people, max(calibration_version) AS version
        FROM ${sql.table(view)} GROUP BY 1 ORDER BY 1`.execute(t.db)
      expect(f.rows, view).toEqual(expected.map((e) => ({ ...e, version: 1 })))
    }
    // The 15-minute and hourly buckets (all complete) come from the materialisation, not only
    // from real-time aggregation.
    for (const view of ['footfall_15m', 'footfall_1h']) {
      const mat = await sql<{ schema: string; name: string }>`
        SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS name
        FROM timescaledb_information.continuous_aggregates WHERE view_name = ${view}`.execute(t.db)
      const { schema, name } = mat.rows[0]!
      const m = await sql<{ n: number; people: number }>`
        SELECT sum(passers_by + visitors)::int AS n, sum(estimated_people)::float8 AS people
        FROM ${sql.table(`${schema}.${name}`)}`.execute(t.db)
      expect(m.rows[0], view).toEqual({
        n: 24,
        people: expected.reduce((s, e) => s + e.people, 0),
      })
    }

    const open = await sql`
      SELECT gateway_id, pseudonym, peak_rssi, samples FROM open_transits`.execute(t.db)
    expect(open.rows).toEqual([
      { gateway_id: 'gw-shop-one', pseudonym: '2000', peak_rssi: -55, samples: 9 },
    ])
  })
})
