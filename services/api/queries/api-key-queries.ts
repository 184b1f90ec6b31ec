import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { ApiKeyDto } from '../../shared/contracts/api.ts'

// created_at is Generated<Timestamp> in database.ts, which kysely does not unwrap.
const COLUMNS = [
  'id',
  'role',
  'shop_id',
  'label',
  sql<Date>`created_at`.as('created_at'),
  'revoked_at',
] as const

function toApiKeyDto(r: {
  id: string
  role: ApiKeyDto['role']
  shop_id: string | null
  label: string
  created_at: Date
  revoked_at: Date | null
}): ApiKeyDto {
  return {
    id: r.id,
    role: r.role,
    shopId: r.shop_id,
    label: r.label,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at?.toISOString() ?? null,
  }
}

/** Every key, newest first; never the hashes. */
export async function listApiKeys(db: Db, includeRevoked: boolean): Promise<ApiKeyDto[]> {
  let q = db.selectFrom('api_keys').select(COLUMNS).orderBy('created_at', 'desc').orderBy('id')
  if (!includeRevoked) q = q.where('revoked_at', 'is', null)
  return (await q.execute()).map(toApiKeyDto)
}

export async function findApiKey(db: Db, id: string): Promise<ApiKeyDto | null> {
  const r = await db.selectFrom('api_keys').select(COLUMNS).where('id', '=', id).executeTakeFirst()
  return r ? toApiKeyDto(r) : null
}

/** Of `ids`, those of keys that exist and are not revoked: one statement for any number. */
export async function activeKeyIds(db: Db, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set()
  const rows = await db
    .selectFrom('api_keys')
    .select('id')
    .where(sql<boolean>`id = any(${ids}::text[])`)
    .where('revoked_at', 'is', null)
    .execute()
  return new Set(rows.map((r) => r.id))
}
