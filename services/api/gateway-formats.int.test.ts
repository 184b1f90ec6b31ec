import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import {
  DEVICE_COUNTS_NOTICE,
  DeviceCountsResponseSchema,
  FootfallDetailResponseSchema,
  GatewaysResponseSchema,
} from '../shared/contracts/api.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  bearer,
  expectErrorBody,
  insertDeviceCounts,
  parseCsv,
  setGatewaySource,
  threeShopDistrict,
} from './api-test-helpers.ts'

// Count sources (Paxcounter) and the gateway health of gateways of every format. The district
// loader and ingest that fill `gateways.format`, `device_counts` and `last_message_at` are the
// ingest side's: here the rows are written directly, as they would be.

const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
const keys = { analyst: '', shopkeeper: '', admin: '' }

/** 2026-06-10, a Wednesday in summer time (UTC+2 in Europe/Rome). */
const at = (hhmm: string) => `2026-06-10T${hhmm}:00Z`
const range = (from: string, to: string, more = '') =>
  `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}${more}`

async function get(url: string, key = keys.analyst) {
  return sut.inject({ method: 'GET', url, headers: bearer(key) })
}
async function counts(query: string, key = keys.analyst) {
  const res = await get(`/api/v1/device-counts?${query}`, key)
  expect(res.statusCode, res.body).toBe(200)
  return DeviceCountsResponseSchema.parse(res.json())
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await loadDistrict(db, threeShopDistrict())
  // gw-shop-one and gw-shop-two are Paxcounters; gw-shop-three was one once (its counts stay).
  await setGatewaySource(db, 'gw-shop-one', {
    format: 'paxcounter',
    deviceId: 'pax-one',
    encoding: 'packed',
  })
  await setGatewaySource(db, 'gw-shop-two', {
    format: 'paxcounter',
    deviceId: 'pax-two',
    encoding: 'plain',
  })
  await setGatewaySource(db, 'gw-street-a', { format: 'omg', name: 'omg-a', baseTopic: 'home' })
  await insertDeviceCounts(db, [
    { gateway: 'gw-shop-one', at: at('08:00'), wifi: 10, ble: 5 },
    { gateway: 'gw-shop-one', at: at('08:05'), wifi: 20, ble: null },
    { gateway: 'gw-shop-one', at: at('08:10'), wifi: 30, ble: 7 },
    { gateway: 'gw-shop-one', at: at('08:20'), wifi: 12, ble: 2 },
    { gateway: 'gw-shop-one', at: at('09:00'), wifi: 40, ble: null },
    { gateway: 'gw-shop-two', at: at('08:02'), wifi: 100, ble: 50 },
    { gateway: 'gw-shop-three', at: at('08:30'), wifi: 3, ble: 1 },
    // The evening before in UTC, but the same local day (00:30 Rome).
    { gateway: 'gw-shop-one', at: '2026-06-09T22:30:00Z', wifi: 2, ble: 1 },
  ])
  const ago = (s: number) => new Date(Date.now() - s * 1000)
  await db
    .insertInto('gateway_state')
    .values([
      {
        gateway_id: 'gw-street-a',
        state: 'online',
        last_batch_at: ago(5),
        last_message_at: ago(2),
      },
      // Count sources send no batches: their health follows their last message.
      { gateway_id: 'gw-shop-one', state: 'online', last_batch_at: null, last_message_at: ago(30) },
      {
        gateway_id: 'gw-shop-two',
        state: 'online',
        last_batch_at: null,
        last_message_at: ago(600),
      },
    ])
    .execute()
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'a' })).key
  keys.admin = (await createApiKey(db, { role: 'admin', label: 'ad' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 's' })
  ).key
  sut = await buildApp({
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    options: { rateLimit: { enabled: false } },
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

describe('GET /api/v1/gateways: format and last message', () => {
  it("gives each gateway its format and last message, a count source's health by its messages", async () => {
    const res = await get('/api/v1/gateways')
    const { gateways } = GatewaysResponseSchema.parse(res.json())
    const byId = Object.fromEntries(gateways.map((g) => [g.id, g]))
    expect(byId['gw-street-a']).toMatchObject({ format: 'omg', health: 'ok' })
    expect(byId['gw-street-a']?.lastMessageAt).not.toBeNull()
    expect(byId['gw-shop-one']).toMatchObject({
      format: 'paxcounter',
      health: 'ok',
      lastBatchAt: null,
    })
    expect(byId['gw-shop-one']?.silentS).toBeGreaterThanOrEqual(29)
    expect(byId['gw-shop-one']?.silentS).toBeLessThan(120)
    expect(Date.parse(byId['gw-shop-one']?.lastMessageAt ?? '')).toBeLessThan(Date.now() - 29_000)
    expect(byId['gw-shop-two']).toMatchObject({ format: 'paxcounter', health: 'silent' })
    expect(byId['gw-shop-three']).toMatchObject({
      format: 'native',
      health: 'unknown',
      lastMessageAt: null,
      silentS: null,
    })
  })

  it('writes format and lastMessageAt as CSV columns', async () => {
    const [header, ...rows] = parseCsv((await get('/api/v1/gateways?format=csv')).body)
    const col = (name: string) => header?.indexOf(name) ?? -1
    expect(col('format')).toBeGreaterThan(-1)
    expect(col('lastMessageAt')).toBeGreaterThan(-1)
    const one = rows.find((r) => r[col('id')] === 'gw-shop-one')
    expect(one?.[col('format')]).toBe('paxcounter')
    expect(one?.[col('lastMessageAt')]).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  it("shows a shopkeeper its own shop's gateways only, with their format", async () => {
    const { gateways } = GatewaysResponseSchema.parse(
      (await get('/api/v1/gateways', keys.shopkeeper)).json(),
    )
    expect(gateways.map((g) => [g.id, g.format])).toEqual([['gw-shop-one', 'paxcounter']])
  })
})

describe('GET /api/v1/device-counts', () => {
  it('says in the answer that these are device counts, not pedestrians', async () => {
    const body = await counts(range(at('08:00'), at('10:00')))
    expect(body.measure).toBe('device_counts')
    expect(body.notice).toBe(DEVICE_COUNTS_NOTICE)
    expect(body.notice).toMatch(/^Device counts, not pedestrians/)
  })

  it('averages the reports of a count source per bucket (never sums them), per radio', async () => {
    const body = await counts(range(at('08:00'), at('10:00'), '&bucket=1h'))
    expect(body.bucket).toBe('1h')
    expect(body.rows).toEqual([
      {
        gatewayId: 'gw-shop-one',
        zoneId: 'shop-one',
        bucketStart: '2026-06-10T08:00:00.000Z',
        reports: 4,
        wifiDevicesMean: 18,
        wifiDevicesMax: 30,
        bleDevicesMean: 14 / 3,
        bleDevicesMax: 7,
      },
      {
        gatewayId: 'gw-shop-three',
        zoneId: 'shop-three',
        bucketStart: '2026-06-10T08:00:00.000Z',
        reports: 1,
        wifiDevicesMean: 3,
        wifiDevicesMax: 3,
        bleDevicesMean: 1,
        bleDevicesMax: 1,
      },
      {
        gatewayId: 'gw-shop-two',
        zoneId: 'shop-two',
        bucketStart: '2026-06-10T08:00:00.000Z',
        reports: 1,
        wifiDevicesMean: 100,
        wifiDevicesMax: 100,
        bleDevicesMean: 50,
        bleDevicesMax: 50,
      },
      {
        gatewayId: 'gw-shop-one',
        zoneId: 'shop-one',
        bucketStart: '2026-06-10T09:00:00.000Z',
        reports: 1,
        wifiDevicesMean: 40,
        wifiDevicesMax: 40,
        bleDevicesMean: null,
        bleDevicesMax: null,
      },
    ])
    // Count sources in scope: the Paxcounters, and a gateway that has counts in the range (in
    // street order, then by id: the three shop gateways share an offset).
    expect(body.gateways.map((g) => [g.id, g.format])).toEqual([
      ['gw-shop-one', 'paxcounter'],
      ['gw-shop-three', 'native'],
      ['gw-shop-two', 'paxcounter'],
    ])
  })

  it('buckets by 15 minutes, and by local day in the district time zone', async () => {
    const quarter = await counts(range(at('08:00'), at('08:30'), '&bucket=15m&gateway=gw-shop-one'))
    expect(quarter.rows.map((r) => [r.bucketStart, r.reports])).toEqual([
      ['2026-06-10T08:00:00.000Z', 3],
      ['2026-06-10T08:15:00.000Z', 1],
    ])
    const day = await counts(
      range('2026-06-10T00:00:00+02:00', '2026-06-11T00:00:00+02:00', '&bucket=1d&zone=shop-one'),
    )
    expect(day.timezone).toBe('Europe/Rome')
    expect(day.rows.map((r) => [r.bucketStart, r.reports, r.wifiDevicesMax])).toEqual([
      ['2026-06-09T22:00:00.000Z', 6, 40],
    ])
  })

  it("sums a zone's count sources' means per bucket", async () => {
    const body = await counts(range(at('08:00'), at('09:00')))
    expect(body.zones.map((z) => [z.zoneId, z.gateways, z.wifiDevicesMean])).toEqual([
      ['shop-one', 1, 18],
      ['shop-three', 1, 3],
      ['shop-two', 1, 100],
    ])
  })

  it('narrows to one gateway, zone or shop', async () => {
    const ids = async (more: string) => [
      ...new Set(
        (await counts(range(at('08:00'), at('10:00'), more))).rows.map((r) => r.gatewayId),
      ),
    ]
    expect(await ids('&gateway=gw-shop-two')).toEqual(['gw-shop-two'])
    expect(await ids('&zone=shop-one')).toEqual(['gw-shop-one'])
    expect(await ids('&shop=shop-three')).toEqual(['gw-shop-three'])
    expect(await ids('&zone=street-a')).toEqual([])
  })

  it("gives a shopkeeper its own shop's count sources only, and 403 for any other", async () => {
    const own = await counts(range(at('08:00'), at('10:00')), keys.shopkeeper)
    expect(new Set(own.rows.map((r) => r.gatewayId))).toEqual(new Set(['gw-shop-one']))
    expect(own.gateways.map((g) => g.id)).toEqual(['gw-shop-one'])
    expect(own.shopId).toBe('shop-one')
    for (const more of [
      '&gateway=gw-shop-two',
      '&gateway=gw-street-a',
      '&zone=shop-two',
      '&zone=street-a',
      '&shop=shop-two',
    ]) {
      const res = await get(
        `/api/v1/device-counts?${range(at('08:00'), at('10:00'), more)}`,
        keys.shopkeeper,
      )
      expectErrorBody(res, 403, 'forbidden')
    }
    const mine = await counts(
      range(at('08:00'), at('10:00'), '&gateway=gw-shop-one'),
      keys.shopkeeper,
    )
    expect(mine.rows).toHaveLength(2)
  })

  it('refuses what it cannot answer', async () => {
    const ask = (more: string, from = at('08:00'), to = at('10:00')) =>
      get(`/api/v1/device-counts?${range(from, to, more)}`)
    expectErrorBody(
      await sut.inject({
        method: 'GET',
        url: `/api/v1/device-counts?${range(at('08:00'), at('10:00'))}`,
      }),
      401,
    )
    expect(expectErrorBody(await ask('&gateway=gw-nowhere'), 404, 'not_found').message).toContain(
      'gw-nowhere',
    )
    expectErrorBody(await ask('&gateway=gw-shop-one&zone=shop-one'), 400, 'bad_request')
    expectErrorBody(await ask('&bucket=15m', '2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z'), 400)
    expectErrorBody(await ask('&bucket=5m'), 400)
  })

  it('answers CSV with the device-count columns', async () => {
    const res = await get(`/api/v1/device-counts?${range(at('08:00'), at('10:00'))}&format=csv`)
    expect(res.headers['content-disposition']).toBe('attachment; filename="device-counts.csv"')
    const [header, ...rows] = parseCsv(res.body)
    expect(header).toEqual([
      'gatewayId',
      'zoneId',
      'bucketStart',
      'reports',
      'wifiDevicesMean',
      'wifiDevicesMax',
      'bleDevicesMean',
      'bleDevicesMax',
    ])
    expect(rows).toHaveLength(4)
  })

  it('never adds counts to footfall', async () => {
    const res = await get(`/api/v1/footfall?${range(at('08:00'), at('10:00'))}`)
    expect(FootfallDetailResponseSchema.parse(res.json()).rows).toEqual([])
  })

  it('says "device counts, not pedestrians" in the OpenAPI document', async () => {
    const doc = (await sut.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as {
      paths: Record<string, { get?: { summary?: string; description?: string } }>
    }
    const op = doc.paths['/api/v1/device-counts']?.get
    expect(op?.summary).toContain('device counts, not pedestrians')
    expect(op?.description).toContain('Device counts, not pedestrians')
  })
})
