import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { tinyDistrict } from '../shared/testing/fixtures.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { OPEN_SESSIONS_PER_STATEMENT, writeCheckpoints } from './ingest-repository.ts'
import type { Session } from './sessionise.ts'

let database: TestDatabase
const t0 = Date.now() - 3_600_000

function sessions(n: number, offset: number): Session[] {
  return Array.from({ length: n }, (_, i) => ({
    pseudonym: String(offset + i),
    firstMs: t0 + i,
    lastMs: t0 + i + 60_000,
    peakRssi: -60,
    samples: 2,
    radio: 'wifi' as const,
    randomised: false,
  }))
}

async function openRows(gatewayId: string) {
  const r = await sql<{ n: string; lo: string; hi: string }>`
    SELECT count(*) AS n, min(pseudonym) AS lo, max(pseudonym) AS hi FROM open_transits
    WHERE gateway_id = ${gatewayId}`.execute(database.db)
  const row = r.rows[0]
  return { n: Number(row?.n), lo: Number(row?.lo), hi: Number(row?.hi) }
}

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, tinyDistrict())
})

afterAll(async () => {
  await database?.close()
})

describe(writeCheckpoints.name, () => {
  it('writes a checkpoint larger than one statement whole, and the next one replaces it', async () => {
    const big = Math.floor(OPEN_SESSIONS_PER_STATEMENT * 2.5)
    await database.db.transaction().execute((trx) =>
      writeCheckpoints(trx, [
        { gatewayId: 'gw-street-a', version: 1, watermarkMs: t0, open: sessions(big, 1_000_000) },
        { gatewayId: 'gw-shop-one', version: 1, watermarkMs: t0, open: sessions(3, 5) },
      ]),
    )
    expect(await openRows('gw-street-a')).toEqual({
      n: big,
      lo: 1_000_000,
      hi: 1_000_000 + big - 1,
    })
    expect((await openRows('gw-shop-one')).n).toBe(3)

    await database.db
      .transaction()
      .execute((trx) =>
        writeCheckpoints(trx, [
          { gatewayId: 'gw-street-a', version: 2, watermarkMs: t0, open: sessions(10, 7) },
        ]),
      )
    expect(await openRows('gw-street-a')).toEqual({ n: 10, lo: 7, hi: 16 })
    expect((await openRows('gw-shop-one')).n).toBe(3)
  })
})
