import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { pauseBackgroundJobs, refreshAggregate } from '../testing/background-jobs.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { loadDistrict } from '../registry/district-repository.ts'
import { createLogger } from '../logger.ts'
import { createJobRunner } from './job-runner.ts'
import type { Db } from './create-db.ts'

// Storage behaviour on a real (or embedded) TimescaleDB: the flows and privacy procedures, the
// compression/retention policies and the Grafana views of the baseline migration. `now()` cannot
// be moved, so every row is placed in the past relative to the database's clock. The describe blocks
// share one database and run in order; each one keeps to its own time range or pseudonyms.

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

let t: TestDatabase
let db: Db

beforeAll(async () => {
  t = await createTestDatabase()
  db = t.db
  // These tests run the jobs themselves, at the moments they choose. A real server's scheduler
  // may have run them once on the empty database before the pause: their only trace is progress.
  await pauseBackgroundJobs(db)
  await sql`DELETE FROM flow_progress`.execute(db)
  await sql`DELETE FROM forget_progress`.execute(db)
  await loadDistrict(db, tinyDistrict())
})

afterAll(async () => {
  await t?.close()
})

type Gw = 'gw-street-a' | 'gw-shop-one'
const ZONE: Record<Gw, { zone: string; shop: string | null }> = {
  'gw-street-a': { zone: 'street-a', shop: null },
  'gw-shop-one': { zone: 'shop-one', shop: 'shop-one' },
}

type TransitIn = {
  gw: Gw
  first: number
  last: number
  pseudonym?: number | null
  visitor?: boolean
  peakRssi?: number
  factor?: number
  calibrationVersion?: number
}

/** Inserts transits with plain SQL; times are epoch milliseconds, dwell follows from them. */
async function insertTransits(rows: TransitIn[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => {
      const { zone, shop } = ZONE[r.gw]
      return sql`(${iso(r.first)}::timestamptz, ${iso(r.last)}::timestamptz, ${r.gw}, ${zone}, ${shop},
        ${r.pseudonym ?? null}::bigint, ${(r.last - r.first) / 1000}::real, ${r.peakRssi ?? -60}::smallint,
        3, 'wifi', true, ${r.visitor ?? false}, 1, ${r.factor ?? 1}::real, ${r.calibrationVersion ?? 1})`
    })
    await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version,
                            calibration_factor, calibration_version)
      VALUES ${sql.join(values)}`.execute(db)
  }
}

const iso = (ms: number) => new Date(ms).toISOString()

async function dbNow(): Promise<number> {
  const r = await sql<{ now: Date }>`SELECT now() AS now`.execute(db)
  return r.rows[0]!.now.getTime()
}

/** The id of the one job running `proc` (for `hypertable`, when given), as the app finds it. */
async function jobId(proc: string, hypertable?: string): Promise<number> {
  const r = await sql<{ job_id: number }>`
    SELECT job_id FROM timescaledb_information.jobs
    WHERE proc_name = ${proc} AND hypertable_name IS NOT DISTINCT FROM ${hypertable ?? null}::name`.execute(
    db,
  )
  expect(r.rows, `one ${proc} job${hypertable ? ` on ${hypertable}` : ''}`).toHaveLength(1)
  return r.rows[0]!.job_id
}

async function runJob(proc: string, hypertable?: string): Promise<void> {
  const id = await jobId(proc, hypertable)
  await sql`CALL run_job(${sql.lit(id)})`.execute(db)
}

async function refresh(view: string): Promise<void> {
  await refreshAggregate(db, view)
}

type FlowRow = {
  bucket: string
  origin: string
  dest: string
  flows: number
  p25: number
  median: number
  p75: number
}

async function flows(table: 'flows_hourly' | 'flows_daily'): Promise<FlowRow[]> {
  const r = await sql<FlowRow & { bucket: Date }>`
    SELECT bucket, origin_zone_id AS origin, dest_zone_id AS dest, flows,
           travel_s_p25::float8 AS p25, travel_s_median::float8 AS median, travel_s_p75::float8 AS p75
    FROM ${sql.table(table)} ORDER BY bucket, origin_zone_id, dest_zone_id`.execute(db)
  return r.rows.map((row) => ({ ...row, bucket: row.bucket.toISOString() }))
}

async function doneUntil(): Promise<number | undefined> {
  const r = await sql<{ d: Date }>`SELECT done_until AS d FROM flow_progress`.execute(db)
  return r.rows[0]?.d.getTime()
}

/** date_trunc('hour', now() - settle): the end of the flows job's window. */
async function flowWindowEnd(): Promise<number> {
  const r = await sql<{ w: Date }>`
    SELECT date_trunc('hour', now() - INTERVAL '30 minutes') AS w`.execute(db)
  return r.rows[0]!.w.getTime()
}

async function romeMidnight(ms: number): Promise<number> {
  const r = await sql<{ d: Date }>`
    SELECT time_bucket(INTERVAL '1 day', ${iso(ms)}::timestamptz, 'Europe/Rome') AS d`.execute(db)
  return r.rows[0]!.d.getTime()
}

const romeTime = (ms: number) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Rome',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms))

describe('miglio_compute_flows', () => {
  // S: a whole hour such that [S, S + 2 h) lies on one Rome day, ends before the job's window end
  // W = hour(now − 30 min) and starts within the 5 h lookback of W.
  let S: number
  let W: number
  let day: number
  const at = (h: number, m: number) => S + h * HOUR + m * MIN

  const expectedHourly = () => [
    { b: S, o: 'shop-one', d: 'street-a', n: 1, q: [300, 300, 300] },
    // p101 120 s, p102 60 s, p103 overlapping windows → 0 s
    { b: S, o: 'street-a', d: 'shop-one', n: 3, q: [30, 60, 90] },
    { b: S + HOUR, o: 'shop-one', d: 'street-a', n: 1, q: [1500, 1500, 1500] },
    { b: S + HOUR, o: 'street-a', d: 'shop-one', n: 2, q: [120, 180, 240] },
  ]

  const toRows = (list: { b: number; o: string; d: string; n: number; q: number[] }[]) =>
    list
      .map((e) => ({
        bucket: iso(e.b),
        origin: e.o,
        dest: e.d,
        flows: e.n,
        p25: e.q[0],
        median: e.q[1],
        p75: e.q[2],
      }))
      .sort((a, b) =>
        a.bucket === b.bucket
          ? `${a.origin}>${a.dest}`.localeCompare(`${b.origin}>${b.dest}`)
          : a.bucket.localeCompare(b.bucket),
      )

  beforeAll(async () => {
    W = await flowWindowEnd()
    const midnight = await romeMidnight(W - 1)
    S = midnight > W - 2 * HOUR ? midnight - 2 * HOUR : W - 2 * HOUR
    day = await romeMidnight(S)
    expect(await romeMidnight(S + 2 * HOUR - 1)).toBe(day)
  })

  it('pairs consecutive transits of a pseudonym into hourly and daily zone flows', async () => {
    expect(await doneUntil()).toBeUndefined()
    await insertTransits([
      // p101: street → shop (120 s) → street (300 s)
      { gw: 'gw-street-a', pseudonym: 101, first: at(0, 0), last: at(0, 5) },
      { gw: 'gw-shop-one', pseudonym: 101, first: at(0, 7), last: at(0, 20), visitor: true },
      { gw: 'gw-street-a', pseudonym: 101, first: at(0, 25), last: at(0, 30) },
      // p102: street → shop (60 s) → street (1500 s, next hour)
      { gw: 'gw-street-a', pseudonym: 102, first: at(0, 10), last: at(0, 12) },
      { gw: 'gw-shop-one', pseudonym: 102, first: at(0, 13), last: at(0, 40), visitor: true },
      { gw: 'gw-street-a', pseudonym: 102, first: at(1, 5), last: at(1, 10) },
      // p103: street, street again (same zone: no flow), then shop heard before the street
      // gateway lost it (travel −120 s → 0)
      { gw: 'gw-street-a', pseudonym: 103, first: at(0, 30), last: at(0, 40) },
      { gw: 'gw-street-a', pseudonym: 103, first: at(0, 45), last: at(0, 50) },
      { gw: 'gw-shop-one', pseudonym: 103, first: at(0, 48), last: at(1, 0), visitor: true },
      // p104, p105: street → shop in the second hour (300 s, 60 s)
      { gw: 'gw-street-a', pseudonym: 104, first: at(0, 50), last: at(0, 55) },
      { gw: 'gw-shop-one', pseudonym: 104, first: at(1, 0), last: at(1, 30), visitor: true },
      { gw: 'gw-street-a', pseudonym: 105, first: at(1, 10), last: at(1, 15) },
      { gw: 'gw-shop-one', pseudonym: 105, first: at(1, 16), last: at(1, 40), visitor: true },
      // p106: shop just before the Rome midnight that starts S's day, street just after it:
      // two local days (two daily pseudonyms in real life), so no flow.
      { gw: 'gw-shop-one', pseudonym: 106, first: day - 20 * MIN, last: day - 10 * MIN },
      { gw: 'gw-street-a', pseudonym: 106, first: day + 10 * MIN, last: day + 15 * MIN },
      // p107: a single transit, nothing to pair
      { gw: 'gw-street-a', pseudonym: 107, first: at(0, 20), last: at(0, 21) },
    ])

    const before = await flowWindowEnd()
    await runJob('miglio_compute_flows')
    const after = await flowWindowEnd()

    expect(await flows('flows_hourly')).toEqual(toRows(expectedHourly()))
    expect(await flows('flows_daily')).toEqual(
      toRows([
        { b: day, o: 'shop-one', d: 'street-a', n: 2, q: [600, 900, 1200] },
        { b: day, o: 'street-a', d: 'shop-one', n: 5, q: [60, 60, 120] },
      ]),
    )
    expect(romeTime(day)).toBe('00:00')
    // Whole hours up to hour(now − 30 min) are final.
    expect([before, after]).toContain(await doneUntil())
    expect(new Date((await doneUntil())!).getUTCMinutes()).toBe(0)
  })

  it('changes nothing when it runs again', async () => {
    const hourly = await flows('flows_hourly')
    const daily = await flows('flows_daily')
    const done = await doneUntil()
    await runJob('miglio_compute_flows')
    expect(await flows('flows_hourly')).toEqual(hourly)
    expect(await flows('flows_daily')).toEqual(daily)
    expect(done! <= (await doneUntil())!).toBe(true)
    expect((await doneUntil())! - done!).toBeLessThanOrEqual(HOUR)
  })

  it('counts a transit that arrives late, within the lookback, on the next run', async () => {
    // p104 comes back to the street 10 min after leaving the shop (600 s).
    await insertTransits([{ gw: 'gw-street-a', pseudonym: 104, first: at(1, 40), last: at(1, 45) }])
    await runJob('miglio_compute_flows')
    const expected = expectedHourly().map((e) =>
      e.b === S + HOUR && e.o === 'shop-one' ? { ...e, n: 2, q: [825, 1050, 1275] } : e,
    )
    expect(await flows('flows_hourly')).toEqual(toRows(expected))
    expect(await flows('flows_daily')).toEqual(
      toRows([
        { b: day, o: 'shop-one', d: 'street-a', n: 3, q: [450, 600, 1050] },
        { b: day, o: 'street-a', d: 'shop-one', n: 5, q: [60, 60, 120] },
      ]),
    )
    const w = await flowWindowEnd()
    expect(w - (await doneUntil())!).toBeLessThanOrEqual(HOUR)
  })
})

describe('miglio_forget_pseudonyms', () => {
  let now: number

  beforeAll(async () => {
    now = await dbNow()
    await insertTransits([
      { gw: 'gw-street-a', pseudonym: 201, first: now - 50 * HOUR, last: now - 50 * HOUR + MIN },
      { gw: 'gw-shop-one', pseudonym: 202, first: now - 30 * HOUR, last: now - 30 * HOUR + MIN },
      { gw: 'gw-street-a', pseudonym: 203, first: now - HOUR, last: now - HOUR + MIN },
    ])
    const open = (
      gw: Gw,
      pseudonym: number,
      lastAgo: number,
      dwellS: number,
      peakRssi: number,
    ) => sql`(${gw}, ${pseudonym}::bigint, ${iso(now - lastAgo - dwellS * 1000)}::timestamptz,
        ${iso(now - lastAgo)}::timestamptz, ${peakRssi}::smallint, 7, 'ble', false)`
    await sql`
      INSERT INTO open_transits (gateway_id, pseudonym, first_seen, last_seen, peak_rssi, samples,
                                 radio, randomised)
      VALUES ${sql.join([
        open('gw-shop-one', 211, 46 * HOUR, 300, -60), // visitor
        open('gw-shop-one', 212, 46 * HOUR + MIN, 300, -80), // too far
        open('gw-shop-one', 213, 46 * HOUR + 2 * MIN, 30, -60), // too short
        open('gw-shop-one', 214, 46 * HOUR + 3 * MIN, 60, -67), // exactly on both thresholds
        open('gw-street-a', 215, 46 * HOUR + 4 * MIN, 600, -50), // no shop: passer-by
        open('gw-street-a', 216, 10 * MIN, 600, -50), // still open, recent
      ])}`.execute(db)
    await sql`
      INSERT INTO static_devices (gateway_id, pseudonym, marked_at)
      VALUES ('gw-shop-one', 221, ${iso(now - 46 * HOUR)}::timestamptz),
             ('gw-street-a', 222, ${iso(now - HOUR)}::timestamptz)`.execute(db)
    // Ingest's session versions and log (0006): an old log row of a gateway no ingest checkpointed
    // for two days, and a fresh one.
    await sql`
      INSERT INTO gateway_state (gateway_id, session_version, checkpoint_version)
      VALUES ('gw-street-a', 5, 2), ('gw-shop-one', 5, 4)`.execute(db)
    await sql`
      INSERT INTO session_log (gateway_id, version, sent_at, sightings, logged_at)
      VALUES ('gw-street-a', 3, ${iso(now - 46 * HOUR)}::timestamptz, '\\x01'::bytea,
              ${iso(now - 46 * HOUR)}::timestamptz),
             ('gw-shop-one', 5, ${iso(now - MIN)}::timestamptz, '\\x01'::bytea,
              ${iso(now - MIN)}::timestamptz)`.execute(db)

    await runJob('miglio_compute_flows')
    await runJob('miglio_forget_pseudonyms')
  })

  it('nulls every pseudonym older than 44 h and keeps recent ones', async () => {
    const old = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM transits
      WHERE pseudonym IS NOT NULL AND first_seen < now() - INTERVAL '44 hours'`.execute(db)
    expect(old.rows[0]!.n).toBe(0)
    const kept = await sql<{ pseudonym: string | null }>`
      SELECT pseudonym FROM transits WHERE first_seen = ${iso(now - HOUR)}::timestamptz`.execute(db)
    expect(kept.rows).toEqual([{ pseudonym: '203' }])
  })

  it("nulls a 30 h old pseudonym only once its Rome day's flows are final", async () => {
    const r = await sql<{ pseudonym: string | null; final: boolean }>`
      SELECT t.pseudonym,
             t.first_seen < time_bucket(INTERVAL '1 day', p.done_until - INTERVAL '5 hours', 'Europe/Rome') AS final
      FROM transits t, flow_progress p
      WHERE t.first_seen = ${iso(now - 30 * HOUR)}::timestamptz`.execute(db)
    expect(r.rows).toHaveLength(1)
    expect(r.rows[0]!.pseudonym).toBe(r.rows[0]!.final ? null : '202')
  })

  it('writes sessions open for more than 44 h as classified transits without a pseudonym', async () => {
    const r = await sql<{
      gateway_id: string
      zone_id: string
      shop_id: string | null
      pseudonym: string | null
      dwell_s: number
      peak_rssi: number
      samples: number
      radio: string
      visitor: boolean
      threshold_version: number
      calibration_factor: number
      calibration_version: number
    }>`
      SELECT gateway_id, zone_id, shop_id, pseudonym, dwell_s::float8 AS dwell_s, peak_rssi, samples,
             radio, visitor, threshold_version, calibration_factor::float8 AS calibration_factor,
             calibration_version
      FROM transits
      WHERE last_seen BETWEEN ${iso(now - 46 * HOUR - 5 * MIN)}::timestamptz
                          AND ${iso(now - 46 * HOUR)}::timestamptz
      ORDER BY last_seen DESC`.execute(db)
    const base = {
      pseudonym: null,
      samples: 7,
      radio: 'ble',
      threshold_version: 1,
      calibration_factor: 1,
      calibration_version: 1,
    }
    const shop = { ...base, gateway_id: 'gw-shop-one', zone_id: 'shop-one', shop_id: 'shop-one' }
    const street = { ...base, gateway_id: 'gw-street-a', zone_id: 'street-a', shop_id: null }
    expect(r.rows).toEqual([
      { ...shop, dwell_s: 300, peak_rssi: -60, visitor: true },
      { ...shop, dwell_s: 300, peak_rssi: -80, visitor: false },
      { ...shop, dwell_s: 30, peak_rssi: -60, visitor: false },
      { ...shop, dwell_s: 60, peak_rssi: -67, visitor: true },
      { ...street, dwell_s: 600, peak_rssi: -50, visitor: false },
    ])
    const open = await sql<{ pseudonym: string }>`SELECT pseudonym FROM open_transits`.execute(db)
    expect(open.rows).toEqual([{ pseudonym: '216' }])
  })

  it('moves the session version of the gateways whose sessions it closed and deletes log rows older than 44 h', async () => {
    const versions = await sql<{ gateway_id: string; session_version: string }>`
      SELECT gateway_id, session_version FROM gateway_state ORDER BY gateway_id`.execute(db)
    // Ingest holds these gateways' sessions in memory at version 5: it must rebuild them.
    expect(versions.rows).toEqual([
      { gateway_id: 'gw-shop-one', session_version: '6' },
      { gateway_id: 'gw-street-a', session_version: '6' },
    ])
    const log = await sql<{ gateway_id: string }>`SELECT gateway_id FROM session_log`.execute(db)
    expect(log.rows).toEqual([{ gateway_id: 'gw-shop-one' }])
    // The gateway health views below start from gateways without state.
    await sql`DELETE FROM gateway_state`.execute(db)
  })

  it('forgets static devices marked more than 44 h ago', async () => {
    const r = await sql<{ pseudonym: string }>`SELECT pseudonym FROM static_devices`.execute(db)
    expect(r.rows).toEqual([{ pseudonym: '222' }])
  })

  it('leaves no pseudonym older than 48 h in any table that has one', async () => {
    const tables = await sql<{ table_name: string; time_column: string | null }>`
      SELECT c.table_name,
             coalesce(
               (SELECT d.column_name FROM timescaledb_information.dimensions d
                WHERE d.hypertable_schema = 'public' AND d.hypertable_name = c.table_name
                  AND d.dimension_type = 'Time'),
               (SELECT t.column_name FROM information_schema.columns t
                WHERE t.table_schema = 'public' AND t.table_name = c.table_name
                  AND t.column_name IN ('last_seen', 'marked_at')
                ORDER BY t.column_name = 'last_seen' DESC LIMIT 1)) AS time_column
      FROM information_schema.columns c
      JOIN information_schema.tables tb USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND c.column_name = 'pseudonym'
        AND tb.table_type = 'BASE TABLE'
      ORDER BY 1`.execute(db)
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['open_transits', 'static_devices', 'transits']),
    )
    for (const { table_name, time_column } of tables.rows) {
      expect(time_column, `time column of ${table_name}`).not.toBeNull()
      const r = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql.table(table_name)}
        WHERE pseudonym IS NOT NULL AND ${sql.ref(time_column!)} < now() - INTERVAL '48 hours'`.execute(
        db,
      )
      expect(r.rows[0]!.n, `${table_name} rows older than 48 h with a pseudonym`).toBe(0)
    }
  })
})

type ZoneRow = {
  zone_id: string
  zone_name: string
  zone_kind: string
  passers_by: string
  visitors: string
  capture_rate: number | null
  estimated_people: number
  dwell_mean_s: number | null
}

describe('Grafana views', () => {
  it('v_footfall_zone_15m sums transits per zone and 15 minutes, with calibrated people', async () => {
    // A new calibration for the shop gateway: transits from now on carry 1.5 (version 2), the
    // transits written before keep 1 (version 1).
    const district = tinyDistrict()
    district.gateways[1]!.calibrationFactor = 1.5
    expect((await loadDistrict(db, district)).calibrationVersionsAdded).toBe(1)

    const now = await dbNow()
    const B = Math.floor((now - 6 * DAY) / (15 * MIN)) * 15 * MIN
    const street = (i: number, at = B) => ({
      gw: 'gw-street-a' as const,
      first: at + i * MIN,
      last: at + i * MIN + 20_000,
    })
    const shop = (i: number, dwellS: number, visitor: boolean, factor: number) => ({
      gw: 'gw-shop-one' as const,
      first: B + i * MIN,
      last: B + i * MIN + dwellS * 1000,
      visitor,
      factor,
      calibrationVersion: factor === 1 ? 1 : 2,
    })
    await insertTransits([
      street(0),
      street(1),
      street(2),
      street(3),
      street(1, B + 15 * MIN),
      street(2, B + 15 * MIN),
      shop(0, 100, true, 1.5),
      shop(1, 200, true, 1.5),
      shop(2, 300, true, 1.5),
      shop(3, 20, false, 1.5),
      shop(4, 600, true, 1),
    ])
    const query = () =>
      sql<ZoneRow & { bucket: Date }>`
        SELECT bucket, zone_id, zone_name, zone_kind, passers_by, visitors, capture_rate,
               estimated_people, dwell_mean_s
        FROM v_footfall_zone_15m
        WHERE bucket >= ${iso(B)}::timestamptz AND bucket < ${iso(B + 30 * MIN)}::timestamptz
        ORDER BY bucket, zone_id`
        .execute(db)
        .then((r) => r.rows.map((row) => ({ ...row, bucket: row.bucket.getTime() })))
    const expected = [
      {
        bucket: B,
        zone_id: 'shop-one',
        zone_name: 'Shop One',
        zone_kind: 'shop',
        passers_by: '1',
        visitors: '4',
        capture_rate: 0.8,
        estimated_people: 7,
        dwell_mean_s: 300,
      },
      {
        bucket: B,
        zone_id: 'street-a',
        zone_name: 'Street A',
        zone_kind: 'street',
        passers_by: '4',
        visitors: '0',
        capture_rate: 0,
        estimated_people: 4,
        dwell_mean_s: null,
      },
      {
        bucket: B + 15 * MIN,
        zone_id: 'street-a',
        zone_name: 'Street A',
        zone_kind: 'street',
        passers_by: '2',
        visitors: '0',
        capture_rate: 0,
        estimated_people: 2,
        dwell_mean_s: null,
      },
    ]
    // Real-time (nothing materialised yet), then from the materialisation.
    expect(await query()).toEqual(expected)
    await refresh('footfall_15m')
    expect(await query()).toEqual(expected)

    // v_footfall_zone_1h adds up the same transits by hour.
    const hour = Math.floor(B / HOUR) * HOUR
    const hourly = await sql`
      SELECT zone_id, sum(passers_by)::int AS passers_by, sum(visitors)::int AS visitors,
             sum(estimated_people)::float8 AS estimated_people
      FROM v_footfall_zone_1h
      WHERE bucket >= ${iso(hour)}::timestamptz AND bucket < ${iso(hour + 2 * HOUR)}::timestamptz
      GROUP BY zone_id ORDER BY zone_id`.execute(db)
    expect(hourly.rows).toEqual([
      { zone_id: 'shop-one', passers_by: 1, visitors: 4, estimated_people: 7 },
      { zone_id: 'street-a', passers_by: 6, visitors: 0, estimated_people: 6 },
    ])
  })

  it('v_flows_hourly suppresses cells of fewer than 5 flows', async () => {
    const now = await dbNow()
    const b = Math.floor((now - 6 * DAY) / HOUR) * HOUR
    await sql`
      INSERT INTO flows_hourly (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25,
                                travel_s_median, travel_s_p75)
      VALUES (${iso(b)}::timestamptz, 'street-a', 'shop-one', 4, 10, 20, 30),
             (${iso(b)}::timestamptz, 'shop-one', 'street-a', 5, 40, 50, 60)`.execute(db)
    const r = await sql<Record<string, unknown>>`
      SELECT origin_zone_id, origin_zone_name, dest_zone_id, dest_zone_name, flows, travel_s_median,
             suppressed
      FROM v_flows_hourly WHERE bucket = ${iso(b)}::timestamptz ORDER BY origin_zone_id`.execute(db)
    expect(r.rows).toEqual([
      {
        origin_zone_id: 'shop-one',
        origin_zone_name: 'Shop One',
        dest_zone_id: 'street-a',
        dest_zone_name: 'Street A',
        flows: 5,
        travel_s_median: 50,
        suppressed: false,
      },
      {
        origin_zone_id: 'street-a',
        origin_zone_name: 'Street A',
        dest_zone_id: 'shop-one',
        dest_zone_name: 'Shop One',
        flows: null,
        travel_s_median: null,
        suppressed: true,
      },
    ])
    // Every cell the flows job wrote follows the same rule.
    const wrong = await sql<{ n: number }>`
      SELECT count(*)::int AS n
      FROM flows_hourly f
      FULL JOIN v_flows_hourly v USING (bucket, origin_zone_id, dest_zone_id)
      WHERE v.suppressed IS DISTINCT FROM (f.flows < 5)
         OR v.flows IS DISTINCT FROM (CASE WHEN f.flows >= 5 THEN f.flows END)`.execute(db)
    expect(wrong.rows[0]!.n).toBe(0)
  })

  it("v_gateway_health lists every gateway, 'unknown' until its state is known", async () => {
    const health = () =>
      sql<{
        gateway_id: string
        zone_id: string
        shop_id: string | null
        active: boolean
        state: string
        fw: string | null
        silent_s: number | null
      }>`
        SELECT gateway_id, zone_id, shop_id, active, state, fw, silent_s
        FROM v_gateway_health ORDER BY gateway_id`
        .execute(db)
        .then((r) => r.rows)
    const unknown = { state: 'unknown', fw: null, silent_s: null, active: true }
    expect(await health()).toEqual([
      { gateway_id: 'gw-shop-one', zone_id: 'shop-one', shop_id: 'shop-one', ...unknown },
      { gateway_id: 'gw-street-a', zone_id: 'street-a', shop_id: null, ...unknown },
    ])
    await sql`
      INSERT INTO gateway_state (gateway_id, state, fw, last_batch_at)
      VALUES ('gw-street-a', 'online', '1.2.3', now() - INTERVAL '10 seconds')`.execute(db)
    const [shop, street] = await health()
    expect(shop).toMatchObject({ gateway_id: 'gw-shop-one', state: 'unknown' })
    expect(street).toMatchObject({ gateway_id: 'gw-street-a', state: 'online', fw: '1.2.3' })
    expect(street!.silent_s).toBeGreaterThanOrEqual(10)
    expect(street!.silent_s).toBeLessThan(60)
  })
})

type ChunkRow = { range_end: Date; is_compressed: boolean }

async function chunks(hypertable: string): Promise<ChunkRow[]> {
  const r = await sql<ChunkRow>`
    SELECT range_end, is_compressed FROM timescaledb_information.chunks
    WHERE hypertable_name = ${hypertable} ORDER BY range_start`.execute(db)
  return r.rows
}

async function transitTotals() {
  const r = await sql`
    SELECT gateway_id, count(*)::int AS n, count(*) FILTER (WHERE visitor)::int AS visitors,
           sum(dwell_s)::float8 AS dwell, sum(calibration_factor)::float8 AS people,
           count(pseudonym)::int AS pseudonyms, min(first_seen) AS first, max(last_seen) AS last
    FROM transits GROUP BY gateway_id ORDER BY gateway_id`.execute(db)
  return r.rows
}

async function footfallTotals() {
  const r = await sql`
    SELECT gateway_id, count(*)::int AS buckets, sum(passers_by)::int AS passers_by,
           sum(visitors)::int AS visitors, sum(estimated_people)::float8 AS people,
           sum(dwell_s_sum)::float8 AS dwell
    FROM footfall_15m GROUP BY gateway_id ORDER BY gateway_id`.execute(db)
  return r.rows
}

describe('compression', () => {
  it('compresses transit chunks older than 4 days without changing what they hold', async () => {
    const now = await dbNow()
    const rows: TransitIn[] = []
    for (const ago of [10, 11, 12, 20, 30]) {
      for (let i = 0; i < 120; i++) {
        const first = now - ago * DAY + i * 7 * MIN
        rows.push({
          gw: i % 3 === 0 ? 'gw-shop-one' : 'gw-street-a',
          first,
          last: first + (i % 17) * 20_000,
          pseudonym: null,
          visitor: i % 3 === 0 && i % 2 === 0,
          factor: i % 3 === 0 ? 1.5 : 1,
        })
      }
    }
    await insertTransits(rows)
    const before = await transitTotals()

    await runJob('policy_compression', 'transits')

    const all = await chunks('transits')
    const old = all.filter((c) => c.range_end.getTime() <= now - 4 * DAY)
    expect(old.length).toBeGreaterThanOrEqual(5)
    expect(old.every((c) => c.is_compressed)).toBe(true)
    expect(all.filter((c) => c.range_end.getTime() > now).every((c) => !c.is_compressed)).toBe(true)
    expect(await transitTotals()).toEqual(before)
  })

  it('keeps compressed transit chunks compressed when the privacy retention job runs again', async () => {
    // The job visits only rows it has not visited (plus 30 h of overlap), never compressed history.
    await runJob('miglio_forget_pseudonyms')
    const partial = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM _timescaledb_catalog.chunk c
      JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
      WHERE h.table_name = 'transits' AND c.status & 8 = 8`.execute(db)
    expect(partial.rows[0]!.n).toBe(0)
    const compressed = (await chunks('transits')).filter((c) => c.is_compressed)
    expect(compressed.length).toBeGreaterThanOrEqual(5)
  })

  it('compresses footfall_15m chunks older than 7 days without changing its totals', async () => {
    await refresh('footfall_15m')
    const before = await footfallTotals()
    const mat = await sql<{ name: string }>`
      SELECT materialization_hypertable_name AS name FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'footfall_15m'`.execute(db)

    await runJob('policy_compression', 'footfall_15m')

    const now = await dbNow()
    const all = await chunks(mat.rows[0]!.name)
    const old = all.filter((c) => c.range_end.getTime() <= now - 7 * DAY)
    expect(old.length).toBeGreaterThanOrEqual(1)
    expect(old.every((c) => c.is_compressed)).toBe(true)
    // Nothing the refresh policy (last 3 days) may still rewrite is compressed.
    const recent = all.filter((c) => c.range_end.getTime() > now - 3 * DAY)
    expect(recent.length).toBeGreaterThanOrEqual(1)
    expect(recent.every((c) => !c.is_compressed)).toBe(true)
    expect(await footfallTotals()).toEqual(before)
  })

  it('counts a transit backfilled into compressed chunks after an explicit refresh', async () => {
    const now = await dbNow()
    const first = now - 20 * DAY + 3 * MIN
    const inRange = async () => {
      const r = await sql<{ passers_by: number; people: number }>`
        SELECT coalesce(sum(passers_by), 0)::int AS passers_by,
               coalesce(sum(estimated_people), 0)::float8 AS people
        FROM footfall_15m
        WHERE bucket >= ${iso(first - DAY)}::timestamptz AND bucket < ${iso(first + DAY)}::timestamptz`.execute(
        db,
      )
      return r.rows[0]!
    }
    const before = await inRange()
    expect(before.passers_by).toBeGreaterThan(0)
    await insertTransits([{ gw: 'gw-street-a', first, last: first + MIN, factor: 2 }])
    await refresh('footfall_15m')
    expect(await inRange()).toEqual({
      passers_by: before.passers_by + 1,
      people: before.people + 2,
    })
  })
})

describe('retention', () => {
  it('drops transit chunks older than 400 days and keeps the rest', async () => {
    const now = await dbNow()
    await insertTransits(
      [500, 501].map((ago) => ({
        gw: 'gw-street-a',
        first: now - ago * DAY,
        last: now - ago * DAY,
      })),
    )
    const count = async () => {
      const r = await sql<{ old: number; kept: number }>`
        SELECT count(*) FILTER (WHERE first_seen < now() - INTERVAL '400 days')::int AS old,
               count(*) FILTER (WHERE first_seen >= now() - INTERVAL '400 days')::int AS kept
        FROM transits`.execute(db)
      return r.rows[0]!
    }
    const before = await count()
    expect(before.old).toBe(2)
    const aggregated = async () => {
      const r = await sql<{ n: number }>`
        SELECT coalesce(sum(passers_by), 0)::int AS n FROM footfall_15m
        WHERE bucket < now() - INTERVAL '400 days'`.execute(db)
      return r.rows[0]!.n
    }
    await refresh('footfall_15m')
    expect(await aggregated()).toBe(2)

    await runJob('policy_retention', 'transits')

    expect(await count()).toEqual({ old: 0, kept: before.kept })
    const left = (await chunks('transits')).filter((c) => c.range_end.getTime() < now - 400 * DAY)
    expect(left).toEqual([])
    // footfall_15m is kept for 2 years: its materialised buckets outlive the raw chunks (as long as
    // no refresh covers the dropped range: a refresh there would empty them).
    expect(await aggregated()).toBe(2)
  })

  it('drops ingest batches after 3 days and dead letters after 30', async () => {
    await sql`
      INSERT INTO ingest_batches (gateway_id, boot_id, seq, sent_at, sightings_count)
      VALUES ('gw-street-a', 'b1', 1, now() - INTERVAL '5 days', 3),
             ('gw-street-a', 'b1', 2, now() - INTERVAL '5 days' + INTERVAL '1 minute', 3),
             ('gw-street-a', 'b2', 1, now() - INTERVAL '1 hour', 3)`.execute(db)
    await sql`
      INSERT INTO dead_letters (received_at, topic, reason, detail, payload_bytes, payload_redacted)
      VALUES (now() - INTERVAL '40 days', 't', 'invalid', 'old', 1, 'x'),
             (now() - INTERVAL '1 day', 't', 'invalid', 'new', 1, 'x')`.execute(db)

    await runJob('policy_retention', 'ingest_batches')
    await runJob('policy_retention', 'dead_letters')

    const batches = await sql<{ boot_id: string }>`SELECT boot_id FROM ingest_batches`.execute(db)
    expect(batches.rows).toEqual([{ boot_id: 'b2' }])
    const letters = await sql<{ detail: string }>`SELECT detail FROM dead_letters`.execute(db)
    expect(letters.rows).toEqual([{ detail: 'new' }])
  })
})

describe(createJobRunner.name, () => {
  it('runs every scheduled job without a failure and returns their count', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString())
        cb()
      },
    })
    const scheduled = await sql<{ n: number; procs: string[] }>`
      SELECT count(*)::int AS n, array_agg(DISTINCT proc_name::text) AS procs
      FROM timescaledb_information.jobs WHERE scheduled`.execute(db)
    expect(scheduled.rows[0]!.procs).toEqual(
      expect.arrayContaining([
        'miglio_compute_flows',
        'miglio_forget_pseudonyms',
        'policy_compression',
        'policy_refresh_continuous_aggregate',
        'policy_retention',
      ]),
    )
    const runner = createJobRunner(db, createLogger({ level: 'warn', destination: sink }))
    expect(await runner.runAllJobs()).toBe(scheduled.rows[0]!.n)
    expect(lines).toEqual([])
  })
})
