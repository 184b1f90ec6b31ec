import type { Db } from '../../shared/db/create-db.ts'
import type { ReportLang } from '../../shared/contracts/outlook-api.ts'
import {
  HOUR_MS,
  localHourOf,
  isoWeekdayOf,
  shiftLocalDays,
  startOfLocalDate,
} from '../../shared/contracts/local-time.ts'
import { listEvents } from '../queries/event-queries.ts'
import {
  hourlySeries,
  periodSums,
  sumsPerShop,
  sumsPerZone,
  type PeriodSums,
} from '../queries/outlook-queries.ts'
import type { FootfallScope } from '../queries/footfall-queries.ts'
import { forecastPeriod } from './forecast-service.ts'
import type { TotalForecast } from './forecast.ts'

/** The figures of one monthly report (shop or district), gathered once for HTML and PDF. */

export type MonthRange = { month: string; from: number; to: number }

export type PeriodFigures = PeriodSums & {
  footfall: number
  /** [from, to) measured (a running month: up to the last whole hour). */
  from: number
  to: number
}

export type EventEffect = {
  name: string
  from: number
  to: number
  /** Footfall of the scope in the event's window (inside the month). */
  footfall: number
  /** Mean of the same window 1–4 weeks before, windows with other events left out; null: none. */
  baseline: number | null
  weeks: number
}

export type ReportModel = {
  kind: 'shop' | 'district'
  lang: ReportLang
  /** Shop or district name. */
  title: string
  districtName: string
  zoneName: string | null
  timezone: string
  month: MonthRange
  /** The month is still running: figures up to `current.to`. */
  partial: boolean
  generatedAt: number
  current: PeriodFigures
  previous: PeriodFigures
  lastYear: PeriodFigures
  /** Footfall by local hour of day (0–23) over the month. */
  hours: number[]
  /** The three busiest local weekday × hour cells by footfall. */
  busiest: { weekday: number; hour: number; footfall: number }[]
  events: EventEffect[]
  /** Shop: its anonymous rank by visitors among the district's shops. */
  rank: { position: number; of: number } | null
  /** District: every shop (analysts see names) and every zone. */
  shops: { name: string; footfall: number; visitors: number; previous: number }[]
  zones: { name: string; footfall: number; previous: number }[]
  next: MonthRange
  forecast: TotalForecast
}

export function monthRange(month: string, tz: string): MonthRange {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`
  return {
    month,
    from: startOfLocalDate(`${month}-01`, tz),
    to: startOfLocalDate(`${next}-01`, tz),
  }
}

export function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const i = y * 12 + (m - 1) + by
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`
}

async function figures(
  db: Db,
  scope: FootfallScope,
  range: MonthRange,
  elapsedMs: number,
): Promise<PeriodFigures> {
  const to = Math.min(range.to, range.from + elapsedMs)
  const s = await periodSums(db, { ...scope, from: new Date(range.from), to: new Date(to) })
  return { ...s, footfall: s.passersBy + s.visitors, from: range.from, to }
}

async function eventEffects(
  db: Db,
  scope: FootfallScope,
  zoneId: string | null,
  from: number,
  to: number,
  tz: string,
): Promise<EventEffect[]> {
  const all = await listEvents(db, {
    from: new Date(shiftLocalDays(from, -35, tz)),
    to: new Date(to),
  })
  const inMonth = all.filter(
    (e) =>
      Date.parse(e.from) < to &&
      Date.parse(e.to) > from &&
      (zoneId === null || e.zones.includes(zoneId)),
  )
  const effects: EventEffect[] = []
  for (const e of inMonth.slice(0, 12)) {
    const a = Math.max(from, Date.parse(e.from))
    const b = Math.min(to, Date.parse(e.to))
    const sum = async (x: number, y: number) => {
      const s = await periodSums(db, { ...scope, from: new Date(x), to: new Date(y) })
      return s.passersBy + s.visitors
    }
    const footfall = await sum(a, b)
    const past: number[] = []
    for (let k = 1; k <= 4; k++) {
      const x = shiftLocalDays(a, -7 * k, tz)
      const y = shiftLocalDays(b, -7 * k, tz)
      const clash = all.some(
        (o) =>
          o.id !== e.id &&
          Date.parse(o.from) < y &&
          Date.parse(o.to) > x &&
          (zoneId === null || o.zones.includes(zoneId)),
      )
      if (!clash) past.push(await sum(x, y))
    }
    effects.push({
      name: e.name,
      from: a,
      to: b,
      footfall,
      baseline: past.length ? past.reduce((s, v) => s + v, 0) / past.length : null,
      weeks: past.length,
    })
  }
  return effects
}

async function hourProfile(db: Db, scope: FootfallScope, from: number, to: number, tz: string) {
  const series = await hourlySeries(db, {
    ...scope,
    from: new Date(from),
    to: new Date(to),
    measure: 'footfall',
  })
  const hours = Array.from({ length: 24 }, () => 0)
  const cells = new Map<string, { weekday: number; hour: number; footfall: number }>()
  for (const [t, v] of series) {
    const hour = localHourOf(t, tz)
    const weekday = isoWeekdayOf(t, tz)
    hours[hour] = (hours[hour] ?? 0) + v
    const key = `${weekday}-${hour}`
    const c = cells.get(key) ?? { weekday, hour, footfall: 0 }
    c.footfall += v
    cells.set(key, c)
  }
  const busiest = [...cells.values()]
    .sort((x, y) => y.footfall - x.footfall || x.weekday - y.weekday || x.hour - y.hour)
    .slice(0, 3)
  return { hours, busiest }
}

export type ReportSubject =
  | { kind: 'shop'; shopId: string; shopName: string; zoneId: string; zoneName: string }
  | { kind: 'district' }

/** Everything a monthly report shows, for a shop (its own gateways) or the whole district. */
export async function gatherReport(
  db: Db,
  subject: ReportSubject,
  o: { month: string; tz: string; now: number; lang: ReportLang; districtName: string },
): Promise<ReportModel> {
  const range = monthRange(o.month, o.tz)
  const lastWholeHour = Math.floor(o.now / HOUR_MS) * HOUR_MS
  const partial = lastWholeHour < range.to
  const elapsed = Math.max(0, Math.min(range.to, lastWholeHour) - range.from)
  const scope: FootfallScope = subject.kind === 'shop' ? { shopId: subject.shopId } : {}
  const zoneId = subject.kind === 'shop' ? subject.zoneId : null
  const previousRange = monthRange(shiftMonth(o.month, -1), o.tz)
  const lastYearRange = monthRange(shiftMonth(o.month, -12), o.tz)
  const [current, previous, lastYear] = await Promise.all([
    figures(db, scope, range, elapsed),
    figures(db, scope, previousRange, elapsed),
    figures(db, scope, lastYearRange, elapsed),
  ])
  const next = monthRange(shiftMonth(o.month, 1), o.tz)
  const base = {
    kind: subject.kind,
    lang: o.lang,
    title: subject.kind === 'shop' ? subject.shopName : o.districtName,
    districtName: o.districtName,
    zoneName: subject.kind === 'shop' ? subject.zoneName : null,
    timezone: o.tz,
    month: range,
    partial,
    generatedAt: o.now,
    current,
    previous,
    lastYear,
    next,
  }
  if (current.footfall === 0)
    return {
      ...base,
      hours: [],
      busiest: [],
      events: [],
      rank: null,
      shops: [],
      zones: [],
      forecast: { value: null, low: null, high: null, missing: 0, backtestWeeks: 0 },
    }
  const to = range.from + elapsed
  const [profile, events, shopSums, forecast] = await Promise.all([
    hourProfile(db, scope, range.from, to, o.tz),
    eventEffects(db, scope, zoneId, range.from, to, o.tz),
    sumsPerShop(db, new Date(range.from), new Date(to)),
    forecastPeriod(
      db,
      { ...scope, eventZoneId: zoneId ?? undefined },
      {
        measure: 'footfall',
        origin: Math.min(range.to, lastWholeHour),
        from: next.from,
        to: next.to,
        tz: o.tz,
      },
    ),
  ])
  let rank: ReportModel['rank'] = null
  let shops: ReportModel['shops'] = []
  let zones: ReportModel['zones'] = []
  if (subject.kind === 'shop') {
    const mine = shopSums.find((s) => s.shopId === subject.shopId)?.visitors ?? 0
    rank = {
      position: 1 + shopSums.filter((s) => s.shopId !== subject.shopId && s.visitors > mine).length,
      of: shopSums.length,
    }
  } else {
    const prevTo = new Date(previous.to)
    const [prevShops, zoneSums, prevZones] = await Promise.all([
      sumsPerShop(db, new Date(previousRange.from), prevTo),
      sumsPerZone(db, new Date(range.from), new Date(to)),
      sumsPerZone(db, new Date(previousRange.from), prevTo),
    ])
    shops = shopSums.map((s) => ({
      name: s.name,
      footfall: s.footfall,
      visitors: s.visitors,
      previous: prevShops.find((p) => p.shopId === s.shopId)?.footfall ?? 0,
    }))
    zones = zoneSums.map((z) => ({
      name: z.name,
      footfall: z.footfall,
      previous: prevZones.find((p) => p.zoneId === z.zoneId)?.footfall ?? 0,
    }))
  }
  return { ...base, ...profile, events, rank, shops, zones, forecast }
}
