import { describe, expect, it } from 'vitest'
import {
  createMinuteTruth,
  crossValidate,
  fitFactor,
  occupancyErrors,
  type OccupancySample,
} from './occupancy.ts'

const s = (truth: number, estimate: number, minuteMs = 0): OccupancySample => ({
  minuteMs,
  truth,
  estimate,
})

describe('occupancy accuracy figures', () => {
  it('averages the occupancy of the rows of each minute and skips minutes without rows', () => {
    const truth = createMinuteTruth()
    truth.add(120_500, 3)
    truth.add(179_999, 5)
    truth.add(0, 1)
    truth.add(300_000, 0)
    expect([...truth.minutes()]).toEqual([
      [0, 1],
      [120_000, 4],
      [300_000, 0],
    ])
  })

  it('leaves zero-occupancy minutes out of the MAPE but not out of MAE and bias', () => {
    const e = occupancyErrors([s(4, 2), s(2, 3), s(0, 3)])
    expect(e.samples).toBe(3)
    expect(e.nonZero).toBe(2)
    expect(e.mapePct).toBeCloseTo(((2 / 4 + 1 / 2) / 2) * 100)
    expect(e.maePeople).toBeCloseTo((2 + 1 + 3) / 3)
    expect(e.biasPeople).toBeCloseTo((-2 + 1 + 3) / 3)
    expect(e.biasPct).toBeCloseTo((100 * 2) / 6)
    expect(e.meanTruth).toBeCloseTo(2)
    expect(e.meanEstimate).toBeCloseTo(8 / 3)
  })

  it('applies a factor and reports NaN where there is nothing to divide by', () => {
    expect(occupancyErrors([s(4, 2)], 2)).toMatchObject({ mapePct: 0, maePeople: 0, biasPct: 0 })
    const zeros = occupancyErrors([s(0, 1)])
    expect(zeros.mapePct).toBeNaN()
    expect(zeros.biasPct).toBeNaN()
    expect(zeros.maePeople).toBe(1)
    expect(occupancyErrors([]).maePeople).toBeNaN()
  })

  it('fits people per device as Σ truth / Σ estimate', () => {
    expect(fitFactor([s(6, 2), s(3, 1)])).toBe(3)
    expect(fitFactor([s(6, 0)])).toBeNaN()
  })

  it('cross-validates by day: fitted on one day and tested on the others, or leave one out', () => {
    const days = [
      { day: 'a', samples: [s(4, 2)] }, // factor 2
      { day: 'b', samples: [s(4, 4)] }, // factor 1
      { day: 'c', samples: [s(8, 2)] }, // factor 4
    ]
    const one = crossValidate(days, 'fit-one')
    expect(one.folds.map((f) => [f.fitDays, f.factor, f.testDays])).toEqual([
      [['a'], 2, ['b', 'c']],
      [['b'], 1, ['a', 'c']],
      [['c'], 4, ['a', 'b']],
    ])
    // fold a: b → 8 vs 4 (+100 %), c → 4 vs 8 (−50 %)
    expect(one.folds[0]?.errors.mapePct).toBeCloseTo(75)
    expect(one.pooled.samples).toBe(6)
    expect(one.factorRange).toEqual({ min: 1, max: 4 })
    // pooled: |8−4|/4, |4−8|/8, |2−4|/4, |2−8|/8, |8−4|/4, |16−4|/4
    expect(one.pooled.mapePct).toBeCloseTo((100 * (1 + 0.5 + 0.5 + 0.75 + 1 + 3)) / 6)

    const loo = crossValidate(days, 'leave-one-out')
    expect(loo.folds.map((f) => [f.fitDays, f.factor, f.testDays])).toEqual([
      [['b', 'c'], 2, ['a']],
      [['a', 'c'], 3, ['b']],
      [['a', 'b'], 4 / 3, ['c']],
    ])
    expect(loo.pooled.samples).toBe(3)
    expect(loo.folds[1]?.errors.mapePct).toBeCloseTo(200)
  })
})
