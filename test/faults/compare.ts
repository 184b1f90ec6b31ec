import type pg from 'pg'
import { Kysely, PostgresDialect } from 'kysely'
import { durableSessions } from '../../services/ingest/committer/session-cache.ts'
import type { Database } from '../../services/shared/db/database.ts'
import type { Session } from '../../services/ingest/sessionise.ts'

// What a run leaves in its database, and how two runs of the same scenario compare. Pseudonyms are
// left out of the rows compared: each database draws its own random daily keys.

/** A closed transit, every column but the pseudonym. */
export type TransitRow = {
  gatewayId: string
  zoneId: string
  shopId: string | null
  firstMs: number
  lastMs: number
  samples: number
  peakRssi: number
  visitor: boolean
  dwellS: number
  radio: string
  randomised: boolean
  thresholdVersion: number
  calibrationVersion: number
}

/** An open session (still in progress at the end of the run), every column but the keyed ones. */
export type OpenRow = {
  gatewayId: string
  firstMs: number
  lastMs: number
  samples: number
  peakRssi: number
  radio: string
  randomised: boolean
  lastSeqNum: number | null
}

export type ZoneCounts = Map<string, { passersBy: number; visitors: number }>

export type Snapshot = {
  batches: string[]
  transits: TransitRow[]
  open: OpenRow[]
  /** Per zone, from the footfall_15m continuous aggregate after a full refresh. */
  zones: ZoneCounts
  /**
   * Zones whose footfall_15m counts (real-time, before that refresh) differed from the transits
   * table: buckets materialised by the refresh policy mid-run miss later transits until the next
   * refresh (TimescaleDB's invalidation), so this depends on when the policy ran.
   */
  zonesStaleBeforeRefresh: number
  /** Transits grouped by pseudonym, as signatures: the partition of transits into devices. */
  devices: string[] | null
  deadLetters: { reason: string; detail: string }[]
}

export async function snapshot(db: pg.Pool): Promise<Snapshot> {
  const batches = await db.query<{ k: string }>(
    `SELECT gateway_id || '|' || boot_id || '|' || seq || '|' || (extract(epoch FROM sent_at) * 1000)::bigint AS k
     FROM ingest_batches`,
  )
  const transits = await db.query<{
    gateway_id: string
    zone_id: string
    shop_id: string | null
    first_ms: string
    last_ms: string
    samples: number
    peak_rssi: number
    visitor: boolean
    dwell_s: number
    radio: string
    randomised: boolean
    threshold_version: number
    calibration_version: number
    pseudonym: string | null
  }>(
    `SELECT gateway_id, zone_id, shop_id,
            (extract(epoch FROM first_seen) * 1000)::bigint AS first_ms,
            (extract(epoch FROM last_seen) * 1000)::bigint AS last_ms,
            samples, peak_rssi, visitor, dwell_s, radio, randomised, threshold_version,
            calibration_version, pseudonym::text AS pseudonym
     FROM transits`,
  )
  const open = await durableOpenSessions(db)
  const footfall = async (): Promise<ZoneCounts> => {
    const r = await db.query<{ zone_id: string; passers_by: string; visitors: string }>(
      `SELECT zone_id, sum(passers_by)::bigint AS passers_by, sum(visitors)::bigint AS visitors
       FROM footfall_15m GROUP BY zone_id`,
    )
    return new Map(
      r.rows.map((z) => [
        z.zone_id,
        { passersBy: Number(z.passers_by), visitors: Number(z.visitors) },
      ]),
    )
  }
  const realTime = await footfall()
  await db.query(`CALL refresh_continuous_aggregate('footfall_15m', NULL, NULL)`)
  const zones = await footfall()
  const dead = await db.query<{ reason: string; detail: string }>(
    `SELECT reason, detail FROM dead_letters ORDER BY received_at`,
  )
  const rows: TransitRow[] = transits.rows.map((r) => ({
    gatewayId: r.gateway_id,
    zoneId: r.zone_id,
    shopId: r.shop_id,
    firstMs: Number(r.first_ms),
    lastMs: Number(r.last_ms),
    samples: r.samples,
    peakRssi: r.peak_rssi,
    visitor: r.visitor,
    dwellS: r.dwell_s,
    radio: r.radio,
    randomised: r.randomised,
    thresholdVersion: r.threshold_version,
    calibrationVersion: r.calibration_version,
  }))
  // The retention job nulls yesterday's pseudonyms once that day's flows are final: the device
  // partition is compared only while every pseudonym is there.
  let devices: string[] | null = null
  if (transits.rows.every((r) => r.pseudonym !== null)) {
    const byDevice = new Map<string, string[]>()
    transits.rows.forEach((r, i) => {
      const list = byDevice.get(r.pseudonym!) ?? []
      list.push(transitKey(rows[i]!))
      byDevice.set(r.pseudonym!, list)
    })
    devices = [...byDevice.values()].map((l) => l.sort().join(' + ')).sort()
  }
  const fromTransits: ZoneCounts = new Map()
  for (const t of rows) {
    const z = fromTransits.get(t.zoneId) ?? { passersBy: 0, visitors: 0 }
    if (t.visitor) z.visitors++
    else z.passersBy++
    fromTransits.set(t.zoneId, z)
  }
  const differs = (a: ZoneCounts, b: ZoneCounts) =>
    [...new Set([...a.keys(), ...b.keys()])].filter(
      (z) => JSON.stringify(a.get(z)) !== JSON.stringify(b.get(z)),
    ).length
  if (differs(zones, fromTransits) > 0)
    throw new Error('footfall_15m after a full refresh does not match the transits table')
  return {
    batches: batches.rows.map((r) => r.k),
    transits: rows,
    open: open.map(({ gatewayId, session: r }) => ({
      gatewayId,
      firstMs: r.firstMs,
      lastMs: r.lastMs,
      samples: r.samples,
      peakRssi: r.peakRssi,
      radio: r.radio,
      randomised: r.randomised,
      lastSeqNum: r.lastSeqNum ?? null,
    })),
    zones,
    zonesStaleBeforeRefresh: differs(realTime, fromTransits),
    devices,
    deadLetters: dead.rows,
  }
}

export const transitKey = (t: TransitRow) =>
  JSON.stringify([
    t.gatewayId,
    t.zoneId,
    t.shopId,
    t.firstMs,
    t.lastMs,
    t.samples,
    t.peakRssi,
    t.visitor,
    t.dwellS,
    t.radio,
    t.randomised,
    t.thresholdVersion,
    t.calibrationVersion,
  ])

export const openKey = (o: OpenRow) =>
  JSON.stringify([
    o.gatewayId,
    o.firstMs,
    o.lastMs,
    o.samples,
    o.peakRssi,
    o.radio,
    o.randomised,
    o.lastSeqNum,
  ])

/** a − b and b − a as multisets. */
export function multisetDiff<T>(a: readonly T[], b: readonly T[], key: (x: T) => string) {
  const counts = new Map<string, { n: number; items: T[] }>()
  for (const x of a) {
    const k = key(x)
    const c = counts.get(k) ?? { n: 0, items: [] }
    c.n++
    c.items.push(x)
    counts.set(k, c)
  }
  const onlyB: T[] = []
  for (const x of b) {
    const c = counts.get(key(x))
    if (c && c.n > 0) {
      c.n--
      c.items.pop()
    } else onlyB.push(x)
  }
  const onlyA = [...counts.values()].flatMap((c) => c.items.slice(0, c.n))
  return { onlyA, onlyB }
}

/** One transit of one run that is exactly several consecutive transits of the other. */
export type Split = { whole: TransitRow; parts: TransitRow[] }

export type TransitComparison = {
  /** Transits in both runs. */
  same: number
  /** Baseline transits split into several in the fault run (sightings all there). */
  splits: Split[]
  /** Several baseline transits merged into one in the fault run. */
  merges: Split[]
  /** Baseline transits missing from the fault run and not explained by a split or merge. */
  lost: TransitRow[]
  /** Fault-run transits not in the baseline and not explained by a split or merge. */
  duplicated: TransitRow[]
  /** Sightings (samples of closed and open sessions) per gateway: baseline minus fault, when ≠ 0. */
  sightingDiff: Map<string, number>
}

/** Takes from `pool` (same gateway, unused) transits inside `whole` adding up to it, or null. */
function partsOf(
  whole: TransitRow,
  pool: TransitRow[],
  used: Set<TransitRow>,
): TransitRow[] | null {
  const inside = pool
    .filter(
      (p) =>
        !used.has(p) &&
        p.gatewayId === whole.gatewayId &&
        p.firstMs >= whole.firstMs &&
        p.lastMs <= whole.lastMs,
    )
    .sort((x, y) => x.firstMs - y.firstMs)
  if (inside.length < 2) return null
  const samples = inside.reduce((s, p) => s + p.samples, 0)
  if (
    samples !== whole.samples ||
    inside[0]!.firstMs !== whole.firstMs ||
    Math.max(...inside.map((p) => p.lastMs)) !== whole.lastMs
  )
    return null
  return inside
}

export function compareTransits(
  base: { transits: readonly TransitRow[]; open: readonly OpenRow[] },
  fault: { transits: readonly TransitRow[]; open: readonly OpenRow[] },
): TransitComparison {
  const { onlyA: missing, onlyB: extra } = multisetDiff(base.transits, fault.transits, transitKey)
  const used = new Set<TransitRow>()
  const splits: Split[] = []
  const merges: Split[] = []
  const lost: TransitRow[] = []
  for (const m of missing) {
    const parts = partsOf(m, extra, used)
    if (parts) {
      parts.forEach((p) => used.add(p))
      splits.push({ whole: m, parts })
    }
  }
  const explainedMissing = new Set(splits.map((s) => s.whole))
  const usedMissing = new Set<TransitRow>()
  for (const e of extra) {
    if (used.has(e)) continue
    const parts = partsOf(
      e,
      missing.filter((m) => !explainedMissing.has(m)),
      usedMissing,
    )
    if (parts) {
      parts.forEach((p) => usedMissing.add(p))
      used.add(e)
      merges.push({ whole: e, parts })
    }
  }
  for (const m of missing) if (!explainedMissing.has(m) && !usedMissing.has(m)) lost.push(m)
  const duplicated = extra.filter((e) => !used.has(e))
  const sightings = new Map<string, number>()
  const add = (g: string, n: number) => sightings.set(g, (sightings.get(g) ?? 0) + n)
  for (const t of base.transits) add(t.gatewayId, t.samples)
  for (const o of base.open) add(o.gatewayId, o.samples)
  for (const t of fault.transits) add(t.gatewayId, -t.samples)
  for (const o of fault.open) add(o.gatewayId, -o.samples)
  for (const [g, n] of sightings) if (n === 0) sightings.delete(g)
  return {
    same: base.transits.length - missing.length,
    splits,
    merges,
    lost,
    duplicated,
    sightingDiff: sightings,
  }
}

/**
 * Every gateway's open sessions as the database holds them: its checkpoint (open_transits) with the
 * session log after it replayed (ingest holds them in memory and checkpoints every
 * INGEST_CHECKPOINT_MS; a crash leaves exactly this). The fault runs use the default rules.
 */
async function durableOpenSessions(
  pool: pg.Pool,
): Promise<{ gatewayId: string; session: Session }[]> {
  const ids = await pool.query<{ gateway_id: string }>(
    `SELECT gateway_id FROM gateway_state UNION SELECT gateway_id FROM open_transits`,
  )
  // Not destroyed: the pool is the caller's.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const sessions = await durableSessions(
    db,
    ids.rows.map((r) => r.gateway_id),
    { gapMs: 120_000, staticAfterMs: 4 * 3_600_000 },
  )
  return [...sessions].flatMap(([gatewayId, list]) =>
    list.map((session) => ({ gatewayId, session })),
  )
}
