import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from './app.ts'
import { startOfLocalDay } from '../shared/contracts/local-time.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  CompareResponseSchema,
  FootfallDetailResponseSchema,
  GatewaysResponseSchema,
  HeatmapResponseSchema,
  ShopsResponseSchema,
  ShopSummarySchema,
  ZonesResponseSchema,
} from '../shared/contracts/api.ts'
import {
  bearer,
  countingDb,
  expectErrorBody,
  INJECTIONS,
  insertTransits,
  tableCounts,
  threeShopDistrict,
} from './api-test-helpers.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.now()
/** Within the local day of NOW (the app's pinned clock), so "today" holds the fixtures. */
const TODAY_AT = Math.max(NOW - HOUR, startOfLocalDay(NOW, 'Europe/Rome'))
const FROM = new Date(NOW - 2 * DAY).toISOString()
const TO = new Date(NOW + HOUR).toISOString()
const RANGE = `from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`
const EVENT_ID = '00000000-0000-4000-8000-000000000001'
const DOOMED_EVENT_ID = '00000000-0000-4000-8000-000000000002'

type Role = 'admin' | 'analyst' | 'shopkeeper'
const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
const keys: Record<Role, string> = { admin: '', analyst: '', shopkeeper: '' }
let spareKeyId = ''
let countCalls = 0

async function call(key: string | null, o: InjectOptions) {
  return sut.inject({ ...o, headers: { ...(o.headers ?? {}), ...(key ? bearer(key) : {}) } })
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await loadDistrict(db, threeShopDistrict())
  keys.admin = (await createApiKey(db, { role: 'admin', label: 'admin' })).key
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'analyst' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'one' })
  ).key
  spareKeyId = (await createApiKey(db, { role: 'analyst', label: 'spare' })).id
  await insertTransits(db, [
    { gateway: 'gw-street-a', at: TODAY_AT },
    { gateway: 'gw-shop-one', at: TODAY_AT, visitor: true },
    { gateway: 'gw-shop-two', at: TODAY_AT, visitor: true },
    { gateway: 'gw-shop-two', at: TODAY_AT, visitor: true },
  ])
  await db
    .insertInto('events')
    .values(
      [EVENT_ID, DOOMED_EVENT_ID].map((id) => ({
        id,
        name: 'fixture',
        zone_ids: ['street-a'],
        starts_at: new Date(NOW - DAY),
        ends_at: new Date(NOW - DAY + HOUR),
        created_by: null,
      })),
    )
    .execute()
  sut = await buildApp({
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    // Every route is tried with an unknown key from the one test address.
    options: { rateLimit: { enabled: false }, authFailureLimit: { capacity: 1000 } },
    now: () => NOW,
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

type Route = { name: string; o: () => InjectOptions; ok: Record<Role, number> }
const ALL = { admin: 200, analyst: 200, shopkeeper: 200 }
const NOT_SHOPKEEPER = { admin: 200, analyst: 200, shopkeeper: 403 }
const ADMIN_ONLY = { admin: 200, analyst: 403, shopkeeper: 403 }
const get = (url: string) => () => ({ method: 'GET' as const, url })

const ROUTES: Route[] = [
  { name: 'GET /me', o: get('/api/v1/me'), ok: ALL },
  { name: 'GET /district', o: get('/api/v1/district'), ok: ALL },
  { name: 'GET /zones', o: get('/api/v1/zones'), ok: ALL },
  { name: 'GET /zones?format=geojson', o: get('/api/v1/zones?format=geojson'), ok: ALL },
  { name: 'GET /shops', o: get('/api/v1/shops'), ok: ALL },
  { name: 'GET /shops/:id', o: get('/api/v1/shops/shop-one'), ok: ALL },
  { name: 'GET /shops/:id/summary', o: get('/api/v1/shops/shop-one/summary'), ok: ALL },
  { name: 'GET /gateways', o: get('/api/v1/gateways'), ok: ALL },
  { name: 'GET /footfall', o: get(`/api/v1/footfall?${RANGE}`), ok: ALL },
  { name: 'GET /footfall/heatmap', o: get(`/api/v1/footfall/heatmap?${RANGE}`), ok: ALL },
  { name: 'GET /footfall/compare', o: get(`/api/v1/footfall/compare?${RANGE}`), ok: ALL },
  { name: 'GET /device-counts', o: get(`/api/v1/device-counts?${RANGE}`), ok: ALL },
  { name: 'GET /zones/:zoneId/people', o: get(`/api/v1/zones/shop-one/people?${RANGE}`), ok: ALL },
  { name: 'GET /shops/:id/people', o: get(`/api/v1/shops/shop-one/people?${RANGE}`), ok: ALL },
  { name: 'GET /flows', o: get(`/api/v1/flows?${RANGE}`), ok: NOT_SHOPKEEPER },
  { name: 'GET /events', o: get('/api/v1/events'), ok: NOT_SHOPKEEPER },
  { name: 'GET /events/:id', o: get(`/api/v1/events/${EVENT_ID}`), ok: NOT_SHOPKEEPER },
  {
    name: 'GET /events/:id/uplift',
    o: get(`/api/v1/events/${EVENT_ID}/uplift`),
    ok: NOT_SHOPKEEPER,
  },
  {
    name: 'POST /events',
    o: () => ({
      method: 'POST',
      url: '/api/v1/events',
      payload: { name: 'x', zones: ['street-a'], from: FROM, to: TO },
    }),
    ok: { admin: 201, analyst: 201, shopkeeper: 403 },
  },
  {
    name: 'DELETE /events/:id',
    o: () => ({ method: 'DELETE', url: `/api/v1/events/${DOOMED_EVENT_ID}` }),
    // The analyst deletes it; the admin then finds nothing.
    ok: { admin: 404, analyst: 204, shopkeeper: 403 },
  },
  { name: 'GET /calibration', o: get('/api/v1/calibration'), ok: NOT_SHOPKEEPER },
  { name: 'GET /calibration/sessions', o: get('/api/v1/calibration/sessions'), ok: NOT_SHOPKEEPER },
  {
    name: 'POST /calibration/sessions',
    o: () => {
      // A window of its own per call, so the analyst's and the admin's counts do not overlap.
      const from = NOW - 3 * HOUR - countCalls++ * 20 * 60_000
      return {
        method: 'POST',
        url: '/api/v1/calibration/sessions',
        payload: {
          zone: 'street-a',
          from: new Date(from).toISOString(),
          to: new Date(from + 15 * 60_000).toISOString(),
          kind: 'present',
          people: 3,
          countedBy: 'a test',
        },
      }
    },
    ok: { admin: 201, analyst: 201, shopkeeper: 403 },
  },
  {
    name: 'POST /calibration/fit',
    o: () => ({ method: 'POST', url: '/api/v1/calibration/fit', payload: {} }),
    ok: NOT_SHOPKEEPER,
  },
  { name: 'GET /admin/dead-letters', o: get('/api/v1/admin/dead-letters'), ok: ADMIN_ONLY },
  {
    name: 'GET /admin/ingest-stats',
    o: get(`/api/v1/admin/ingest-stats?${RANGE}`),
    ok: ADMIN_ONLY,
  },
  { name: 'GET /admin/keys', o: get('/api/v1/admin/keys'), ok: ADMIN_ONLY },
  {
    name: 'POST /admin/keys',
    o: () => ({
      method: 'POST',
      url: '/api/v1/admin/keys',
      payload: { role: 'analyst', label: 'made by a test' },
    }),
    ok: { admin: 201, analyst: 403, shopkeeper: 403 },
  },
  {
    name: 'DELETE /admin/keys/:id',
    o: () => ({ method: 'DELETE', url: `/api/v1/admin/keys/${spareKeyId}` }),
    ok: { admin: 204, analyst: 403, shopkeeper: 403 },
  },
]

describe('every route and role', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: 401 without a key', async (_n, r) => {
    expectErrorBody(await call(null, r.o()), 401, 'unauthorised')
    expectErrorBody(await call(`mgl_${'z'.repeat(43)}`, r.o()), 401, 'unauthorised')
  })

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: per role', async (_n, r) => {
    // Shopkeeper, analyst, admin in this order: a DELETE succeeds once.
    for (const role of ['shopkeeper', 'analyst', 'admin'] as const) {
      const res = await call(keys[role], r.o())
      expect(res.statusCode, `${role}: ${res.body}`).toBe(r.ok[role])
      if (res.statusCode === 403) expectErrorBody(res, 403, 'forbidden')
    }
  })

  it('names the missing event in the 404 of a second delete', async () => {
    const id = '00000000-0000-4000-8000-000000000003'
    const res = await call(keys.analyst, { method: 'DELETE', url: `/api/v1/events/${id}` })
    expect(expectErrorBody(res, 404, 'not_found').message).toContain(id)
  })
})

describe('shop isolation: a shopkeeper gets 403 for another shop, whatever the path or query', () => {
  const other = [
    '/api/v1/shops/shop-two',
    '/api/v1/shops/shop-two/summary',
    `/api/v1/footfall?${RANGE}&shop=shop-two`,
    `/api/v1/footfall?${RANGE}&zone=shop-two`,
    `/api/v1/footfall?${RANGE}&zone=street-a`,
    `/api/v1/footfall?${RANGE}&bucket=week&shop=shop-three`,
    `/api/v1/footfall/heatmap?${RANGE}&shop=shop-two`,
    `/api/v1/footfall/heatmap?${RANGE}&zone=shop-two`,
    `/api/v1/footfall/compare?${RANGE}&shop=shop-two`,
    `/api/v1/footfall/compare?${RANGE}&zone=shop-two&mode=yoy`,
    `/api/v1/flows?${RANGE}&zone=shop-one`,
    `/api/v1/device-counts?${RANGE}&shop=shop-two`,
    `/api/v1/device-counts?${RANGE}&zone=street-a`,
    `/api/v1/device-counts?${RANGE}&gateway=gw-shop-two`,
    `/api/v1/events/${EVENT_ID}/uplift`,
  ]
  it.each(other)('GET %s → 403', async (url) => {
    expectErrorBody(await call(keys.shopkeeper, { method: 'GET', url }), 403, 'forbidden')
  })

  it('the same requests for its own shop answer 200', async () => {
    for (const url of [
      '/api/v1/shops/shop-one',
      '/api/v1/shops/shop-one/summary',
      `/api/v1/footfall?${RANGE}&shop=shop-one`,
      `/api/v1/footfall?${RANGE}&zone=shop-one`,
      `/api/v1/footfall/heatmap?${RANGE}&shop=shop-one`,
      `/api/v1/footfall/compare?${RANGE}&zone=shop-one`,
    ]) {
      const res = await call(keys.shopkeeper, { method: 'GET', url })
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
    }
  })

  it("answers unfiltered district requests with its shop's figures only", async () => {
    const get = async (url: string) => {
      const res = await call(keys.shopkeeper, { method: 'GET', url })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.body).not.toMatch(/shop-two|shop-three|street-a/)
      return res.json()
    }
    const footfall = FootfallDetailResponseSchema.parse(await get(`/api/v1/footfall?${RANGE}`))
    expect(footfall.totals.map((t) => [t.zoneId, t.visitors])).toEqual([['shop-one', 1]])
    expect(footfall.shopId).toBe('shop-one')
    const heat = HeatmapResponseSchema.parse(await get(`/api/v1/footfall/heatmap?${RANGE}`))
    expect(heat.cells.reduce((a, c) => a + c.visitors + c.passersBy, 0)).toBe(1)
    const cmp = CompareResponseSchema.parse(await get(`/api/v1/footfall/compare?${RANGE}`))
    expect(cmp.rows.map((r) => r.zoneId)).toEqual(['shop-one', null])
    expect(ZonesResponseSchema.parse(await get('/api/v1/zones')).zones.map((z) => z.id)).toEqual([
      'shop-one',
    ])
    expect(ShopsResponseSchema.parse(await get('/api/v1/shops')).shops.map((s) => s.id)).toEqual([
      'shop-one',
    ])
    expect(
      GatewaysResponseSchema.parse(await get('/api/v1/gateways')).gateways.map((g) => g.id),
    ).toEqual(['gw-shop-one'])
    const summary = ShopSummarySchema.parse(await get('/api/v1/shops/shop-one/summary'))
    // shop-two has 2 visitors, shop-one 1, shop-three 0: second of three, above half the others.
    expect(summary.rank).toEqual({ byVisitors: 2, shops: 3, percentile: 50 })
  })

  it('an analyst sees every shop', async () => {
    const res = await call(keys.analyst, { method: 'GET', url: '/api/v1/shops/shop-two/summary' })
    expect(res.statusCode).toBe(200)
    expect(ShopSummarySchema.parse(res.json()).rank).toEqual({
      byVisitors: 1,
      shops: 3,
      percentile: 100,
    })
  })
})

describe('bad input', () => {
  it('answers 404 naming an unknown zone, shop, event or key', async () => {
    for (const [url, id] of [
      [`/api/v1/footfall?${RANGE}&zone=nowhere`, 'nowhere'],
      [`/api/v1/footfall?${RANGE}&shop=noshop`, 'noshop'],
      [`/api/v1/footfall/heatmap?${RANGE}&zone=nowhere`, 'nowhere'],
      [`/api/v1/footfall/compare?${RANGE}&shop=noshop`, 'noshop'],
      [`/api/v1/flows?${RANGE}&zone=nowhere`, 'nowhere'],
      ['/api/v1/shops/noshop', 'noshop'],
      ['/api/v1/shops/noshop/summary', 'noshop'],
      [`/api/v1/events/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, '00000000-'],
    ] as const) {
      const res = await call(keys.admin, { method: 'GET', url })
      expect(expectErrorBody(res, 404, 'not_found').message).toContain(id)
    }
    const ev = await call(keys.analyst, {
      method: 'POST',
      url: '/api/v1/events',
      payload: { name: 'x', zones: ['street-a', 'atlantis'], from: FROM, to: TO },
    })
    expect(expectErrorBody(ev, 404).message).toContain('atlantis')
  })

  it('answers 400 naming the field for from > to, long ranges, bad buckets and modes', async () => {
    const cases: [string, string][] = [
      [`/api/v1/footfall?from=${encodeURIComponent(TO)}&to=${encodeURIComponent(FROM)}`, 'from'],
      [`/api/v1/footfall?${RANGE}&bucket=2h`, 'bucket'],
      [`/api/v1/footfall?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=1h`, 'to'],
      [`/api/v1/footfall/heatmap?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 'to'],
      [`/api/v1/footfall/compare?${RANGE}&mode=mom`, 'mode'],
      [`/api/v1/footfall/compare?${RANGE}&mode=custom`, 'baseFrom'],
      [`/api/v1/footfall/compare?${RANGE}&baseFrom=${encodeURIComponent(FROM)}`, 'baseFrom'],
      [
        `/api/v1/footfall/compare?${RANGE}&mode=custom&baseFrom=${encodeURIComponent(TO)}&baseTo=${encodeURIComponent(FROM)}`,
        'baseFrom',
      ],
      [`/api/v1/footfall?${RANGE}&zone=street-a&shop=shop-one`, 'shop'],
      [`/api/v1/flows?${RANGE}&source=weekly`, 'source'],
      [`/api/v1/flows?from=2026-01-01T10:00:00Z&to=2026-06-01T10:00:00Z`, 'to'],
      [`/api/v1/events/${EVENT_ID}/uplift?weeks=13`, 'weeks'],
      [`/api/v1/admin/dead-letters?pageSize=1000`, 'pageSize'],
      [`/api/v1/admin/dead-letters?page=0`, 'page'],
      [`/api/v1/admin/ingest-stats?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`, 'to'],
      [`/api/v1/footfall?${RANGE}&format=xml`, 'format'],
    ]
    for (const [url, field] of cases) {
      const res = await call(keys.admin, { method: 'GET', url })
      expect(expectErrorBody(res, 400, 'bad_request').message, url).toContain(field)
    }
    const body = async (payload: object) =>
      call(keys.admin, { method: 'POST', url: '/api/v1/events', payload })
    expect(
      expectErrorBody(await body({ name: 'x', zones: ['street-a'], from: TO, to: FROM }), 400)
        .message,
    ).toContain('from')
    expect(
      expectErrorBody(await body({ name: '', zones: ['street-a'], from: FROM, to: TO }), 400)
        .message,
    ).toContain('name')
    expect(
      expectErrorBody(await body({ name: 'x', zones: [], from: FROM, to: TO }), 400).message,
    ).toContain('zones')
    const key = await call(keys.admin, {
      method: 'POST',
      url: '/api/v1/admin/keys',
      payload: { role: 'shopkeeper', label: 'no shop' },
    })
    expect(expectErrorBody(key, 400).message).toContain('shopId')
  })

  const PARAMS: { name: string; url: (attack: string) => string }[] = [
    { name: 'footfall.from', url: (a) => `/api/v1/footfall?from=${a}&to=${TO}` },
    { name: 'footfall.to', url: (a) => `/api/v1/footfall?from=${FROM}&to=${FROM}${a}` },
    { name: 'footfall.zone', url: (a) => `/api/v1/footfall?${RANGE}&zone=${a}` },
    { name: 'footfall.shop', url: (a) => `/api/v1/footfall?${RANGE}&shop=${a}` },
    { name: 'footfall.bucket', url: (a) => `/api/v1/footfall?${RANGE}&bucket=${a}` },
    { name: 'footfall.format', url: (a) => `/api/v1/footfall?${RANGE}&format=${a}` },
    { name: 'heatmap.from', url: (a) => `/api/v1/footfall/heatmap?from=${a}&to=${TO}` },
    { name: 'heatmap.zone', url: (a) => `/api/v1/footfall/heatmap?${RANGE}&zone=${a}` },
    { name: 'heatmap.shop', url: (a) => `/api/v1/footfall/heatmap?${RANGE}&shop=${a}` },
    { name: 'compare.mode', url: (a) => `/api/v1/footfall/compare?${RANGE}&mode=${a}` },
    {
      name: 'compare.baseFrom',
      url: (a) => `/api/v1/footfall/compare?${RANGE}&mode=custom&baseFrom=${a}&baseTo=${TO}`,
    },
    {
      name: 'compare.baseTo',
      url: (a) => `/api/v1/footfall/compare?${RANGE}&mode=custom&baseFrom=${FROM}&baseTo=${a}`,
    },
    { name: 'compare.zone', url: (a) => `/api/v1/footfall/compare?${RANGE}&zone=${a}` },
    { name: 'device-counts.gateway', url: (a) => `/api/v1/device-counts?${RANGE}&gateway=${a}` },
    { name: 'device-counts.zone', url: (a) => `/api/v1/device-counts?${RANGE}&zone=${a}` },
    { name: 'device-counts.bucket', url: (a) => `/api/v1/device-counts?${RANGE}&bucket=${a}` },
    { name: 'flows.to', url: (a) => `/api/v1/flows?from=${FROM}&to=${a}` },
    { name: 'flows.zone', url: (a) => `/api/v1/flows?${RANGE}&zone=${a}` },
    { name: 'flows.source', url: (a) => `/api/v1/flows?${RANGE}&source=${a}` },
    { name: 'events.from', url: (a) => `/api/v1/events?from=${a}` },
    { name: 'events.id', url: (a) => `/api/v1/events/${a}` },
    { name: 'uplift.id', url: (a) => `/api/v1/events/${a}/uplift` },
    { name: 'uplift.weeks', url: (a) => `/api/v1/events/${EVENT_ID}/uplift?weeks=${a}` },
    { name: 'shops.shopId', url: (a) => `/api/v1/shops/${a}` },
    { name: 'summary.shopId', url: (a) => `/api/v1/shops/${a}/summary` },
    { name: 'zones.format', url: (a) => `/api/v1/zones?format=${a}` },
    { name: 'dead-letters.reason', url: (a) => `/api/v1/admin/dead-letters?reason=${a}` },
    { name: 'dead-letters.gateway', url: (a) => `/api/v1/admin/dead-letters?gateway=${a}` },
    { name: 'dead-letters.page', url: (a) => `/api/v1/admin/dead-letters?page=${a}` },
    { name: 'dead-letters.from', url: (a) => `/api/v1/admin/dead-letters?from=${a}` },
    { name: 'ingest-stats.from', url: (a) => `/api/v1/admin/ingest-stats?from=${a}&to=${TO}` },
    { name: 'keys.includeRevoked', url: (a) => `/api/v1/admin/keys?includeRevoked=${a}` },
  ]

  it.each(INJECTIONS)('answers 4xx, never 5xx, to %j in every parameter', async (attack) => {
    const before = await tableCounts(database.db)
    for (const p of PARAMS) {
      for (const a of [encodeURIComponent(attack), attack]) {
        let res
        try {
          res = await call(keys.admin, { method: 'GET', url: p.url(a) })
        } catch {
          continue // inject refuses some raw URLs itself: nothing reached the app
        }
        expect(res.statusCode, `${p.name}: ${res.body}`).toBeGreaterThanOrEqual(400)
        expect(res.statusCode, `${p.name}: ${res.body}`).toBeLessThan(500)
        expectErrorBody(res, res.statusCode)
      }
    }
    for (const [url, payload] of [
      ['/api/v1/events', { name: 'x', zones: [attack], from: FROM, to: TO }],
      ['/api/v1/events', { name: 'x', zones: ['street-a'], from: attack, to: TO }],
      ['/api/v1/admin/keys', { role: attack, label: 'x' }],
      ['/api/v1/admin/keys', { role: 'shopkeeper', shopId: attack, label: 'x' }],
    ] as const) {
      const res = await call(keys.admin, { method: 'POST', url, payload })
      expectErrorBody(res, 400, 'bad_request')
    }
    for (const url of [
      `/api/v1/events/${encodeURIComponent(attack)}`,
      `/api/v1/admin/keys/${encodeURIComponent(attack)}`,
    ]) {
      expectErrorBody(await call(keys.admin, { method: 'DELETE', url }), 400, 'bad_request')
    }
    // Free text is data: an injection string as an event name is stored verbatim.
    const named = await call(keys.analyst, {
      method: 'POST',
      url: '/api/v1/events',
      payload: { name: attack, zones: ['street-a'], from: FROM, to: TO },
    })
    expect(named.statusCode).toBe(201)
    expect(named.json().name).toBe(attack.trim())
    const after = await tableCounts(database.db)
    expect(after).toEqual({ ...before, events: (before.events ?? 0) + 1 })
  })

  it('refuses a body over the limit with 413 and a JSON error', async () => {
    const res = await call(keys.admin, {
      method: 'POST',
      url: '/api/v1/events',
      payload: { name: 'x'.repeat(100_000), zones: ['street-a'], from: FROM, to: TO },
    })
    expectErrorBody(res, 413, 'payload_too_large')
  })
})

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a key has spent its burst; other keys are unaffected', async () => {
    const app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { rateLimit: { capacity: 3, refillPerSecond: 0.01 } },
    })
    try {
      const me = (key: string) =>
        app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(key) })
      for (let i = 0; i < 3; i++) expect((await me(keys.analyst)).statusCode).toBe(200)
      const limited = await me(keys.analyst)
      expectErrorBody(limited, 429, 'rate_limited')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect((await me(keys.admin)).statusCode).toBe(200)
      expect((await app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200)
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      expect(metrics.body).toMatch(/miglio_api_rate_limited_total 1/)
    } finally {
      await app.close()
    }
  })
})

describe('failed authentication per client address', () => {
  const unknownKey = `mgl_${'u'.repeat(43)}`

  it('answers 429 with Retry-After and no database lookup once an address has failed too often', async () => {
    const lookups = countingDb(database.db, 'api_keys')
    const app = await buildApp({
      db: lookups.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { authFailureLimit: { capacity: 3, refillPerSecond: 0.01 } },
    })
    try {
      const me = (authorization: string, remoteAddress = '192.0.2.1') =>
        app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization }, remoteAddress })
      // A key that worked from this address before keeps working while the address is blocked.
      expect((await me(`Bearer ${keys.analyst}`)).statusCode).toBe(200)
      // Malformed credentials count too (they need no lookup, but are failures all the same).
      expectErrorBody(await me('Bearer short'), 401, 'unauthorised')
      for (let i = 0; i < 2; i++) expectErrorBody(await me(`Bearer ${unknownKey}`), 401)
      const before = lookups.count()
      for (const key of [unknownKey, keys.admin]) {
        // keys.admin was never used from this address: it cannot be told from a guess.
        const limited = await me(`Bearer ${key}`)
        expectErrorBody(limited, 429, 'rate_limited')
        expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      }
      expect(lookups.count()).toBe(before)
      expect((await me(`Bearer ${keys.analyst}`)).statusCode).toBe(200)
      // Without a key: 401 as ever (no lookup, nothing to limit).
      expectErrorBody(await app.inject({ method: 'GET', url: '/api/v1/me' }), 401)
      // Another address has its own budget.
      expectErrorBody(await me(`Bearer ${unknownKey}`, '192.0.2.2'), 401, 'unauthorised')
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      expect(metrics.body).toMatch(/miglio_api_rate_limited_total 2/)
      expect(metrics.body).toMatch(/miglio_api_auth_failures_total 4/)
    } finally {
      await app.close()
    }
  })

  it('takes the client address from X-Forwarded-For only with trustProxy', async () => {
    for (const trustProxy of [false, true]) {
      const app = await buildApp({
        db: database.db,
        log,
        checks: { broker: () => ({ up: true }) },
        options: { trustProxy, authFailureLimit: { capacity: 1, refillPerSecond: 0.01 } },
      })
      try {
        const fail = (client: string) =>
          app.inject({
            method: 'GET',
            url: '/api/v1/me',
            headers: { ...bearer(unknownKey), 'x-forwarded-for': client },
            remoteAddress: '10.0.0.1',
          })
        expect((await fail('198.51.100.1')).statusCode).toBe(401)
        // Behind a trusted proxy the second client has its own budget; otherwise both are the
        // proxy's address, which has spent its budget.
        expect((await fail('198.51.100.2')).statusCode).toBe(trustProxy ? 401 : 429)
      } finally {
        await app.close()
      }
    }
  })
})

describe('CORS', () => {
  it('is off by default: no CORS header for any origin', async () => {
    const res = await call(keys.analyst, {
      method: 'GET',
      url: '/api/v1/me',
      headers: { origin: 'https://evil.example' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('allows exactly the configured origins, preflight included', async () => {
    const app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { corsOrigins: ['https://dash.example'] },
    })
    try {
      const pre = await app.inject({
        method: 'OPTIONS',
        url: '/api/v1/footfall',
        headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET' },
      })
      expect(pre.statusCode).toBe(204)
      expect(pre.headers['access-control-allow-origin']).toBe('https://dash.example')
      expect(pre.headers['access-control-allow-headers']).toMatch(/authorization/)
      const other = await app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { origin: 'https://evil.example', ...bearer(keys.analyst) },
      })
      expect(other.headers['access-control-allow-origin']).toBeUndefined()
    } finally {
      await app.close()
    }
  })
})

describe('OpenAPI', () => {
  it('serves the document at /docs/openapi.json with every operation, without a key', async () => {
    const res = await sut.inject({ method: 'GET', url: '/docs/openapi.json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> }
    expect(doc.openapi).toBe('3.1.0')
    const ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    )
    for (const r of ROUTES) {
      const [method, path] = r.name.split(' ') as [string, string]
      const openapiPath = `/api/v1${path
        .split('?')[0]!
        .replace(':id', '{id}')
        .replace(':zoneId', '{zoneId}')}`
      const candidates = [openapiPath, openapiPath.replace('{id}', '{shopId}')]
      expect(
        candidates.some((c) => ops.includes(`${method} ${c}`)),
        `${method} ${openapiPath}`,
      ).toBe(true)
    }
    expect(ops).toContain('GET /api/v1/live')
    expect(ops).toContain('GET /api/v1/health')
    expect(ops).not.toContain('GET /metrics')
    const footfall = doc.paths['/api/v1/footfall']?.get as { parameters: { name: string }[] }
    expect(footfall.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'bucket', 'zone', 'shop', 'format']),
    )
    const gateway = (
      doc.paths['/api/v1/gateways']?.get as {
        responses: Record<string, { content: Record<string, { schema: unknown }> }>
      }
    ).responses['200']?.content['application/json']?.schema as {
      properties: { gateways: { items: { properties: Record<string, unknown> } } }
    }
    expect(gateway.properties.gateways.items.properties.position).toMatchObject({
      type: 'array',
      minItems: 2,
      maxItems: 2,
    })
  })

  it('renders an HTML page listing the operations at /docs under the strict CSP', async () => {
    const res = await sut.inject({ method: 'GET', url: '/docs' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/)
    expect(res.body).toContain('GET /api/v1/footfall/heatmap')
    expect(res.body).toContain('POST /api/v1/admin/keys')
    expect(res.body).not.toMatch(/<script|https?:\/\/cdn/i)
  })
})
