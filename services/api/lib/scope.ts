import type { Db } from '../../shared/db/create-db.ts'
import type { ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import { AppError } from '../../shared/errors.ts'
import { findZoneShop } from '../queries/zone-queries.ts'
import { findShop } from '../queries/shop-queries.ts'
import type { FootfallScope } from '../queries/footfall-queries.ts'

/**
 * What a footfall-like request may count, from its `zone` / `shop` parameters and the caller:
 * 404 naming an unknown zone or shop, 403 for a shopkeeper asking for anything but its shop, and a
 * shopkeeper's answers always restricted to its shop's gateways.
 */
export async function resolveScope(
  db: Db,
  p: ApiPrincipal,
  q: { zone?: string | undefined; shop?: string | undefined },
): Promise<FootfallScope & { zoneId: string | undefined; shopId: string | undefined }> {
  if (q.zone && q.shop)
    throw new AppError('bad_request', 'shop: give either zone or shop, not both', {
      statusCode: 400,
    })
  if (q.zone) {
    const z = await findZoneShop(db, q.zone)
    if (!z.exists)
      throw new AppError('not_found', `zone ${q.zone} does not exist`, { statusCode: 404 })
    if (p.role === 'shopkeeper' && z.shopId !== p.shopId)
      throw new AppError('forbidden', `zone ${q.zone} is not your shop's`, { statusCode: 403 })
  }
  if (q.shop) {
    if (!(await findShop(db, q.shop)))
      throw new AppError('not_found', `shop ${q.shop} does not exist`, { statusCode: 404 })
    if (p.role === 'shopkeeper' && q.shop !== p.shopId)
      throw new AppError('forbidden', `shop ${q.shop} is not your shop`, { statusCode: 403 })
  }
  // A shopkeeper key always has a shop (a database constraint); '\u0000' matches nothing if not.
  const shopId = p.role === 'shopkeeper' ? (p.shopId ?? '\u0000') : q.shop
  return { zoneId: q.zone, shopId }
}
