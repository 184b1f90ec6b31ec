import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import {
  ContextImportResponseSchema,
  ContextSeriesResponseSchema,
  ExcludedDaySchema,
  ExcludedDaysResponseSchema,
  ForecastResponseSchema,
} from '../shared/contracts/outlook-api.ts'
import { UpliftResponseSchema } from '../shared/contracts/api.ts'
import { addDays, instantOfLocalTime, isoWeekdayOf } from '../shared/contracts/local-time.ts'
import {
  bearer,
  expectErrorBody,
  insertTransits,
  threeShopDistrict,
  times,
  type TransitFixture,
} from './api-test-helpers.ts'

// Issue #17 part B through the API on a real database: context imports (all or nothing), flagged
// days, forecasts that leave flagged days out, and the monthly reports (HTML, PDF, roles, a month
// without data).

const TZ = 'Europe/Rome'
/** The clock: Tuesday 10 November 2026, 11:30 in Rome. */
const NOW = Date.parse('2026-11-10T10:30:00Z')
const CHROMIUM = '/usr/bin/chromium'
const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
const keys = { analyst: '', shopkeeper: '', otherShopkeeper: '' }

const at = (date: string, hour: number, minute = 0) => {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return instantOfLocalTime({ year, month, day, hour, minute }, TZ)
}

/**
 * shop-one, every local day from Monday 31 August to Monday 9 November 2026, 9:00–19:00: each hour
 * 2 passers-by and 1 visitor (Saturdays 4 and 1). October: 26 weekdays × 30 + 5 Saturdays × 50
 * = 1030, plus the event's 20 = 1050; September: 26 × 30 + 4 × 50 = 980. shop-two: one visitor a
 * day at noon (so shop-one ranks 1 of 3 by visitors).
 */
function fixtures(): TransitFixture[] {
  const out: TransitFixture[] = []
  for (let d = '2026-08-31'; d <= '2026-11-09'; d = addDays(d, 1)) {
    const saturday = isoWeekdayOf(at(d, 12), TZ) === 6
    for (let h = 9; h < 19; h++) {
      out.push(...times(saturday ? 4 : 2, { gateway: 'gw-shop-one', at: at(d, h, 10) }))
      out.push({ gateway: 'gw-shop-one', at: at(d, h, 20), visitor: true, dwellS: 300 })
    }
    out.push({ gateway: 'gw-shop-two', at: at(d, 12, 5), visitor: true })
  }
  // The event of Saturday 17 October, 14:00–17:00 in shop-one's zone: 20 more passers-by at 15:00.
  out.push(...times(20, { gateway: 'gw-shop-one', at: at('2026-10-17', 15, 30) }))
  // A spike on Saturday 7 November at noon (a one-off fair), flagged out by the forecast test.
  out.push(...times(40, { gateway: 'gw-shop-one', at: at('2026-11-07', 12, 30) }))
  return out
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'analyst' })).key
  keys.shopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'one' })
  ).key
  keys.otherShopkeeper = (
    await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-two', label: 'two' })
  ).key
  const all = fixtures()
  for (let i = 0; i < all.length; i += 2000) await insertTransits(db, all.slice(i, i + 2000))
  await db
    .insertInto('events')
    .values({
      id: '00000000-0000-4000-8000-00000000f357',
      name: "Festa d'autunno",
      zone_ids: ['shop-one'],
      starts_at: new Date(at('2026-10-17', 14)),
      ends_at: new Date(at('2026-10-17', 17)),
      created_by: null,
    })
    .execute()
  sut = await buildApp({
    db,
    log,
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { tz: TZ, rateLimit: { enabled: false }, reportChromium: CHROMIUM },
  })
}, 120_000)

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

const get = (url: string, key = keys.analyst, headers: Record<string, string> = {}) =>
  sut.inject({ method: 'GET', url, headers: { ...bearer(key), ...headers } })

const postCsv = (csv: string, key = keys.analyst) =>
  sut.inject({
    method: 'POST',
    url: '/api/v1/context/imports?source=meteo.csv',
    headers: { ...bearer(key), 'content-type': 'text/csv' },
    payload: csv,
  })

async function contextRows(): Promise<number> {
  const r = await database.db
    .selectFrom('context_values')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

describe('context series', () => {
  it('imports a file and serves its series, district-wide and per zone', async () => {
    const res = await postCsv(
      [
        'time,zone,variable,value',
        '2026-10-17T10:00:00+02:00,,rain_mm,2.4',
        '2026-10-17 11:00,,rain_mm,0.5',
        '2026-10-17,shop-one,market,1',
        '2026-10-18,street-a,roadworks,lane closed',
      ].join('\n'),
    )
    expect(res.statusCode, res.body).toBe(201)
    const report = ContextImportResponseSchema.parse(res.json())
    expect(report).toMatchObject({ rows: 4, source: 'meteo.csv' })
    expect(report.variables.sort()).toEqual(['market', 'rain_mm', 'roadworks'])

    const range = 'from=2026-10-17T00:00:00%2B02:00&to=2026-10-19T00:00:00%2B02:00'
    const district = ContextSeriesResponseSchema.parse(
      (await get(`/api/v1/context/series?${range}`)).json(),
    )
    expect(district.values).toEqual([
      {
        at: '2026-10-17T08:00:00.000Z',
        wholeDay: false,
        zoneId: null,
        variable: 'rain_mm',
        value: 2.4,
      },
      {
        at: '2026-10-17T09:00:00.000Z',
        wholeDay: false,
        zoneId: null,
        variable: 'rain_mm',
        value: 0.5,
      },
    ])
    const zone = ContextSeriesResponseSchema.parse(
      (await get(`/api/v1/context/series?${range}&zone=shop-one&variable=market`)).json(),
    )
    expect(zone.values).toEqual([
      {
        at: '2026-10-16T22:00:00.000Z',
        wholeDay: true,
        zoneId: 'shop-one',
        variable: 'market',
        value: 1,
      },
    ])
  })

  it('refuses a file with bad rows as a whole, naming each row, and imports nothing', async () => {
    const before = await contextRows()
    const res = await postCsv(
      [
        'time,zone,variable,value',
        '2026-10-20T10:00:00Z,,rain_mm,1.0',
        '2026-10-20T11:00:00Z,,rain_mm,',
        '2026-02-30,,rain_mm,3',
        '2026-10-20T12:00:00Z,,rain_mm,4',
      ].join('\n'),
    )
    expectErrorBody(res, 400, 'bad_request')
    const message = (res.json() as { error: { message: string } }).error.message
    expect(message).toMatch(/nothing imported/)
    expect(message).toMatch(/row 3: value: empty/)
    expect(message).toMatch(/row 4: time: 2026-02-30 is not a date/)
    expect(await contextRows()).toBe(before)
  })

  it('refuses a file naming an unknown zone, with the row, and imports nothing', async () => {
    const before = await contextRows()
    const res = await postCsv(
      ['time,zone,variable,value', '2026-10-21,,rain_mm,1', '2026-10-21,nowhere,market,1'].join(
        '\n',
      ),
    )
    expectErrorBody(res, 400, 'bad_request')
    expect(res.body).toMatch(/row 3: zone: nowhere is not a zone of the district/)
    expect(await contextRows()).toBe(before)
  })

  it('is for analysts and admins only', async () => {
    expectErrorBody(await postCsv('time,zone,variable,value\n', keys.shopkeeper), 403)
    expectErrorBody(
      await get(
        '/api/v1/context/series?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z',
        keys.shopkeeper,
      ),
      403,
    )
  })
})

describe('flagged days and forecasts', () => {
  const saturdayNoon = new Date(at('2026-11-14', 12)).toISOString()
  const forecastAt = async (key = keys.shopkeeper) => {
    const res = await get('/api/v1/forecast?shop=shop-one&days=7', key)
    expect(res.statusCode, res.body).toBe(200)
    const body = ForecastResponseSchema.parse(res.json())
    const point = body.points.find((p) => p.t === saturdayNoon)
    return { body, point }
  }

  it('forecasts a shop by hour for 7 days with an interval, for its shopkeeper', async () => {
    const { body, point } = await forecastAt()
    expect(body.points).toHaveLength(7 * 24)
    expect(body.origin).toBe('2026-11-10T10:00:00.000Z')
    expect(body.level).toBe(0.9)
    expect(body.residuals).toBeGreaterThan(48)
    // Saturday noon: the last four Saturdays 45 (the spike), 5, 5, 5.
    expect(point?.value).toBe(15)
    expect(point?.low).not.toBeNull()
    // A weekday hour outside opening: 0.
    const night = body.points.find((p) => p.t === new Date(at('2026-11-11', 3)).toISOString())
    expect(night?.value).toBe(0)
    expectErrorBody(await get('/api/v1/forecast?shop=shop-two', keys.shopkeeper), 403)
  })

  it('leaves a flagged day out of the forecast, and back in once unflagged', async () => {
    const flag = await sut.inject({
      method: 'POST',
      url: '/api/v1/context/excluded-days',
      headers: bearer(keys.analyst),
      payload: { day: '2026-11-07', zone: 'shop-one', reason: 'one-off fair' },
    })
    expect(flag.statusCode, flag.body).toBe(201)
    const flagged = ExcludedDaySchema.parse(flag.json())
    const again = await sut.inject({
      method: 'POST',
      url: '/api/v1/context/excluded-days',
      headers: bearer(keys.analyst),
      payload: { day: '2026-11-07', zone: 'shop-one', reason: 'twice' },
    })
    expect(again.statusCode).toBe(200)
    expect(ExcludedDaySchema.parse(again.json()).id).toBe(flagged.id)
    const list = ExcludedDaysResponseSchema.parse(
      (await get('/api/v1/context/excluded-days?from=2026-11-01&to=2026-11-30')).json(),
    )
    expect(list.days.map((d) => [d.day, d.zoneId, d.reason])).toEqual([
      ['2026-11-07', 'shop-one', 'one-off fair'],
    ])

    const { body, point } = await forecastAt()
    // The flagged day, beside the public holidays of the weeks read (San Francesco, Ognissanti).
    expect(body.excludedDays).toEqual(['2026-10-04', '2026-11-01', '2026-11-07'])
    expect(point?.value).toBe(5)

    const del = await sut.inject({
      method: 'DELETE',
      url: `/api/v1/context/excluded-days/${flagged.id}`,
      headers: bearer(keys.analyst),
    })
    expect(del.statusCode).toBe(204)
    const unflagged = await forecastAt()
    expect(unflagged.point?.value).toBe(15)
    expect(unflagged.body.excludedDays).toEqual(['2026-10-04', '2026-11-01'])
    expectErrorBody(
      await sut.inject({
        method: 'DELETE',
        url: `/api/v1/context/excluded-days/${flagged.id}`,
        headers: bearer(keys.analyst),
      }),
      404,
    )
  })
})

describe('flagged days in the uplift baseline', () => {
  it("leaves a flagged day of the event's zone out of the baseline windows, saying which", async () => {
    const uplift = async () => {
      const res = await get('/api/v1/events/00000000-0000-4000-8000-00000000f357/uplift')
      expect(res.statusCode, res.body).toBe(200)
      return UpliftResponseSchema.parse(res.json())
    }
    expect((await uplift()).baseline.map((w) => w.used)).toEqual([true, true, true, true])
    const flag = await sut.inject({
      method: 'POST',
      url: '/api/v1/context/excluded-days',
      headers: bearer(keys.analyst),
      payload: { day: '2026-10-10', zone: 'shop-one', reason: 'gateway moved' },
    })
    expect(flag.statusCode, flag.body).toBe(201)
    try {
      const body = await uplift()
      expect(body.baseline.map((w) => [w.used, w.flaggedDays])).toEqual([
        [false, ['2026-10-10']],
        [true, []],
        [true, []],
        [true, []],
      ])
      // The event's 35 against the three usual Saturdays' 15.
      const row = body.rows.find((r) => r.zoneId === null && r.metric === 'passersBy')
      expect(row?.baselineWeeks).toBe(3)
    } finally {
      await sut.inject({
        method: 'DELETE',
        url: `/api/v1/context/excluded-days/${ExcludedDaySchema.parse(flag.json()).id}`,
        headers: bearer(keys.analyst),
      })
    }
  })
})

describe('monthly reports', () => {
  it('shows a known month of a shop in English: figures, comparisons, hours, event, rank, forecast', async () => {
    const res = await get('/api/v1/shops/shop-one/reports/2026-10.html?lang=en', keys.shopkeeper)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    // Its own policy: the inline stylesheet by hash, no script at all.
    expect(res.headers['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-/,
    )
    expect(res.body).not.toContain('<script')
    const html = res.body
    expect(html).toContain('Monthly shop report')
    expect(html).toContain('October 2026')
    expect(html).toContain('@media print')
    // Footfall 1,050 (this month) vs 980 (September, +7.1 %); last October had no data.
    expect(html).toMatch(
      /Footfall \(passers-by \+ visitors\)<\/th><td>1,050<\/td><td>980<span class="change">\+7\.1%<\/span><\/td><td>no data<\/td>/,
    )
    expect(html).toMatch(/Visitors<\/th><td>310<\/td><td>300/)
    // Capture 310 / 1050; dwell 5 min.
    expect(html).toContain('29.5%')
    expect(html).toContain('5 min')
    // Busiest: Saturdays at 15:00 (5 Saturdays × 5 + the event's 20 = 45).
    expect(html).toMatch(/Sat 15:00–16:00 · 45/)
    // The event: 35 in its window vs 15 usually.
    expect(html).toMatch(
      /Festa d&#39;autunno.*<td>35<\/td><td>15<\/td><td>\+133\.3% \(\+20\)<\/td>/s,
    )
    expect(html).toContain('ranks 1 of 3 shops')
    expect(html).not.toContain('shop-two')
    // November from the history up to the end of October: 26 weekdays × 30 + 4 Saturdays × 50.
    expect(html).toContain('November 2026: about 980 footfall (range 980–980')
  })

  it('speaks Italian when asked, or when the browser prefers it', async () => {
    const it1 = await get('/api/v1/shops/shop-one/reports/2026-10.html?lang=it', keys.shopkeeper)
    expect(it1.body).toContain('Rapporto mensile del negozio')
    expect(it1.body).toContain('ottobre 2026')
    expect(it1.body).toContain('<html lang="it">')
    const it2 = await get('/api/v1/shops/shop-one/reports/2026-10.html', keys.shopkeeper, {
      'accept-language': 'it-IT,it;q=0.9,en;q=0.5',
    })
    expect(it2.body).toContain('Rapporto mensile del negozio')
  })

  it('says so for a month without data', async () => {
    const res = await get('/api/v1/shops/shop-one/reports/2025-01.html?lang=en', keys.shopkeeper)
    expect(res.statusCode).toBe(200)
    expect(res.body).toContain('No data for January 2025')
    expect(res.body).not.toContain('data-testid="overview"')
  })

  it('lets a shopkeeper read its own shop only, an analyst any shop and the district', async () => {
    expectErrorBody(
      await get('/api/v1/shops/shop-one/reports/2026-10.html', keys.otherShopkeeper),
      403,
    )
    expectErrorBody(await get('/api/v1/district/reports/2026-10.html', keys.shopkeeper), 403)
    expectErrorBody(await get('/api/v1/shops/no-such-shop/reports/2026-10.html'), 404)
    expectErrorBody(await get('/api/v1/shops/shop-one/reports/2026-13.html'), 400)
    expect((await get('/api/v1/shops/shop-two/reports/2026-10.html')).statusCode).toBe(200)
    const district = await get('/api/v1/district/reports/2026-10.html?lang=en')
    expect(district.statusCode).toBe(200)
    expect(district.body).toContain('Monthly district report')
    // Analysts see every shop by name: shop-two's 31 visitors in October.
    expect(district.body).toMatch(/<td>shop-two<\/td><td>31<\/td>/)
  })

  it('renders the report as a PDF with Chromium', async () => {
    const res = await get('/api/v1/shops/shop-one/reports/2026-10.pdf?lang=it', keys.shopkeeper)
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200)
    expect(res.headers['content-type']).toBe('application/pdf')
    const pdf = res.rawPayload
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? []
    expect(pages.length).toBeGreaterThanOrEqual(1)
    expect(pdf.length).toBeGreaterThan(5000)
  }, 60_000)
})
