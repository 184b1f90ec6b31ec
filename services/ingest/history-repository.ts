import { sql } from 'kysely'
import type { Db } from '../shared/db/create-db.ts'
import type { GatewayTransit } from './model.ts'

/** Rows per INSERT: one statement of unnest arrays stays well under the wire's message limits. */
const CHUNK = 20_000

/**
 * Writes a past day's transits in big multi-row INSERTs (unnest arrays: the embedded database takes
 * no COPY over its socket). Times travel as epoch milliseconds (float8): parsing timestamptz text
 * was a good part of the statement's cost. Pseudonyms are NOT written: the design keeps a pseudonym 48 h at most,
 * and the retention job never visits days this old, so history is stored as what stays of any day —
 * aggregates' input without identifiers. Returns the rows written.
 */
export async function insertHistoryTransits(
  db: Db,
  rows: readonly GatewayTransit[],
): Promise<number> {
  let written = 0
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK)
    const t = part.map((r) => r.transit)
    const g = part.map((r) => r.gateway)
    const result = await sql`
      INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                            peak_rssi, samples, radio, randomised, visitor, threshold_version,
                            calibration_factor, calibration_version)
      SELECT to_timestamp(f / 1000), to_timestamp(l / 1000), gw, z, sh, NULL, d, pr, sa, ra, rnd, v,
             tv, cf, cv FROM unnest(
        ${t.map((x) => x.firstMs)}::float8[],
        ${t.map((x) => x.lastMs)}::float8[],
        ${g.map((x) => x.id)}::text[],
        ${g.map((x) => x.zoneId)}::text[],
        ${g.map((x) => x.shopId)}::text[],
        ${t.map((x) => x.dwellS)}::real[],
        ${t.map((x) => x.peakRssi)}::smallint[],
        ${t.map((x) => x.samples)}::integer[],
        ${t.map((x) => x.radio)}::text[],
        ${t.map((x) => x.randomised)}::boolean[],
        ${t.map((x) => x.visitor)}::boolean[],
        ${t.map((x) => x.thresholdVersion)}::integer[],
        ${g.map((x) => x.calibration.factor)}::real[],
        ${g.map((x) => x.calibration.version)}::integer[])
        AS u(f, l, gw, z, sh, d, pr, sa, ra, rnd, v, tv, cf, cv)`.execute(db)
    written += Number(result.numAffectedRows ?? part.length)
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
