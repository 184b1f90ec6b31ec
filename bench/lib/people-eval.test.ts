import { describe, expect, it } from 'vitest'
import { figuresOf, leaveOneDayOut, truthWindows } from './people-eval.ts'
import { twoDevicesPerPersonDay } from './people-eval-fixtures.ts'

const M = 60_000

describe(figuresOf.name, () => {
  it('keeps windows under 3 people out of the MAPE, reports empty rooms and interval coverage', () => {
    const f = figuresOf([
      { fromMs: 0, truth: 10, estimate: 12, low: 9, high: 15 },
      { fromMs: 0, truth: 4, estimate: 3, low: 3.5, high: 5 },
      { fromMs: 0, truth: 1, estimate: 3 },
      { fromMs: 0, truth: 0, estimate: 0.5, low: 0, high: 1 },
    ])
    expect(f.windows).toBe(4)
    expect(f.mapeWindows).toBe(2)
    expect(f.mapePct).toBeCloseTo((100 * (0.2 + 0.25)) / 2)
    expect(f.maePeople).toBeCloseTo((2 + 1 + 2 + 0.5) / 4)
    expect(f.biasPeople).toBeCloseTo((2 - 1 + 2 + 0.5) / 4)
    expect(f.emptyWindows).toBe(1)
    expect(f.emptyMeanPeople).toBeCloseTo(0.5)
    // The three windows with an interval all hold their truth.
    expect(f.coveragePct).toBeCloseTo(100)
    expect(f.meanWidth).toBeCloseTo((6 + 1.5 + 1) / 3)
    expect(figuresOf([]).maePeople).toBeNaN()
  })
})

const day = twoDevicesPerPersonDay

describe(truthWindows.name, () => {
  it('cuts clock windows to the minutes with truth and averages them', () => {
    const d = day('a', 10 * M, 20, [4, 8])
    const w = truthWindows(d, 15)
    expect(w.map((x) => [x.fromMs / M, x.toMs / M, x.truth])).toEqual([
      [10, 15, 4],
      [15, 30, (10 * 4 + 5 * 8) / 15],
    ])
    expect(w[0]?.addresses).toBe(12)
  })
})

describe(leaveOneDayOut.name, () => {
  it('calibrates on the other days and scores the left-out one, beside the naive estimator', () => {
    const days = [
      day('d1', 0, 120, [2, 5, 9, 4]),
      day('d2', 24 * 60 * M, 120, [3, 6, 10, 1]),
      day('d3', 48 * 60 * M, 120, [7, 2, 4, 12]),
    ]
    const cv = leaveOneDayOut(days, 15)
    expect(cv.folds.map((f) => f.refusal)).toEqual([null, null, null])
    // People = devices / 2 exactly: the estimator is exact, and so is the naive one here (3 each).
    expect(cv.estimator.maePeople).toBeCloseTo(0)
    expect(cv.folds[0]?.model?.present?.coefficients.stable).toBeCloseTo(0.5)
    expect(cv.naive.maePeople).toBeCloseTo(0)
    expect(cv.folds[0]?.naiveFactor).toBeCloseTo(1 / 3)
    expect(cv.rows).toHaveLength(3 * 8)
  })
})
