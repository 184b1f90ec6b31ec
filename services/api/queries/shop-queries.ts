import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { ShopDto } from '../../shared/contracts/api.ts'

export async function listShops(db: Db, onlyShopId?: string): Promise<ShopDto[]> {
  let q = db
    .selectFrom('shops')
    .select(['id', 'name', 'category', 'zone_id', 'street_offset_m'])
    .orderBy('street_offset_m')
    .orderBy('id')
  if (onlyShopId) q = q.where('id', '=', onlyShopId)
  const rows = await q.execute()
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    category: r.category,
    zoneId: r.zone_id,
    streetOffsetM: r.street_offset_m,
  }))
}

export async function findShop(db: Db, shopId: string): Promise<ShopDto | null> {
  const rows = await listShops(db, shopId)
  return rows[0] ?? null
}

export type ShopMeasures = {
  passersBy: number
  visitors: number
  dwellSecondsSum: number
  estimatedPeople: number
}

/**
 * One shop's transits (its own gateways) first heard in [from, to), read from transits rather than
 * the aggregates so that "so far today" ends at the exact time of day.
 */
export async function sumShopTransits(
  db: Db,
  shopId: string,
  from: Date,
  to: Date,
): Promise<ShopMeasures> {
  const r = await db
    .selectFrom('transits')
    .select([
      sql<number>`count(*) FILTER (WHERE NOT visitor)::int`.as('passers_by'),
      sql<number>`count(*) FILTER (WHERE visitor)::int`.as('visitors'),
      sql<number>`coalesce(sum(dwell_s) FILTER (WHERE visitor), 0)::float8`.as('dwell_s_sum'),
      sql<number>`coalesce(sum(calibration_factor), 0)::float8`.as('estimated_people'),
    ])
    .where('shop_id', '=', shopId)
    .where('first_seen', '>=', from)
    .where('first_seen', '<', to)
    .executeTakeFirstOrThrow()
  return {
    passersBy: r.passers_by,
    visitors: r.visitors,
    dwellSecondsSum: r.dwell_s_sum,
    estimatedPeople: r.estimated_people,
  }
}

/** Visitors of every shop of the district in [from, to), shops without any included as 0. */
export async function visitorsPerShop(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ shopId: string; visitors: number }[]> {
  const counts = db
    .selectFrom('transits')
    .select(['shop_id', sql<number>`count(*)::int`.as('visitors')])
    .where('visitor', '=', true)
    .where('shop_id', 'is not', null)
    .where('first_seen', '>=', from)
    .where('first_seen', '<', to)
    .groupBy('shop_id')
  const rows = await db
    .selectFrom('shops as s')
    .leftJoin(counts.as('c'), 'c.shop_id', 's.id')
    .select(['s.id', sql<number>`coalesce(c.visitors, 0)::int`.as('visitors')])
    .execute()
  return rows.map((r) => ({ shopId: r.id, visitors: r.visitors }))
}
