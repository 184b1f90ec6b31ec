import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { buildApp } from './app.ts'
import {
  CalibrationFitResponseSchema,
  CalibrationListResponseSchema,
  CountSessionDtoSchema,
  CountSessionsResponseSchema,
} from '../shared/contracts/calibration.ts'
import { startOfLocalDay } from '../shared/contracts/local-time.ts'
import { listCalibrationVersions } from '../shared/db/calibrations.ts'
import type { CalibrationModel } from '../shared/people/calibration.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createLogger } from '../shared/logger.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { seedCountedDay } from '../shared/testing/calibration-fixtures.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { MAC_PATTERN } from '../shared/testing/helpers.ts'
import { bearer, expectErrorBody, threeShopDistrict } from './api-test-helpers.ts'

// The calibration API (issue #16): counting sessions in, refused one reason at a time; fits per
// gateway; versions with quality and reminders.
const HOUR = 3_600_000
const MIN = 60_000
const DAY = 24 * HOUR
const TZ = 'Europe/Rome'
let nowMs = Date.now()
let database: TestDatabase
let sut: FastifyInstance
let analyst = ''

const call = (o: InjectOptions) =>
  sut.inject({ ...o, headers: { ...(o.headers ?? {}), ...bearer(analyst) } })
const post = (url: string, payload: unknown) =>
  call({ method: 'POST', url, payload: payload as object })

beforeAll(async () => {
  database = await createTestDatabase()
  await pauseBackgroundJobs(database.db)
  await loadDistrict(database.db, threeShopDistrict())
  analyst = (await createApiKey(database.db, { role: 'analyst', label: 'analyst' })).key
  sut = await buildApp({
    db: database.db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    options: { rateLimit: { enabled: false }, calibrationMaxAgeDays: 30 },
    now: () => nowMs,
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

const base = startOfLocalDay(Date.now(), TZ) - 6 * DAY + 9 * HOUR
const count = (over: Record<string, unknown> = {}) => ({
  zone: 'shop-two',
  from: new Date(base).toISOString(),
  to: new Date(base + 15 * MIN).toISOString(),
  kind: 'present',
  people: 2,
  countedBy: 'Giulia',
  ...over,
})

describe('POST /calibration/sessions', () => {
  it('records a session (201) and lists it, also as CSV', async () => {
    const res = await post('/api/v1/calibration/sessions', count({ note: 'from the door' }))
    expect(res.statusCode, res.body).toBe(201)
    const s = CountSessionDtoSchema.parse(res.json())
    expect(s).toMatchObject({ zone: 'shop-two', gateway: null, people: 2, note: 'from the door' })
    const list = await call({ method: 'GET', url: '/api/v1/calibration/sessions?zone=shop-two' })
    expect(CountSessionsResponseSchema.parse(list.json()).sessions.map((x) => x.id)).toEqual([s.id])
    const csv = await call({ method: 'GET', url: '/api/v1/calibration/sessions?format=csv' })
    expect(csv.headers['content-type']).toMatch(/text\/csv/)
    expect(csv.body.split('\n')[0]).toMatch(/^"?id"?,"?zone"?/)
    expect(csv.body).toContain('from the door')
  })

  it('never stores a device address typed into the free text', async () => {
    const res = await post(
      '/api/v1/calibration/sessions',
      count({
        zone: 'shop-one',
        countedBy: 'phone AA:BB:CC:DD:EE:FF',
        note: 'the staff phone a4-5e-60-11-22-33 was in the room',
      }),
    )
    expect(res.statusCode, res.body).toBe(201)
    expect(res.body).not.toMatch(MAC_PATTERN)
    const stored = await database.db.selectFrom('count_sessions').selectAll().execute()
    expect(JSON.stringify(stored)).not.toMatch(MAC_PATTERN)
  })

  const refusals: [string, Record<string, unknown>, number, RegExp][] = [
    ['a negative count', { people: -1 }, 400, /cannot be negative/],
    [
      'a window in the future',
      {
        from: new Date(Date.now() + HOUR).toISOString(),
        to: new Date(Date.now() + 2 * HOUR).toISOString(),
      },
      400,
      /ends in the future/,
    ],
    [
      'a window ending before it starts',
      { to: new Date(base - MIN).toISOString() },
      400,
      /must be after from/,
    ],
    ['a fractional count in', { kind: 'in', people: 1.5 }, 400, /whole number/],
    ['an unknown zone', { zone: 'nowhere' }, 404, /zone nowhere does not exist/],
    ['an unknown gateway', { gateway: 'gw-nowhere' }, 404, /gateway gw-nowhere does not exist/],
    [
      'a gateway of another zone',
      { gateway: 'gw-shop-one' },
      400,
      /gateway gw-shop-one is in zone shop-one, not shop-two/,
    ],
    [
      'an overlapping session that disagrees',
      {
        from: new Date(base + 5 * MIN).toISOString(),
        to: new Date(base + 20 * MIN).toISOString(),
        people: 6,
      },
      400,
      /overlaps count session \d+ .* counted 2 people, not 6/,
    ],
    ['the same count twice', {}, 400, /already recorded/],
    ['no counter', { countedBy: ' ' }, 400, /say who counted/],
  ]
  it.each(refusals)('refuses %s with the reason', async (_name, over, status, reason) => {
    const res = await post('/api/v1/calibration/sessions', count(over))
    const e = expectErrorBody(res, status)
    expect(e.message).toMatch(reason)
  })
})

describe('POST /calibration/fit and GET /calibration', () => {
  it('says why a gateway is not calibrated from too few sessions, and reminds it', async () => {
    const fit = await post('/api/v1/calibration/fit', { gateways: ['gw-shop-two'] })
    expect(fit.statusCode, fit.body).toBe(200)
    const [r] = CalibrationFitResponseSchema.parse(fit.json()).results
    expect(r).toMatchObject({ gateway: 'gw-shop-two', applied: false, version: null })
    expect(r?.reason).toMatch(/1 count session of people present; at least 8 are needed/)
    const list = CalibrationListResponseSchema.parse(
      (await call({ method: 'GET', url: '/api/v1/calibration' })).json(),
    )
    expect(list.maxAgeDays).toBe(30)
    const g = list.gateways.find((x) => x.gateway === 'gw-shop-two')
    expect(g?.current).toBeNull()
    expect(g?.reminders).toEqual(['never'])
    expect(g?.refusal?.reason).toBe(r?.reason)
    expectErrorBody(await post('/api/v1/calibration/fit', { gateways: ['gw-x'] }), 404)
  })

  it('fits a version with its quality; reminds it when old or poor', async () => {
    for (const [i, back] of [3, 2, 1].entries())
      for (const c of await seedCountedDay(database.db, {
        dayStartMs: startOfLocalDay(Date.now(), TZ) - back * DAY,
        gatewayId: 'gw-shop-three',
        zoneId: 'shop-three',
        shopId: 'shop-three',
        salt: i + 1,
      }))
        expect((await post('/api/v1/calibration/sessions', c)).statusCode).toBe(201)
    const fit = CalibrationFitResponseSchema.parse(
      (await post('/api/v1/calibration/fit', {})).json(),
    )
    const three = fit.results.find((x) => x.gateway === 'gw-shop-three')
    expect(three?.applied, three?.reason ?? '').toBe(true)
    expect(three?.version?.version).toBe(1)
    expect(three?.version?.quality.sessions).toBe(18)
    const list = async () =>
      CalibrationListResponseSchema.parse(
        (await call({ method: 'GET', url: '/api/v1/calibration' })).json(),
      ).gateways.find((x) => x.gateway === 'gw-shop-three')
    nowMs = Date.now() + 5_000
    const g = await list()
    expect(g?.current?.version).toBe(1)
    // Three days of counts: too few for the knee form, so no knee or bend is shown.
    const coefficients = g?.current?.coefficients.present
    expect(coefficients?.form).toBe(g?.current?.present)
    expect(coefficients?.stable).toBeGreaterThan(0)
    expect(coefficients).not.toHaveProperty('knee')
    expect(coefficients).not.toHaveProperty('bend')
    expect(g?.current?.coefficients.arrivals).toBeNull()
    expect(g?.versions.map((v) => v.version)).toEqual([1])
    const q = g?.current?.quality
    const poor = (q && (q.coveragePct < 80 || q.coveragePct > 97) ? ['poor_coverage'] : []).concat(
      q?.mapePct !== null && q?.mapePct !== undefined && q.mapePct > 30 ? ['poor_mape'] : [],
    )
    expect(g?.reminders).toEqual(poor)
    expect(g?.reminderText).toHaveLength(poor.length)
    // 31 days later the same version is old.
    nowMs = Date.now() + 31 * DAY
    const later = await list()
    expect(later?.reminders[0]).toBe('old')
    expect(later?.reminderText[0]).toMatch(/calibrated 31 days ago \(more than 30\)/)
    nowMs = Date.now()
  })

  it('shows the knee and bend of a knee-form version', async () => {
    const [fitted] = await listCalibrationVersions(database.db)
    if (!fitted?.model.present) throw new Error('the previous test fitted no version')
    const { present } = fitted.model
    const knee: CalibrationModel = {
      ...fitted.model,
      version: fitted.version + 1,
      present: {
        ...present,
        form: 'knee',
        coefficients: { intercept: 0, stable: 1.5, randomised: 1.5, knee: 6, bend: 0.5 },
      },
    }
    const at = new Date(Date.now() + 10_000)
    await database.db
      .insertInto('calibration_versions')
      .values({
        gateway_id: fitted.gatewayId,
        version: knee.version,
        zone_id: fitted.zoneId,
        fitted_at: at,
        valid_from: at,
        model: JSON.stringify(knee),
        mae_people: fitted.quality.maePeople,
        mape_pct: fitted.quality.mapePct,
        coverage_pct: fitted.quality.coveragePct,
        sessions_used: fitted.quality.sessions,
      })
      .execute()
    nowMs = at.getTime() + 1_000
    const body = await call({ method: 'GET', url: '/api/v1/calibration' })
    const g = CalibrationListResponseSchema.parse(body.json()).gateways.find(
      (x) => x.gateway === fitted.gatewayId,
    )
    nowMs = Date.now()
    expect(g?.current?.version).toBe(knee.version)
    expect(g?.current?.present).toBe('knee')
    expect(g?.current?.coefficients.present).toEqual({
      form: 'knee',
      intercept: 0,
      stable: 1.5,
      randomised: 1.5,
      knee: 6,
      bend: 0.5,
    })
    // The version before keeps its own form's coefficients, without a knee.
    const before = g?.versions.find((v) => v.version === fitted.version)
    expect(before?.coefficients.present).not.toHaveProperty('knee')
  })

  it('is for analysts and admins only', async () => {
    const shopkeeper = (
      await createApiKey(database.db, { role: 'shopkeeper', shopId: 'shop-one', label: 's' })
    ).key
    for (const o of [
      { method: 'GET' as const, url: '/api/v1/calibration' },
      { method: 'GET' as const, url: '/api/v1/calibration/sessions' },
      { method: 'POST' as const, url: '/api/v1/calibration/sessions', payload: count() },
      { method: 'POST' as const, url: '/api/v1/calibration/fit', payload: {} },
    ])
      expectErrorBody(await sut.inject({ ...o, headers: bearer(shopkeeper) }), 403, 'forbidden')
  })
})
