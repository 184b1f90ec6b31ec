import { shiftLocalDays } from '../../shared/contracts/local-time.ts'

/**
 * Footfall forecasts: a weekly profile (the mean of the same local weekday and time of day over the
 * last `weeks` weeks), with an interval from the method's own backtest errors. Pure: the series in,
 * the forecast out; the route (routes/forecast), the monthly report and the benchmark
 * (bench/benchmarks/forecast.ts) call it. docs/metrics.md, "Forecasts", says why this model.
 *
 * - **Point**: for a bucket starting at t, the mean of the values at the same local wall-clock time
 *   7, 14, 21 … days before t (shiftLocalDays, so DST changes keep the hour) that lie in the history,
 *   before the origin and not excluded, taking the `weeks` most recent such values.
 * - **Interval**: the same forecast made for each of the last `backtestWeeks` weeks of the history
 *   from the data before that week only; its errors on the square-root scale
 *   (√actual − √forecast, which makes the Poisson noise of counts about as wide at 5 as at 500),
 *   those of the backtest forecasts nearest in size, give the quantiles of the interval:
 *   [(√f + q_lo)², (√f + q_hi)²], floored at 0.
 */

export const FORECAST_DEFAULTS = {
  /** Weeks averaged per bucket. */
  weeks: 4,
  /** Coverage of the interval (0.9: the 5th to 95th percentile of the backtest errors). */
  level: 0.9,
  /** Weeks of the history re-forecast to learn the errors. */
  backtestWeeks: 4,
  /** Fewer backtest errors than this: no interval (it would not mean its coverage). */
  minResiduals: 48,
} as const

export type ForecastOptions = {
  /** The district's time zone: "the same local time a week before". */
  timeZone: string
  weeks?: number
  level?: number
  backtestWeeks?: number
  minResiduals?: number
}

/** An observed series of equal buckets. */
export type History = {
  /** First bucket start with data: buckets before it are unknown, not zero. */
  from: number
  /** The origin: every bucket of the history starts before it. */
  to: number
  /** Values by bucket start; a bucket in [from, to) without a value counted 0. */
  values: ReadonlyMap<number, number>
  /** Buckets not learnt from (days flagged by the user, event windows); they count as unknown. */
  excluded?: (bucketStart: number) => boolean
}

export type ForecastPoint = {
  /** Bucket start, epoch ms. */
  t: number
  /** Null without any usable past week for this bucket. */
  value: number | null
  low: number | null
  high: number | null
  /** Past weeks behind `value`. */
  weeks: number
}

export type Forecast = {
  points: ForecastPoint[]
  /** Backtest errors measured (the interval needs `minResiduals`). */
  residuals: number
  /** Errors behind each point's interval (those of the forecasts nearest in size); null: none. */
  window: number | null
  level: number
}

/** Linear-interpolated quantile (0..1) of sorted values. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (!sorted.length) return Number.NaN
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const lo = Math.floor(pos)
  const a = sorted[lo] ?? Number.NaN
  const b = sorted[Math.min(sorted.length - 1, lo + 1)] ?? a
  return a + (b - a) * (pos - lo)
}

/** The value the history knows for bucket `t` (observed before `before`), or null. */
function observed(h: History, t: number, before: number): number | null {
  if (t < h.from || t >= before || t >= h.to) return null
  if (h.excluded?.(t)) return null
  return h.values.get(t) ?? 0
}

/**
 * The profile value of bucket `t` from data before `origin`: the mean of the `weeks` most recent
 * usable values at the same local time whole weeks earlier. Null when none is usable.
 */
export function profileAt(
  h: History,
  t: number,
  origin: number,
  weeks: number,
  timeZone: string,
): { value: number; weeks: number } | null {
  let sum = 0
  let n = 0
  for (let k = 1; n < weeks; k++) {
    const past = shiftLocalDays(t, -7 * k, timeZone)
    if (past < h.from) break
    const v = observed(h, past, origin)
    if (v === null) continue
    sum += v
    n++
  }
  return n ? { value: sum / n, weeks: n } : null
}

/** Bucket starts of [from, to) by `stepMs`. */
export function bucketsOf(from: number, to: number, stepMs: number): number[] {
  const out: number[] = []
  for (let t = from; t < to; t += stepMs) out.push(t)
  return out
}

/** One backtest forecast: its size and its error on the square-root scale. */
export type BacktestError = { forecast: number; error: number }

/**
 * The method's errors on the history itself: for each of the last `backtestWeeks` weeks before the
 * origin, every bucket of that week forecast from the data before the week, against what was
 * observed, as √actual − √forecast. Excluded and unknown buckets are left out.
 */
export function backtestErrors(
  h: History,
  stepMs: number,
  options: ForecastOptions,
): BacktestError[] {
  const weeks = options.weeks ?? FORECAST_DEFAULTS.weeks
  const backtestWeeks = options.backtestWeeks ?? FORECAST_DEFAULTS.backtestWeeks
  const errors: BacktestError[] = []
  for (let j = 1; j <= backtestWeeks; j++) {
    const weekFrom = shiftLocalDays(h.to, -7 * j, options.timeZone)
    const weekTo = shiftLocalDays(h.to, -7 * (j - 1), options.timeZone)
    if (weekFrom < h.from) break
    for (const t of bucketsOf(weekFrom, weekTo, stepMs)) {
      const actual = observed(h, t, h.to)
      if (actual === null) continue
      const f = profileAt(h, t, weekFrom, weeks, options.timeZone)
      if (!f) continue
      errors.push({ forecast: f.value, error: Math.sqrt(actual) - Math.sqrt(f.value) })
    }
  }
  return errors
}

/**
 * The error quantiles for a forecast of a given size: those of the `window` backtest errors whose
 * forecasts are nearest in size. Pooling every error would mix quiet night hours (errors near 0)
 * with busy afternoons and give the afternoons too narrow an interval; the square-root scale alone
 * evens out Poisson noise but not the spread of busy hours (groups, weather, events). Null with
 * fewer than `minResiduals` errors. The window is a fifth of the errors, at least `minResiduals`.
 */
export function createErrorModel(
  errors: readonly BacktestError[],
  level: number,
  minResiduals: number,
): { quantiles: (forecast: number) => { low: number; high: number }; window: number } | null {
  if (errors.length < minResiduals || errors.length === 0) return null
  const sorted = [...errors].sort((a, b) => a.forecast - b.forecast)
  const n = sorted.length
  const window = Math.min(n, Math.max(minResiduals, Math.round(n / 5)))
  const cache = new Map<number, { low: number; high: number }>()
  const quantiles = (forecast: number) => {
    // First error whose forecast is at least this one's; the window centred there.
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((sorted[mid]?.forecast ?? 0) < forecast) lo = mid + 1
      else hi = mid
    }
    const start = Math.min(n - window, Math.max(0, lo - Math.floor(window / 2)))
    const known = cache.get(start)
    if (known) return known
    const slice = sorted
      .slice(start, start + window)
      .map((e) => e.error)
      .sort((a, b) => a - b)
    const q = {
      low: quantileSorted(slice, (1 - level) / 2),
      high: quantileSorted(slice, (1 + level) / 2),
    }
    cache.set(start, q)
    return q
  }
  return { quantiles, window }
}

/** The interval of a point forecast from the error quantiles on the square-root scale. */
export function intervalOf(value: number, q: { low: number; high: number }) {
  const root = Math.sqrt(Math.max(0, value))
  const low = root + q.low
  const high = root + q.high
  return { low: low > 0 ? low * low : 0, high: high > 0 ? high * high : 0 }
}

/** Forecasts of `buckets` (starts, at or after the history's end) from the history. */
export function forecastBuckets(
  h: History,
  buckets: readonly number[],
  stepMs: number,
  options: ForecastOptions,
): Forecast {
  const weeks = options.weeks ?? FORECAST_DEFAULTS.weeks
  const level = options.level ?? FORECAST_DEFAULTS.level
  const minResiduals = options.minResiduals ?? FORECAST_DEFAULTS.minResiduals
  const errors = backtestErrors(h, stepMs, options)
  const model = createErrorModel(errors, level, minResiduals)
  const points = buckets.map((t): ForecastPoint => {
    const p = profileAt(h, t, h.to, weeks, options.timeZone)
    if (!p) return { t, value: null, low: null, high: null, weeks: 0 }
    const band = model ? intervalOf(p.value, model.quantiles(p.value)) : null
    return { t, value: p.value, low: band?.low ?? null, high: band?.high ?? null, weeks: p.weeks }
  })
  return { points, residuals: errors.length, window: model?.window ?? null, level }
}

export type TotalForecast = {
  value: number | null
  low: number | null
  high: number | null
  /** Buckets of the period without a forecast (no usable past week): left out of the total. */
  missing: number
  /** Backtest weeks behind the interval. */
  backtestWeeks: number
}

/**
 * The total of a period (a month for the monthly report): the sum of the buckets' forecasts, with
 * an interval from the same method's weekly totals in the backtest (actual / forecast of each of the
 * last `backtestWeeks` weeks, whose quantiles scale the total): errors of a period's hours are
 * correlated (a busy week is busy every day), so summing hourly intervals would be far too narrow.
 * With four backtest weeks the quantiles are nearly their minimum and maximum: the coverage is
 * rough, and the report says how many weeks it rests on.
 */
export function forecastTotal(
  h: History,
  buckets: readonly number[],
  stepMs: number,
  options: ForecastOptions,
): TotalForecast {
  const weeks = options.weeks ?? FORECAST_DEFAULTS.weeks
  const level = options.level ?? FORECAST_DEFAULTS.level
  const backtestWeeks = options.backtestWeeks ?? FORECAST_DEFAULTS.backtestWeeks
  let value = 0
  let missing = 0
  for (const t of buckets) {
    const p = profileAt(h, t, h.to, weeks, options.timeZone)
    if (p) value += p.value
    else missing++
  }
  if (missing === buckets.length)
    return { value: null, low: null, high: null, missing, backtestWeeks: 0 }
  const ratios: number[] = []
  for (let j = 1; j <= backtestWeeks; j++) {
    const weekFrom = shiftLocalDays(h.to, -7 * j, options.timeZone)
    const weekTo = shiftLocalDays(h.to, -7 * (j - 1), options.timeZone)
    if (weekFrom < h.from) break
    let actual = 0
    let forecast = 0
    for (const t of bucketsOf(weekFrom, weekTo, stepMs)) {
      const a = observed(h, t, h.to)
      const f = profileAt(h, t, weekFrom, weeks, options.timeZone)
      if (a === null || !f) continue
      actual += a
      forecast += f.value
    }
    if (forecast > 0) ratios.push(actual / forecast)
  }
  ratios.sort((a, b) => a - b)
  if (ratios.length < 2) return { value, low: null, high: null, missing, backtestWeeks: 0 }
  return {
    value,
    low: value * quantileSorted(ratios, (1 - level) / 2),
    high: value * quantileSorted(ratios, (1 + level) / 2),
    missing,
    backtestWeeks: ratios.length,
  }
}
