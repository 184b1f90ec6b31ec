import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  DemoHistoryResponseSchema,
  ExpectedResponseSchema,
} from '../shared/contracts/ranges-api.ts'
import { bearer, insertTransits, threeShopDistrict, times } from './api-test-helpers.ts'

// Expected ranges through the API: Monday 14 December 2026, 12:30 in Rome.
const NOW = Date.parse('2026-12-14T11:30:00Z')
let database: TestDatabase
let sut: FastifyInstance
const keys = { analyst: '', shopkeeper: '' }

const street = (day: string, n: number) =>
  times(n, { gateway: 'gw-street-a', at: `${day}T10:05:00Z` }) // 11:05 local

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await pauseBackgroundJobs(db)
  await loadDistrict(db, {
    ...threeShopDistrict(),
    holidays: [{ date: '2026-11-23', name: 'Festa di prova' }],
  })
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'a' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 's' })
  ).key
  await insertTransits(db, [
    ...street('2026-11-02', 9),
    ...street('2026-11-09', 13),
    ...street('2026-11-16', 10),
    ...street('2026-11-23', 50), // a local holiday: not comparable
    ...street('2026-11-30', 11),
    ...street('2026-12-07', 40), // an event day: not comparable
    ...street('2026-12-14', 30), // today: above the band
  ])
  await db
    .insertInto('events')
    .values({
      id: 'ev-1',
      name: 'Mercatino',
      zone_ids: ['street-a'],
      starts_at: new Date('2026-12-07T09:00:00Z'),
      ends_at: new Date('2026-12-07T13:00:00Z'),
      created_by: null,
    })
    .execute()
  sut = await buildApp({
    db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { rateLimit: { enabled: false } },
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

const get = (url: string, key = keys.analyst) =>
  sut.inject({ method: 'GET', url, headers: bearer(key) })

describe('GET /api/v1/footfall/expected', () => {
  it('gives the usual value and band from the same weekday and hour, without holidays and events', async () => {
    const res = await get(
      '/api/v1/footfall/expected?zone=street-a&bucket=1h&from=2026-12-14T09:00:00Z&to=2026-12-14T12:00:00Z',
    )
    expect(res.statusCode, res.body).toBe(200)
    const body = ExpectedResponseSchema.parse(res.json())
    const at11 = body.rows.find((r) => r.bucketStart === '2026-12-14T10:00:00.000Z')
    // 9, 13, 10, 11 (2 Nov … 30 Nov without 23 Nov and 7 Dec): median 10.5, ± 2 × √10.5.
    expect(at11).toMatchObject({ zoneId: 'street-a', value: 30, usual: 10.5, samples: 4 })
    expect(at11?.low).toBeCloseTo(10.5 - 2 * Math.sqrt(10.5))
    expect(at11?.high).toBeCloseTo(10.5 + 2 * Math.sqrt(10.5))
    expect(at11).toMatchObject({ side: 'above', weekday: 1, hour: 11 })
    // 12:00 local is in progress at 12:30: no side yet. 10:00 local: usual 0, within.
    expect(body.rows.find((r) => r.bucketStart === '2026-12-14T11:00:00.000Z')?.side).toBeNull()
    expect(body.rows.find((r) => r.bucketStart === '2026-12-14T09:00:00.000Z')).toMatchObject({
      value: 0,
      usual: 0,
      side: 'within',
    })
    expect(body.excluded).toEqual(
      expect.arrayContaining([
        { date: '2026-11-23', reason: 'holiday', name: 'Festa di prova' },
        { date: '2026-12-07', reason: 'event', name: 'Mercatino' },
        { date: '2026-12-08', reason: 'holiday', name: 'Immacolata Concezione' },
      ]),
    )
  })

  it('leaves out a day a user flagged, for its zone only', async () => {
    const { db } = database
    await db
      .insertInto('excluded_days')
      .values([
        {
          id: 'x-1',
          day: '2026-11-30',
          zone_id: 'street-a',
          reason: 'roadworks',
          created_by: null,
        },
        { id: 'x-2', day: '2026-11-16', zone_id: 'shop-one', reason: 'closed', created_by: null },
      ])
      .execute()
    try {
      const res = await get(
        '/api/v1/footfall/expected?zone=street-a&bucket=1h&from=2026-12-14T09:00:00Z&to=2026-12-14T12:00:00Z',
      )
      expect(res.statusCode, res.body).toBe(200)
      const body = ExpectedResponseSchema.parse(res.json())
      const at11 = body.rows.find((r) => r.bucketStart === '2026-12-14T10:00:00.000Z')
      // 9, 13, 10 (30 Nov flagged for street-a; shop-one's flag of 16 Nov is not street-a's).
      expect(at11).toMatchObject({ usual: 10, samples: 3 })
      expect(body.excluded).toEqual(
        expect.arrayContaining([
          { date: '2026-11-30', reason: 'flagged', name: 'roadworks', zoneId: 'street-a' },
        ]),
      )
    } finally {
      await db.deleteFrom('excluded_days').execute()
    }
  })

  it("keeps a shopkeeper to its shop and refuses another's zone", async () => {
    const res = await get(
      '/api/v1/footfall/expected?zone=street-a&from=2026-12-14T09:00:00Z&to=2026-12-14T12:00:00Z',
      keys.shopkeeper,
    )
    expect(res.statusCode).toBe(403)
    const own = await get(
      '/api/v1/footfall/expected?from=2026-12-14T09:00:00Z&to=2026-12-14T12:00:00Z',
      keys.shopkeeper,
    )
    expect(own.statusCode).toBe(200)
    expect(ExpectedResponseSchema.parse(own.json()).rows.every((r) => r.value === 0)).toBe(true)
  })

  it('refuses a range longer than its bucket allows', async () => {
    const res = await get(
      '/api/v1/footfall/expected?bucket=15m&from=2026-12-01T00:00:00Z&to=2026-12-14T00:00:00Z',
    )
    expect(res.statusCode).toBe(400)
  })
})

describe('GET /api/v1/demo-history', () => {
  it('says how much of the demo history is written', async () => {
    const none = DemoHistoryResponseSchema.parse((await get('/api/v1/demo-history')).json())
    expect(none.present).toBe(false)
    await database.db
      .insertInto('demo_history')
      .values({
        district_id: 'test-district',
        from_ts: new Date('2026-10-19T00:00:00Z'),
        to_ts: new Date('2026-12-14T00:00:00Z'),
        days_total: 57,
        days_done: 23,
      })
      .execute()
    const h = DemoHistoryResponseSchema.parse((await get('/api/v1/demo-history')).json())
    expect(h).toMatchObject({ present: true, daysDone: 23, weeksDone: 3, weeksTotal: 8 })
    expect(h.finished).toBe(false)
  })
})
