import { describe, expect, it } from 'vitest'
import {
  backtestErrors,
  bucketsOf,
  createErrorModel,
  forecastBuckets,
  forecastTotal,
  intervalOf,
  profileAt,
  quantileSorted,
  type History,
} from './forecast.ts'
import {
  HOUR_MS,
  isoWeekdayOf,
  localHourOf,
  shiftLocalDays,
} from '../../shared/contracts/local-time.ts'

const TZ = 'Europe/Rome'
const WEEK = 7 * 24 * HOUR_MS
/** Monday 5 January 2026, 00:00 in Rome (UTC+1; no DST change for 11 weeks). */
const MONDAY = Date.parse('2026-01-04T23:00:00Z')

/** A deterministic weekday × hour shape: busier on Saturdays and in the afternoon. */
function shape(t: number): number {
  const weekday = isoWeekdayOf(t, TZ)
  const hour = localHourOf(t, TZ)
  if (hour < 8 || hour >= 20) return 0
  return (weekday === 6 ? 2 : 1) * (10 + 5 * (hour - 8))
}

function history(
  from: number,
  to: number,
  value: (t: number) => number,
  excluded?: (t: number) => boolean,
): History {
  const values = new Map<number, number>()
  for (const t of bucketsOf(from, to, HOUR_MS)) values.set(t, value(t))
  return { from, to, values, ...(excluded ? { excluded } : {}) }
}

describe(profileAt.name, () => {
  it('averages the same local weekday and hour of the most recent weeks', () => {
    const origin = MONDAY + 4 * WEEK
    // Week k back holds k × the shape: the mean of weeks 1–2 is 1.5 × the shape.
    const h = history(MONDAY, origin, (t) => shape(t) * Math.ceil((origin - t) / WEEK))
    const saturdayNoon = origin + 5 * 24 * HOUR_MS + 12 * HOUR_MS
    expect(profileAt(h, saturdayNoon, origin, 2, TZ)).toEqual({ value: 1.5 * 2 * 30, weeks: 2 })
    expect(profileAt(h, saturdayNoon, origin, 4, TZ)).toEqual({ value: 2.5 * 2 * 30, weeks: 4 })
    // Only four weeks exist: asking for six uses four.
    expect(profileAt(h, saturdayNoon, origin, 6, TZ)?.weeks).toBe(4)
  })

  it('skips excluded buckets and takes an older week instead', () => {
    const origin = MONDAY + 4 * WEEK
    const lastSaturday = origin - 2 * 24 * HOUR_MS
    const h = history(
      MONDAY,
      origin,
      (t) => (t >= lastSaturday && t < lastSaturday + 24 * HOUR_MS ? 1000 : shape(t)),
      (t) => t >= lastSaturday && t < lastSaturday + 24 * HOUR_MS,
    )
    const saturdayNoon = origin + 5 * 24 * HOUR_MS + 12 * HOUR_MS
    expect(profileAt(h, saturdayNoon, origin, 2, TZ)).toEqual({ value: 60, weeks: 2 })
  })

  it('keeps the local hour across a DST change (the same wall-clock time a week before)', () => {
    // Summer time starts on Sunday 29 March 2026 in Rome: the Monday after is UTC+2.
    const origin = Date.parse('2026-03-29T22:00:00Z') // Monday 30 March 00:00 local
    const h = history(MONDAY, origin, shape)
    const mondayNine = origin + 9 * HOUR_MS
    expect(localHourOf(mondayNine, TZ)).toBe(9)
    expect(profileAt(h, mondayNine, origin, 4, TZ)?.value).toBe(shape(mondayNine))
    expect(shape(mondayNine)).toBe(15)
  })

  it('has nothing for a bucket without any past week', () => {
    const h = history(MONDAY, MONDAY + 3 * 24 * HOUR_MS, shape)
    expect(profileAt(h, MONDAY + 5 * 24 * HOUR_MS, h.to, 4, TZ)).toBeNull()
  })
})

describe(forecastBuckets.name, () => {
  it('reproduces a series that repeats every week, with a zero-width interval', () => {
    const origin = MONDAY + 8 * WEEK
    const h = history(MONDAY, origin, shape)
    const f = forecastBuckets(h, bucketsOf(origin, origin + WEEK, HOUR_MS), HOUR_MS, {
      timeZone: TZ,
    })
    expect(f.points).toHaveLength(7 * 24)
    for (const p of f.points) {
      expect(p.value).toBe(shape(p.t))
      expect(p.low).toBeCloseTo(shape(p.t), 9)
      expect(p.high).toBeCloseTo(shape(p.t), 9)
    }
    expect(f.residuals).toBe(4 * 7 * 24)
  })

  it('gives no interval until the backtest has enough errors', () => {
    const origin = MONDAY + WEEK + 3 * HOUR_MS
    const h = history(MONDAY, origin, shape)
    const f = forecastBuckets(h, bucketsOf(origin, origin + 24 * HOUR_MS, HOUR_MS), HOUR_MS, {
      timeZone: TZ,
    })
    expect(f.window).toBeNull()
    expect(f.points[0]?.value).toBe(shape(origin))
    expect(f.points[0]?.low).toBeNull()
  })

  it('covers about its level of noisy weeks it has not seen', () => {
    // Counts around the shape with a deterministic spread of ±20 %: about 90 % of future values inside.
    let seed = 7
    const noise = () => {
      seed = (seed * 16807) % 2147483647
      return (seed / 2147483647 - 0.5) * 0.4
    }
    const origin = MONDAY + 8 * WEEK
    const all = history(MONDAY, origin + WEEK, (t) => Math.round(shape(t) * (1 + noise())))
    const h: History = { ...all, to: origin }
    const f = forecastBuckets(h, bucketsOf(origin, origin + WEEK, HOUR_MS), HOUR_MS, {
      timeZone: TZ,
    })
    const open = f.points.filter((p) => shape(p.t) > 0)
    const inside = open.filter((p) => {
      const v = all.values.get(p.t) ?? 0
      return p.low !== null && p.high !== null && v >= p.low && v <= p.high
    })
    const coverage = inside.length / open.length
    expect(coverage).toBeGreaterThan(0.78)
    expect(coverage).toBeLessThan(0.99)
  })
})

describe(backtestErrors.name, () => {
  it('measures errors only on weeks it can forecast, never on excluded buckets', () => {
    const origin = MONDAY + 3 * WEEK
    const all = history(MONDAY, origin, shape, (t) => t >= origin - 24 * HOUR_MS)
    const errors = backtestErrors(all, HOUR_MS, { timeZone: TZ, backtestWeeks: 4 })
    // Weeks 1 and 2 before the origin can be forecast (week 3 has nothing before it); the last
    // day is excluded.
    expect(errors).toHaveLength(2 * 7 * 24 - 24)
    expect(errors.every((e) => e.error === 0)).toBe(true)
  })
})

describe(createErrorModel.name, () => {
  it('takes the errors of the backtest forecasts nearest in size', () => {
    const quiet = Array.from({ length: 100 }, (_, i) => ({ forecast: i / 100, error: 0 }))
    const busy = Array.from({ length: 100 }, (_, i) => ({ forecast: 100 + i, error: i - 49.5 }))
    const model = createErrorModel([...busy, ...quiet], 0.8, 48)
    expect(model?.window).toBe(48)
    expect(model?.quantiles(0.5)).toEqual({ low: 0, high: 0 })
    const q = model?.quantiles(150)
    expect(q?.low).toBeLessThan(-10)
    expect(q?.high).toBeGreaterThan(10)
  })

  it('is null with fewer errors than the minimum', () => {
    expect(createErrorModel([{ forecast: 1, error: 0 }], 0.8, 48)).toBeNull()
  })
})

describe(intervalOf.name, () => {
  it('is wider for larger counts and never below zero', () => {
    const q = { low: -1, high: 1 }
    expect(intervalOf(100, q)).toEqual({ low: 81, high: 121 })
    expect(intervalOf(400, q)).toEqual({ low: 361, high: 441 })
    expect(intervalOf(0.25, q)).toEqual({ low: 0, high: 2.25 })
  })
})

describe(quantileSorted.name, () => {
  it('interpolates between ranks', () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3)
    expect(quantileSorted([0, 10], 0.1)).toBe(1)
    expect(quantileSorted([], 0.5)).toBeNaN()
  })
})

describe(forecastTotal.name, () => {
  it('sums the buckets and scales the interval by the backtest weeks’ total errors', () => {
    const origin = MONDAY + 8 * WEEK
    // Every week is 10 % busier than the one before.
    const growth = (t: number) => shape(t) * 1.1 ** Math.floor((t - MONDAY) / WEEK)
    const h = history(MONDAY, origin, growth)
    const month = bucketsOf(origin, shiftLocalDays(origin, 28, TZ), HOUR_MS)
    const total = forecastTotal(h, month, HOUR_MS, { timeZone: TZ })
    expect(total.missing).toBe(0)
    expect(total.backtestWeeks).toBe(4)
    const profileWeek = [1, 2, 3, 4].reduce((a, k) => a + 1.1 ** (8 - k), 0) / 4
    const weekShape = bucketsOf(origin, origin + WEEK, HOUR_MS).reduce((a, t) => a + shape(t), 0)
    expect(total.value).toBeCloseTo(4 * weekShape * profileWeek, 6)
    // A growing series is under-forecast by the same ratio every week: the interval sits above.
    expect(total.low).toBeGreaterThan(total.value ?? Infinity)
    expect(total.high).toBeCloseTo(total.low ?? 0, 6)
  })

  it('has no total without history', () => {
    const h = history(MONDAY, MONDAY, shape)
    expect(forecastTotal(h, [MONDAY], HOUR_MS, { timeZone: TZ })).toEqual({
      value: null,
      low: null,
      high: null,
      missing: 1,
      backtestWeeks: 0,
    })
  })
})
