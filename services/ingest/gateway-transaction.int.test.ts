import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { inGatewayTransaction } from './ingest-repository.ts'

// A gateway transaction sends BEGIN and the gateways' advisory locks in one round trip (the simple
// query protocol, ids as quoted literals). Whatever the ids, the locks must be those every replica
// takes (hashtext of 'miglio-gw:' || id, the key other versions of ingest lock too), held before
// the first statement of the transaction's own, and a failure must leave nothing behind.

let database: TestDatabase
/**
 * Whether this engine lists a session's advisory locks in pg_locks: the native server does; the
 * embedded one (a single session, where the locks have nobody to exclude) lists none.
 */
let locksListed = false

beforeAll(async () => {
  database = await createTestDatabase()
  await sql`CREATE TABLE gateway_transaction_probe (id text PRIMARY KEY)`.execute(database.db)
  locksListed = await database.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(42)`.execute(trx)
    return (await heldKeys(trx)).includes(42)
  })
})

afterAll(async () => {
  await database?.close()
})

/** The advisory locks this session holds now (their 32-bit keys). */
const heldKeys = async (trx: Parameters<Parameters<typeof inGatewayTransaction>[2]>[0]) =>
  (
    await sql<{ objid: string }>`
      SELECT objid::text FROM pg_locks
      WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted`.execute(trx)
  ).rows
    .map((r) => Number(r.objid))
    .sort((a, b) => a - b)

/** The keys every replica locks for these ids, computed by the server. */
const expectedKeys = async (ids: string[]) =>
  (
    await sql<{ k: number }>`
      SELECT DISTINCT hashtext('miglio-gw:' || g) AS k FROM unnest(${ids}::text[]) AS g`.execute(
      database.db,
    )
  ).rows
    // pg_locks shows the key's 32 bits as an unsigned oid.
    .map((r) => (r.k < 0 ? r.k + 2 ** 32 : r.k))
    .sort((a, b) => a - b)

describe('inGatewayTransaction', () => {
  it("holds every gateway's lock from the start, for any id, and commits what it wrote", async () => {
    const ids = ['gw-1', "gw-o'brien", 'gw\\back', 'gw-1', 'gw-è', 'gw-2; DROP TABLE gateways']
    const held = await inGatewayTransaction(database.db, ids, async (trx) => {
      const keys = await heldKeys(trx)
      await sql`INSERT INTO gateway_transaction_probe VALUES ('committed')`.execute(trx)
      return keys
    })
    if (locksListed) {
      expect(held).toEqual(await expectedKeys(ids))
      expect(held).toHaveLength(5)
    } else expect(database.kind).toBe('embedded')
    // Transaction-scoped: released at commit.
    expect(await heldKeys(database.db)).toEqual([])
    const rows = await sql<{ id: string }>`SELECT id FROM gateway_transaction_probe`.execute(
      database.db,
    )
    expect(rows.rows.map((r) => r.id)).toEqual(['committed'])
    // The registry is still there: an id is data, never SQL.
    await sql`SELECT count(*) FROM gateways`.execute(database.db)
  })

  it('rolls back and rethrows on a failure, leaving the connection usable and no lock held', async () => {
    await expect(
      inGatewayTransaction(database.db, ['gw-1'], async (trx) => {
        await sql`INSERT INTO gateway_transaction_probe VALUES ('rolled back')`.execute(trx)
        await sql`SELECT 1 / 0`.execute(trx)
      }),
    ).rejects.toThrow(/division by zero/)
    const rows = await sql<{
      id: string
    }>`SELECT id FROM gateway_transaction_probe WHERE id = 'rolled back'`.execute(database.db)
    expect(rows.rows).toEqual([])
    expect(await heldKeys(database.db)).toEqual([])
    // A transaction of no gateway is a plain transaction.
    const n = await inGatewayTransaction(
      database.db,
      [],
      async (trx) => (await heldKeys(trx)).length,
    )
    expect(n).toBe(0)
  })
})
