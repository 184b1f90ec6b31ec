import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { tinyDistrict } from '../shared/testing/fixtures.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey, revokeApiKey } from '../shared/registry/api-key-repository.ts'
import { createDb } from '../shared/db/create-db.ts'
import { createLogger } from '../shared/logger.ts'
import type { HealthChecks } from './routes/health/index.ts'
import { localTimeOf } from '../shared/contracts/local-time.ts'
import {
  ErrorBodySchema,
  FootfallDetailResponseSchema,
  FootfallResponseSchema,
  HealthResponseSchema,
  MeResponseSchema,
  ZonesResponseSchema,
  type FootfallResponse,
} from '../shared/contracts/api.ts'

const HOUR = 3_600_000
const QUARTER = 15 * 60_000
const DAY = 24 * HOUR

/** The known hour every fixture transit starts in: three whole hours before the current one. */
const HOUR_START = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR

type Fixture = {
  gateway: 'gw-street-a' | 'gw-shop-one'
  minute: number
  visitor: boolean
  dwellS: number
}

const STREET = { gateway_id: 'gw-street-a', zone_id: 'street-a', shop_id: null }
const SHOP = { gateway_id: 'gw-shop-one', zone_id: 'shop-one', shop_id: 'shop-one' }

const FIXTURES: Fixture[] = [
  { gateway: 'gw-street-a', minute: 2, visitor: false, dwellS: 4 },
  { gateway: 'gw-street-a', minute: 7, visitor: false, dwellS: 6 },
  { gateway: 'gw-street-a', minute: 21, visitor: false, dwellS: 3 },
  { gateway: 'gw-street-a', minute: 40, visitor: true, dwellS: 90 },
  { gateway: 'gw-street-a', minute: 52, visitor: false, dwellS: 5 },
  { gateway: 'gw-shop-one', minute: 3, visitor: true, dwellS: 120 },
  { gateway: 'gw-shop-one', minute: 33, visitor: false, dwellS: 10 },
  { gateway: 'gw-shop-one', minute: 48, visitor: true, dwellS: 300.5 },
]

type Expected = { zoneId: string; passersBy: number; visitors: number; dwellSecondsSum: number }

/** Sums of the fixtures per zone, and per zone and 15-minute bucket. */
function expectedSums(
  bucketOf: (f: Fixture) => number,
): Map<string, Expected & { bucket: number }> {
  const out = new Map<string, Expected & { bucket: number }>()
  for (const f of FIXTURES) {
    const zoneId = f.gateway === 'gw-street-a' ? 'street-a' : 'shop-one'
    const bucket = bucketOf(f)
    const k = `${zoneId}@${bucket}`
    const e = out.get(k) ?? { zoneId, bucket, passersBy: 0, visitors: 0, dwellSecondsSum: 0 }
    if (f.visitor) {
      e.visitors++
      e.dwellSecondsSum += f.dwellS
    } else e.passersBy++
    out.set(k, e)
  }
  return out
}

const INJECTIONS = [`' OR 1=1 --`, `"; DROP TABLE transits; --`, '%27']

let database: TestDatabase
let sut: FastifyInstance
const keys = { analyst: '', admin: '', shopkeeper: '' }
let revokedKey = ''
const log = createLogger({ level: 'silent' })
const upBroker: HealthChecks = { broker: () => ({ up: true }) }

/** Every error body has the contract's shape, and a 5xx never leaks SQL or a stack. */
function expectErrorBody(res: LightMyRequestResponse, status: number, code?: string) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/application\/json/)
  const body = ErrorBodySchema.parse(res.json())
  if (code) expect(body.error.code).toBe(code)
  if (status >= 500) {
    expect(res.body).not.toContain('SELECT')
    expect(res.body).not.toMatch(/\bat /)
  }
  return body.error
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

function footfall(key: string, query: Record<string, string>) {
  return sut.inject({ method: 'GET', url: '/api/v1/footfall', query, headers: bearer(key) })
}

/** A range around the fixture hour that every bucket width (1d buckets start at Rome midnight) covers. */
const RANGE = {
  from: new Date(HOUR_START - 2 * DAY).toISOString(),
  to: new Date(HOUR_START + 2 * DAY).toISOString(),
}

async function transitCount(): Promise<number> {
  const r = await database.db
    .selectFrom('transits')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await loadDistrict(db, tinyDistrict())
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'analyst' })).key
  keys.admin = (await createApiKey(db, { role: 'admin', label: 'admin' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'shop one' })
  ).key
  const revoked = await createApiKey(db, { role: 'analyst', label: 'revoked' })
  expect(await revokeApiKey(db, revoked.id)).toBe(true)
  revokedKey = revoked.key
  await db
    .insertInto('transits')
    .values(
      FIXTURES.map((f, i) => {
        const first = HOUR_START + f.minute * 60_000
        return {
          ...(f.gateway === 'gw-street-a' ? STREET : SHOP),
          first_seen: new Date(first),
          last_seen: new Date(first + f.dwellS * 1000),
          pseudonym: 1000 + i,
          dwell_s: f.dwellS,
          peak_rssi: f.visitor ? -55 : -80,
          samples: 3,
          radio: 'wifi',
          randomised: false,
          visitor: f.visitor,
          threshold_version: 1,
        }
      }),
    )
    .execute()
  sut = await buildApp({ db, log, checks: upBroker })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

describe(buildApp.name, () => {
  describe('GET /api/v1/health', () => {
    it('answers 200 with the database and the broker up, without a key', async () => {
      const res = await sut.inject({ method: 'GET', url: '/api/v1/health' })
      expect(res.statusCode).toBe(200)
      const body = HealthResponseSchema.parse(res.json())
      expect(body).toMatchObject({ status: 'ok', database: { up: true }, broker: { up: true } })
    })

    it('answers 503 degraded when the broker is down', async () => {
      const app = await buildApp({
        db: database.db,
        log,
        checks: { broker: () => ({ up: false, error: 'x' }) },
      })
      try {
        const res = await app.inject({ method: 'GET', url: '/api/v1/health' })
        expect(res.statusCode).toBe(503)
        expect(HealthResponseSchema.parse(res.json())).toEqual({
          status: 'degraded',
          database: { up: true },
          broker: { up: false, error: 'x' },
        })
      } finally {
        await app.close()
      }
    })

    it('answers 503 with the database down, and 503 database_unavailable elsewhere that leaks no SQL', async () => {
      const { db: goneDb } = createDb({ url: 'postgres://u:p@127.0.0.1:1/x', maxConnections: 1 })
      const app = await buildApp({ db: goneDb, log, checks: upBroker })
      try {
        const res = await app.inject({ method: 'GET', url: '/api/v1/health' })
        expect(res.statusCode).toBe(503)
        const body = HealthResponseSchema.parse(res.json())
        expect(body.status).toBe('degraded')
        expect(body.database.up).toBe(false)
        expect(body.database.error).toBe('unreachable')
        expect(body.broker.up).toBe(true)

        // Authentication needs the database too: 503 with Retry-After, no driver text.
        const me = await app.inject({
          method: 'GET',
          url: '/api/v1/me',
          headers: bearer(keys.admin),
        })
        expect(expectErrorBody(me, 503, 'database_unavailable').message).not.toMatch(/ECONN|127/)
        expect(me.headers['retry-after']).toBeDefined()
      } finally {
        await app.close()
        await goneDb.destroy()
      }
    })
  })

  describe('authentication', () => {
    it('rejects a request without an Authorization header with 401', async () => {
      const res = await sut.inject({ method: 'GET', url: '/api/v1/me' })
      expectErrorBody(res, 401, 'unauthorised')
    })

    it.each([
      ['another scheme', `Basic ${'a'.repeat(20)}`],
      ['no key', 'Bearer'],
      ['a key too short', 'Bearer abc'],
      ['a key with a space', 'Bearer mgl_abc def_ghi'],
    ])('rejects a malformed header (%s) with 401', async (_what, authorization) => {
      const res = await sut.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization } })
      expectErrorBody(res, 401, 'unauthorised')
    })

    it('rejects an unknown key with 401', async () => {
      const res = await sut.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: bearer(`mgl_${'x'.repeat(43)}`),
      })
      expectErrorBody(res, 401, 'unauthorised')
    })

    it('rejects a revoked key with 401', async () => {
      const res = await sut.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: bearer(revokedKey),
      })
      expectErrorBody(res, 401, 'unauthorised')
    })

    it.each([
      ['analyst', { role: 'analyst', shopId: null, label: 'analyst' }],
      ['admin', { role: 'admin', shopId: null, label: 'admin' }],
      ['shopkeeper', { role: 'shopkeeper', shopId: 'shop-one', label: 'shop one' }],
    ] as const)('tells a valid %s key who it is', async (who, expected) => {
      const res = await sut.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(keys[who]) })
      expect(res.statusCode).toBe(200)
      expect(MeResponseSchema.parse(res.json())).toEqual(expected)
    })
  })

  describe('GET /api/v1/zones', () => {
    it('lists every zone to an analyst', async () => {
      const res = await sut.inject({
        method: 'GET',
        url: '/api/v1/zones',
        headers: bearer(keys.analyst),
      })
      expect(res.statusCode).toBe(200)
      const { zones } = ZonesResponseSchema.parse(res.json())
      expect(zones.map((z) => [z.id, z.kind, z.shopId])).toEqual([
        ['street-a', 'street', null],
        ['shop-one', 'shop', 'shop-one'],
      ])
      expect(zones[0]!.geometry.type).toBe('Polygon')
    })

    it("lists only its shop's zone to a shopkeeper", async () => {
      const res = await sut.inject({
        method: 'GET',
        url: '/api/v1/zones',
        headers: bearer(keys.shopkeeper),
      })
      expect(res.statusCode).toBe(200)
      const { zones } = ZonesResponseSchema.parse(res.json())
      expect(zones.map((z) => z.id)).toEqual(['shop-one'])
    })
  })

  describe('GET /api/v1/footfall', () => {
    async function okFootfall(key: string, query: Record<string, string>) {
      const res = await footfall(key, query)
      expect(res.statusCode, res.body).toBe(200)
      return FootfallResponseSchema.parse(res.json())
    }

    const rowsOf = (body: FootfallResponse) =>
      body.rows.map((r) => ({
        zoneId: r.zoneId,
        bucket: Date.parse(r.bucketStart),
        passersBy: r.passersBy,
        visitors: r.visitors,
        dwellSecondsSum: r.dwellSecondsSum,
      }))

    it('rejects instants outside 2000–9999 instead of failing to serialise them', async () => {
      const res = await footfall(keys.analyst, {
        from: '9999-12-31T20:00:00Z',
        to: '9999-12-31T23:00:00-02:00',
        bucket: '1h',
      })
      expect(expectErrorBody(res, 400, 'bad_request').message).toMatch(/^from: /)
    })

    it('sums the transits of each zone per 15-minute bucket', async () => {
      const body = await okFootfall(keys.analyst, { ...RANGE, bucket: '15m' })
      const expected = expectedSums((f) => HOUR_START + Math.floor(f.minute / 15) * QUARTER)
      expect(body.bucket).toBe('15m')
      expect(rowsOf(body)).toHaveLength(expected.size)
      expect(rowsOf(body)).toEqual(expect.arrayContaining([...expected.values()]))
      expect(body.totals).toEqual(
        expect.arrayContaining([
          { zoneId: 'street-a', passersBy: 4, visitors: 1 },
          { zoneId: 'shop-one', passersBy: 1, visitors: 2 },
        ]),
      )
    })

    it('sums the transits of each zone in the hour', async () => {
      const body = await okFootfall(keys.analyst, { ...RANGE, bucket: '1h' })
      expect(rowsOf(body)).toEqual([
        {
          zoneId: 'shop-one',
          bucket: HOUR_START,
          passersBy: 1,
          visitors: 2,
          dwellSecondsSum: 420.5,
        },
        { zoneId: 'street-a', bucket: HOUR_START, passersBy: 4, visitors: 1, dwellSecondsSum: 90 },
      ])
    })

    it('defaults to hourly buckets', async () => {
      const body = await okFootfall(keys.analyst, RANGE)
      expect(body.bucket).toBe('1h')
      expect(body.rows).toHaveLength(2)
    })

    it('sums the transits of each zone in the local day', async () => {
      const body = await okFootfall(keys.analyst, { ...RANGE, bucket: '1d' })
      const rows = rowsOf(body)
      expect(rows.map(({ bucket: _, ...r }) => r)).toEqual([
        { zoneId: 'shop-one', passersBy: 1, visitors: 2, dwellSecondsSum: 420.5 },
        { zoneId: 'street-a', passersBy: 4, visitors: 1, dwellSecondsSum: 90 },
      ])
      for (const r of rows) {
        expect(r.bucket).toBeLessThanOrEqual(HOUR_START)
        expect(HOUR_START - r.bucket).toBeLessThan(25 * HOUR)
      }
    })

    it('adds capture rate, dwell mean and histogram, estimated people and calibration versions', async () => {
      const res = await footfall(keys.analyst, { ...RANGE, bucket: '1h' })
      const body = FootfallDetailResponseSchema.parse(res.json())
      expect(body.totals.find((t) => t.zoneId === 'shop-one')).toEqual({
        zoneId: 'shop-one',
        passersBy: 1,
        visitors: 2,
        dwellSecondsSum: 420.5,
        estimatedPeople: 3,
        captureRate: 2 / 3,
        dwellMeanS: 210.25,
        dwellHistogram: { lt1m: 0, m1to5: 1, m5to15: 1, m15to60: 0, gt60m: 0 },
        calibrationVersions: [1],
        // The exact 95 % Poisson interval of 3 transits, at factor 1.
        estimatedPeopleBand: { low: 0.62, high: 8.77 },
      })
      for (const r of body.rows)
        expect(r.estimatedPeopleBand.low).toBeLessThanOrEqual(r.estimatedPeople)
    })

    it('answers ISO weeks starting on a Monday at local midnight', async () => {
      const res = await footfall(keys.analyst, { ...RANGE, bucket: 'week' })
      const body = FootfallDetailResponseSchema.parse(res.json())
      expect(body.bucket).toBe('week')
      expect(body.totals.map((t) => [t.zoneId, t.passersBy, t.visitors]).sort()).toEqual([
        ['shop-one', 1, 2],
        ['street-a', 4, 1],
      ])
      for (const r of body.rows) {
        expect(localTimeOf(Date.parse(r.bucketStart), 'Europe/Rome')).toMatchObject({
          weekday: 1,
          hour: 0,
          minute: 0,
        })
      }
    })

    it('filters by zone', async () => {
      const body = await okFootfall(keys.analyst, { ...RANGE, bucket: '1h', zone: 'street-a' })
      expect(body.rows.map((r) => r.zoneId)).toEqual(['street-a'])
      expect(body.totals).toEqual([{ zoneId: 'street-a', passersBy: 4, visitors: 1 }])
    })

    it('answers an empty range with no rows', async () => {
      const body = await okFootfall(keys.analyst, {
        from: new Date(HOUR_START + HOUR).toISOString(),
        to: new Date(HOUR_START + 2 * HOUR).toISOString(),
      })
      expect(body).toMatchObject({ rows: [], totals: [] })
    })

    it("shows a shopkeeper only its shop's rows", async () => {
      for (const bucket of ['15m', '1h', '1d']) {
        const body = await okFootfall(keys.shopkeeper, { ...RANGE, bucket })
        expect(new Set(body.rows.map((r) => r.zoneId))).toEqual(new Set(['shop-one']))
        expect(body.totals).toEqual([{ zoneId: 'shop-one', passersBy: 1, visitors: 2 }])
      }
      const own = await okFootfall(keys.shopkeeper, { ...RANGE, zone: 'shop-one' })
      expect(own.totals).toEqual([{ zoneId: 'shop-one', passersBy: 1, visitors: 2 }])
    })

    it("forbids a shopkeeper another zone's footfall with 403", async () => {
      const res = await footfall(keys.shopkeeper, { ...RANGE, zone: 'street-a' })
      expectErrorBody(res, 403, 'forbidden')
    })

    it('answers 404 naming an unknown zone', async () => {
      const res = await footfall(keys.analyst, { ...RANGE, zone: 'no-such-zone' })
      expect(expectErrorBody(res, 404, 'not_found').message).toContain('no-such-zone')
    })

    it('answers 400 naming `from` when from is not before to', async () => {
      for (const to of [RANGE.from, new Date(Date.parse(RANGE.from) - HOUR).toISOString()]) {
        const res = await footfall(keys.analyst, { from: RANGE.from, to })
        expect(expectErrorBody(res, 400, 'bad_request').message).toMatch(/\bfrom\b/)
      }
    })

    it('answers 400 naming `bucket` for an unknown bucket', async () => {
      const res = await footfall(keys.analyst, { ...RANGE, bucket: '5m' })
      expect(expectErrorBody(res, 400, 'bad_request').message).toContain('bucket')
    })

    it('answers 400 when `to` is missing', async () => {
      const res = await footfall(keys.analyst, { from: RANGE.from })
      expect(expectErrorBody(res, 400, 'bad_request').message).toContain('to')
    })

    it('answers 400 for a range longer than the bucket allows', async () => {
      const from = new Date(HOUR_START - 32 * DAY).toISOString()
      const to = new Date(HOUR_START).toISOString()
      expectErrorBody(await footfall(keys.analyst, { from, to, bucket: '15m' }), 400, 'bad_request')
      // The same range is fine in hourly buckets.
      expect((await footfall(keys.analyst, { from, to, bucket: '1h' })).statusCode).toBe(200)
    })

    it.each(INJECTIONS)('answers 400, never 500, to %j in zone, from or bucket', async (attack) => {
      for (const query of [
        { ...RANGE, zone: attack },
        { ...RANGE, from: attack },
        { ...RANGE, from: `${RANGE.from}${attack}` },
        { ...RANGE, bucket: attack },
      ]) {
        expectErrorBody(await footfall(keys.analyst, query), 400, 'bad_request')
      }
      // Also raw, not URL-encoded by inject.
      const raw = await sut.inject({
        method: 'GET',
        url: `/api/v1/footfall?from=${RANGE.from}&to=${RANGE.to}&zone=${attack}`,
        headers: bearer(keys.analyst),
      })
      expect(raw.statusCode).toBeGreaterThanOrEqual(400)
      expect(raw.statusCode).toBeLessThan(500)
      expect(await transitCount()).toBe(FIXTURES.length)
    })
  })

  describe('errors', () => {
    it('answers an unknown route with a 404 JSON body', async () => {
      for (const url of ['/nope', '/api/v1/nope']) {
        const res = await sut.inject({ method: 'GET', url, headers: bearer(keys.analyst) })
        expect(expectErrorBody(res, 404, 'not_found').message).toContain(url)
      }
    })

    it('answers a wrong method with a 404 JSON body', async () => {
      const res = await sut.inject({
        method: 'DELETE',
        url: '/api/v1/zones',
        headers: bearer(keys.admin),
      })
      expectErrorBody(res, 404, 'not_found')
    })

    it('gives every error the { error: { code, message } } shape and no 5xx', async () => {
      const requests = [
        { url: '/api/v1/me' },
        { url: '/api/v1/zones', headers: { authorization: 'Bearer nope' } },
        { url: '/api/v1/footfall', headers: bearer(keys.analyst) },
        { url: '/api/v1/footfall?from=yesterday&to=today', headers: bearer(keys.analyst) },
        {
          url: `/api/v1/footfall?from=${RANGE.from}&to=${RANGE.to}&zone=A`,
          headers: bearer(keys.analyst),
        },
        {
          url: `/api/v1/footfall?from=${RANGE.from}&to=${RANGE.to}&zone=a&zone=b`,
          headers: bearer(keys.analyst),
        },
        {
          url: '/api/v1/footfall?from=2026-02-30T00:00:00Z&to=2026-03-01T00:00:00Z',
          headers: bearer(keys.analyst),
        },
        { url: '/does/not/exist' },
      ]
      for (const r of requests) {
        const res = await sut.inject({ method: 'GET', ...r })
        expect(res.statusCode, r.url).toBeGreaterThanOrEqual(400)
        expect(res.statusCode, r.url).toBeLessThan(500)
        expectErrorBody(res, res.statusCode)
      }
    })
  })

  describe('security headers', () => {
    it('sets nosniff, frame denial and a content security policy on API responses', async () => {
      for (const res of [
        await sut.inject({ method: 'GET', url: '/api/v1/zones', headers: bearer(keys.analyst) }),
        await sut.inject({ method: 'GET', url: '/api/v1/zones' }),
      ]) {
        expect(res.headers['x-content-type-options']).toBe('nosniff')
        expect(res.headers['x-frame-options']).toBe('DENY')
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/)
        expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/)
      }
    })
  })

  describe('GET /metrics', () => {
    it('answers 200 with Prometheus text without a key', async () => {
      const res = await sut.inject({ method: 'GET', url: '/metrics' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/plain/)
      expect(typeof res.body).toBe('string')
    })

    it('needs an admin key when metrics are not public', async () => {
      const app = await buildApp({
        db: database.db,
        log,
        checks: upBroker,
        options: { metricsPublic: false },
      })
      try {
        expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401)
        const analyst = await app.inject({
          method: 'GET',
          url: '/metrics',
          headers: bearer(keys.analyst),
        })
        expect(analyst.statusCode).toBe(403)
        const admin = await app.inject({
          method: 'GET',
          url: '/metrics',
          headers: bearer(keys.admin),
        })
        expect(admin.statusCode).toBe(200)
        expect(admin.body).toContain('miglio_api_')
      } finally {
        await app.close()
      }
    })
  })
})
