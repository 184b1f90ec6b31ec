import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { tinyDistrict } from '../shared/testing/fixtures.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { LIVE_BUCKET_MS, liveBucketOf } from '../shared/contracts/gateway-messages.ts'
import { insertTransits } from './ingest-repository.ts'
import type { GatewayTransit, RegisteredGateway } from './model.ts'

let database: TestDatabase

function gateway(id: string, zoneId: string, shopId: string | null): RegisteredGateway {
  return {
    id,
    zoneId,
    shopId,
    rssiFloor: -90,
    thresholds: { version: 1, minRssi: -67, minDwellS: 60 },
    calibration: { version: 1, factor: 1 },
    source: { format: 'native' },
    sourceKey: null,
  }
}

const street = gateway('gw-street-a', 'street-a', null)
const shop = gateway('gw-shop-one', 'shop-one', 'shop-one')
// A live bucket's start: the transits below fall on its first and last millisecond and on the next
// bucket's first.
const t0 = liveBucketOf(Date.now() - 60_000)

function transit(g: RegisteredGateway, pseudonym: string, firstMs: number, visitor: boolean) {
  return {
    gateway: g,
    transit: {
      pseudonym,
      firstMs,
      lastMs: firstMs + 90_000,
      peakRssi: -60,
      samples: 3,
      radio: 'wifi',
      randomised: false,
      dwellS: 90,
      visitor,
      thresholdVersion: 1,
    },
  } satisfies GatewayTransit
}

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, tinyDistrict())
})

afterAll(async () => {
  await database?.close()
})

describe(insertTransits.name, () => {
  it('returns what it stored per zone and live bucket, with its transaction, and nothing for a transit already there', async () => {
    const rows = [
      transit(street, '101', t0, false),
      transit(street, '102', t0 + LIVE_BUCKET_MS - 1, false),
      transit(street, '103', t0 + LIVE_BUCKET_MS, false),
      transit(shop, '104', t0 + 5, true),
    ]
    const { stored, xid } = await database.db.transaction().execute(async (trx) => ({
      stored: await insertTransits(trx, rows),
      xid: (await sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`.execute(trx))
        .rows[0]?.xid,
    }))
    expect(stored).toMatchObject({ visitors: 1, passersBy: 3 })
    expect(stored.zones).toEqual(new Set(['street-a', 'shop-one']))
    expect(stored.live?.xid).toBe(xid)
    expect(stored.live?.zones).toEqual(
      new Map([
        [
          'street-a',
          new Map([
            [t0, { passersBy: 2, visitors: 0 }],
            [t0 + LIVE_BUCKET_MS, { passersBy: 1, visitors: 0 }],
          ]),
        ],
        ['shop-one', new Map([[t0, { passersBy: 0, visitors: 1 }]])],
      ]),
    )

    // The same transits again (a redelivery the transits_once guard keeps out) plus one new one:
    // only the new one is announced.
    const again = await database.db
      .transaction()
      .execute((trx) => insertTransits(trx, [...rows, transit(shop, '105', t0 + 20, false)]))
    expect(again).toMatchObject({ visitors: 0, passersBy: 1, zones: new Set(['shop-one']) })
    expect(again.live?.zones).toEqual(
      new Map([['shop-one', new Map([[t0, { passersBy: 1, visitors: 0 }]])]]),
    )
    const none = await database.db.transaction().execute((trx) => insertTransits(trx, rows))
    expect(none).toEqual({ visitors: 0, passersBy: 0, zones: new Set() })
  })
})
