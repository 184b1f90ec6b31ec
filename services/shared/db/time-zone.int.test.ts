import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { pauseBackgroundJobs, refreshAggregate } from '../testing/background-jobs.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { loadDistrict, retryCatalogRace } from '../registry/district-repository.ts'
import type { Db } from './create-db.ts'

// The district's time zone drives the SQL: footfall_1d is (re)made for it by the loader, and the
// flows and privacy jobs read it from the districts table when they run. Every case is chosen so
// that New York and Rome days disagree (New York midnight is 06:00 in Rome).

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const NY = 'America/New_York'
const ROME = 'Europe/Rome'

let t: TestDatabase
let db: Db
/** A New York midnight three days ago. */
let D: number

const iso = (ms: number) => new Date(ms).toISOString()
const localTime = (ms: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone,
    dateStyle: 'short',
    timeStyle: 'short',
    hourCycle: 'h23',
  }).format(new Date(ms))

async function dayStart(ms: number, tz: string): Promise<number> {
  const r = await sql<{ d: Date }>`
    SELECT time_bucket(INTERVAL '1 day', ${iso(ms)}::timestamptz, ${tz}) AS d`.execute(db)
  return r.rows[0]!.d.getTime()
}

async function insertTransits(
  rows: { gw: 'gw-street-a' | 'gw-shop-one'; first: number; last: number; p?: number }[],
) {
  for (const r of rows) {
    const shop = r.gw === 'gw-shop-one'
    await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version)
      VALUES (${iso(r.first)}::timestamptz, ${iso(r.last)}::timestamptz, ${r.gw},
              ${shop ? 'shop-one' : 'street-a'}, ${shop ? 'shop-one' : null}, ${r.p ?? null}::bigint,
              ${(r.last - r.first) / 1000}, -60, 3, 'wifi', true, false, 1)`.execute(db)
  }
}

/** footfall_1d's street-a rows in [from, to), bucket as a local clock reading. */
async function daily(from: number, to: number, tz: string) {
  const r = await sql<{ bucket: Date; passers_by: number }>`
    SELECT bucket, sum(passers_by)::int AS passers_by FROM footfall_1d
    WHERE zone_id = 'street-a' AND bucket >= ${iso(from)}::timestamptz AND bucket < ${iso(to)}::timestamptz
    GROUP BY bucket ORDER BY bucket`.execute(db)
  return r.rows.map((row) => ({
    bucket: localTime(row.bucket.getTime(), tz),
    passersBy: row.passers_by,
  }))
}

async function runJob(proc: string): Promise<void> {
  const r = await sql<{ job_id: number }>`
    SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = ${proc}`.execute(db)
  await sql`CALL run_job(${sql.lit(r.rows[0]!.job_id)})`.execute(db)
}

async function dailyZone(): Promise<string | undefined> {
  const r = await sql<{ timezone: string }>`SELECT timezone FROM footfall_1d_zone`.execute(db)
  return r.rows[0]?.timezone
}

beforeAll(async () => {
  t = await createTestDatabase()
  db = t.db
  // The jobs run when these tests run them (a server's scheduler may have run them once already).
  await pauseBackgroundJobs(db)
  await sql`DELETE FROM flow_progress`.execute(db)
  await sql`DELETE FROM forget_progress`.execute(db)
  const r = await sql<{ d: Date }>`
    SELECT time_bucket(INTERVAL '1 day', now() - INTERVAL '3 days', ${NY}) AS d`.execute(db)
  D = r.rows[0]!.d.getTime()
})

afterAll(async () => {
  await t?.close()
})

describe('a district in America/New_York', () => {
  it('gets New York local days in footfall_1d', async () => {
    const report = await loadDistrict(db, { ...tinyDistrict(), timezone: NY })
    expect(report.dailyAggregateRebuilt).toBe(true)
    expect(await dailyZone()).toBe(NY)
    expect(localTime(D, NY)).toMatch(/, 00:00$/)

    // 23:30 the evening before D, then 00:30 and 05:00 on D (New York): one Rome morning.
    await insertTransits([
      { gw: 'gw-street-a', first: D - 30 * MIN, last: D - 29 * MIN },
      { gw: 'gw-street-a', first: D + 30 * MIN, last: D + 31 * MIN },
      { gw: 'gw-street-a', first: D + 5 * HOUR, last: D + 5 * HOUR + MIN },
    ])
    const expected = [
      { bucket: localTime(D - DAY, NY), passersBy: 1 },
      { bucket: localTime(D, NY), passersBy: 2 },
    ]
    expect(expected[0]!.bucket).toMatch(/, 00:00$/)
    // Real-time (nothing materialised yet), then materialised.
    expect(await daily(D - 2 * DAY, D + DAY, NY)).toEqual(expected)
    for (const view of ['footfall_15m', 'footfall_1h', 'footfall_1d'])
      await refreshAggregate(db, view)
    expect(await daily(D - 2 * DAY, D + DAY, NY)).toEqual(expected)
  })

  it('gets New York local days in flows_daily', async () => {
    // The flows job recomputes from done_until − 5 h: make that 2 h before D.
    await sql`
      INSERT INTO flow_progress (id, done_until) VALUES (true, ${iso(D + 3 * HOUR)}::timestamptz)`.execute(
      db,
    )
    await insertTransits([
      // p1: street at 23:40, shop at 00:10 New York: two local days, so no flow (one Rome day).
      { gw: 'gw-street-a', p: 1, first: D - 22 * MIN, last: D - 20 * MIN },
      { gw: 'gw-shop-one', p: 1, first: D + 10 * MIN, last: D + 20 * MIN },
      // p2: a flow on D; p3: a flow on the day before.
      { gw: 'gw-street-a', p: 2, first: D + HOUR, last: D + HOUR + MIN },
      { gw: 'gw-shop-one', p: 2, first: D + HOUR + 10 * MIN, last: D + HOUR + 20 * MIN },
      { gw: 'gw-street-a', p: 3, first: D - 3 * HOUR, last: D - 3 * HOUR + MIN },
      { gw: 'gw-shop-one', p: 3, first: D - 3 * HOUR + 5 * MIN, last: D - 2 * HOUR },
    ])
    await runJob('miglio_compute_flows')
    const r = await sql<{ bucket: Date; origin: string; dest: string; flows: number }>`
      SELECT bucket, origin_zone_id AS origin, dest_zone_id AS dest, flows FROM flows_daily
      ORDER BY bucket`.execute(db)
    expect(r.rows.map((row) => ({ ...row, bucket: localTime(row.bucket.getTime(), NY) }))).toEqual([
      { bucket: localTime(D - DAY, NY), origin: 'street-a', dest: 'shop-one', flows: 1 },
      { bucket: localTime(D, NY), origin: 'street-a', dest: 'shop-one', flows: 1 },
    ])
  })

  it('forgets pseudonyms up to the New York day whose flows are final', async () => {
    await runJob('miglio_forget_pseudonyms')
    const r = await sql<{ done_before: Date; done_until: Date }>`
      SELECT done_before, done_until FROM forget_progress, flow_progress`.execute(db)
    const { done_before, done_until } = r.rows[0]!
    const cutoff = done_until.getTime() - 5 * HOUR
    expect(done_before.getTime()).toBe(await dayStart(cutoff, NY))
    expect(done_before.getTime()).not.toBe(await dayStart(cutoff, ROME))
  })
})

describe('changing the district time zone', () => {
  it('rebuilds footfall_1d for Rome days from the hourly history', async () => {
    // The hourly history as the refresh policies leave it (the flows test added transits).
    for (const view of ['footfall_15m', 'footfall_1h']) await refreshAggregate(db, view)
    const report = await loadDistrict(db, tinyDistrict())
    expect(report.dailyAggregateRebuilt).toBe(true)
    expect(await dailyZone()).toBe(ROME)
    // The street transits of both tests are one Rome day; the loader refilled the aggregate.
    const romeDay = await dayStart(D, ROME)
    expect(await daily(romeDay - DAY, romeDay + 2 * DAY, ROME)).toEqual([
      { bucket: localTime(romeDay, ROME), passersBy: 3 + 3 },
    ])
    const mat = await sql<{ name: string }>`
      SELECT materialization_hypertable_name AS name FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'footfall_1d'`.execute(db)
    const materialised = await sql<{ n: number }>`
      SELECT coalesce(sum(passers_by), 0)::int AS n FROM ${sql.table(`_timescaledb_internal.${mat.rows[0]!.name}`)}`.execute(
      db,
    )
    expect(materialised.rows[0]!.n).toBe(9)
    // One refresh and one compression policy, as before.
    const jobs = await sql<{ proc_name: string }>`
      SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name = 'footfall_1d'
      ORDER BY 1`.execute(db)
    expect(jobs.rows.map((j) => j.proc_name)).toEqual([
      'policy_compression',
      'policy_refresh_continuous_aggregate',
    ])
  })

  it('leaves footfall_1d alone when the zone is the same', async () => {
    expect((await loadDistrict(db, tinyDistrict())).dailyAggregateRebuilt).toBe(false)
  })

  it('finishes a refill the previous load did not (stopped between its commit and the refresh)', async () => {
    const refilled = async () =>
      (await sql<{ refilled: boolean }>`SELECT refilled FROM footfall_1d_zone`.execute(db)).rows[0]
        ?.refilled
    expect(await refilled()).toBe(true)
    // What a load that recreated footfall_1d and stopped before refreshing it leaves behind: the
    // aggregate recreated (committed) and empty, its refill not done.
    await sql`UPDATE footfall_1d_zone SET timezone = 'UTC'`.execute(db)
    // As the district loader calls it: again if TimescaleDB's scheduler races the DROP.
    await retryCatalogRace(() => sql`SELECT miglio_ensure_daily_aggregate(${ROME})`.execute(db))
    expect(await refilled()).toBe(false)
    const romeDay = await dayStart(D, ROME)
    const mat = await sql<{ name: string }>`
      SELECT materialization_hypertable_name AS name FROM timescaledb_information.continuous_aggregates
      WHERE view_name = 'footfall_1d'`.execute(db)
    const materialised = async () =>
      (
        await sql<{ n: number }>`
          SELECT coalesce(sum(passers_by), 0)::int AS n
          FROM ${sql.table(`_timescaledb_internal.${mat.rows[0]!.name}`)}`.execute(db)
      ).rows[0]!.n
    expect(await materialised()).toBe(0)
    expect((await loadDistrict(db, tinyDistrict())).dailyAggregateRebuilt).toBe(true)
    expect(await refilled()).toBe(true)
    expect(await materialised()).toBe(9)
    expect(await daily(romeDay - DAY, romeDay + 2 * DAY, ROME)).toEqual([
      { bucket: localTime(romeDay, ROME), passersBy: 6 },
    ])
  })

  it('refuses a second district in another zone, and a zone the database does not know', async () => {
    await expect(
      loadDistrict(db, { ...tinyDistrict(), id: 'other-district', timezone: NY }),
    ).rejects.toMatchObject({
      code: 'district_invalid',
      message: expect.stringMatching(/America\/New_York.*test-district.*Europe\/Rome/),
    })
    await expect(
      loadDistrict(db, { ...tinyDistrict(), timezone: 'Mars/Olympus_Mons' }),
    ).rejects.toMatchObject({
      code: 'district_invalid',
      message: expect.stringMatching(/Mars\/Olympus_Mons is not known/),
    })
    const districts = await sql`SELECT id, timezone FROM districts`.execute(db)
    expect(districts.rows).toEqual([{ id: 'test-district', timezone: ROME }])
    expect(await dailyZone()).toBe(ROME)
  })
})
