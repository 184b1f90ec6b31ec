import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { DistrictResponse } from '../../shared/contracts/api.ts'

export async function findDistrict(db: Db): Promise<DistrictResponse | null> {
  const r = await db
    .selectFrom('districts')
    .select([
      'id',
      'name',
      'timezone',
      'street_length_m',
      sql<Date>`loaded_at`.as('loaded_at'),
      sql<number>`(SELECT count(*) FROM zones)::int`.as('zones'),
      sql<number>`(SELECT count(*) FROM shops)::int`.as('shops'),
      sql<number>`(SELECT count(*) FROM gateways WHERE active)::int`.as('gateways'),
    ])
    .orderBy(sql`loaded_at`, 'desc')
    .executeTakeFirst()
  if (!r) return null
  return {
    id: r.id,
    name: r.name,
    timezone: r.timezone,
    streetLengthM: r.street_length_m,
    loadedAt: r.loaded_at.toISOString(),
    zones: r.zones,
    shops: r.shops,
    gateways: r.gateways,
  }
}
