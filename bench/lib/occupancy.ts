/**
 * Occupancy accuracy (the Brno captures): ground truth per minute, error figures with zero
 * occupancy handled explicitly, and a people-per-device calibration factor cross-validated by day.
 * Pure functions; bench/benchmarks/brno.ts feeds them.
 */

export const MINUTE_MS = 60_000

/** One compared minute: people in the room (truth) and the pipeline's device estimate. */
export type OccupancySample = { minuteMs: number; truth: number; estimate: number }

/**
 * The ground truth per minute from the capture's rows: the mean `occupancy` of the rows whose time
 * falls in the minute. Minutes without a row have no truth and are not compared.
 */
export function createMinuteTruth(): {
  add(tMs: number, occupancy: number): void
  minutes(): Map<number, number>
} {
  const acc = new Map<number, { sum: number; n: number }>()
  return {
    add(tMs, occupancy) {
      const m = Math.floor(tMs / MINUTE_MS) * MINUTE_MS
      const a = acc.get(m) ?? { sum: 0, n: 0 }
      a.sum += occupancy
      a.n++
      acc.set(m, a)
    },
    minutes() {
      return new Map(
        [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([m, a]) => [m, a.sum / a.n]),
      )
    },
  }
}

export type OccupancyErrors = {
  /** Minutes compared. */
  samples: number
  /** Minutes with truth > 0: the MAPE's denominator. */
  nonZero: number
  /** Mean of |factor·estimate − truth| / truth over minutes with truth > 0, in %. */
  mapePct: number
  /** Mean |factor·estimate − truth| over every minute, in people. */
  maePeople: number
  /** Mean (factor·estimate − truth) over every minute, in people (> 0: overcount). */
  biasPeople: number
  /** Σ (factor·estimate − truth) / Σ truth over every minute, in %. */
  biasPct: number
  meanTruth: number
  meanEstimate: number
}

/**
 * Error figures of `factor × estimate` against the truth. Zero occupancy: a minute with truth 0 has
 * no percentage error, so MAPE is over the minutes with truth > 0 only; MAE and bias are over every
 * minute, zeros included (an empty room counted as 3 people adds 3 to the MAE).
 */
export function occupancyErrors(samples: readonly OccupancySample[], factor = 1): OccupancyErrors {
  let ape = 0
  let nonZero = 0
  let abs = 0
  let diff = 0
  let truth = 0
  let est = 0
  for (const s of samples) {
    const e = factor * s.estimate
    truth += s.truth
    est += e
    abs += Math.abs(e - s.truth)
    diff += e - s.truth
    if (s.truth > 0) {
      ape += Math.abs(e - s.truth) / s.truth
      nonZero++
    }
  }
  const n = samples.length
  return {
    samples: n,
    nonZero,
    mapePct: nonZero ? (100 * ape) / nonZero : NaN,
    maePeople: n ? abs / n : NaN,
    biasPeople: n ? diff / n : NaN,
    biasPct: truth ? (100 * diff) / truth : NaN,
    meanTruth: n ? truth / n : NaN,
    meanEstimate: n ? est / n : NaN,
  }
}

/**
 * The people-per-device factor a manual count would give: Σ truth / Σ estimate over the fitting
 * minutes (it makes the fitted period's total unbiased). NaN when the pipeline saw nothing.
 */
export function fitFactor(samples: readonly OccupancySample[]): number {
  let truth = 0
  let est = 0
  for (const s of samples) {
    truth += s.truth
    est += s.estimate
  }
  return est > 0 ? truth / est : NaN
}

export type Day = { day: string; samples: OccupancySample[] }

export type CalibrationFold = {
  /** Days the factor was fitted on. */
  fitDays: string[]
  factor: number
  /** Days it was evaluated on, and the figures over their minutes pooled. */
  testDays: string[]
  errors: OccupancyErrors
}

export type Calibration = {
  folds: CalibrationFold[]
  /** Every fold's test minutes pooled (each minute counted once per fold that tests it). */
  pooled: OccupancyErrors
  /** The fitted factors' range over the folds. */
  factorRange: { min: number; max: number }
}

/**
 * Cross-validated calibration. 'fit-one': the factor is fitted on one day and evaluated on each of
 * the other days (as many folds as days). 'leave-one-out': fitted on all days but one, evaluated on
 * the one left out. A fold whose factor cannot be fitted is evaluated with factor NaN (figures NaN).
 */
export function crossValidate(
  days: readonly Day[],
  mode: 'fit-one' | 'leave-one-out',
): Calibration {
  const folds: CalibrationFold[] = []
  const pooled: { sample: OccupancySample; factor: number }[] = []
  for (const d of days) {
    const fit = mode === 'fit-one' ? [d] : days.filter((x) => x !== d)
    const test = mode === 'fit-one' ? days.filter((x) => x !== d) : [d]
    if (!fit.length || !test.length) continue
    const factor = fitFactor(fit.flatMap((x) => x.samples))
    const testSamples = test.flatMap((x) => x.samples)
    folds.push({
      fitDays: fit.map((x) => x.day),
      factor,
      testDays: test.map((x) => x.day),
      errors: occupancyErrors(testSamples, factor),
    })
    for (const sample of testSamples) pooled.push({ sample, factor })
  }
  // Pooled: scale each estimate by its fold's factor, then compare with factor 1.
  const scaled = pooled.map(({ sample, factor }) => ({
    ...sample,
    estimate: sample.estimate * factor,
  }))
  const factors = folds.map((f) => f.factor)
  return {
    folds,
    pooled: occupancyErrors(scaled),
    factorRange: { min: Math.min(...factors), max: Math.max(...factors) },
  }
}
