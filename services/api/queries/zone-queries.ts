import type { Db } from '../../shared/db/create-db.ts'
import type { ZoneDto } from '../../shared/contracts/api.ts'

export async function listZones(db: Db, onlyShopId?: string): Promise<ZoneDto[]> {
  let q = db
    .selectFrom('zones as z')
    .leftJoin('shops as s', 's.zone_id', 'z.id')
    .select([
      'z.id',
      'z.name',
      'z.kind',
      'z.geometry',
      'z.street_from_m',
      'z.street_to_m',
      's.id as shop_id',
    ])
    .orderBy('z.street_from_m')
    .orderBy('z.id')
  if (onlyShopId) q = q.where('s.id', '=', onlyShopId)
  const rows = await q.execute()
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    shopId: r.shop_id,
    streetFromM: r.street_from_m,
    streetToM: r.street_to_m,
    geometry: r.geometry as ZoneDto['geometry'],
  }))
}

export async function findZoneShop(
  db: Db,
  zoneId: string,
): Promise<{ exists: boolean; shopId: string | null }> {
  const row = await db
    .selectFrom('zones as z')
    .leftJoin('shops as s', 's.zone_id', 'z.id')
    .select(['z.id', 's.id as shop_id'])
    .where('z.id', '=', zoneId)
    .executeTakeFirst()
  return { exists: row !== undefined, shopId: row?.shop_id ?? null }
}

/** Every zone with the shop it belongs to (null for streets and squares). */
export async function listZoneOwners(db: Db): Promise<Map<string, string | null>> {
  const rows = await db
    .selectFrom('zones as z')
    .leftJoin('shops as s', 's.zone_id', 'z.id')
    .select(['z.id', 's.id as shop_id'])
    .orderBy('z.street_from_m')
    .orderBy('z.id')
    .execute()
  return new Map(rows.map((r) => [r.id, r.shop_id]))
}
