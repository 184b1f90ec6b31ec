/**
 * Test support: a fetch that answers like the Miglio API for a three-zone district, with the
 * contract's shapes, the roles' rules (a shopkeeper sees only its shop) and per-route overrides.
 */

import { DEVICE_COUNTS_NOTICE } from '../../../services/shared/contracts/api.ts'
import {
  CountSessionCreateSchema,
  futureWindowReason,
} from '../../../services/shared/contracts/calibration.ts'

export const KEYS = {
  analyst: 'k-analyst',
  admin: 'k-admin',
  shopkeeper: 'k-shopkeeper',
} as const

export const NOW = new Date('2026-11-21T10:00:00.000Z')

type Geometry = { type: 'Polygon'; coordinates: number[][][] }

function square(lon: number, lat: number, d: number): Geometry {
  return {
    type: 'Polygon',
    coordinates: [
      [
        [lon - d, lat - d],
        [lon - d, lat + d],
        [lon + d, lat + d],
        [lon + d, lat - d],
        [lon - d, lat - d],
      ],
    ],
  }
}

export const zones = [
  {
    id: 'via-palazzo',
    name: 'Via Palazzo',
    kind: 'street' as const,
    shopId: null,
    streetFromM: 400,
    streetToM: 900,
    geometry: square(12.241, 45.489, 0.001),
  },
  {
    id: 'piazza-ferretto',
    name: 'Piazza Ferretto',
    kind: 'square' as const,
    shopId: null,
    streetFromM: 0,
    streetToM: 400,
    geometry: square(12.243, 45.491, 0.001),
  },
  {
    id: 'bar-al-ponte',
    name: 'Bar al Ponte',
    kind: 'shop' as const,
    shopId: 'bar-al-ponte',
    streetFromM: 500,
    streetToM: 520,
    geometry: square(12.2412, 45.4892, 0.0001),
  },
  {
    id: 'forno',
    name: 'Forno Legrenzi',
    kind: 'shop' as const,
    shopId: 'forno',
    streetFromM: 100,
    streetToM: 120,
    geometry: square(12.2428, 45.4908, 0.0001),
  },
]

export const shops = [
  {
    id: 'bar-al-ponte',
    name: 'Bar al Ponte',
    category: 'bar',
    zoneId: 'bar-al-ponte',
    streetOffsetM: 510,
  },
  { id: 'forno', name: 'Forno Legrenzi', category: 'bakery', zoneId: 'forno', streetOffsetM: 110 },
]

const histogram = { lt1m: 3, m1to5: 20, m5to15: 10, m15to60: 2, gt60m: 0 }

function total(zoneId: string, passersBy: number, visitors: number) {
  return {
    zoneId,
    passersBy,
    visitors,
    dwellSecondsSum: visitors * 300,
    estimatedPeople: passersBy + visitors,
    captureRate: passersBy + visitors === 0 ? null : visitors / (passersBy + visitors),
    dwellMeanS: visitors === 0 ? null : 300,
    dwellHistogram:
      visitors === 0 ? { ...histogram, m1to5: 0, lt1m: 0, m5to15: 0, m15to60: 0 } : histogram,
    calibrationVersions: [1],
    estimatedPeopleBand: { low: passersBy + visitors, high: passersBy + visitors },
  }
}

export const totals = [
  total('via-palazzo', 1234, 56),
  total('piazza-ferretto', 310, 12),
  total('bar-al-ponte', 400, 35),
  total('forno', 150, 0),
]

function footfallBody(url: URL) {
  const shop = url.searchParams.get('shop')
  const bucket = url.searchParams.get('bucket') ?? '1h'
  const from = url.searchParams.get('from') ?? NOW.toISOString()
  const to = url.searchParams.get('to') ?? NOW.toISOString()
  const scoped = shop ? totals.filter((t) => t.zoneId === shop) : totals
  const rows = scoped.map((t) => ({
    zoneId: t.zoneId,
    bucketStart: from,
    passersBy: t.passersBy,
    visitors: t.visitors,
    dwellSecondsSum: t.dwellSecondsSum,
    estimatedPeople: t.estimatedPeople,
    captureRate: t.captureRate,
    dwellMeanS: t.dwellMeanS,
    dwellHistogram: t.dwellHistogram,
    calibrationVersions: [1],
    estimatedPeopleBand: t.estimatedPeopleBand,
  }))
  return {
    from,
    to,
    bucket,
    timezone: 'Europe/Rome',
    zoneId: null,
    shopId: shop,
    rows,
    totals: scoped,
  }
}

const delta = (current: number | null, baseline: number | null) => ({
  current,
  baseline,
  delta: current === null || baseline === null ? null : current - baseline,
  deltaPct:
    current === null || baseline === null || baseline === 0
      ? null
      : ((current - baseline) / baseline) * 100,
})

function compareBody(url: URL) {
  const from = url.searchParams.get('from') ?? NOW.toISOString()
  const to = url.searchParams.get('to') ?? NOW.toISOString()
  const metrics = {
    passersBy: delta(2094, 1900),
    visitors: delta(103, 110),
    captureRate: delta(0.047, 0.055),
    dwellMeanS: delta(300, 280),
    estimatedPeople: delta(2197, 2010),
  }
  return {
    mode: url.searchParams.get('mode') ?? 'wow',
    current: { from, to },
    baseline: { from, to },
    zoneId: null,
    shopId: null,
    rows: [{ zoneId: null, ...metrics, estimatedPeopleBand: { low: 2105.6, high: 2291.7 } }],
  }
}

function heatmapBody(url: URL) {
  const cells = []
  for (let weekday = 1; weekday <= 7; weekday += 1) {
    for (let hour = 0; hour < 24; hour += 1) {
      const open = hour >= 9 && hour < 20
      cells.push({
        weekday,
        hour,
        passersBy: open ? 40 * weekday : 0,
        visitors: open ? 4 * weekday : 0,
        captureRate: open ? 0.09 : null,
        hours: 4,
        meanPassersBy: open ? 10 * weekday : 0,
        meanVisitors: open ? weekday : 0,
      })
    }
  }
  return {
    from: url.searchParams.get('from'),
    to: url.searchParams.get('to'),
    timezone: 'Europe/Rome',
    zoneId: null,
    shopId: url.searchParams.get('shop'),
    cells,
  }
}

/** Where each zone's gateway is installed: inside its zone, away from the centre for streets. */
const gatewayPositions: Record<string, [number, number]> = {
  'via-palazzo': [12.2405, 45.4886],
  'piazza-ferretto': [12.2433, 45.4913],
  'bar-al-ponte': [12.2412, 45.4892],
  forno: [12.2428, 45.4908],
}

function gatewaysBody(onlyShop: string | null) {
  const all = zones.map((z, i) => ({
    id: `gw-${z.id}`,
    zoneId: z.id,
    shopId: z.shopId,
    placement: z.kind === 'shop' ? ('indoor' as const) : ('street' as const),
    radios: ['wifi', 'ble'],
    position: gatewayPositions[z.id] ?? [0, 0],
    // The bakery's gateway is a Paxcounter: a count source (device counts, not pedestrians).
    format: z.id === 'forno' ? ('paxcounter' as const) : ('native' as const),
    active: true,
    health: i === 1 ? ('silent' as const) : ('ok' as const),
    state: 'online' as const,
    fw: 'sim-0.1.0',
    statusAt: NOW.toISOString(),
    lastBatchAt: NOW.toISOString(),
    lastMessageAt: NOW.toISOString(),
    silentS: i === 1 ? 312 : 1,
    seqGaps: 0,
    clockSkewMs: 0,
    queue: 0,
    uptimeS: 100,
  }))
  return { gateways: onlyShop ? all.filter((g) => g.shopId === onlyShop) : all }
}

const BUCKET_MS: Record<string, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
  week: 7 * 86_400_000,
}

/** The bakery's Paxcounter: hourly-shaped counts in every bucket of the range. */
export function deviceCountsBody(url: URL, onlyShop: string | null) {
  const bucket = url.searchParams.get('bucket') ?? '1h'
  const step = BUCKET_MS[bucket] ?? 3_600_000
  const from = Date.parse(url.searchParams.get('from') ?? NOW.toISOString())
  const to = Date.parse(url.searchParams.get('to') ?? NOW.toISOString())
  const visible = onlyShop === null || onlyShop === 'forno'
  const rows = []
  for (let t = Math.ceil(from / step) * step; visible && t < to && rows.length < 200; t += step) {
    const hour = new Date(t).getUTCHours()
    const wifi = 10 + ((hour * 7) % 30)
    rows.push({
      gatewayId: 'gw-forno',
      zoneId: 'forno',
      bucketStart: new Date(t).toISOString(),
      reports: 4,
      wifiDevicesMean: wifi,
      wifiDevicesMax: wifi + 5,
      bleDevicesMean: wifi / 2,
      bleDevicesMax: Math.round(wifi / 2) + 3,
    })
  }
  return {
    measure: 'device_counts',
    notice: DEVICE_COUNTS_NOTICE,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    bucket,
    timezone: 'Europe/Rome',
    gatewayId: null,
    zoneId: null,
    shopId: onlyShop,
    gateways: visible
      ? [{ id: 'gw-forno', zoneId: 'forno', shopId: 'forno', format: 'paxcounter', active: true }]
      : [],
    rows,
    zones: rows.map((r) => ({
      zoneId: r.zoneId,
      bucketStart: r.bucketStart,
      gateways: 1,
      wifiDevicesMean: r.wifiDevicesMean,
      bleDevicesMean: r.bleDevicesMean,
    })),
  }
}

const summary = (shopId: string) => ({
  shopId,
  zoneId: shopId,
  timezone: 'Europe/Rome',
  day: '2026-11-21',
  from: '2026-11-20T23:00:00.000Z',
  asOf: NOW.toISOString(),
  today: { passersBy: 400, visitors: 35, captureRate: 0.08, dwellMeanS: 300, estimatedPeople: 435 },
  sameWeekdayAverage: {
    passersBy: 350,
    visitors: 40,
    captureRate: 0.1,
    dwellMeanS: 280,
    estimatedPeople: 390,
    weeks: 4,
  },
  vsAverage: {
    passersBy: delta(400, 350),
    visitors: delta(35, 40),
    captureRate: delta(0.08, 0.1),
    dwellMeanS: delta(300, 280),
  },
  rank: { byVisitors: 1, shops: 2, percentile: 100 },
})

const event = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'Notte bianca',
  zones: ['piazza-ferretto'],
  from: '2026-11-14T17:00:00.000Z',
  to: '2026-11-14T23:00:00.000Z',
  createdAt: '2026-11-01T10:00:00.000Z',
}

const uplift = {
  event,
  status: 'finished',
  measuredTo: event.to,
  weeks: 4,
  stepWeeks: 1,
  baseline: [],
  rows: [
    {
      zoneId: null,
      metric: 'passersBy',
      event: 1500,
      baselineMean: 1000,
      difference: 500,
      ratio: 1.5,
      baselineMin: 900,
      baselineMax: 1100,
      baselineStddev: 80,
      baselineWeeks: 4,
    },
  ],
}

export type Reply = { status: number; body: unknown; contentType?: string }

/** A rejected message as the admin endpoint lists it (MACs already redacted by the server). */
export function deadLetter(i: number) {
  return {
    receivedAt: new Date(NOW.getTime() - i * 60_000).toISOString(),
    topic: `miglio/v1/gw/gw-via-palazzo/sightings`,
    gatewayId: i % 3 === 0 ? null : 'gw-via-palazzo',
    reason: i % 2 === 0 ? 'malformed_json' : 'schema',
    detail: `batch ${i}: device xx:xx:xx:xx:xx:xx has no rssi`,
    payloadBytes: 120,
    payloadRedacted: '{"mac":"xx:xx:xx:xx:xx:xx"}',
  }
}

export type RouteName =
  | 'me'
  | 'district'
  | 'zones'
  | 'shops'
  | 'summary'
  | 'people'
  | 'gateways'
  | 'deviceCounts'
  | 'footfall'
  | 'heatmap'
  | 'compare'
  | 'flows'
  | 'events'
  | 'createEvent'
  | 'deleteEvent'
  | 'deadLetters'
  | 'uplift'
  | 'ingest'
  | 'crowd'
  | 'csv'
  | 'calibration'
  | 'createCountSession'
  | 'forecast'
  | 'contextSeries'
  | 'contextImport'
  | 'excludedDays'
  | 'flagDay'
  | 'unflagDay'

export interface FakeApi {
  fetch: typeof globalThis.fetch
  /** `path?query` of every request; other methods than GET are prefixed: `POST /api/v1/events`. */
  calls: string[]
  /** The events the fake knows, changed by POST and DELETE. */
  events: (typeof event)[]
  /** Bodies of POST requests (a CSV body as its text). */
  posted: unknown[]
  /** The flagged days the fake knows, changed by POST and DELETE. */
  flags: FakeFlag[]
}

export interface FakeFlag {
  id: string
  day: string
  zoneId: string | null
  reason: string
  createdAt: string
}

const roles: Record<string, { role: string; shopId: string | null; label: string }> = {
  [KEYS.analyst]: { role: 'analyst', shopId: null, label: 'Miglio Digitale' },
  [KEYS.admin]: { role: 'admin', shopId: null, label: 'Operations' },
  [KEYS.shopkeeper]: { role: 'shopkeeper', shopId: 'bar-al-ponte', label: 'Bar al Ponte till' },
}

const error = (status: number, code: string, message: string): Reply => ({
  status,
  body: { error: { code, message } },
})

type Who = { role: string; shopId: string | null; label: string }
type Handler = (url: URL, body: unknown) => Reply | Promise<Reply>

/** One request as the fake's routes see it. */
interface Request {
  url: URL
  /** The path under `/api/v1/`. */
  path: string
  method: string
  body: unknown
  who: Who
  /** The shopkeeper's shop; null for other roles. */
  own: string | null
  /** The test's override of a route, else the fake's answer. */
  named(name: RouteName, fallback: () => Reply): Reply | Promise<Reply>
  /** The events the fake knows. */
  events: (typeof event)[]
  flags: FakeFlag[]
}

export function fakeApi(overrides: Partial<Record<RouteName, Handler>> = {}): FakeApi {
  const calls: string[] = []
  const events = [event]
  const posted: unknown[] = []
  const flags: FakeFlag[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input))
    const method = init?.method ?? 'GET'
    calls.push(`${method === 'GET' ? '' : `${method} `}${url.pathname}${url.search}`)
    const key = /^Bearer (.+)$/.exec(new Headers(init?.headers).get('authorization') ?? '')?.[1]
    const who = key ? roles[key] : undefined
    const csv = new Headers(init?.headers).get('content-type') === 'text/csv'
    const body: unknown =
      typeof init?.body !== 'string' ? undefined : csv ? init.body : JSON.parse(init.body)
    if (method === 'POST') posted.push(body)
    const named = (name: RouteName, fallback: () => Reply) => {
      const override = overrides[name]
      return override ? override(url, body) : fallback()
    }
    const path = url.pathname.replace('/api/v1/', '')
    const reply = await (path === 'public/crowd'
      ? named('crowd', crowdReply)
      : answer({ url, path, method, body, who: who ?? null, named, events, flags }))
    const type = reply.contentType ?? 'application/json'
    if (reply.status === 204) return new Response(null, { status: 204 })
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
    return new Response(text, { status: reply.status, headers: { 'content-type': type } })
  }
  return { fetch, calls, events, posted, flags }
}

function crowdReply(): Reply {
  return {
    status: 200,
    body: {
      at: NOW.toISOString(),
      district: 'Miglio Digitale',
      windowMinutes: 15,
      zones: [
        { zoneId: 'piazza-ferretto', name: 'Piazza Ferretto', kind: 'square', level: 'busy' },
        { zoneId: 'via-palazzo', name: 'Via Palazzo', kind: 'street', level: 'quiet' },
      ],
    },
  }
}

/** The keyed routes, checked in order: key, shop scope, CSV, a shop's summary, events, reads. */
function answer(
  request: Omit<Request, 'who' | 'own'> & { who: Who | null },
): Reply | Promise<Reply> {
  const { who, url } = request
  if (!who) return error(401, 'unauthorised', 'unknown key')
  const own = who.role === 'shopkeeper' ? who.shopId : null
  const shopParam = url.searchParams.get('shop')
  if (own && shopParam && shopParam !== own) {
    return error(403, 'forbidden', `shop ${shopParam} is not your shop`)
  }
  const req: Request = { ...request, who, own }
  if (url.searchParams.get('format') === 'csv') {
    return req.named('csv', () => ({
      status: 200,
      body: 'zoneId,bucketStart,passersBy\r\nbar-al-ponte,2026-11-21T09:00:00.000Z,12\r\n',
      contentType: 'text/csv; charset=utf-8',
    }))
  }
  return (
    reportRoute(req) ??
    summaryRoute(req) ??
    peopleRoute(req) ??
    eventRoute(req) ??
    calibrationRoute(req) ??
    contextRoute(req) ??
    readRoute(req) ??
    adminRoute(req)
  )
}

/**
 * `zones/:id/people`, `shops/:id/people` and `district/people` (every zone's figure added up): a
 * figure per bucket that follows the hour of day, uncalibrated (no gateway of the fake district has
 * a calibration).
 */
function peopleRoute({ path, url, own, named }: Request): Reply | Promise<Reply> | null {
  const m = /^(?:(zones|shops)\/([a-z0-9-]+)|(district))\/people$/.exec(path)
  if (!m) return null
  const [, kindOf, idOf, district] = m as unknown as [string, 'zones' | 'shops', string, string]
  const kind = district ? 'zones' : kindOf
  const id = district ? (zones[0]?.id ?? '') : idOf
  return named('people', () => {
    if (district && own) return error(403, 'forbidden', 'the district is for analysts')
    const known = kind === 'zones' ? zones.some((z) => z.id === id) : shops.some((s) => s.id === id)
    if (!known)
      return error(404, 'not_found', `${kind === 'zones' ? 'zone' : 'shop'} ${id} does not exist`)
    const ownZone = zones.find((z) => z.id === id)?.shopId
    if (own && (kind === 'shops' ? id !== own : ownZone !== own))
      return error(403, 'forbidden', `${id} is not your shop's`)
    const bucket = url.searchParams.get('bucket') ?? '1h'
    const step = BUCKET_MS[bucket] ?? 3_600_000
    const from = Date.parse(url.searchParams.get('from') ?? NOW.toISOString())
    const to = Math.min(Date.parse(url.searchParams.get('to') ?? NOW.toISOString()), NOW.getTime())
    const figures = (scale: number) => (t: number) => {
      const hour = new Date(t).getUTCHours()
      const people = scale * (2 + ((hour * 5) % 17))
      const half = 1.645 * Math.sqrt(people + 1 + (0.8 * people) ** 2)
      const value = (p: number, h: number) => ({
        people: p,
        low: Math.max(0, p - h),
        high: p + h,
        calibrated: false,
      })
      return { present: value(people, half), arrivals: value(people * 3, half * 3) }
    }
    const rows = []
    for (let t = Math.ceil(from / step) * step; t < to && rows.length < 800; t += step) {
      const bucketStart = new Date(t).toISOString()
      const bucketEnd = new Date(Math.min(t + step, to)).toISOString()
      rows.push(
        kind === 'zones'
          ? { bucketStart, bucketEnd, ...figures(district ? zones.length : 1)(t) }
          : { bucketStart, bucketEnd, inside: figures(0.3)(t), inFront: figures(1)(t) },
      )
    }
    const common = {
      from: new Date(from).toISOString(),
      to: url.searchParams.get('to'),
      asOf: NOW.toISOString(),
      bucket,
      timezone: 'Europe/Rome',
      interval: 0.9,
      rows,
    }
    const zoneOfShop = shops.find((s) => s.id === id)?.zoneId ?? id
    return {
      status: 200,
      body: district
        ? common
        : kind === 'zones'
          ? { zoneId: id, shopId: own ?? null, ...common }
          : { shopId: id, zoneId: zoneOfShop, ...common },
    }
  })
}

/** The calibration routes (analyst, admin): the list, and counts checked by the API's contract. */
function calibrationRoute({
  path,
  method,
  own,
  named,
  body,
}: Request): Reply | Promise<Reply> | null {
  if (path !== 'calibration' && path !== 'calibration/sessions') return null
  if (own) return error(403, 'forbidden', 'this needs the analyst or admin role')
  if (path === 'calibration' && method === 'GET')
    return named('calibration', () => ({ status: 200, body: calibrationBody }))
  if (path === 'calibration/sessions' && method === 'POST')
    return named('createCountSession', () => {
      const parsed = CountSessionCreateSchema.safeParse(body)
      if (!parsed.success)
        return error(
          400,
          'bad_request',
          parsed.error.issues.map((i) => `body.${i.path.join('.')}: ${i.message}`).join('; '),
        )
      const future = futureWindowReason(parsed.data, NOW.getTime())
      if (future) return error(400, 'bad_request', future)
      const s = parsed.data
      if (!zones.some((z) => z.id === s.zone))
        return error(404, 'not_found', `zone ${s.zone} does not exist`)
      return {
        status: 201,
        body: {
          id: '1',
          zone: s.zone,
          gateway: s.gateway ?? null,
          from: s.from,
          to: s.to,
          kind: s.kind,
          people: s.people,
          countedBy: s.countedBy,
          note: s.note ?? null,
          createdAt: NOW.toISOString(),
        },
      }
    })
  return error(404, 'not_found', `no route ${method} ${path}`)
}

const quality = (maePeople: number, mapePct: number | null, coveragePct: number) => ({
  maePeople,
  mapePct,
  coveragePct,
  sessions: 24,
})

/** Three gateways: one calibrated and fine, one old with a poor interval, one never calibrated. */
export const calibrationBody = {
  maxAgeDays: 90,
  coverageRange: [80, 97],
  maxMapePct: 30,
  gateways: [
    {
      gateway: 'gw-bar-al-ponte',
      zone: 'bar-al-ponte',
      current: {
        version: 2,
        fittedAt: '2026-11-20T09:00:00.000Z',
        validFrom: '2026-11-20T09:00:00.000Z',
        supersededBy: null,
        quality: quality(1.2, 18.4, 91.7),
        present: 'factor',
        arrivals: null,
        coefficients: {
          present: { form: 'factor', intercept: 0, stable: 1.4, randomised: 1.4 },
          arrivals: null,
        },
      },
      versions: [],
      refusal: null,
      ageDays: 1.04,
      reminders: [],
      reminderText: [],
    },
    {
      gateway: 'gw-forno',
      zone: 'forno',
      current: {
        version: 1,
        fittedAt: '2026-06-01T09:00:00.000Z',
        validFrom: '2026-06-01T09:00:00.000Z',
        supersededBy: null,
        quality: quality(2.6, 35.2, 70.8),
        present: 'mix',
        arrivals: null,
        coefficients: {
          present: { form: 'mix', intercept: 0, stable: 0.9, randomised: 1.6 },
          arrivals: null,
        },
      },
      versions: [],
      refusal: {
        at: '2026-11-21T08:00:00.000Z',
        sessions: 5,
        reason: '5 count sessions of people present; at least 8 are needed',
      },
      ageDays: 173.04,
      reminders: ['old', 'poor_coverage', 'poor_mape'],
      reminderText: [],
    },
    {
      gateway: 'gw-via-palazzo',
      zone: 'via-palazzo',
      current: null,
      versions: [],
      refusal: null,
      ageDays: null,
      reminders: ['never'],
      reminderText: [],
    },
  ],
}

/** GET /shops/:id/reports/YYYY-MM.html|pdf: a tiny page or PDF, the shop scope as the API's. */
function reportRoute({ path, own }: Request): Reply | null {
  const m = /^(?:shops\/([a-z0-9-]+)|district)\/reports\/(\d{4}-\d{2})\.(html|pdf)$/.exec(path)
  if (!m) return null
  if (own && own !== m[1])
    return error(403, 'forbidden', `shop ${m[1] ?? 'district'} is not your shop`)
  return m[3] === 'pdf'
    ? { status: 200, body: '%PDF-1.4 fake', contentType: 'application/pdf' }
    : {
        status: 200,
        body: `<!doctype html><h1>${m[1] ?? 'district'} ${m[2]}</h1>`,
        contentType: 'text/html',
      }
}

function summaryRoute({ path, own, named }: Request): Reply | Promise<Reply> | null {
  const shopId = /^shops\/([a-z0-9-]+)\/summary$/.exec(path)?.[1]
  if (!shopId) return null
  return named('summary', () => {
    if (!shops.some((s) => s.id === shopId))
      return error(404, 'not_found', `shop ${shopId} does not exist`)
    if (own && own !== shopId) return error(403, 'forbidden', `shop ${shopId} is not your shop`)
    return { status: 200, body: summary(shopId) }
  })
}

function eventRoute(req: Request): Reply | Promise<Reply> | null {
  const { path, method, own, named, events } = req
  if (/^events\/[^/]+\/uplift$/.test(path)) {
    return named('uplift', () => ({ status: 200, body: uplift }))
  }
  const id = /^events\/([^/]+)$/.exec(path)?.[1]
  if (method === 'DELETE' && id) {
    return named('deleteEvent', () => {
      if (own) return error(403, 'forbidden', 'this needs the analyst or admin role')
      const index = events.findIndex((e) => e.id === id)
      if (index === -1) return error(404, 'not_found', `event ${id} does not exist`)
      events.splice(index, 1)
      return { status: 204, body: null }
    })
  }
  if (method === 'POST' && path === 'events') {
    return named('createEvent', () =>
      own ? error(403, 'forbidden', 'this needs the analyst or admin role') : createEvent(req),
    )
  }
  return null
}

/** Context imports and flagged days (analysts): a CSV with a row holding "bad" is refused. */
function contextRoute({
  path,
  method,
  body,
  own,
  named,
  flags,
}: Request): Reply | Promise<Reply> | null {
  if (!path.startsWith('context/') || path === 'context/series') return null
  if (own) return error(403, 'forbidden', 'this needs the analyst or admin role')
  if (method === 'POST' && path === 'context/imports') {
    return named('contextImport', () => {
      const lines = String(body).trim().split(/\r?\n/)
      const bad = lines.flatMap((line, i) => (line.includes('bad') ? [i + 1] : []))
      if (bad.length) {
        const rows = bad.map((row) => `row ${row}: value: must be a number`).join('; ')
        return error(400, 'bad_request', `context file refused, nothing imported: ${rows}`)
      }
      const variables = [...new Set(lines.slice(1).map((line) => line.split(',')[2] ?? ''))]
      return {
        status: 201,
        body: { id: 'import-1', source: 'x', rows: lines.length - 1, variables },
      }
    })
  }
  if (path === 'context/excluded-days' && method === 'GET') {
    return named('excludedDays', () => ({ status: 200, body: { days: flags } }))
  }
  if (path === 'context/excluded-days' && method === 'POST') {
    return named('flagDay', () => {
      const b = body as { day: string; zone: string | null; reason: string }
      if (!b.reason.trim())
        return error(
          400,
          'bad_request',
          'body.reason: Too small: expected string to have >=1 characters',
        )
      const flag = {
        id: `flag-${flags.length + 1}`,
        day: b.day,
        zoneId: b.zone,
        reason: b.reason.trim(),
        createdAt: NOW.toISOString(),
      }
      flags.push(flag)
      return { status: 201, body: flag }
    })
  }
  const unflag = /^context\/excluded-days\/(.+)$/.exec(path)?.[1]
  if (unflag && method === 'DELETE') {
    return named('unflagDay', () => {
      const at = flags.findIndex((f) => f.id === unflag)
      if (at < 0) return error(404, 'not_found', `flagged day ${unflag} does not exist`)
      flags.splice(at, 1)
      return { status: 204, body: null }
    })
  }
  return error(404, 'not_found', `no route ${method} ${path}`)
}

/** POST /events with the API's validation messages. */
function createEvent({ body, events }: Request): Reply {
  const b = body as { name?: string; zones?: string[]; from?: string; to?: string }
  const problems: string[] = []
  if (!b.name?.trim()) problems.push('body.name: Too small: expected string to have >=1 characters')
  if (!b.zones?.length) problems.push('body.zones: Too small: expected array to have >=1 items')
  if (!b.from || Number.isNaN(Date.parse(b.from))) problems.push('body.from: Invalid ISO datetime')
  if (!b.to || Number.isNaN(Date.parse(b.to))) problems.push('body.to: Invalid ISO datetime')
  if (problems.length > 0) return error(400, 'bad_request', problems.join('; '))
  if (Date.parse(b.from ?? '') >= Date.parse(b.to ?? ''))
    return error(400, 'bad_request', 'from: must be before to')
  const created = {
    id: `00000000-0000-4000-8000-${String(events.length + 100).padStart(12, '0')}`,
    name: b.name?.trim() ?? '',
    zones: b.zones ?? [],
    from: new Date(b.from ?? '').toISOString(),
    to: new Date(b.to ?? '').toISOString(),
    createdAt: NOW.toISOString(),
  }
  events.push(created)
  return { status: 201, body: created }
}

function readRoute({ path, url, who, own, named, events }: Request): Reply | Promise<Reply> | null {
  switch (path) {
    case 'me':
      return named('me', () => ({ status: 200, body: who }))
    case 'district':
      return named('district', () => ({ status: 200, body: districtBody }))
    case 'zones':
      return named('zones', () => ({
        status: 200,
        body: { zones: own ? zones.filter((z) => z.shopId === own) : zones },
      }))
    case 'shops':
      return named('shops', () => ({
        status: 200,
        body: { shops: own ? shops.filter((s) => s.id === own) : shops },
      }))
    case 'gateways':
      return named('gateways', () => ({ status: 200, body: gatewaysBody(own) }))
    case 'device-counts':
      return named('deviceCounts', () => ({ status: 200, body: deviceCountsBody(url, own) }))
    case 'footfall':
      return named('footfall', () => ({ status: 200, body: footfallBody(url) }))
    case 'footfall/heatmap':
      return named('heatmap', () => ({ status: 200, body: heatmapBody(url) }))
    case 'footfall/compare':
      return named('compare', () => ({ status: 200, body: compareBody(url) }))
    case 'flows':
      if (own) return error(403, 'forbidden', 'this needs the analyst or admin role')
      return named('flows', () => ({ status: 200, body: flowsBody(url) }))
    case 'events':
      return named('events', () => ({ status: 200, body: { events } }))
    case 'forecast':
      return named('forecast', () => ({ status: 200, body: forecastBody(url, own) }))
    case 'context/series':
      if (own) return error(403, 'forbidden', 'this needs the analyst or admin role')
      return named('contextSeries', () => ({ status: 200, body: contextBody(url) }))
    default:
      return null
  }
}

function adminRoute({ path, url, who, named }: Request): Reply | Promise<Reply> {
  if (path !== 'admin/dead-letters' && path !== 'admin/ingest-stats') {
    return error(404, 'not_found', `no route ${path}`)
  }
  if (who.role !== 'admin') return error(403, 'forbidden', 'this needs the admin role')
  if (path === 'admin/ingest-stats') {
    return named('ingest', () => ({ status: 200, body: ingestBody(url) }))
  }
  const page = Number(url.searchParams.get('page') ?? '1')
  const pageSize = Number(url.searchParams.get('pageSize') ?? '50')
  const total = 23
  const items = Array.from({ length: total }, (_, i) => deadLetter(i)).slice(
    (page - 1) * pageSize,
    page * pageSize,
  )
  return named('deadLetters', () => ({ status: 200, body: { page, pageSize, total, items } }))
}

/** GET /forecast: 24 × days hours from the hour of NOW, a daily shape with a ±25 % interval. */
function forecastBody(url: URL, own: string | null) {
  const days = Number(url.searchParams.get('days') ?? '7')
  const origin = Math.floor(NOW.getTime() / 3_600_000) * 3_600_000
  const points = Array.from({ length: days * 24 }, (_, i) => {
    const t = origin + i * 3_600_000
    const hour = (new Date(t).getUTCHours() + 1) % 24
    const value = hour >= 8 && hour < 20 ? 40 + 10 * (hour % 5) : 2
    return { t: new Date(t).toISOString(), value, low: value * 0.75, high: value * 1.25, weeks: 4 }
  })
  return {
    zoneId: url.searchParams.get('zone'),
    shopId: own ?? url.searchParams.get('shop'),
    measure: 'footfall',
    timezone: 'Europe/Rome',
    origin: new Date(origin).toISOString(),
    level: 0.9,
    model: 'weekly profile',
    residuals: 672,
    excludedDays: [],
    points,
  }
}

/** GET /context/series: rain the morning of NOW. */
function contextBody(url: URL) {
  const from = Date.parse(url.searchParams.get('from') ?? '')
  const values = [1.2, 3.5, 0.4].map((value, i) => ({
    at: new Date(NOW.getTime() - (3 - i) * 3_600_000).toISOString(),
    wholeDay: false,
    zoneId: null,
    variable: 'rain_mm',
    value,
  }))
  return { values: values.filter((v) => Date.parse(v.at) >= from) }
}

const districtBody = {
  id: 'mestre',
  name: 'Miglio Digitale — Mestre',
  timezone: 'Europe/Rome',
  streetLengthM: 1600,
  loadedAt: NOW.toISOString(),
  zones: zones.length,
  shops: shops.length,
  gateways: zones.length,
}

function flowsBody(url: URL) {
  return {
    from: url.searchParams.get('from'),
    to: url.searchParams.get('to'),
    source: 'hourly',
    k: 5,
    cells: [
      {
        originZoneId: 'piazza-ferretto',
        destZoneId: 'via-palazzo',
        suppressed: false,
        flows: 40,
        travelSMedian: 300,
      },
      {
        originZoneId: 'via-palazzo',
        destZoneId: 'piazza-ferretto',
        suppressed: true,
        flows: null,
        travelSMedian: null,
      },
    ],
  }
}

function ingestBody(url: URL) {
  return {
    from: url.searchParams.get('from'),
    to: url.searchParams.get('to'),
    rejects: [{ reason: 'malformed_json', count: 3 }],
    hours: [{ hour: NOW.toISOString(), batches: 997, sightings: 9000, transits: 400, rejected: 3 }],
  }
}

export function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial))
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  }
}
