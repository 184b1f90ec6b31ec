import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { LocalHoliday } from '../../shared/contracts/holidays.ts'
import type { AlertRulesInput } from '../../shared/contracts/alert-rules.ts'
import type { ExpectedBucket, ExpectedMetric } from '../../shared/contracts/ranges-api.ts'
import type { FootfallScope } from './footfall-queries.ts'

const VIEW = { '15m': 'footfall_15m', '1h': 'footfall_1h' } as const
const METRIC = {
  footfall: sql<number>`sum(passers_by + visitors)::float8`,
  visitors: sql<number>`sum(visitors)::float8`,
  passersBy: sql<number>`sum(passers_by)::float8`,
}

/** Per zone: bucket start (ms) → the metric, over [from, to), from the aggregate of the bucket. */
export async function seriesByZone(
  db: Db,
  f: FootfallScope & { from: Date; to: Date; bucket: ExpectedBucket; metric: ExpectedMetric },
): Promise<Map<string, Map<number, number>>> {
  let q = db
    .selectFrom(VIEW[f.bucket])
    .select(['zone_id', 'bucket', METRIC[f.metric].as('v')])
    .where('bucket', '>=', f.from)
    .where('bucket', '<', f.to)
  if (f.zoneId) q = q.where('zone_id', '=', f.zoneId)
  if (f.shopId) q = q.where('shop_id', '=', f.shopId)
  const rows = await q.groupBy(['zone_id', 'bucket']).execute()
  const out = new Map<string, Map<number, number>>()
  for (const r of rows) {
    let m = out.get(r.zone_id)
    if (!m) out.set(r.zone_id, (m = new Map()))
    m.set(r.bucket.getTime(), r.v)
  }
  return out
}

/**
 * The first instant with footfall data, or null: the oldest transit (an index scan of the
 * hypertable's time column). Not the daily aggregate: on a server its real-time part starts at its
 * refresh watermark, so days older than the refresh window that were never refreshed are missing
 * there and the data would seem to begin later than it does.
 */
export async function firstDataAt(db: Db): Promise<number | null> {
  const r = await sql<{ at: Date | null }>`SELECT min(first_seen) AS at FROM transits`.execute(db)
  return r.rows[0]?.at?.getTime() ?? null
}

/** The district's local holidays and alert rules as stored by the loader (newest district). */
export async function districtSettings(
  db: Db,
): Promise<{ holidays: LocalHoliday[]; alertRules: AlertRulesInput }> {
  const row = await db
    .selectFrom('districts')
    .select(['holidays', 'alert_rules'])
    .orderBy('loaded_at', 'desc')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  return {
    holidays: (row?.holidays ?? []) as LocalHoliday[],
    alertRules: (row?.alert_rules ?? {}) as AlertRulesInput,
  }
}

/** Events overlapping [from, to): their windows (the local days they touch are not comparable). */
export async function eventWindows(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ name: string; from: Date; to: Date }[]> {
  const rows = await db
    .selectFrom('events')
    .select(['name', 'starts_at', 'ends_at'])
    .where('starts_at', '<', to)
    .where('ends_at', '>', from)
    .execute()
  return rows.map((r) => ({ name: r.name, from: r.starts_at, to: r.ends_at }))
}
