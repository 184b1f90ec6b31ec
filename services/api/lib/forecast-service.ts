import type { Db } from '../../shared/db/create-db.ts'
import type { ForecastMeasure } from '../../shared/contracts/outlook-api.ts'
import {
  HOUR_MS,
  createLocalDateResolver,
  shiftLocalDays,
} from '../../shared/contracts/local-time.ts'
import { listExcludedDays } from '../../shared/registry/context-repository.ts'
import { listEvents } from '../queries/event-queries.ts'
import { districtSettings } from '../queries/expected-queries.ts'
import { holidaysBetween } from '../../shared/contracts/holidays.ts'
import { firstHour, hourlySeries } from '../queries/outlook-queries.ts'
import type { FootfallScope } from '../queries/footfall-queries.ts'
import {
  FORECAST_DEFAULTS,
  bucketsOf,
  forecastBuckets,
  forecastTotal,
  type Forecast,
  type History,
  type TotalForecast,
} from './forecast.ts'

/** What forecast.ts is given for one scope: its hourly history, with what is left out. */
export const FORECAST_MODEL =
  'weekly profile: mean of the same local weekday and hour over the last 4 usable weeks; 90 % interval from the quantiles of its own errors re-forecasting the last 4 weeks (square-root scale, errors of forecasts of similar size)'

/** Weeks of history read: the profile's weeks plus the backtest's (and a spare one). */
const HISTORY_WEEKS = FORECAST_DEFAULTS.weeks + FORECAST_DEFAULTS.backtestWeeks + 1

export type ScopeHistory = {
  history: History
  /** Local days left out: public holidays and flagged days (the district's and the scope zone's). */
  excludedDays: string[]
}

/**
 * The hourly history of a scope up to `origin` (exclusive, an hour start): the hours of flagged days
 * (excluded_days, district-wide or of the scope's zone) and of events touching the scope's zone (any
 * event for the district) are left out, so the profile learns ordinary weeks only.
 */
export async function scopeHistory(
  db: Db,
  scope: FootfallScope & { eventZoneId?: string | undefined },
  measure: ForecastMeasure,
  origin: number,
  tz: string,
  weeks = HISTORY_WEEKS,
): Promise<ScopeHistory> {
  const windowFrom = shiftLocalDays(origin, -7 * weeks, tz)
  const [values, first, flagged, events, settings] = await Promise.all([
    hourlySeries(db, { ...scope, from: new Date(windowFrom), to: new Date(origin), measure }),
    firstHour(db, scope),
    listExcludedDays(db),
    listEvents(db, { from: new Date(windowFrom), to: new Date(origin) }),
    districtSettings(db),
  ])
  const zone = scope.eventZoneId ?? scope.zoneId
  const dateOf = createLocalDateResolver(tz)
  // Public holidays (Italy's and the district file's) are not ordinary weeks either, as for the
  // expected ranges.
  const holidays = holidaysBetween(dateOf(windowFrom), dateOf(origin), settings.holidays)
  const days = new Set([
    ...flagged.filter((d) => d.zoneId === null || d.zoneId === zone).map((d) => d.day),
    ...holidays.keys(),
  ])
  const windows = events
    .filter((e) => zone === undefined || e.zones.includes(zone))
    .map((e) => [Date.parse(e.from), Date.parse(e.to)] as const)
  const excluded = (t: number) =>
    days.has(dateOf(t)) || windows.some(([a, b]) => t + HOUR_MS > a && t < b)
  const from = first === null ? origin : Math.max(windowFrom, first)
  return { history: { from, to: origin, values, excluded }, excludedDays: [...days].sort() }
}

/** The next `days` days by hour from `origin`. */
export async function forecastScope(
  db: Db,
  scope: FootfallScope & { eventZoneId?: string | undefined },
  o: { measure: ForecastMeasure; origin: number; days: number; tz: string },
): Promise<Forecast & { excludedDays: string[] }> {
  const { history, excludedDays } = await scopeHistory(db, scope, o.measure, o.origin, o.tz)
  const end = shiftLocalDays(o.origin, o.days, o.tz)
  const f = forecastBuckets(history, bucketsOf(o.origin, end, HOUR_MS), HOUR_MS, {
    timeZone: o.tz,
  })
  return { ...f, excludedDays }
}

/** The total of [from, to) (a month) forecast from the history before `origin`. */
export async function forecastPeriod(
  db: Db,
  scope: FootfallScope & { eventZoneId?: string | undefined },
  o: { measure: ForecastMeasure; origin: number; from: number; to: number; tz: string },
): Promise<TotalForecast> {
  // A bucket up to five weeks ahead reaches back its own weeks ahead plus the profile's.
  const { history } = await scopeHistory(db, scope, o.measure, o.origin, o.tz, HISTORY_WEEKS + 5)
  return forecastTotal(history, bucketsOf(o.from, o.to, HOUR_MS), HOUR_MS, { timeZone: o.tz })
}
