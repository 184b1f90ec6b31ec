import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Db } from '../db/create-db.ts'

export type ApiRole = 'admin' | 'analyst' | 'shopkeeper'
export type ApiPrincipal = { keyId: string; role: ApiRole; shopId: string | null; label: string }

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/** Creates a key and returns it once; only its SHA-256 is stored. Keys look like `mgl_<43 chars>`. */
export async function createApiKey(
  db: Db,
  k: { role: ApiRole; shopId?: string | null; label: string },
): Promise<{ id: string; key: string }> {
  const key = `mgl_${randomBytes(32).toString('base64url')}`
  const id = randomUUID()
  await db
    .insertInto('api_keys')
    .values({
      id,
      key_hash: hashApiKey(key),
      role: k.role,
      shop_id: k.shopId ?? null,
      label: k.label,
    })
    .execute()
  return { id, key }
}

export async function findPrincipalByKey(db: Db, key: string): Promise<ApiPrincipal | null> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'role', 'shop_id', 'label'])
    .where('key_hash', '=', hashApiKey(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return row ? { keyId: row.id, role: row.role, shopId: row.shop_id, label: row.label } : null
}

export async function revokeApiKey(db: Db, id: string): Promise<boolean> {
  const r = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}
