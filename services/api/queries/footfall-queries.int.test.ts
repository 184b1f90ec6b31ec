import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../../shared/testing/engines.ts'
import { loadDistrict } from '../../shared/registry/district-repository.ts'
import { insertTransits, threeShopDistrict, times } from '../api-test-helpers.ts'
import { sumFootfallByWeekdayHour, type FootfallScope } from './footfall-queries.ts'

const TZ = 'Europe/Rome'
// Across the autumn DST change: on Sunday 25 October 2026 local 02:00–03:00 happens twice
// (00:00–01:00Z in CEST, then 01:00–02:00Z in CET).
const RANGE = { from: new Date('2026-10-24T00:00:00Z'), to: new Date('2026-10-27T00:00:00Z') }

let database: TestDatabase

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await loadDistrict(db, threeShopDistrict())
  await insertTransits(db, [
    // Sunday 00:30 CEST
    ...times(2, { gateway: 'gw-street-a', at: '2026-10-24T22:30:00Z' }),
    { gateway: 'gw-shop-one', at: '2026-10-24T22:40:00Z', visitor: true },
    // Sunday 02:30 CEST
    { gateway: 'gw-street-a', at: '2026-10-25T00:30:00Z' },
    ...times(2, { gateway: 'gw-shop-two', at: '2026-10-25T00:45:00Z' }),
    // Sunday 02:30 CET: the same local hour again
    { gateway: 'gw-street-a', at: '2026-10-25T01:30:00Z', visitor: true },
    { gateway: 'gw-shop-one', at: '2026-10-25T01:10:00Z' },
    // Sunday 03:30 CET
    ...times(3, { gateway: 'gw-shop-three', at: '2026-10-25T02:30:00Z' }),
    // Monday 10:15 CET
    ...times(4, { gateway: 'gw-street-a', at: '2026-10-26T09:15:00Z' }),
    { gateway: 'gw-shop-one', at: '2026-10-26T09:20:00Z', visitor: true },
    // Outside the range
    { gateway: 'gw-street-a', at: '2026-10-27T00:00:00Z' },
    { gateway: 'gw-shop-one', at: '2026-10-23T23:59:00Z' },
  ])
})

afterAll(async () => {
  await database?.close()
})

type Cell = { weekday: number; hour: number; passersBy: number; visitors: number }
const sorted = (cells: Cell[]) =>
  [...cells].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour)

/** The form the API used before: every aggregate row converted to local time, then summed. */
async function perRowReference(scope: FootfallScope): Promise<Cell[]> {
  const r = await sql<Cell>`
    SELECT extract(isodow FROM bucket AT TIME ZONE ${TZ})::int AS weekday,
           extract(hour FROM bucket AT TIME ZONE ${TZ})::int AS hour,
           sum(passers_by)::int AS "passersBy", sum(visitors)::int AS visitors
    FROM footfall_1h
    WHERE bucket >= ${RANGE.from} AND bucket < ${RANGE.to}
      ${scope.zoneId ? sql`AND zone_id = ${scope.zoneId}` : sql``}
      ${scope.shopId ? sql`AND shop_id = ${scope.shopId}` : sql``}
    GROUP BY 1, 2`.execute(database.db)
  return r.rows
}

describe('sumFootfallByWeekdayHour (zones summed per bucket before the time-zone conversion)', () => {
  it('sums every zone into local weekdays and hours across the autumn DST change', async () => {
    const cells = await sumFootfallByWeekdayHour(database.db, { ...RANGE, tz: TZ })
    expect(sorted(cells)).toEqual([
      { weekday: 1, hour: 10, passersBy: 4, visitors: 1 },
      { weekday: 7, hour: 0, passersBy: 2, visitors: 1 },
      // both 02:00 hours of the night, four zones
      { weekday: 7, hour: 2, passersBy: 4, visitors: 1 },
      { weekday: 7, hour: 3, passersBy: 3, visitors: 0 },
    ])
  })

  it('restricts to one zone or one shop', async () => {
    expect(
      sorted(await sumFootfallByWeekdayHour(database.db, { ...RANGE, tz: TZ, zoneId: 'street-a' })),
    ).toEqual([
      { weekday: 1, hour: 10, passersBy: 4, visitors: 0 },
      { weekday: 7, hour: 0, passersBy: 2, visitors: 0 },
      { weekday: 7, hour: 2, passersBy: 1, visitors: 1 },
    ])
    expect(
      sorted(await sumFootfallByWeekdayHour(database.db, { ...RANGE, tz: TZ, shopId: 'shop-one' })),
    ).toEqual([
      { weekday: 1, hour: 10, passersBy: 0, visitors: 1 },
      { weekday: 7, hour: 0, passersBy: 0, visitors: 1 },
      { weekday: 7, hour: 2, passersBy: 1, visitors: 0 },
    ])
  })

  it('gives exactly what converting every row first gives', async () => {
    const scopes: FootfallScope[] = [
      {},
      { zoneId: 'street-a' },
      { zoneId: 'shop-two' },
      { shopId: 'shop-one' },
      { zoneId: 'shop-one', shopId: 'shop-one' },
      { zoneId: 'nowhere' },
    ]
    for (const scope of scopes) {
      const fast = await sumFootfallByWeekdayHour(database.db, { ...RANGE, tz: TZ, ...scope })
      expect(sorted(fast), JSON.stringify(scope)).toEqual(sorted(await perRowReference(scope)))
    }
  })
})
