import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { ForecastMeasure } from '../../shared/contracts/outlook-api.ts'
import type { DwellHistogram } from '../../shared/contracts/api.ts'
import type { FootfallScope } from './footfall-queries.ts'

/** Queries of the forecasts and the monthly reports (issue #17), on the hourly aggregate. */

const MEASURE_SQL = {
  footfall: sql<number>`sum(passers_by + visitors)::float8`,
  visitors: sql<number>`sum(visitors)::float8`,
  passersBy: sql<number>`sum(passers_by)::float8`,
} as const

/** One measure per hour in [from, to) (hours without transits absent), scope summed. */
export async function hourlySeries(
  db: Db,
  f: FootfallScope & { from: Date; to: Date; measure: ForecastMeasure },
): Promise<Map<number, number>> {
  let q = db
    .selectFrom('footfall_1h')
    .select(['bucket', MEASURE_SQL[f.measure].as('v')])
    .where('bucket', '>=', f.from)
    .where('bucket', '<', f.to)
    .groupBy('bucket')
  if (f.zoneId) q = q.where('zone_id', '=', f.zoneId)
  if (f.shopId) q = q.where('shop_id', '=', f.shopId)
  const rows = await q.execute()
  return new Map(rows.map((r) => [r.bucket.getTime(), r.v]))
}

/** The first hour with any transit in the scope, or null. */
export async function firstHour(db: Db, f: FootfallScope): Promise<number | null> {
  let q = db.selectFrom('footfall_1h').select(sql<Date | null>`min(bucket)`.as('first'))
  if (f.zoneId) q = q.where('zone_id', '=', f.zoneId)
  if (f.shopId) q = q.where('shop_id', '=', f.shopId)
  const r = await q.executeTakeFirst()
  return r?.first ? new Date(r.first).getTime() : null
}

export type PeriodSums = {
  passersBy: number
  visitors: number
  dwellSecondsSum: number
  estimatedPeople: number
  dwellHistogram: DwellHistogram
}

/** Sums over [from, to) (whole hours), scope summed. */
export async function periodSums(
  db: Db,
  f: FootfallScope & { from: Date; to: Date },
): Promise<PeriodSums> {
  let q = db
    .selectFrom('footfall_1h')
    .select([
      sql<number>`coalesce(sum(passers_by), 0)::int`.as('passers_by'),
      sql<number>`coalesce(sum(visitors), 0)::int`.as('visitors'),
      sql<number>`coalesce(sum(dwell_s_sum), 0)::float8`.as('dwell_s_sum'),
      sql<number>`coalesce(sum(estimated_people), 0)::float8`.as('estimated_people'),
      sql<number>`coalesce(sum(dwell_lt_1m), 0)::int`.as('lt1m'),
      sql<number>`coalesce(sum(dwell_1_5m), 0)::int`.as('m1to5'),
      sql<number>`coalesce(sum(dwell_5_15m), 0)::int`.as('m5to15'),
      sql<number>`coalesce(sum(dwell_15_60m), 0)::int`.as('m15to60'),
      sql<number>`coalesce(sum(dwell_gt_60m), 0)::int`.as('gt60m'),
    ])
    .where('bucket', '>=', f.from)
    .where('bucket', '<', f.to)
  if (f.zoneId) q = q.where('zone_id', '=', f.zoneId)
  if (f.shopId) q = q.where('shop_id', '=', f.shopId)
  const r = await q.executeTakeFirstOrThrow()
  return {
    passersBy: r.passers_by,
    visitors: r.visitors,
    dwellSecondsSum: r.dwell_s_sum,
    estimatedPeople: r.estimated_people,
    dwellHistogram: {
      lt1m: r.lt1m,
      m1to5: r.m1to5,
      m5to15: r.m5to15,
      m15to60: r.m15to60,
      gt60m: r.gt60m,
    },
  }
}

/** Footfall and visitors per shop over [from, to), every shop included (0 without transits). */
export async function sumsPerShop(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ shopId: string; name: string; footfall: number; visitors: number }[]> {
  const counts = db
    .selectFrom('footfall_1h')
    .select([
      'shop_id',
      sql<number>`sum(passers_by + visitors)::int`.as('footfall'),
      sql<number>`sum(visitors)::int`.as('visitors'),
    ])
    .where('shop_id', 'is not', null)
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .groupBy('shop_id')
  const rows = await db
    .selectFrom('shops as s')
    .leftJoin(counts.as('c'), 'c.shop_id', 's.id')
    .select([
      's.id',
      's.name',
      sql<number>`coalesce(c.footfall, 0)::int`.as('footfall'),
      sql<number>`coalesce(c.visitors, 0)::int`.as('visitors'),
    ])
    .orderBy('s.street_offset_m')
    .orderBy('s.id')
    .execute()
  return rows.map((r) => ({
    shopId: r.id,
    name: r.name,
    footfall: r.footfall,
    visitors: r.visitors,
  }))
}

/** Footfall per zone over [from, to), every zone included. */
export async function sumsPerZone(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ zoneId: string; name: string; footfall: number; visitors: number }[]> {
  const counts = db
    .selectFrom('footfall_1h')
    .select([
      'zone_id',
      sql<number>`sum(passers_by + visitors)::int`.as('footfall'),
      sql<number>`sum(visitors)::int`.as('visitors'),
    ])
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .groupBy('zone_id')
  const rows = await db
    .selectFrom('zones as z')
    .leftJoin(counts.as('c'), 'c.zone_id', 'z.id')
    .select([
      'z.id',
      'z.name',
      sql<number>`coalesce(c.footfall, 0)::int`.as('footfall'),
      sql<number>`coalesce(c.visitors, 0)::int`.as('visitors'),
    ])
    .orderBy('z.id')
    .execute()
  return rows.map((r) => ({
    zoneId: r.id,
    name: r.name,
    footfall: r.footfall,
    visitors: r.visitors,
  }))
}
