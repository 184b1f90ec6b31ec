import { readFile, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import type { Db } from '../services/shared/db/create-db.ts'
import {
  createApiKey,
  findPrincipalByKey,
  type ApiRole,
} from '../services/shared/registry/api-key-repository.ts'

export type DemoKey = { role: ApiRole; shopId: string | null; key: string }

/**
 * Demo keys for the embedded quick start: reused from `<dataDir>/demo-keys.json` (mode 600) while
 * they are still valid, created otherwise. Only their hashes are in the database.
 */
export async function ensureDemoKeys(
  db: Db,
  dataDir: string,
  shopId: string | null,
): Promise<{ keys: DemoKey[]; path: string }> {
  const path = join(dataDir, 'demo-keys.json')
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as { keys?: DemoKey[] }
    const keys = saved.keys ?? []
    const valid = await Promise.all(keys.map((k) => findPrincipalByKey(db, k.key)))
    if (keys.length > 0 && valid.every((p) => p !== null)) return { keys, path }
  } catch {
    // missing or unreadable: create a fresh set below
  }
  const wanted: { role: ApiRole; shopId: string | null }[] = [
    { role: 'admin', shopId: null },
    { role: 'analyst', shopId: null },
    ...(shopId ? [{ role: 'shopkeeper' as const, shopId }] : []),
  ]
  const keys: DemoKey[] = []
  for (const w of wanted) {
    const { key } = await createApiKey(db, {
      role: w.role,
      shopId: w.shopId,
      label: `demo ${w.role}`,
    })
    keys.push({ role: w.role, shopId: w.shopId, key })
  }
  await writeFile(path, JSON.stringify({ keys }, null, 2) + '\n', { mode: 0o600 })
  await chmod(path, 0o600)
  return { keys, path }
}
