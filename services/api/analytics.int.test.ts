import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  ApiKeyCreatedSchema,
  ApiKeysResponseSchema,
  CompareResponseSchema,
  DeadLettersResponseSchema,
  DistrictResponseSchema,
  EventDtoSchema,
  EventsResponseSchema,
  FlowsResponseSchema,
  FootfallDetailResponseSchema,
  FootfallResponseSchema,
  GatewaysResponseSchema,
  HeatmapResponseSchema,
  IngestStatsResponseSchema,
  ShopSummarySchema,
  UpliftResponseSchema,
  ZoneFeatureCollectionSchema,
  type CompareRow,
  type UpliftRow,
} from '../shared/contracts/api.ts'
import {
  bearer,
  expectErrorBody,
  insertTransits,
  parseCsv,
  threeShopDistrict,
  times,
  type TransitFixture,
} from './api-test-helpers.ts'

/** The clock of the app under test: Tuesday 12 May 2026, 12:07 in Rome. */
const NOW = Date.parse('2026-05-12T10:07:00Z')
const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
const keys = { admin: '', analyst: '', shopkeeper: '' }

async function get(url: string, key = keys.analyst, headers: Record<string, string> = {}) {
  return sut.inject({ method: 'GET', url, headers: { ...bearer(key), ...headers } })
}
async function ok(url: string, key = keys.analyst) {
  const res = await get(url, key)
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
  return res.json() as unknown
}
const q = (params: Record<string, string>) => new URLSearchParams(params).toString()

const st = (at: string, extra: Partial<TransitFixture> = {}): TransitFixture => ({
  gateway: 'gw-street-a',
  at,
  ...extra,
})

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  // The fixtures below write flows_hourly/flows_daily directly: a real server's flows job would
  // recompute (and so erase) them from the transits.
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  keys.admin = (await createApiKey(db, { role: 'admin', label: 'admin' })).key
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'analyst' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'one' })
  ).key
  const two = (at: string, n: number, visitor = false): TransitFixture[] =>
    times(n, { gateway: 'gw-shop-two', at, visitor })
  const three = (at: string, n: number, visitor = false): TransitFixture[] =>
    times(n, { gateway: 'gw-shop-three', at, visitor })
  const one = (at: string, n: number, visitor = false, dwellS?: number): TransitFixture[] =>
    times(n, { gateway: 'gw-shop-one', at, visitor, ...(dwellS ? { dwellS } : {}) })
  await insertTransits(db, [
    // Weeks and heatmap, street-a, around the spring DST change (29 March 2026).
    st('2026-03-29T21:30:00Z'), // Sunday 23:30 CEST
    st('2026-03-29T22:30:00Z'), // Monday 00:30 CEST
    st('2026-03-25T10:00:00Z', {
      visitor: true,
      dwellS: 400,
      calibrationFactor: 1.5,
      calibrationVersion: 2,
    }),
    // Period comparison, September 2026: current week from Monday 14, baseline week from Monday 7.
    ...times(4, st('2026-09-15T10:00:00Z')),
    st('2026-09-15T11:00:00Z', { visitor: true, dwellS: 100 }),
    ...one('2026-09-15T10:00:00Z', 1),
    ...one('2026-09-15T11:00:00Z', 1, true, 300),
    ...times(2, st('2026-09-08T10:00:00Z')),
    ...one('2026-09-08T11:00:00Z', 1, true, 100),
    ...one('2026-09-08T12:00:00Z', 1, true, 200),
    // Uplift: an event on Tuesday 7 April 18:00–20:00 Rome in shop-two and shop-three.
    ...two('2026-04-07T16:30:00Z', 10),
    ...three('2026-04-07T17:00:00Z', 3, true),
    ...two('2026-04-07T18:15:00Z', 7), // 20:15 local: after the event
    ...two('2026-03-31T16:30:00Z', 4), // a week before (CEST)
    ...three('2026-03-31T16:45:00Z', 1, true),
    ...two('2026-03-24T17:30:00Z', 6), // two weeks before, 18:30 CET
    ...two('2026-03-24T16:30:00Z', 50), // 17:30 CET: outside the local window
    ...two('2026-03-17T17:30:00Z', 100), // three weeks before: another event then
    ...two('2026-03-10T17:30:00Z', 8),
    // Shop summary: today (Tuesday 12 May) up to 12:07 local, and the four Tuesdays before.
    ...one('2026-05-12T08:00:00Z', 1, true, 60),
    ...one('2026-05-12T09:00:00Z', 1, true, 120),
    ...one('2026-05-12T09:30:00Z', 1, true, 300),
    ...one('2026-05-12T09:00:00Z', 3),
    ...one('2026-05-12T10:30:00Z', 1, true), // later than the clock
    ...two('2026-05-12T08:00:00Z', 5, true),
    ...three('2026-05-12T08:00:00Z', 1, true),
    ...one('2026-05-05T08:00:00Z', 1, true),
    ...one('2026-05-05T11:00:00Z', 1, true), // after 12:07 local that day
    ...one('2026-04-28T09:00:00Z', 2, true),
    ...one('2026-04-21T07:00:00Z', 3, true),
    ...one('2026-04-14T06:00:00Z', 2, true),
    ...one('2026-04-13T21:30:00Z', 1, true), // Monday 23:30 local: the day before
    ...['2026-05-05', '2026-04-28', '2026-04-21', '2026-04-14'].flatMap((d) =>
      one(`${d}T08:30:00Z`, 1),
    ),
    // Ingest statistics, 1 June 2026.
    ...times(2, st('2026-06-01T01:10:00Z')),
    st('2026-06-01T02:10:00Z'),
  ])
  await db
    .insertInto('flows_hourly')
    .values(
      [
        ['2026-10-05T08:00:00Z', 'street-a', 'shop-one', 7, 30],
        ['2026-10-05T09:00:00Z', 'street-a', 'shop-one', 2, 60],
        ['2026-10-05T08:00:00Z', 'shop-one', 'street-a', 3, 20],
        ['2026-10-05T09:00:00Z', 'shop-two', 'shop-three', 5, 40],
      ].map(([bucket, o, d, flows, median]) => ({
        bucket: bucket as string,
        origin_zone_id: o as string,
        dest_zone_id: d as string,
        flows: flows as number,
        travel_s_p25: (median as number) / 2,
        travel_s_median: median as number,
        travel_s_p75: (median as number) * 2,
      })),
    )
    .execute()
  await db
    .insertInto('flows_daily')
    .values(
      [
        ['street-a', 'shop-one', 9, 31],
        ['shop-one', 'street-a', 4, 20],
      ].map(([o, d, flows, median]) => ({
        bucket: '2026-10-04T22:00:00Z',
        origin_zone_id: o as string,
        dest_zone_id: d as string,
        flows: flows as number,
        travel_s_p25: 1,
        travel_s_median: median as number,
        travel_s_p75: 100,
      })),
    )
    .execute()
  await db
    .insertInto('dead_letters')
    .values(
      [
        ['2026-06-01T00:10:00Z', 'schema', 'gw-street-a', '{}'],
        ['2026-06-01T00:20:00Z', 'schema', 'gw-street-a', '{}'],
        ['2026-06-01T01:30:00Z', 'malformed_json', null, 'not json'],
        ['2026-06-01T02:40:00Z', 'schema', 'gw-shop-one', '{}'],
        ['2026-06-01T02:50:00Z', 'malformed_json', null, '{"a":"x,y" "b'],
      ].map(([at, reason, gw, payload]) => ({
        // Generated<Timestamp> in database.ts: kysely types the insert as the ColumnType itself.
        received_at: at as never,
        topic: `miglio/v1/gw/${gw ?? 'unknown'}/sightings`,
        gateway_id: gw,
        reason: reason as string,
        detail: `${reason} detail`,
        payload_bytes: (payload as string).length,
        payload_redacted: payload as string,
      })),
    )
    .execute()
  await db
    .insertInto('ingest_batches')
    .values(
      [
        ['2026-06-01T00:05:00Z', 1, 10],
        ['2026-06-01T00:06:00Z', 2, 5],
        ['2026-06-01T01:05:00Z', 3, 7],
      ].map(([at, seq, n]) => ({
        gateway_id: 'gw-street-a',
        boot_id: 'b00710d1',
        seq: seq as number,
        sent_at: at as string,
        // Generated<Timestamp> in database.ts: kysely types the insert as the ColumnType itself.
        received_at: at as never,
        sightings_count: n as number,
      })),
    )
    .execute()
  const ago = (s: number) => new Date(Date.now() - s * 1000)
  await db
    .insertInto('gateway_state')
    .values([
      { gateway_id: 'gw-street-a', state: 'online', last_batch_at: ago(5), fw: '1.2.0' },
      { gateway_id: 'gw-shop-one', state: 'offline', last_batch_at: ago(5) },
      { gateway_id: 'gw-shop-two', state: 'online', last_batch_at: ago(600) },
    ])
    .execute()
  sut = await buildApp({
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { rateLimit: { enabled: false } },
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

describe('district, zones, shops and gateways', () => {
  it('describes the district', async () => {
    expect(DistrictResponseSchema.parse(await ok('/api/v1/district'))).toMatchObject({
      id: 'test-district',
      timezone: 'Europe/Rome',
      zones: 4,
      shops: 3,
      gateways: 4,
    })
  })

  it('answers the zones as a GeoJSON FeatureCollection on request', async () => {
    for (const res of [
      await get('/api/v1/zones?format=geojson'),
      await get('/api/v1/zones', keys.analyst, { accept: 'application/geo+json' }),
    ]) {
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^application\/geo\+json/)
      const fc = ZoneFeatureCollectionSchema.parse(res.json())
      expect(fc.features.map((f) => f.id)).toEqual([
        'street-a',
        'shop-one',
        'shop-two',
        'shop-three',
      ])
      expect(fc.features[1]).toMatchObject({
        type: 'Feature',
        geometry: { type: 'Polygon' },
        properties: { id: 'shop-one', kind: 'shop', shopId: 'shop-one' },
      })
    }
  })

  it('reports gateway health from gateway_state', async () => {
    const { gateways } = GatewaysResponseSchema.parse(await ok('/api/v1/gateways'))
    expect(Object.fromEntries(gateways.map((g) => [g.id, g.health]))).toEqual({
      'gw-street-a': 'ok',
      'gw-shop-one': 'offline',
      'gw-shop-two': 'silent',
      'gw-shop-three': 'unknown',
    })
    expect(gateways.find((g) => g.id === 'gw-street-a')).toMatchObject({ fw: '1.2.0', seqGaps: 0 })
  })

  it('gives each gateway its position from the district file, in JSON and CSV', async () => {
    const { gateways } = GatewaysResponseSchema.parse(await ok('/api/v1/gateways'))
    expect(gateways.find((g) => g.id === 'gw-street-a')?.position).toEqual([12.2401, 45.4901])
    expect(gateways.find((g) => g.id === 'gw-shop-one')?.position).toEqual([12.2402, 45.4902])

    const [header, ...rows] = parseCsv((await get('/api/v1/gateways?format=csv')).body)
    const col = (name: string) => header?.indexOf(name) ?? -1
    const street = rows.find((r) => r[col('id')] === 'gw-street-a')
    expect([street?.[col('lon')], street?.[col('lat')]]).toEqual(['12.2401', '45.4901'])
  })
})

describe('footfall buckets in Europe/Rome', () => {
  const range = {
    from: '2026-03-16T00:00:00+01:00',
    to: '2026-04-13T00:00:00+02:00',
    zone: 'street-a',
  }

  it('groups days into ISO weeks starting Monday 00:00 local, across the DST change', async () => {
    const body = FootfallDetailResponseSchema.parse(
      await ok(`/api/v1/footfall?${q({ ...range, bucket: 'week' })}`),
    )
    expect(body.bucket).toBe('week')
    expect(body.rows.map((r) => [r.bucketStart, r.passersBy, r.visitors])).toEqual([
      ['2026-03-22T23:00:00.000Z', 1, 1],
      ['2026-03-29T22:00:00.000Z', 1, 0],
    ])
    // The dashboards' schema still reads the answer.
    expect(FootfallResponseSchema.parse(body).rows).toHaveLength(2)
  })

  it('reports capture rate, dwell mean and histogram, estimated people and calibration versions', async () => {
    const body = FootfallDetailResponseSchema.parse(
      await ok(`/api/v1/footfall?${q({ ...range, bucket: 'week' })}`),
    )
    expect(body.rows[0]).toMatchObject({
      captureRate: 0.5,
      dwellMeanS: 400,
      dwellSecondsSum: 400,
      dwellHistogram: { lt1m: 0, m1to5: 0, m5to15: 1, m15to60: 0, gt60m: 0 },
      estimatedPeople: 2.5,
      calibrationVersions: [1, 2],
    })
    expect(body.totals).toEqual([
      expect.objectContaining({
        zoneId: 'street-a',
        passersBy: 2,
        visitors: 1,
        captureRate: 1 / 3,
        estimatedPeople: 3.5,
        calibrationVersions: [1, 2],
      }),
    ])
  })

  it('buckets local days at local midnight', async () => {
    const body = FootfallDetailResponseSchema.parse(
      await ok(
        `/api/v1/footfall?${q({ from: '2026-03-28T00:00:00+01:00', to: '2026-04-01T00:00:00+02:00', zone: 'street-a', bucket: '1d' })}`,
      ),
    )
    expect(body.rows.map((r) => [r.bucketStart, r.passersBy])).toEqual([
      ['2026-03-28T23:00:00.000Z', 1],
      ['2026-03-29T22:00:00.000Z', 1],
    ])
  })

  it('puts the heatmap in local weekdays and hours, and divides by the hours that exist', async () => {
    const body = HeatmapResponseSchema.parse(
      await ok(
        `/api/v1/footfall/heatmap?${q({ from: '2026-03-23T00:00:00+01:00', to: '2026-04-06T00:00:00+02:00', zone: 'street-a' })}`,
      ),
    )
    expect(body.cells).toHaveLength(168)
    const cell = (weekday: number, hour: number) =>
      body.cells.find((c) => c.weekday === weekday && c.hour === hour)!
    expect(cell(7, 23)).toMatchObject({ passersBy: 1, hours: 2, meanPassersBy: 0.5 })
    expect(cell(1, 0)).toMatchObject({ passersBy: 1, hours: 2, meanPassersBy: 0.5 })
    expect(cell(3, 11)).toMatchObject({ visitors: 1, captureRate: 1 })
    // UTC would have put both passers-by on Sunday at 21 and 22.
    expect(cell(7, 21).passersBy + cell(7, 22).passersBy).toBe(0)
    expect(cell(7, 2).hours).toBe(1)
    expect(body.cells.reduce((a, c) => a + c.passersBy + c.visitors, 0)).toBe(3)
  })
})

describe('period comparison', () => {
  const row = (rows: CompareRow[], zoneId: string | null) => rows.find((r) => r.zoneId === zoneId)!
  const week = { from: '2026-09-14T00:00:00+02:00', to: '2026-09-21T00:00:00+02:00' }

  it('compares week over week per zone and overall, with absolute and % deltas', async () => {
    const body = CompareResponseSchema.parse(
      await ok(`/api/v1/footfall/compare?${q({ ...week, mode: 'wow' })}`),
    )
    expect(body.baseline).toEqual({
      from: '2026-09-06T22:00:00.000Z',
      to: '2026-09-13T22:00:00.000Z',
    })
    expect(body.rows.map((r) => r.zoneId)).toEqual(['shop-one', 'street-a', null])
    const street = row(body.rows, 'street-a')
    expect(street.passersBy).toEqual({ current: 4, baseline: 2, delta: 2, deltaPct: 100 })
    expect(street.visitors).toEqual({ current: 1, baseline: 0, delta: 1, deltaPct: null })
    expect(street.dwellMeanS).toEqual({ current: 100, baseline: null, delta: null, deltaPct: null })
    const shop = row(body.rows, 'shop-one')
    expect(shop.visitors).toEqual({ current: 1, baseline: 2, delta: -1, deltaPct: -50 })
    expect(shop.captureRate).toEqual({ current: 0.5, baseline: 1, delta: -0.5, deltaPct: -50 })
    expect(shop.dwellMeanS).toEqual({ current: 300, baseline: 150, delta: 150, deltaPct: 100 })
    const all = row(body.rows, null)
    expect(all.passersBy).toEqual({ current: 5, baseline: 2, delta: 3, deltaPct: 150 })
    expect(all.estimatedPeople).toEqual({ current: 7, baseline: 4, delta: 3, deltaPct: 75 })
  })

  it('gives the same answer for the same periods as a custom comparison', async () => {
    const wow = CompareResponseSchema.parse(
      await ok(`/api/v1/footfall/compare?${q({ ...week, mode: 'wow' })}`),
    )
    const custom = CompareResponseSchema.parse(
      await ok(
        `/api/v1/footfall/compare?${q({ ...week, mode: 'custom', baseFrom: '2026-09-07T00:00:00+02:00', baseTo: '2026-09-14T00:00:00+02:00' })}`,
      ),
    )
    expect(custom.rows).toEqual(wow.rows)
  })

  it('compares year over year with the same weekday 52 weeks before', async () => {
    const body = CompareResponseSchema.parse(
      await ok(`/api/v1/footfall/compare?${q({ ...week, mode: 'yoy' })}`),
    )
    expect(body.baseline.from).toBe('2025-09-14T22:00:00.000Z')
    expect(row(body.rows, null).passersBy).toMatchObject({ current: 5, baseline: 0 })
  })

  it('shifts local wall-clock time across a DST change', async () => {
    const body = CompareResponseSchema.parse(
      await ok(
        `/api/v1/footfall/compare?${q({ from: '2026-03-30T00:00:00+02:00', to: '2026-04-06T00:00:00+02:00', zone: 'street-a' })}`,
      ),
    )
    expect(body.baseline).toEqual({
      from: '2026-03-22T23:00:00.000Z',
      to: '2026-03-29T22:00:00.000Z',
    })
    expect(row(body.rows, 'street-a').passersBy).toEqual({
      current: 1,
      baseline: 1,
      delta: 0,
      deltaPct: 0,
    })
  })
})

describe('flows', () => {
  it('sums the hourly matrix with a flow-weighted median and suppresses cells below k', async () => {
    const body = FlowsResponseSchema.parse(
      await ok(`/api/v1/flows?${q({ from: '2026-10-05T08:00:00Z', to: '2026-10-05T10:00:00Z' })}`),
    )
    expect(body).toMatchObject({ source: 'hourly', k: 5 })
    expect(body.cells).toEqual([
      {
        originZoneId: 'shop-one',
        destZoneId: 'street-a',
        suppressed: true,
        flows: null,
        travelSMedian: null,
      },
      {
        originZoneId: 'shop-two',
        destZoneId: 'shop-three',
        suppressed: false,
        flows: 5,
        travelSMedian: 40,
      },
      {
        originZoneId: 'street-a',
        destZoneId: 'shop-one',
        suppressed: false,
        flows: 9,
        travelSMedian: 30,
      },
    ])
  })

  it('reads the daily table for whole local days, and filters by zone', async () => {
    const day = { from: '2026-10-05T00:00:00+02:00', to: '2026-10-06T00:00:00+02:00' }
    const body = FlowsResponseSchema.parse(await ok(`/api/v1/flows?${q(day)}`))
    expect(body.source).toBe('daily')
    expect(body.cells.map((c) => [c.originZoneId, c.flows, c.travelSMedian, c.suppressed])).toEqual(
      [
        ['shop-one', null, null, true],
        ['street-a', 9, 31, false],
      ],
    )
    const hourly = FlowsResponseSchema.parse(
      await ok(`/api/v1/flows?${q({ ...day, source: 'hourly', zone: 'shop-two' })}`),
    )
    expect(hourly.cells.map((c) => c.originZoneId)).toEqual(['shop-two'])
  })

  it('takes k from the flowsK option', async () => {
    const app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { flowsK: 3 },
    })
    try {
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/flows?${q({ from: '2026-10-05T08:00:00Z', to: '2026-10-05T10:00:00Z' })}`,
        headers: bearer(keys.analyst),
      })
      const body = FlowsResponseSchema.parse(res.json())
      expect(body.k).toBe(3)
      expect(body.cells.find((c) => c.originZoneId === 'shop-one')).toMatchObject({
        suppressed: false,
        flows: 3,
        travelSMedian: 20,
      })
    } finally {
      await app.close()
    }
  })
})

describe('events and uplift', () => {
  let eventId = ''

  async function createEvent(body: object) {
    const res = await sut.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: body,
      headers: bearer(keys.analyst),
    })
    expect(res.statusCode, res.body).toBe(201)
    return EventDtoSchema.parse(res.json())
  }

  beforeAll(async () => {
    const other = await createEvent({
      name: 'Earlier market',
      zones: ['street-a'],
      from: '2026-03-17T18:30:00+01:00',
      to: '2026-03-17T19:00:00+01:00',
    })
    expect(other.zones).toEqual(['street-a'])
    eventId = (
      await createEvent({
        name: 'Late opening',
        zones: ['shop-two', 'shop-three', 'shop-two'],
        from: '2026-04-07T18:00:00+02:00',
        to: '2026-04-07T20:00:00+02:00',
      })
    ).id
  })

  it('lists the events overlapping a range', async () => {
    const { events } = EventsResponseSchema.parse(
      await ok(`/api/v1/events?${q({ from: '2026-04-01T00:00:00Z', to: '2026-04-30T00:00:00Z' })}`),
    )
    expect(events.map((e) => [e.name, e.zones, e.from, e.to])).toEqual([
      [
        'Late opening',
        ['shop-two', 'shop-three'],
        '2026-04-07T16:00:00.000Z',
        '2026-04-07T18:00:00.000Z',
      ],
    ])
  })

  it('measures uplift against the same local weekday and hours of earlier weeks, skipping other events', async () => {
    const body = UpliftResponseSchema.parse(await ok(`/api/v1/events/${eventId}/uplift`))
    expect(body).toMatchObject({ status: 'finished', weeks: 4, stepWeeks: 1 })
    expect(body.measuredTo).toBe('2026-04-07T18:00:00.000Z')
    expect(body.baseline.map((w) => [w.weeksBefore, w.from, w.to, w.used])).toEqual([
      [1, '2026-03-31T16:00:00.000Z', '2026-03-31T18:00:00.000Z', true],
      [2, '2026-03-24T17:00:00.000Z', '2026-03-24T19:00:00.000Z', true],
      [3, '2026-03-17T17:00:00.000Z', '2026-03-17T19:00:00.000Z', false],
      [4, '2026-03-10T17:00:00.000Z', '2026-03-10T19:00:00.000Z', true],
    ])
    expect(body.baseline[2]!.overlapsEvents).toHaveLength(1)
    const find = (zoneId: string | null, metric: UpliftRow['metric']) =>
      body.rows.find((r) => r.zoneId === zoneId && r.metric === metric)!
    expect(find('shop-two', 'passersBy')).toEqual({
      zoneId: 'shop-two',
      metric: 'passersBy',
      event: 10,
      baselineMean: 6,
      difference: 4,
      ratio: 10 / 6,
      baselineMin: 4,
      baselineMax: 8,
      baselineStddev: 2,
      baselineWeeks: 3,
    })
    const visitors = find('shop-three', 'visitors')
    expect(visitors).toMatchObject({ event: 3, baselineMin: 0, baselineMax: 1, baselineWeeks: 3 })
    expect(visitors.baselineMean).toBeCloseTo(1 / 3, 10)
    expect(visitors.ratio).toBeCloseTo(9, 10)
    expect(visitors.baselineStddev).toBeCloseTo(Math.sqrt(1 / 3), 10)
    expect(find(null, 'passersBy')).toMatchObject({ event: 10, baselineMean: 6, difference: 4 })
    expect(find(null, 'estimatedPeople')).toMatchObject({ event: 13 })
  })

  it('honours weeks, steps back by whole event lengths, and tells running and upcoming events', async () => {
    const two = UpliftResponseSchema.parse(await ok(`/api/v1/events/${eventId}/uplift?weeks=2`))
    expect(two.rows.find((r) => r.zoneId === 'shop-two' && r.metric === 'passersBy')).toMatchObject(
      {
        baselineMean: 5,
        baselineWeeks: 2,
      },
    )
    const long = await createEvent({
      name: 'Ten days',
      zones: ['street-a'],
      from: '2026-04-20T00:00:00+02:00',
      to: '2026-04-30T00:00:00+02:00',
    })
    const l = UpliftResponseSchema.parse(await ok(`/api/v1/events/${long.id}/uplift`))
    expect(l.stepWeeks).toBe(2)
    expect(l.baseline.map((w) => w.weeksBefore)).toEqual([2, 4, 6, 8])
    expect(l.baseline[0]!.from).toBe('2026-04-05T22:00:00.000Z')
    const running = await createEvent({
      name: 'Now',
      zones: ['shop-one'],
      from: '2026-05-12T09:00:00Z',
      to: '2026-05-12T12:00:00Z',
    })
    const r = UpliftResponseSchema.parse(await ok(`/api/v1/events/${running.id}/uplift`))
    expect(r).toMatchObject({ status: 'running', measuredTo: '2026-05-12T10:00:00.000Z' })
    expect(r.rows.find((x) => x.zoneId === 'shop-one' && x.metric === 'visitors')?.event).toBe(2)
    const later = await createEvent({
      name: 'Later',
      zones: ['shop-one'],
      from: '2026-05-13T09:00:00Z',
      to: '2026-05-13T12:00:00Z',
    })
    const u = UpliftResponseSchema.parse(await ok(`/api/v1/events/${later.id}/uplift`))
    expect(u).toMatchObject({ status: 'upcoming', measuredTo: null, rows: [] })
  })
})

describe('shopkeeper summary', () => {
  it("compares today so far with the same weekday's average and ranks the shop anonymously", async () => {
    const res = await get('/api/v1/shops/shop-one/summary', keys.shopkeeper)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.body).not.toMatch(/shop-two|shop-three/)
    const s = ShopSummarySchema.parse(res.json())
    expect(s).toMatchObject({
      shopId: 'shop-one',
      day: '2026-05-12',
      from: '2026-05-11T22:00:00.000Z',
      asOf: '2026-05-12T10:07:00.000Z',
      today: { passersBy: 3, visitors: 3, captureRate: 0.5, dwellMeanS: 160 },
      sameWeekdayAverage: { weeks: 4, passersBy: 1, visitors: 2, dwellMeanS: 120 },
      rank: { byVisitors: 2, shops: 3, percentile: 50 },
    })
    expect(s.vsAverage.visitors).toEqual({ current: 3, baseline: 2, delta: 1, deltaPct: 50 })
    expect(s.vsAverage.passersBy).toEqual({ current: 3, baseline: 1, delta: 2, deltaPct: 200 })
    expect(s.vsAverage.captureRate.delta).toBeCloseTo(0.5 - 2 / 3, 10)
    expect(Object.keys(s.rank).sort()).toEqual(['byVisitors', 'percentile', 'shops'])
  })

  it('ranks the other shops for an analyst', async () => {
    const rank = async (id: string) =>
      ShopSummarySchema.parse(await ok(`/api/v1/shops/${id}/summary`)).rank
    expect(await rank('shop-two')).toEqual({ byVisitors: 1, shops: 3, percentile: 100 })
    expect(await rank('shop-three')).toEqual({ byVisitors: 3, shops: 3, percentile: 0 })
  })
})

describe('admin', () => {
  it('pages dead letters newest first and filters by reason and gateway', async () => {
    const page = (params: Record<string, string>) =>
      ok(`/api/v1/admin/dead-letters?${q(params)}`, keys.admin).then((b) =>
        DeadLettersResponseSchema.parse(b),
      )
    const first = await page({ pageSize: '2' })
    expect(first.total).toBe(5)
    expect(first.items.map((d) => d.receivedAt)).toEqual([
      '2026-06-01T02:50:00.000Z',
      '2026-06-01T02:40:00.000Z',
    ])
    expect((await page({ pageSize: '2', page: '3' })).items.map((d) => d.receivedAt)).toEqual([
      '2026-06-01T00:10:00.000Z',
    ])
    expect((await page({ reason: 'schema' })).total).toBe(3)
    expect((await page({ gateway: 'gw-street-a' })).total).toBe(2)
    expect(
      (await page({ from: '2026-06-01T01:00:00Z', to: '2026-06-01T02:45:00Z' })).items.map(
        (d) => d.reason,
      ),
    ).toEqual(['schema', 'malformed_json'])
  })

  it('counts rejects by reason, and batches, sightings, transits and rejects per hour', async () => {
    const body = IngestStatsResponseSchema.parse(
      await ok(
        `/api/v1/admin/ingest-stats?${q({ from: '2026-06-01T00:00:00Z', to: '2026-06-01T03:00:00Z' })}`,
        keys.admin,
      ),
    )
    expect(body.rejects).toEqual([
      { reason: 'schema', count: 3 },
      { reason: 'malformed_json', count: 2 },
    ])
    expect(body.hours).toEqual([
      { hour: '2026-06-01T00:00:00.000Z', batches: 2, sightings: 15, transits: 0, rejected: 2 },
      { hour: '2026-06-01T01:00:00.000Z', batches: 1, sightings: 7, transits: 2, rejected: 1 },
      { hour: '2026-06-01T02:00:00.000Z', batches: 0, sightings: 0, transits: 1, rejected: 2 },
    ])
  })

  it('creates a key shown once, lists keys without secrets, and revokes', async () => {
    const created = await sut.inject({
      method: 'POST',
      url: '/api/v1/admin/keys',
      payload: { role: 'shopkeeper', shopId: 'shop-two', label: 'till' },
      headers: bearer(keys.admin),
    })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.headers['cache-control']).toBe('no-store')
    const k = ApiKeyCreatedSchema.parse(created.json())
    expect(k).toMatchObject({
      role: 'shopkeeper',
      shopId: 'shop-two',
      label: 'till',
      revokedAt: null,
    })
    expect(k.key).toMatch(/^mgl_/)
    const me = await get('/api/v1/me', k.key)
    expect(me.json()).toEqual({ role: 'shopkeeper', shopId: 'shop-two', label: 'till' })

    const list = await get('/api/v1/admin/keys', keys.admin)
    expect(list.body).not.toContain(k.key)
    expect(list.body).not.toMatch(/hash/i)
    const { keys: listed } = ApiKeysResponseSchema.parse(list.json())
    expect(listed.find((x) => x.id === k.id)).toEqual({
      id: k.id,
      role: 'shopkeeper',
      shopId: 'shop-two',
      label: 'till',
      createdAt: k.createdAt,
      revokedAt: null,
    })

    const del = () =>
      sut.inject({
        method: 'DELETE',
        url: `/api/v1/admin/keys/${k.id}`,
        headers: bearer(keys.admin),
      })
    expect((await del()).statusCode).toBe(204)
    expect((await del()).statusCode).toBe(204)
    expectErrorBody(await get('/api/v1/me', k.key), 401, 'unauthorised')
    const active = ApiKeysResponseSchema.parse(
      await ok('/api/v1/admin/keys?includeRevoked=false', keys.admin),
    )
    expect(active.keys.map((x) => x.id)).not.toContain(k.id)
    const missing = await sut.inject({
      method: 'DELETE',
      url: '/api/v1/admin/keys/00000000-0000-4000-8000-00000000beef',
      headers: bearer(keys.admin),
    })
    expect(expectErrorBody(missing, 404).message).toContain('00000000-0000-4000-8000-00000000beef')
    const noShop = await sut.inject({
      method: 'POST',
      url: '/api/v1/admin/keys',
      payload: { role: 'shopkeeper', shopId: 'no-shop', label: 'x' },
      headers: bearer(keys.admin),
    })
    expect(expectErrorBody(noShop, 404).message).toContain('no-shop')
  })
})

describe('CSV export', () => {
  const september = q({ from: '2026-09-14T00:00:00+02:00', to: '2026-09-21T00:00:00+02:00' })
  const TABULAR: [string, string, string][] = [
    ['/api/v1/zones', 'id,name,kind,shopId,streetFromM,streetToM', keys.analyst],
    ['/api/v1/shops', 'id,name,category,zoneId,streetOffsetM', keys.analyst],
    ['/api/v1/gateways', 'id,zoneId,shopId,placement,format,active,health', keys.analyst],
    [`/api/v1/footfall?${september}`, 'zoneId,bucketStart,passersBy,visitors,captureRate', ''],
    [`/api/v1/footfall/heatmap?${september}`, 'weekday,hour,passersBy,visitors', ''],
    [`/api/v1/footfall/compare?${september}`, 'zoneId,metric,current,baseline,delta,deltaPct', ''],
    [
      `/api/v1/flows?${q({ from: '2026-10-05T08:00:00Z', to: '2026-10-05T10:00:00Z' })}`,
      'originZoneId,destZoneId,suppressed,flows,travelSMedian',
      '',
    ],
    ['/api/v1/events', 'id,name,zones,from,to,createdAt', ''],
    ['/api/v1/admin/dead-letters', 'receivedAt,topic,gatewayId,reason,detail', 'admin'],
    [
      `/api/v1/admin/ingest-stats?${q({ from: '2026-06-01T00:00:00Z', to: '2026-06-01T03:00:00Z' })}`,
      'hour,batches,sightings,transits,rejected',
      'admin',
    ],
    ['/api/v1/admin/keys', 'id,role,shopId,label,createdAt,revokedAt', 'admin'],
  ]

  it.each(TABULAR)(
    'answers %s as CSV with a header row, by query or by Accept',
    async (url, header, who) => {
      const key = who === 'admin' ? keys.admin : keys.analyst
      const byQuery = await get(`${url}${url.includes('?') ? '&' : '?'}format=csv`, key)
      const byAccept = await get(url, key, { accept: 'text/csv' })
      for (const res of [byQuery, byAccept]) {
        expect(res.statusCode, res.body).toBe(200)
        expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
        expect(res.headers['content-disposition']).toMatch(/^attachment; filename=".+\.csv"$/)
        expect(res.body.split('\r\n')[0]).toMatch(new RegExp(`^${header}`))
        expect(res.body.endsWith('\r\n')).toBe(true)
      }
      // Gateways' silentS moves with the clock; every other table is the same both ways.
      if (!url.includes('gateways')) expect(byAccept.body).toBe(byQuery.body)
      expect((await get(url, key, { accept: 'application/json' })).headers['content-type']).toMatch(
        /application\/json/,
      )
    },
  )

  it('writes the same figures as the JSON, one row per zone and bucket', async () => {
    const rows = parseCsv((await get(`/api/v1/footfall?${september}&format=csv`)).body)
    const [header, ...data] = rows
    const col = (name: string) => header!.indexOf(name)
    expect(data.map((r) => [r[col('zoneId')], r[col('passersBy')], r[col('visitors')]])).toEqual([
      ['shop-one', '1', '0'],
      ['street-a', '4', '0'],
      ['shop-one', '0', '1'],
      ['street-a', '0', '1'],
    ])
    const heat = parseCsv((await get(`/api/v1/footfall/heatmap?${september}&format=csv`)).body)
    expect(heat).toHaveLength(1 + 168)
  })

  it('quotes commas and quotes, neutralises formulas, and joins lists', async () => {
    await sut.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: {
        name: 'Notte "bianca", 2026',
        zones: ['street-a', 'shop-one'],
        from: '2030-01-01T00:00:00Z',
        to: '2030-01-02T00:00:00Z',
      },
      headers: bearer(keys.analyst),
    })
    await sut.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: {
        name: '=HYPERLINK("http://x")',
        zones: ['street-a'],
        from: '2030-01-03T00:00:00Z',
        to: '2030-01-04T00:00:00Z',
      },
      headers: bearer(keys.analyst),
    })
    const res = await get(`/api/v1/events?${q({ from: '2030-01-01T00:00:00Z', format: 'csv' })}`)
    expect(res.body).toContain('"Notte ""bianca"", 2026","street-a;shop-one"')
    const rows = parseCsv(res.body)
    expect(rows.map((r) => r[1])).toEqual([
      'name',
      'Notte "bianca", 2026',
      `'=HYPERLINK("http://x")`,
    ])
    const dl = parseCsv((await get('/api/v1/admin/dead-letters?format=csv', keys.admin)).body)
    expect(dl[1]?.[6]).toBe('{"a":"x,y" "b')
  })

  it('keeps errors in JSON when CSV is asked for', async () => {
    const res = await get('/api/v1/footfall?from=yesterday&to=today&format=csv')
    expectErrorBody(res, 400, 'bad_request')
    const denied = await get(`/api/v1/flows?${september}`, keys.shopkeeper, { accept: 'text/csv' })
    expectErrorBody(denied, 403, 'forbidden')
  })
})
