import { sql } from 'kysely'
import type { Db } from '../shared/db/create-db.ts'
import type { GatewayTransit, RegisteredGateway } from './model.ts'

/**
 * Rows per INSERT: small enough that the live pipeline's and the pages' statements, which share the
 * embedded database's one connection, wait a fraction of a second behind one (20 000 rows held
 * them up to 4 s), large enough to cost no more than bigger statements.
 */
const CHUNK = 5000

/**
 * A day's transits as columns, without pseudonyms: what a history worker thread hands back (typed
 * arrays move between threads without a copy, and hold a day in a few MB instead of objects).
 * `gateway` indexes the gateway list the columns were made with.
 */
export type TransitColumns = {
  count: number
  gateway: Uint16Array
  firstMs: Float64Array
  lastMs: Float64Array
  /** Stored as `real`: a float32 is what the column keeps anyway. */
  dwellS: Float32Array
  peakRssi: Int16Array
  samples: Int32Array
  /** Bit 1: Wi-Fi (else BLE); bit 2: randomised MAC; bit 4: visitor. */
  flags: Uint8Array
  thresholdVersion: Int32Array
}

const WIFI = 1
const RANDOMISED = 2
const VISITOR = 4

/** The columns of `rows`, whose gateways must be in `gateways` (at most 65 536). */
export function transitColumns(
  rows: readonly GatewayTransit[],
  gateways: readonly RegisteredGateway[],
): TransitColumns {
  const index = new Map(gateways.map((g, i) => [g.id, i]))
  const n = rows.length
  const c: TransitColumns = {
    count: n,
    gateway: new Uint16Array(n),
    firstMs: new Float64Array(n),
    lastMs: new Float64Array(n),
    dwellS: new Float32Array(n),
    peakRssi: new Int16Array(n),
    samples: new Int32Array(n),
    flags: new Uint8Array(n),
    thresholdVersion: new Int32Array(n),
  }
  for (let i = 0; i < n; i++) {
    const { gateway, transit: t } = rows[i] as GatewayTransit
    const g = index.get(gateway.id)
    if (g === undefined || g > 0xffff) throw new Error(`gateway ${gateway.id} is not in the list`)
    c.gateway[i] = g
    c.firstMs[i] = t.firstMs
    c.lastMs[i] = t.lastMs
    c.dwellS[i] = t.dwellS
    c.peakRssi[i] = t.peakRssi
    c.samples[i] = t.samples
    c.flags[i] =
      (t.radio === 'wifi' ? WIFI : 0) | (t.randomised ? RANDOMISED : 0) | (t.visitor ? VISITOR : 0)
    c.thresholdVersion[i] = t.thresholdVersion
  }
  return c
}

/** The typed arrays of `c`, for postMessage's transfer list. */
export function transferablesOf(c: TransitColumns): ArrayBuffer[] {
  const { count: _count, ...arrays } = c
  return Object.values(arrays).map((a) => a.buffer as ArrayBuffer)
}

/**
 * Writes a past day's transits in big multi-row INSERTs (unnest arrays: the embedded database takes
 * no COPY over its socket). Times travel as epoch milliseconds (float8): parsing timestamptz text
 * was a good part of the statement's cost. Zone, shop and calibration come from `gateways` (the
 * list the columns index). Pseudonyms are NOT written: the design keeps a pseudonym 48 h at most,
 * and the retention job never visits days this old, so history is stored as what stays of any
 * day — aggregates' input without identifiers. Returns the rows written.
 */
export async function insertHistoryTransits(
  db: Db,
  gateways: readonly RegisteredGateway[],
  c: TransitColumns,
): Promise<number> {
  let written = 0
  for (let from = 0; from < c.count; from += CHUNK) {
    const to = Math.min(c.count, from + CHUNK)
    const col = <T>(f: (i: number) => T): T[] => {
      const out = new Array<T>(to - from)
      for (let i = from; i < to; i++) out[i - from] = f(i)
      return out
    }
    const g = (i: number) => gateways[c.gateway[i] ?? 0] as RegisteredGateway
    const flag = (i: number, bit: number) => ((c.flags[i] ?? 0) & bit) !== 0
    const result = await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version,
                            calibration_factor, calibration_version)
      SELECT to_timestamp(f / 1000), to_timestamp(l / 1000), gw, z, sh, NULL, d, pr, sa, ra, rnd, v,
             tv, cf, cv FROM unnest(
        ${Array.from(c.firstMs.subarray(from, to))}::float8[],
        ${Array.from(c.lastMs.subarray(from, to))}::float8[],
        ${col((i) => g(i).id)}::text[],
        ${col((i) => g(i).zoneId)}::text[],
        ${col((i) => g(i).shopId)}::text[],
        ${Array.from(c.dwellS.subarray(from, to))}::real[],
        ${Array.from(c.peakRssi.subarray(from, to))}::smallint[],
        ${Array.from(c.samples.subarray(from, to))}::integer[],
        ${col((i) => (flag(i, WIFI) ? 'wifi' : 'ble'))}::text[],
        ${col((i) => flag(i, RANDOMISED))}::boolean[],
        ${col((i) => flag(i, VISITOR))}::boolean[],
        ${Array.from(c.thresholdVersion.subarray(from, to))}::integer[],
        ${col((i) => g(i).calibration.factor)}::real[],
        ${col((i) => g(i).calibration.version)}::integer[])
        AS u(f, l, gw, z, sh, d, pr, sa, ra, rnd, v, tv, cf, cv)`.execute(db)
    written += Number(result.numAffectedRows ?? to - from)
  }
  return written
}

/**
 * Materialises the footfall aggregates over a past window just written (15 min → 1 h → local day):
 * the refresh policies only look a few days back, so history older than their windows would stay
 * invisible otherwise. A view is refreshed only when the window holds one of its buckets (the daily
 * one only for a whole local day; a partial day is recent, and its policy fills it). Each CALL runs
 * on its own (never inside a transaction).
 */
export async function refreshFootfallWindow(
  db: Db,
  w: { fromMs: number; toMs: number; wholeDay: boolean },
): Promise<void> {
  const from = new Date(w.fromMs)
  const to = new Date(w.toMs)
  const views = [
    { view: 'footfall_15m', fits: w.toMs - w.fromMs >= 15 * 60_000 },
    { view: 'footfall_1h', fits: w.toMs - w.fromMs >= 3_600_000 },
    { view: 'footfall_1d', fits: w.wholeDay },
  ]
  for (const { view, fits } of views)
    if (fits)
      await sql`CALL refresh_continuous_aggregate(${sql.lit(view)}::regclass, ${from}::timestamptz, ${to}::timestamptz)`.execute(
        db,
      )
}

/** A row of flows_hourly or flows_daily (start/history-flows.ts computes them). */
export type HistoryFlowRow = {
  bucketMs: number
  origin: string
  dest: string
  flows: number
  p25: number
  median: number
  p75: number
}

/**
 * Writes a past day's flows (computed where its pseudonyms existed), replacing whatever the day's
 * buckets held: hourly rows in [fromMs, toMs), the daily row at fromMs (the local midnight).
 */
export async function insertHistoryFlows(
  db: Db,
  day: { fromMs: number; toMs: number },
  flows: { hourly: readonly HistoryFlowRow[]; daily: readonly HistoryFlowRow[] },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`DELETE FROM flows_hourly WHERE bucket >= ${new Date(day.fromMs)} AND bucket < ${new Date(day.toMs)}`.execute(
      trx,
    )
    await sql`DELETE FROM flows_daily WHERE bucket = ${new Date(day.fromMs)}`.execute(trx)
    for (const [table, rows] of [
      ['flows_hourly', flows.hourly],
      ['flows_daily', flows.daily],
    ] as const) {
      if (rows.length === 0) continue
      await sql`
        INSERT INTO ${sql.table(table)} (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25,
                                         travel_s_median, travel_s_p75)
        SELECT * FROM unnest(
          ${rows.map((r) => new Date(r.bucketMs))}::timestamptz[],
          ${rows.map((r) => r.origin)}::text[],
          ${rows.map((r) => r.dest)}::text[],
          ${rows.map((r) => r.flows)}::integer[],
          ${rows.map((r) => r.p25)}::real[],
          ${rows.map((r) => r.median)}::real[],
          ${rows.map((r) => r.p75)}::real[])`.execute(trx)
    }
  })
}
