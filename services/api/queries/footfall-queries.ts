import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { FootfallBucket, FootfallRow } from '../../shared/contracts/api.ts'

const VIEW_BY_BUCKET = { '15m': 'footfall_15m', '1h': 'footfall_1h', '1d': 'footfall_1d' } as const

export type FootfallFilter = {
  from: Date
  to: Date
  bucket: FootfallBucket
  zoneId?: string | undefined
  shopId?: string | undefined
}

/**
 * Footfall per zone and bucket from the continuous aggregate of that bucket width. The aggregates
 * are real-time (materialized_only = false), so the newest minutes come from transits not yet
 * materialised. Zone figures sum the zone's gateways.
 */
export async function listFootfall(db: Db, f: FootfallFilter): Promise<FootfallRow[]> {
  const view = VIEW_BY_BUCKET[f.bucket]
  let q = db
    .selectFrom(view)
    .select([
      'zone_id',
      'bucket',
      sql<number>`sum(passers_by)::int`.as('passers_by'),
      sql<number>`sum(visitors)::int`.as('visitors'),
      sql<number>`sum(dwell_s_sum)::float8`.as('dwell_s_sum'),
      sql<number>`sum(estimated_people)::float8`.as('estimated_people'),
    ])
    .where('bucket', '>=', f.from)
    .where('bucket', '<', f.to)
    .groupBy(['zone_id', 'bucket'])
    .orderBy('bucket')
    .orderBy('zone_id')
  if (f.zoneId) q = q.where('zone_id', '=', f.zoneId)
  if (f.shopId) q = q.where('shop_id', '=', f.shopId)
  const rows = await q.execute()
  return rows.map((r) => ({
    zoneId: r.zone_id,
    bucketStart: r.bucket.toISOString(),
    passersBy: r.passers_by,
    visitors: r.visitors,
    dwellSecondsSum: r.dwell_s_sum,
    estimatedPeople: r.estimated_people,
  }))
}
