import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  DistrictPeopleResponseSchema,
  ShopPeopleResponseSchema,
  ZonePeopleResponseSchema,
} from '../shared/contracts/api.ts'
import {
  uncalibratedModel,
  UNCALIBRATED_Q,
  UNCALIBRATED_RELATIVE_ERROR,
  type CalibrationModel,
  type KindModel,
} from '../shared/people/calibration.ts'
import { DEFAULT_ESTIMATOR_OPTIONS } from '../shared/people/estimator.ts'
import type { CalibrationProvider } from './lib/people.ts'
import {
  bearer,
  expectErrorBody,
  insertTransits,
  parseCsv,
  threeShopDistrict,
  times,
} from './api-test-helpers.ts'

/** The clock of the app under test: Tuesday 12 May 2026, 12:07 in Rome (10:07 UTC). */
const NOW = Date.parse('2026-05-12T10:07:00Z')
/** Local midnight of that day in Rome. */
const DAY_START = '2026-05-11T22:00:00.000Z'
const log = createLogger({ level: 'silent' })
let database: TestDatabase
let uncalibrated: FastifyInstance
let calibrated: FastifyInstance
const asked: { zoneIds: string[]; at: string }[] = []
const keys = { analyst: '', shopkeeper: '' }

const spread = (e: number, rho: number) => Math.sqrt(e + 1 + (rho * e) ** 2)

const kind = (k: 'present' | 'arrivals', factor: number): KindModel => ({
  ...(uncalibratedModel('street-a', DEFAULT_ESTIMATOR_OPTIONS)[k] as KindModel),
  coefficients: { intercept: 0, stable: factor, randomised: factor },
  q: 1,
  relativeError: 0,
  pieceCorrelation: 1,
  windowMinutes: 15,
})
/** A fitted calibration of gw-street-a: people present = devices × 0.5, arrivals = devices × 2. */
const streetModel: CalibrationModel = {
  ...uncalibratedModel('street-a', DEFAULT_ESTIMATOR_OPTIONS),
  version: 4,
  present: kind('present', 0.5),
  arrivals: kind('arrivals', 2),
}
const provider: CalibrationProvider = async (q) => {
  asked.push({ zoneIds: q.zoneIds, at: q.at.toISOString() })
  return new Map(q.zoneIds.includes('street-a') ? [['gw-street-a', streetModel]] : [])
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  // The privacy job would null these (old) pseudonyms and close the open session.
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'analyst' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'one' })
  ).key
  await insertTransits(db, [
    // street-a, 11:00–11:15 local: four devices in range the whole quarter — heard from 11:01 to
    // 11:14 in 3 samples: a reporting period of 2 min (the longest counted), so in range from 1 min
    // before the first sighting to 1 min after the last (device-time, docs/metrics.md).
    ...times(4, { gateway: 'gw-street-a', at: '2026-05-12T09:01:00Z', dwellS: 780 }),
    // shop-one, the same quarter: two visitors the whole quarter, three passers-by for 30 s.
    ...times(2, { gateway: 'gw-shop-one', at: '2026-05-12T09:01:00Z', visitor: true, dwellS: 780 }),
    ...times(3, { gateway: 'gw-shop-one', at: '2026-05-12T09:05:00Z', dwellS: 30 }),
  ])
  // A session ingest still holds open at street-a, heard since 12:00 local (10:00 UTC).
  await db
    .insertInto('open_transits')
    .values({
      gateway_id: 'gw-street-a',
      pseudonym: 987654321,
      first_seen: new Date('2026-05-12T10:00:00Z'),
      last_seen: new Date('2026-05-12T10:06:30Z'),
      peak_rssi: -70,
      samples: 40,
      radio: 'wifi',
      randomised: false,
    })
    .execute()
  // A session closed into transits that ingest's last checkpoint of open sessions still lists
  // (open_transits is rewritten every INGEST_CHECKPOINT_MS): counted once, as the transit.
  const closed = await db
    .selectFrom('transits')
    .selectAll()
    .where('gateway_id', '=', 'gw-street-a')
    .limit(1)
    .executeTakeFirstOrThrow()
  await db
    .insertInto('open_transits')
    .values({
      gateway_id: closed.gateway_id,
      pseudonym: closed.pseudonym ?? 0,
      first_seen: closed.first_seen,
      last_seen: new Date(closed.first_seen.getTime() + 60_000),
      peak_rssi: closed.peak_rssi,
      samples: 3,
      radio: closed.radio,
      randomised: closed.randomised,
    })
    .execute()
  const base = {
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { rateLimit: { enabled: false } },
  }
  uncalibrated = await buildApp(base)
  calibrated = await buildApp({ ...base, calibrations: provider })
})

afterAll(async () => {
  await uncalibrated?.close()
  await calibrated?.close()
  await database?.close()
})

async function get(app: FastifyInstance, url: string, key = keys.analyst) {
  return app.inject({ method: 'GET', url, headers: bearer(key) })
}
async function ok(app: FastifyInstance, url: string, key = keys.analyst) {
  const res = await get(app, url, key)
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200)
  return res.json() as unknown
}
const range = '?from=2026-05-12T09:00:00Z&to=2026-05-12T10:30:00Z'

describe('GET /api/v1/zones/:zoneId/people', () => {
  it('uncalibrated: devices present and arriving as people, with the wide default interval', async () => {
    const body = ZonePeopleResponseSchema.parse(
      await ok(uncalibrated, `/api/v1/zones/street-a/people${range}&bucket=15m`),
    )
    expect(body).toMatchObject({ zoneId: 'street-a', shopId: null, bucket: '15m', interval: 0.9 })
    expect(body.asOf).toBe('2026-05-12T10:07:00.000Z')
    // Buckets from 09:00 to the current one, which ends now.
    expect(body.rows.map((r) => r.bucketStart.slice(11, 16))).toEqual([
      '09:00',
      '09:15',
      '09:30',
      '09:45',
      '10:00',
    ])
    expect(body.rows.at(-1)?.bucketEnd).toBe('2026-05-12T10:07:00.000Z')
    const [first, second] = body.rows
    const half = UNCALIBRATED_Q * spread(4, UNCALIBRATED_RELATIVE_ERROR)
    expect(first?.present.people).toBeCloseTo(4, 9)
    expect(first?.present.low).toBe(0)
    expect(first?.present.high).toBeCloseTo(4 + half, 9)
    expect(first?.present.calibrated).toBe(false)
    expect(first?.arrivals).toMatchObject({ people: 4, calibrated: false })
    // An empty quarter: nobody, with the empty-room interval.
    expect(second?.present).toEqual({
      people: 0,
      low: 0,
      high: UNCALIBRATED_Q,
      calibrated: false,
    })
    // The open session counts in the current bucket (10:00–10:07): heard every 10 s from 10:00:00
    // to 10:06:30, in range 09:59:55–10:06:35.
    expect(body.rows.at(-1)?.present.people).toBeCloseTo(395 / 420, 9)
    expect(body.rows.at(-1)?.arrivals.people).toBe(1)
  })

  it('calibrated: the gateway calibration in force at the start of the local day', async () => {
    asked.length = 0
    const body = ZonePeopleResponseSchema.parse(
      await ok(calibrated, `/api/v1/zones/street-a/people${range}&bucket=15m`),
    )
    const first = body.rows[0]
    expect(first?.present.people).toBeCloseTo(2, 9)
    expect(first?.present.low).toBeCloseTo(2 - Math.sqrt(3), 9)
    expect(first?.present.high).toBeCloseTo(2 + Math.sqrt(3), 9)
    expect(first?.present.calibrated).toBe(true)
    expect(first?.arrivals.people).toBeCloseTo(8, 9)
    expect(first?.arrivals.low).toBeCloseTo(5, 9)
    expect(first?.arrivals.high).toBeCloseTo(11, 9)
    expect(asked).toEqual([{ zoneIds: ['street-a'], at: DAY_START }])
  })

  it('an hour is cut into quarters (the calibration’s count length) whose intervals add up', async () => {
    const body = ZonePeopleResponseSchema.parse(
      await ok(
        calibrated,
        '/api/v1/zones/street-a/people?from=2026-05-12T09:00:00Z&to=2026-05-12T10:00:00Z&bucket=1h',
      ),
    )
    expect(body.rows).toHaveLength(1)
    const present = body.rows[0]?.present
    // Quarters 2, 0, 0, 0 people: the mean 0.5; half-widths ¼·√3 + 3·¼·√1, moving as one.
    expect(present?.people).toBeCloseTo(0.5, 9)
    expect(present?.high).toBeCloseTo(0.5 + Math.sqrt(3) / 4 + 0.75, 9)
    expect(present?.low).toBe(0)
    expect(body.rows[0]?.arrivals.people).toBeCloseTo(8, 9)
  })

  it('answers CSV with the intervals', async () => {
    const res = await get(
      uncalibrated,
      `/api/v1/zones/street-a/people${range}&bucket=15m&format=csv`,
    )
    expect(res.statusCode).toBe(200)
    const rows = parseCsv(res.body)
    expect(rows[0]).toEqual([
      'zoneId',
      'bucketStart',
      'bucketEnd',
      'present',
      'presentLow',
      'presentHigh',
      'arrivals',
      'arrivalsLow',
      'arrivalsHigh',
      'calibrated',
    ])
    expect(rows[1]?.slice(0, 4)).toEqual([
      'street-a',
      '2026-05-12T09:00:00.000Z',
      '2026-05-12T09:15:00.000Z',
      '4',
    ])
    expect(rows[1]?.at(-1)).toBe('false')
  })

  it('refuses an unknown zone, a reversed or too long range and an unknown bucket', async () => {
    expectErrorBody(
      await get(uncalibrated, `/api/v1/zones/nowhere/people${range}`),
      404,
      'not_found',
    )
    expectErrorBody(
      await get(
        uncalibrated,
        '/api/v1/zones/street-a/people?from=2026-05-12T10:00:00Z&to=2026-05-12T09:00:00Z',
      ),
      400,
      'bad_request',
    )
    expectErrorBody(
      await get(
        uncalibrated,
        '/api/v1/zones/street-a/people?from=2026-05-01T00:00:00Z&to=2026-05-12T00:00:00Z&bucket=15m',
      ),
      400,
      'bad_request',
    )
    expectErrorBody(
      await get(uncalibrated, `/api/v1/zones/street-a/people${range}&bucket=1d`),
      400,
      'bad_request',
    )
  })
})

describe('GET /api/v1/shops/:shopId/people', () => {
  it('inside (visitor sessions) and in front (the others) of the shop', async () => {
    const body = ShopPeopleResponseSchema.parse(
      await ok(uncalibrated, `/api/v1/shops/shop-one/people${range}&bucket=15m`),
    )
    expect(body).toMatchObject({ shopId: 'shop-one', zoneId: 'shop-one', bucket: '15m' })
    const first = body.rows[0]
    expect(first?.inside.present.people).toBeCloseTo(2, 9)
    expect(first?.inside.arrivals.people).toBe(2)
    // Three passers-by heard for 30 s (3 samples, every 15 s): 45 s in range each, of 900.
    expect(first?.inFront.present.people).toBeCloseTo(0.15, 9)
    expect(first?.inFront.arrivals.people).toBe(3)
    expect(first?.inside.present.calibrated).toBe(false)
  })
})

describe('GET /api/v1/district/people', () => {
  it('is every zone added up, bucket by bucket, in one request (calibrated zones included)', async () => {
    const district = DistrictPeopleResponseSchema.parse(
      await ok(calibrated, `/api/v1/district/people${range}&bucket=15m`),
    )
    const zones = (
      (await ok(calibrated, '/api/v1/zones')) as { zones: { id: string }[] }
    ).zones.map((z) => z.id)
    expect(zones.length).toBeGreaterThan(1)
    const series = await Promise.all(
      zones.map(async (id) =>
        ZonePeopleResponseSchema.parse(
          await ok(calibrated, `/api/v1/zones/${id}/people${range}&bucket=15m`),
        ),
      ),
    )
    expect(district.rows.map((r) => r.bucketStart)).toEqual(
      series[0]?.rows.map((r) => r.bucketStart),
    )
    district.rows.forEach((row, i) => {
      for (const k of ['present', 'arrivals'] as const) {
        const parts = series.map((z) => z.rows[i]?.[k])
        const sum = (f: (v: NonNullable<(typeof parts)[number]>) => number) =>
          parts.reduce((n, v) => n + (v ? f(v) : 0), 0)
        expect(row[k].people).toBeCloseTo(
          sum((v) => v.people),
          9,
        )
        expect(row[k].high - row[k].people).toBeCloseTo(
          sum((v) => v.high - v.people),
          9,
        )
        expect(row[k].calibrated).toBe(parts.every((v) => v?.calibrated))
      }
    })
    // street-a's calibrated quarter and shop-one's devices are both in the first bucket.
    expect(district.rows[0]?.present.people).toBeGreaterThan(2)
    expect(district.rows[0]?.present.calibrated).toBe(false)
  })

  it('answers CSV: the bucket, the figures and calibrated, one row a bucket', async () => {
    const json = DistrictPeopleResponseSchema.parse(
      await ok(uncalibrated, `/api/v1/district/people${range}&bucket=15m`),
    )
    const res = await get(uncalibrated, `/api/v1/district/people${range}&bucket=15m&format=csv`)
    expect(res.statusCode).toBe(200)
    const rows = parseCsv(res.body)
    expect(rows[0]?.slice(0, 4)).toEqual(['bucketStart', 'bucketEnd', 'present', 'presentLow'])
    expect(rows).toHaveLength(json.rows.length + 1)
    expect(rows[1]?.[0]).toBe(json.rows[0]?.bucketStart)
    expect(Number(rows[1]?.[2])).toBeCloseTo(json.rows[0]?.present.people ?? NaN, 6)
  })

  it('is for analysts: a shopkeeper gets 403', async () => {
    expectErrorBody(
      await get(uncalibrated, `/api/v1/district/people${range}`, keys.shopkeeper),
      403,
      'forbidden',
    )
  })
})

describe('people series: roles', () => {
  it('a shopkeeper sees its own shop, and its zone with its gateways only', async () => {
    await ok(uncalibrated, `/api/v1/shops/shop-one/people${range}`, keys.shopkeeper)
    const zone = ZonePeopleResponseSchema.parse(
      await ok(uncalibrated, `/api/v1/zones/shop-one/people${range}`, keys.shopkeeper),
    )
    expect(zone.shopId).toBe('shop-one')
  })

  it("a shopkeeper gets 403 for another shop and for a zone that is not its shop's", async () => {
    expectErrorBody(
      await get(uncalibrated, `/api/v1/shops/shop-two/people${range}`, keys.shopkeeper),
      403,
      'forbidden',
    )
    expectErrorBody(
      await get(uncalibrated, `/api/v1/zones/street-a/people${range}`, keys.shopkeeper),
      403,
      'forbidden',
    )
    expectErrorBody(
      await get(uncalibrated, `/api/v1/zones/shop-two/people${range}`, keys.shopkeeper),
      403,
      'forbidden',
    )
  })

  it('no key: 401', async () => {
    const res = await uncalibrated.inject({
      method: 'GET',
      url: `/api/v1/zones/street-a/people${range}`,
    })
    expectErrorBody(res, 401, 'unauthorised')
  })
})

describe('the calibrations the calibration workflow stored', () => {
  it('are the default provider: a stored version in force at the day’s start calibrates the figures', async () => {
    const { db } = database
    // A version fitted on 1 May (the app's clock is 12 May). The forward-only trigger refuses a
    // valid_from in the past, so this fixture of an older fit is written with it off.
    await sql`ALTER TABLE calibration_versions DISABLE TRIGGER calibration_versions_forward`.execute(
      db,
    )
    try {
      await db
        .insertInto('calibration_versions')
        .values({
          gateway_id: 'gw-street-a',
          version: 4,
          zone_id: 'street-a',
          fitted_at: new Date('2026-05-01T08:00:00Z'),
          valid_from: new Date('2026-05-01T08:00:00Z'),
          model: JSON.stringify(streetModel),
          mae_people: 1,
          mape_pct: 10,
          coverage_pct: 90,
          sessions_used: 12,
        })
        .execute()
      const first = ZonePeopleResponseSchema.parse(
        await ok(uncalibrated, `/api/v1/zones/street-a/people${range}&bucket=15m`),
      ).rows[0]
      expect(first?.present.calibrated).toBe(true)
      expect(first?.present.people).toBeCloseTo(2, 9)
      expect(first?.arrivals.people).toBeCloseTo(8, 9)
    } finally {
      await db.deleteFrom('calibration_versions').execute()
      await sql`ALTER TABLE calibration_versions ENABLE TRIGGER calibration_versions_forward`.execute(
        db,
      )
    }
  })
})
