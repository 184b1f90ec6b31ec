import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { createTestDatabase, type TestDatabase } from '../services/shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../services/shared/testing/background-jobs.ts'
import { tinyDistrict } from '../services/shared/testing/fixtures.ts'
import { loadDistrict } from '../services/shared/registry/district-repository.ts'
import { createApiKey } from '../services/shared/registry/api-key-repository.ts'
import { createLogger } from '../services/shared/logger.ts'
import {
  FlowsResponseSchema,
  FootfallDetailResponseSchema,
} from '../services/shared/contracts/api.ts'
import { classify, type Session } from '../services/ingest/sessionise.ts'
import { captureRate, dwellMean } from '../services/api/lib/measures.ts'
import { buildApp } from '../services/api/app.ts'
import { flowsKInDatabase, publishFlowsK } from '../services/shared/db/settings.ts'
import type { Db } from '../services/shared/db/create-db.ts'

// Each metric rule has one definition in TypeScript and, where SQL must apply it too, one SQL
// function in the baseline (docs/architecture.md, "One home for each metric rule"). These tests run
// both over the same generated cases and the same rows, so the two cannot drift apart:
// - visitor: ingest's classify() vs miglio_is_visitor(), also through the privacy job that writes
//   sessions open for 44 h as transits;
// - capture rate and mean dwell: the API's measures vs miglio_capture_rate()/miglio_dwell_mean(),
//   also the API's /footfall vs the Grafana view on the same transits;
// - k-suppression: the API's /flows with API_FLOWS_K = k vs v_flows_hourly with k published.

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const iso = (ms: number) => new Date(ms).toISOString()
const log = createLogger({ level: 'silent' })

let t: TestDatabase
let db: Db
let analystKey: string
let now: number

beforeAll(async () => {
  t = await createTestDatabase()
  db = t.db
  await pauseBackgroundJobs(db)
  await loadDistrict(db, tinyDistrict())
  analystKey = (await createApiKey(db, { role: 'analyst', label: 'metric rules' })).key
  const r = await sql<{ now: Date }>`SELECT now() AS now`.execute(db)
  now = r.rows[0]!.now.getTime()
})

afterAll(async () => {
  await t?.close()
})

async function withApp<T>(flowsK: number, fn: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const app = await buildApp({
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    options: { flowsK, rateLimit: { enabled: false } },
  })
  try {
    return await fn(app)
  } finally {
    await app.close()
  }
}

async function getJson(app: FastifyInstance, url: string): Promise<unknown> {
  const res = await app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${analystKey}` },
  })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as unknown
}

describe('visitor classification', () => {
  type Case = {
    inShop: boolean
    peakRssi: number
    dwellMs: number
    minRssi: number
    minDwellS: number
  }
  const cases: Case[] = []
  for (const inShop of [true, false])
    for (const minRssi of [-90, -67, -50])
      for (const minDwellS of [0, 1, 60, 300])
        for (const dr of [-1, 0, 1])
          for (const dd of [-1000, -1, 0, 1, 1000, 3_600_000])
            cases.push({
              inShop,
              peakRssi: minRssi + dr,
              dwellMs: Math.max(0, minDwellS * 1000 + dd),
              minRssi,
              minDwellS,
            })
  const session = (c: Case, firstMs: number): Session => ({
    pseudonym: '1',
    firstMs,
    lastMs: firstMs + c.dwellMs,
    peakRssi: c.peakRssi,
    samples: 2,
    radio: 'ble',
    randomised: false,
  })
  const tsVisitor = (c: Case) =>
    classify(session(c, now), { version: 1, minRssi: c.minRssi, minDwellS: c.minDwellS }, c.inShop)
      .visitor

  it('miglio_is_visitor() agrees with classify() on every generated case', async () => {
    const firstMs = now - HOUR
    const r = await sql<{ visitor: boolean }>`
      SELECT miglio_is_visitor(c.in_shop, c.peak_rssi,
                               extract(epoch FROM c.last_seen - c.first_seen)::float8,
                               c.min_rssi, c.min_dwell_s) AS visitor
      FROM unnest(${cases.map((c) => c.inShop)}::boolean[], ${cases.map((c) => c.peakRssi)}::int[],
                  ${cases.map(() => iso(firstMs))}::timestamptz[],
                  ${cases.map((c) => iso(firstMs + c.dwellMs))}::timestamptz[],
                  ${cases.map((c) => c.minRssi)}::int[], ${cases.map((c) => c.minDwellS)}::int[])
             WITH ORDINALITY AS c(in_shop, peak_rssi, first_seen, last_seen, min_rssi, min_dwell_s, i)
      ORDER BY c.i`.execute(db)
    const sqlVisitors = r.rows.map((row) => row.visitor)
    expect(sqlVisitors).toEqual(cases.map(tsVisitor))
    // The cases cover both answers, and each threshold deciding alone.
    expect(new Set(sqlVisitors)).toEqual(new Set([true, false]))
  })

  it('the privacy job classifies sessions open for 44 h as classify() does', async () => {
    // The tiny district's gateways: a shop gateway and a street one, both -67 dBm and 60 s.
    const gateways = [
      { id: 'gw-shop-one', inShop: true },
      { id: 'gw-street-a', inShop: false },
    ]
    const sessions: { gw: string; inShop: boolean; c: Case; firstMs: number; p: number }[] = []
    let p = 5000
    for (const g of gateways)
      for (const dr of [-1, 0, 1])
        for (const dd of [-1000, -1, 0, 1, 120_000]) {
          const c = {
            inShop: g.inShop,
            peakRssi: -67 + dr,
            dwellMs: 60_000 + dd,
            minRssi: -67,
            minDwellS: 60,
          }
          sessions.push({
            gw: g.id,
            inShop: g.inShop,
            c,
            firstMs: now - 46 * HOUR - p * 1000,
            p: p++,
          })
        }
    await sql`
      INSERT INTO open_transits (gateway_id, pseudonym, first_seen, last_seen, peak_rssi, samples,
                                 radio, randomised)
      SELECT * FROM unnest(${sessions.map((s) => s.gw)}::text[], ${sessions.map((s) => s.p)}::bigint[],
                           ${sessions.map((s) => iso(s.firstMs))}::timestamptz[],
                           ${sessions.map((s) => iso(s.firstMs + s.c.dwellMs))}::timestamptz[],
                           ${sessions.map((s) => s.c.peakRssi)}::smallint[],
                           ${sessions.map(() => 2)}::int[], ${sessions.map(() => 'ble')}::text[],
                           ${sessions.map(() => false)}::boolean[])`.execute(db)
    const job = await sql<{ job_id: number }>`
      SELECT job_id FROM timescaledb_information.jobs
      WHERE proc_name = 'miglio_forget_pseudonyms'`.execute(db)
    await sql`CALL run_job(${sql.lit(job.rows[0]!.job_id)})`.execute(db)

    const written = await sql<{ gateway_id: string; first_seen: Date; visitor: boolean }>`
      SELECT gateway_id, first_seen, visitor FROM transits
      WHERE first_seen < ${iso(now - 46 * HOUR)}::timestamptz AND pseudonym IS NULL
      ORDER BY gateway_id, first_seen`.execute(db)
    const byKey = new Map(
      written.rows.map((w) => [`${w.gateway_id}@${w.first_seen.getTime()}`, w.visitor]),
    )
    expect(byKey.size).toBe(sessions.length)
    for (const s of sessions)
      expect(byKey.get(`${s.gw}@${s.firstMs}`), JSON.stringify(s)).toBe(
        classify(session(s.c, s.firstMs), { version: 1, minRssi: -67, minDwellS: 60 }, s.inShop)
          .visitor,
      )
  })
})

describe('capture rate and mean dwell', () => {
  it('the SQL functions agree with the API measures on every generated case', async () => {
    const cases: { p: number; v: number; dwell: number }[] = []
    for (const p of [0, 1, 2, 3, 7, 1000, 123_456_789])
      for (const v of [0, 1, 3, 10, 999_999])
        for (const dwell of [0, 0.25, 59.999, 1234.5678, 1e9 / 3]) cases.push({ p, v, dwell })
    const r = await sql<{ capture: number | null; dwell: number | null }>`
      SELECT miglio_capture_rate(c.p, c.v) AS capture, miglio_dwell_mean(c.dwell, c.v) AS dwell
      FROM unnest(${cases.map((c) => c.p)}::bigint[], ${cases.map((c) => c.v)}::bigint[],
                  ${cases.map((c) => c.dwell)}::float8[]) WITH ORDINALITY AS c(p, v, dwell, i)
      ORDER BY c.i`.execute(db)
    expect(r.rows).toEqual(
      cases.map((c) => ({ capture: captureRate(c.p, c.v), dwell: dwellMean(c.dwell, c.v) })),
    )
  })

  it('the Grafana view and the API give the same capture rate and mean dwell per zone and bucket', async () => {
    const B = Math.floor((now - 2 * DAY) / (15 * MIN)) * 15 * MIN
    const rows: {
      gw: string
      zone: string
      shop: string | null
      first: number
      dwellS: number
      visitor: boolean
    }[] = []
    for (let i = 0; i < 40; i++) {
      const shop = i % 4 !== 0
      rows.push({
        gw: shop ? 'gw-shop-one' : 'gw-street-a',
        zone: shop ? 'shop-one' : 'street-a',
        shop: shop ? 'shop-one' : null,
        first: B + (i % 6) * 7 * MIN + i * 1000,
        dwellS: 13.7 * i + 0.1,
        visitor: shop && i % 3 !== 0,
      })
    }
    await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version)
      SELECT f, f + make_interval(secs => d), g, z, s, NULL, d, -60, 2, 'ble', false, v, 1
      FROM unnest(${rows.map((x) => iso(x.first))}::timestamptz[], ${rows.map((x) => x.dwellS)}::real[],
                  ${rows.map((x) => x.gw)}::text[], ${rows.map((x) => x.zone)}::text[],
                  ${rows.map((x) => x.shop)}::text[], ${rows.map((x) => x.visitor)}::boolean[])
             AS r(f, d, g, z, s, v)`.execute(db)
    const from = iso(B)
    const to = iso(B + HOUR)
    const view = await sql<{
      bucket: Date
      zone_id: string
      capture_rate: number | null
      dwell_mean_s: number | null
    }>`
      SELECT bucket, zone_id, capture_rate, dwell_mean_s FROM v_footfall_zone_15m
      WHERE bucket >= ${from}::timestamptz AND bucket < ${to}::timestamptz
      ORDER BY bucket, zone_id`.execute(db)
    const api = await withApp(5, async (app) =>
      FootfallDetailResponseSchema.parse(
        await getJson(app, `/api/v1/footfall?${new URLSearchParams({ from, to, bucket: '15m' })}`),
      ),
    )
    const apiRows = api.rows
      .map((r) => ({
        bucket: r.bucketStart,
        zone: r.zoneId,
        captureRate: r.captureRate,
        dwellMeanS: r.dwellMeanS,
      }))
      .sort((a, b) =>
        a.bucket === b.bucket ? a.zone.localeCompare(b.zone) : a.bucket.localeCompare(b.bucket),
      )
    expect(apiRows.length).toBeGreaterThanOrEqual(6)
    expect(apiRows.some((r) => r.dwellMeanS !== null && r.captureRate !== null)).toBe(true)
    expect(apiRows.some((r) => r.dwellMeanS === null)).toBe(true)
    expect(
      view.rows.map((v) => ({
        bucket: v.bucket.toISOString(),
        zone: v.zone_id,
        captureRate: v.capture_rate,
        dwellMeanS: v.dwell_mean_s,
      })),
    ).toEqual(apiRows)
  })
})

describe('k-suppression', () => {
  it('the Grafana view suppresses exactly the cells the API suppresses, for the API k', async () => {
    // One hour per count 0 … 12, street-a → shop-one, three weeks ago.
    const H = Math.floor((now - 21 * DAY) / HOUR) * HOUR
    const counts = Array.from({ length: 13 }, (_, i) => i)
    await sql`
      INSERT INTO flows_hourly (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25,
                                travel_s_median, travel_s_p75)
      SELECT b, 'street-a', 'shop-one', n, 10, 20, 30
      FROM unnest(${counts.map((n) => iso(H + n * HOUR))}::timestamptz[], ${counts}::int[]) AS c(b, n)`.execute(
      db,
    )
    expect(await flowsKInDatabase(db)).toBe(5)
    for (const k of [1, 3, 5, 8]) {
      await publishFlowsK(db, k)
      const view = await sql<{ bucket: Date; flows: number | null; suppressed: boolean }>`
        SELECT bucket, flows, suppressed FROM v_flows_hourly
        WHERE bucket >= ${iso(H)}::timestamptz AND bucket < ${iso(H + 13 * HOUR)}::timestamptz
        ORDER BY bucket`.execute(db)
      const api = await withApp(k, async (app) => {
        const cells = []
        for (const n of counts) {
          const q = new URLSearchParams({
            from: iso(H + n * HOUR),
            to: iso(H + (n + 1) * HOUR),
            source: 'hourly',
          })
          const body = FlowsResponseSchema.parse(await getJson(app, `/api/v1/flows?${q}`))
          expect(body.k).toBe(k)
          cells.push(...body.cells.map((c) => ({ flows: c.flows, suppressed: c.suppressed })))
        }
        return cells
      })
      expect(
        view.rows.map((v) => ({ flows: v.flows, suppressed: v.suppressed })),
        `k = ${k}`,
      ).toEqual(api)
      expect(api.filter((c) => c.suppressed)).toHaveLength(k)
    }
  })
})
