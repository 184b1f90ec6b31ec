import { describe, expect, it } from 'vitest'
import { captureRate, deltaOf, dwellMean, spreadOf, estimateBand } from './measures.ts'
import { upliftRows } from './uplift.ts'

describe('measures', () => {
  it('derives capture rate and mean dwell, null without transits or visitors', () => {
    expect(captureRate(3, 1)).toBe(0.25)
    expect(captureRate(0, 0)).toBeNull()
    expect(dwellMean(300, 2)).toBe(150)
    expect(dwellMean(0, 0)).toBeNull()
  })

  it('gives absolute and percentage deltas, no percentage against 0', () => {
    expect(deltaOf(120, 100)).toEqual({ current: 120, baseline: 100, delta: 20, deltaPct: 20 })
    expect(deltaOf(1, 0)).toEqual({ current: 1, baseline: 0, delta: 1, deltaPct: null })
    expect(deltaOf(null, 2)).toEqual({ current: null, baseline: 2, delta: null, deltaPct: null })
  })

  it('spreads values with a sample standard deviation', () => {
    expect(spreadOf([4, 6, 8])).toEqual({ mean: 6, min: 4, max: 8, stddev: 2 })
    expect(spreadOf([5])).toEqual({ mean: 5, min: 5, max: 5, stddev: null })
    expect(spreadOf([])).toBeNull()
  })
})

describe(estimateBand.name, () => {
  // Exact Garwood 95 % limits (chi-square quantiles / 2) of a Poisson count.
  const exact: [number, number, number][] = [
    [0, 0, 3.689],
    [1, 0.0253, 5.572],
    [2, 0.242, 7.225],
    [10, 4.795, 18.39],
    [100, 81.36, 121.63],
    [200, 173.3, 229.7],
    [201, 174.2, 230.8],
    [1000, 938.9, 1063.6],
  ]

  it('is the exact Poisson interval of the count, scaled by the calibration factor', () => {
    for (const [n, low, high] of exact) {
      const band = estimateBand(n, n)
      // Within 0.5 % (the API rounds to hundredths).
      if (n > 0) expect(Math.abs(band.low - low)).toBeLessThan(Math.max(0.006, 0.005 * low))
      else expect(band.low).toBe(0)
      expect(Math.abs(band.high - high)).toBeLessThan(Math.max(0.006, 0.005 * high))
      // Calibrated at 1.4 people per device: the same interval, 1.4 times larger.
      const scaled = estimateBand(n, 1.4 * n)
      if (n > 0) expect(scaled.low).toBeCloseTo(1.4 * band.low, 1)
    }
  })

  it('narrows relative to the estimate as the count grows, and always contains it', () => {
    let previous = Infinity
    for (const n of [1, 5, 20, 100, 1000]) {
      const band = estimateBand(n, 1.2 * n)
      expect(band.low).toBeLessThanOrEqual(1.2 * n)
      expect(band.high).toBeGreaterThanOrEqual(1.2 * n)
      const width = (band.high - band.low) / (1.2 * n)
      expect(width).toBeLessThan(previous)
      previous = width
    }
  })
})

describe(upliftRows.name, () => {
  const sums = (zoneId: string, passersBy: number) => ({
    zoneId,
    passersBy,
    visitors: 0,
    dwellSecondsSum: 0,
    estimatedPeople: passersBy,
  })

  it('compares the event with the baseline mean, per zone and for all zones', () => {
    const rows = upliftRows(
      ['a', 'b'],
      [sums('a', 10), sums('b', 2)],
      [[sums('a', 4)], [sums('a', 6), sums('b', 2)], [sums('a', 8), sums('b', 4)]],
    )
    expect(rows.find((r) => r.zoneId === 'a' && r.metric === 'passersBy')).toEqual({
      zoneId: 'a',
      metric: 'passersBy',
      event: 10,
      baselineMean: 6,
      difference: 4,
      ratio: 10 / 6,
      baselineMin: 4,
      baselineMax: 8,
      baselineStddev: 2,
      baselineWeeks: 3,
    })
    expect(rows.find((r) => r.zoneId === null && r.metric === 'passersBy')).toMatchObject({
      event: 12,
      baselineMean: 8,
      difference: 4,
      ratio: 1.5,
      baselineMin: 4,
      baselineMax: 12,
    })
    expect(rows.find((r) => r.zoneId === 'a' && r.metric === 'visitors')).toMatchObject({
      event: 0,
      baselineMean: 0,
      ratio: null,
    })
  })

  it('has no baseline figures without baseline weeks', () => {
    const [row] = upliftRows(['a'], [sums('a', 3)], [])
    expect(row).toMatchObject({
      event: 3,
      baselineMean: null,
      difference: null,
      ratio: null,
      baselineWeeks: 0,
    })
  })
})
