import { describe, expect, it } from 'vitest'
import { scoreOf } from './forecast.ts'

describe(scoreOf.name, () => {
  it('scores MAPE over actuals of at least 5, WAPE over all, coverage over buckets with an interval', () => {
    const s = scoreOf([
      { actual: 10, value: 8, low: 5, high: 12 }, // 20 % off, inside
      { actual: 20, value: 25, low: 21, high: 30 }, // 25 % off, outside
      { actual: 1, value: 3, low: null, high: null }, // below 5: not in MAPE, no interval
      { actual: 7, value: null, low: null, high: null }, // no forecast: not scored
    ])
    expect(s.buckets).toBe(3)
    expect(s.mapePct).toBeCloseTo(22.5)
    expect(s.wapePct).toBeCloseTo((100 * (2 + 5 + 2)) / 31)
    expect(s.withInterval).toBe(2)
    expect(s.coveragePct).toBe(50)
    expect(s.relativeWidthPct).toBeCloseTo((100 * (7 / 8 + 9 / 25)) / 2)
  })

  it('gives nulls when there is nothing to score', () => {
    expect(scoreOf([])).toMatchObject({
      buckets: 0,
      mapePct: null,
      wapePct: null,
      coveragePct: null,
    })
  })
})
