import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../services/shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../services/shared/testing/background-jobs.ts'
import { loadDistrict } from '../services/shared/registry/district-repository.ts'
import { startOfLocalDay } from '../services/shared/contracts/local-time.ts'
import { threeShopDistrict } from '../services/api/api-test-helpers.ts'
import { loadGatewayRegistry } from '../services/ingest/ingest-repository.ts'
import type { GatewayTransit } from '../services/ingest/model.ts'
import { insertHistoryFlows } from '../services/ingest/history-repository.ts'
import { flowsOfDay } from './history-flows.ts'

// The demo history's transits are stored without pseudonyms, so its flows are computed in the
// worker that still has them (history-flows.ts). They must be what the database's own flow job
// (miglio_compute_flows) computes from the same transits with their pseudonyms.

const TZ = 'Europe/Rome'
const HOUR = 3_600_000
let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
  await pauseBackgroundJobs(database.db)
  await loadDistrict(database.db, threeShopDistrict())
})

afterAll(async () => {
  await database?.close()
})

function random(seed: number) {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

type Row = { bucket: Date; o: string; d: string; n: number; p25: number; p50: number; p75: number }
const keyOf = (r: { bucketMs: number; origin: string; dest: string }) =>
  `${new Date(r.bucketMs).toISOString()} ${r.origin}→${r.dest}`

describe('flows of a history day', () => {
  it('are the flows the database job computes from the same transits with their pseudonyms', async () => {
    const { db } = database
    const registry = await loadGatewayRegistry(db)
    const gateways = [...registry.values()].sort((a, b) => a.id.localeCompare(b.id))
    // Yesterday (local), 08:00–20:00: 120 devices walking between zones, some back and forth,
    // some staying in one zone, a few overlapping (travel time 0).
    const day = startOfLocalDay(Date.now() - 24 * HOUR, TZ)
    const rnd = random(7)
    const transits: GatewayTransit[] = []
    for (let d = 0; d < 120; d++) {
      let t = day + 8 * HOUR + Math.floor(rnd() * 10 * HOUR)
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
        const gateway = gateways[Math.floor(rnd() * gateways.length)]!
        const dwell = 20_000 + Math.floor(rnd() * 600_000)
        transits.push({
          gateway,
          transit: {
            pseudonym: String(1000 + d),
            firstMs: t,
            lastMs: t + dwell,
            peakRssi: -60,
            samples: 3,
            radio: 'wifi',
            randomised: false,
            dwellS: dwell / 1000,
            visitor: false,
            thresholdVersion: 1,
          },
        })
        t += dwell + (rnd() < 0.1 ? -5_000 : Math.floor(rnd() * 300_000))
      }
    }
    const mine = flowsOfDay(transits, TZ)
    expect(mine.daily.reduce((n, r) => n + r.flows, 0)).toBeGreaterThan(100)

    await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version,
                            calibration_factor, calibration_version)
      SELECT * FROM unnest(
        ${transits.map((t) => new Date(t.transit.firstMs))}::timestamptz[],
        ${transits.map((t) => new Date(t.transit.lastMs))}::timestamptz[],
        ${transits.map((t) => t.gateway.id)}::text[],
        ${transits.map((t) => t.gateway.zoneId)}::text[],
        ${transits.map((t) => t.gateway.shopId)}::text[],
        ${transits.map((t) => t.transit.pseudonym)}::bigint[],
        ${transits.map((t) => t.transit.dwellS)}::real[],
        ${transits.map(() => -60)}::smallint[], ${transits.map(() => 3)}::integer[],
        ${transits.map(() => 'wifi')}::text[], ${transits.map(() => false)}::boolean[],
        ${transits.map(() => false)}::boolean[], ${transits.map(() => 1)}::integer[],
        ${transits.map(() => 1)}::real[], ${transits.map(() => 1)}::integer[])`.execute(db)
    const job = await sql<{ job_id: number }>`
      SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'miglio_compute_flows'`.execute(
      db,
    )
    await sql`CALL run_job(${sql.lit(job.rows[0]!.job_id)})`.execute(db)
    const read = async (table: 'flows_hourly' | 'flows_daily') =>
      (
        await sql<Row>`
          SELECT bucket, origin_zone_id AS o, dest_zone_id AS d, flows AS n,
                 travel_s_p25 AS p25, travel_s_median AS p50, travel_s_p75 AS p75
          FROM ${sql.table(table)} WHERE bucket >= ${new Date(day)} AND bucket < ${new Date(day + 24 * HOUR)}
          ORDER BY 1, 2, 3`.execute(db)
      ).rows.map((r) => ({
        key: keyOf({ bucketMs: r.bucket.getTime(), origin: r.o, dest: r.d }),
        n: r.n,
        q: [r.p25, r.p50, r.p75],
      }))
    const theirs = { hourly: await read('flows_hourly'), daily: await read('flows_daily') }
    for (const kind of ['hourly', 'daily'] as const) {
      const ours = mine[kind]
        .map((r) => ({ key: keyOf(r), n: r.flows, q: [r.p25, r.median, r.p75] }))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
      expect(ours.map((r) => [r.key, r.n])).toEqual(theirs[kind].map((r) => [r.key, r.n]))
      ours.forEach((r, i) =>
        r.q.forEach((q, j) => expect(q).toBeCloseTo(theirs[kind][i]!.q[j]!, 1)),
      )
    }

    // Written by the history for its day, they replace what the day's buckets held.
    await insertHistoryFlows(db, { fromMs: day, toMs: day + 24 * HOUR }, mine)
    expect((await read('flows_daily')).map((r) => [r.key, r.n])).toEqual(
      theirs.daily.map((r) => [r.key, r.n]),
    )
  })
})
