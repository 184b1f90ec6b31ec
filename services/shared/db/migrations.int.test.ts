import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readdir } from 'node:fs/promises'
import { Migrator, sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { refreshAggregate } from '../testing/background-jobs.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { MIGRATIONS_DIR, SqlFolderMigrationProvider, runMigrations } from './migrate.ts'
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
    // Every file is picked up by the provider: NNNN_snake_case.sql, numbered without gaps.
    expect(files.length).toBeGreaterThanOrEqual(10)
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
    const jobs = await sql<{ proc_name: string; hypertable_name: string | null; config: unknown }>`
      SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs
      WHERE proc_name IN ('miglio_compute_flows', 'miglio_forget_pseudonyms') ORDER BY 1`.execute(
      t.db,
    )
    expect(jobs.rows).toEqual([
      {
        proc_name: 'miglio_compute_flows',
        hypertable_name: null,
        config: { tz: 'Europe/Rome', settle: '30 minutes', lookback: '5 hours' },
      },
      {
        proc_name: 'miglio_forget_pseudonyms',
        hypertable_name: null,
        config: { tz: 'Europe/Rome', lookback: '5 hours', max_age: '44 hours' },
      },
    ])
  })
})

/** The registry rows of `tinyDistrict()` as 0002 knows them (loadDistrict needs 0008's tables). */
async function insertRegistry(db: Db): Promise<void> {
  const d = tinyDistrict()
  await sql`
    INSERT INTO districts (id, name, timezone, street_length_m)
    VALUES (${d.id}, ${d.name}, ${d.timezone}, ${d.streetLengthM})`.execute(db)
  for (const z of d.zones) {
    await sql`
      INSERT INTO zones (id, district_id, name, kind, geometry, street_from_m, street_to_m)
      VALUES (${z.id}, ${d.id}, ${z.name}, ${z.kind}, ${JSON.stringify(z.geometry)}::jsonb,
              ${z.streetFromM}, ${z.streetToM})`.execute(db)
  }
  for (const s of d.shops) {
    await sql`
      INSERT INTO shops (id, district_id, zone_id, name, category, street_offset_m)
      VALUES (${s.id}, ${d.id}, ${s.zoneId}, ${s.name}, ${s.category}, ${s.streetOffsetM})`.execute(
      db,
    )
  }
  for (const g of d.gateways) {
    await sql`
      INSERT INTO gateways (id, district_id, zone_id, shop_id, placement, radios, lon, lat,
                            street_offset_m, rssi_floor, calibration_factor)
      VALUES (${g.id}, ${d.id}, ${g.zoneId}, ${g.shopId ?? null}, ${g.placement}, ${g.radios}::text[],
              ${g.position[0]}, ${g.position[1]}, ${g.streetOffsetM}, ${g.rssiFloor},
              ${g.calibrationFactor})`.execute(db)
    await sql`
      INSERT INTO gateway_thresholds (gateway_id, version, min_rssi, min_dwell_s)
      VALUES (${g.id}, 1, ${g.visitor.minRssi}, ${g.visitor.minDwellS})`.execute(db)
  }
}

type Totals = { gateway_id: string; passers_by: number; visitors: number; people: number }

describe('upgrading a database with data from 0007', () => {
  let t: TestDatabase
  let migrator: Migrator
  let now: number
  let expected: Totals[]

  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false })
    migrator = new Migrator({ db: t.db, provider: new SqlFolderMigrationProvider() })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('migrates to 0007 and takes data there', async () => {
    const { error, results } = await migrator.migrateTo('0007_static_devices')
    expect(error).toBeUndefined()
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual(
      (await migrationFiles()).slice(0, 7).map((name) => [name, 'Success']),
    )
    await insertRegistry(t.db)

    const r = await sql<{ now: Date }>`SELECT now() AS now`.execute(t.db)
    now = r.rows[0]!.now.getTime()
    // Recent transits with pseudonyms (3–5 h old), and 5-day-old ones the compression policy packs.
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
                              peak_rssi, samples, radio, randomised, visitor, threshold_version)
        VALUES (${iso(row.first)}::timestamptz, ${iso(row.first + 2 * MIN)}::timestamptz, ${row.gw},
                ${row.zone}, ${row.shop}, ${row.p}::bigint, 120, -60, 4, 'wifi', true, ${visitor}, 1)`.execute(
        t.db,
      )
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
             count(*) FILTER (WHERE visitor)::int AS visitors, count(*)::float8 AS people
      FROM transits GROUP BY 1 ORDER BY 1`.execute(t.db)
    expected = totals.rows
    expect(expected.reduce((s, r) => s + r.visitors, 0)).toBeGreaterThan(0)
  })

  it('migrates to the latest version keeping every transit, with calibration 1', async () => {
    const { error, results } = await migrator.migrateToLatest()
    expect(error).toBeUndefined()
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual(
      (await migrationFiles()).slice(7).map((name) => [name, 'Success']),
    )

    const transits = await sql<{
      n: number
      pseudonyms: number
      factor1: number
      version1: number
    }>`
      SELECT count(*)::int AS n, count(pseudonym)::int AS pseudonyms,
             count(*) FILTER (WHERE calibration_factor = 1)::int AS factor1,
             count(*) FILTER (WHERE calibration_version = 1)::int AS version1
      FROM transits`.execute(t.db)
    expect(transits.rows[0]).toEqual({ n: 24, pseudonyms: 12, factor1: 24, version1: 24 })

    const calibrations = await sql<{ gateway_id: string; version: number; factor: number }>`
      SELECT g.id AS gateway_id, c.version, c.factor
      FROM gateways g LEFT JOIN gateway_calibrations c ON c.gateway_id = g.id
      ORDER BY 1, 2`.execute(t.db)
    expect(calibrations.rows).toEqual([
      { gateway_id: 'gw-shop-one', version: 1, factor: 1 },
      { gateway_id: 'gw-street-a', version: 1, factor: 1 },
    ])

    const open = await sql`
      SELECT gateway_id, pseudonym, peak_rssi, samples FROM open_transits`.execute(t.db)
    expect(open.rows).toEqual([
      { gateway_id: 'gw-shop-one', pseudonym: '2000', peak_rssi: -55, samples: 9 },
    ])
  })

  it('counts the old transits in the recreated aggregates once refreshed', async () => {
    for (const view of ['footfall_15m', 'footfall_1h', 'footfall_1d']) {
      await refreshAggregate(t.db, view)
    }
    for (const view of ['footfall_15m', 'footfall_1h', 'footfall_1d']) {
      const r = await sql<Totals & { version: number }>`
        SELECT gateway_id, sum(passers_by)::int AS passers_by, sum(visitors)::int AS visitors,
               sum(estimated_people)::float8 AS people, max(calibration_version) AS version
        FROM ${sql.table(view)} GROUP BY 1 ORDER BY 1`.execute(t.db)
      expect(r.rows, view).toEqual(expected.map((e) => ({ ...e, version: 1 })))
    }
    // The 15-minute and hourly buckets (all complete) come from the materialisation, not only
    // from real-time aggregation.
    for (const view of ['footfall_15m', 'footfall_1h']) {
      const mat = await sql<{ schema: string; name: string }>`
        SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS name
        FROM timescaledb_information.continuous_aggregates WHERE view_name = ${view}`.execute(t.db)
      const { schema, name } = mat.rows[0]!
      const r = await sql<{ n: number; people: number }>`
        SELECT sum(passers_by + visitors)::int AS n, sum(estimated_people)::float8 AS people
        FROM ${sql.table(`${schema}.${name}`)}`.execute(t.db)
      expect(r.rows[0], view).toEqual({ n: 24, people: 24 })
    }
  })
})
