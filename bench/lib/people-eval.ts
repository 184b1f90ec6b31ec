/**
 * Evaluating people estimates against ground truth: windows, error figures (with empty rooms and
 * interval coverage), the naive estimator (distinct MACs per window × one fitted factor) and the
 * leave-one-day-out cross-validation of the estimator's calibration. Pure; the Brno and accuracy
 * benchmarks feed it.
 */
import {
  calibrate,
  estimatePeople,
  type CalibrateOptions,
} from '../../services/shared/people/estimator.ts'
import {
  MAPE_MIN_PEOPLE,
  type CalibrationModel,
  type CountSession,
} from '../../services/shared/people/calibration.ts'
import type { DeviceSession } from '../../services/shared/people/sessions.ts'

export const MINUTE_MS = 60_000

/** One compared window: the truth, the estimate and (when there is one) its 90 % interval. */
export type Compared = {
  fromMs: number
  truth: number
  estimate: number
  low?: number
  high?: number
}

export type Figures = {
  windows: number
  /** Windows with truth ≥ MAPE_MIN_PEOPLE: the MAPE's denominator. */
  mapeWindows: number
  maePeople: number
  mapePct: number
  biasPeople: number
  /** Windows whose truth is 0 (nobody there the whole window), and the mean estimate in them. */
  emptyWindows: number
  emptyMeanPeople: number
  /** Share of windows whose truth lies in the interval, % (NaN without intervals). */
  coveragePct: number
  /** Mean interval width, people. */
  meanWidth: number
  meanTruth: number
  meanEstimate: number
}

/** Error figures of a set of compared windows. MAPE over windows with ≥ 3 people; the rest over all. */
export function figuresOf(rows: readonly Compared[]): Figures {
  let abs = 0
  let diff = 0
  let ape = 0
  let big = 0
  let empty = 0
  let emptySum = 0
  let inside = 0
  let withInterval = 0
  let width = 0
  let truth = 0
  let est = 0
  for (const r of rows) {
    abs += Math.abs(r.estimate - r.truth)
    diff += r.estimate - r.truth
    truth += r.truth
    est += r.estimate
    if (r.truth >= MAPE_MIN_PEOPLE) {
      ape += Math.abs(r.estimate - r.truth) / r.truth
      big++
    }
    if (r.truth === 0) {
      empty++
      emptySum += r.estimate
    }
    if (r.low !== undefined && r.high !== undefined) {
      withInterval++
      width += r.high - r.low
      if (r.truth >= r.low - 1e-9 && r.truth <= r.high + 1e-9) inside++
    }
  }
  const n = rows.length
  return {
    windows: n,
    mapeWindows: big,
    maePeople: n ? abs / n : NaN,
    mapePct: big ? (100 * ape) / big : NaN,
    biasPeople: n ? diff / n : NaN,
    emptyWindows: empty,
    emptyMeanPeople: empty ? emptySum / empty : NaN,
    coveragePct: withInterval ? (100 * inside) / withInterval : NaN,
    meanWidth: withInterval ? width / withInterval : NaN,
    meanTruth: n ? truth / n : NaN,
    meanEstimate: n ? est / n : NaN,
  }
}

/**
 * One day of a capture with presence truth: its device sessions (one zone), the truth per minute
 * (mean people present; minutes without truth are not compared) and, for the naive estimator, the
 * distinct addresses heard per minute (as small integers: no MAC is kept).
 */
export type TruthDay = {
  day: string
  zoneId: string
  sessions: DeviceSession[]
  truth: ReadonlyMap<number, number>
  addressesPerMinute: ReadonlyMap<number, ReadonlySet<number>>
}

export type TruthWindow = { fromMs: number; toMs: number; truth: number; addresses: number }

/**
 * Clock-aligned windows of `minutes` with truth, each cut to its first and last minute with truth:
 * the mean truth of those minutes and the distinct addresses heard in them.
 */
export function truthWindows(d: TruthDay, minutes: number): TruthWindow[] {
  const size = minutes * MINUTE_MS
  const acc = new Map<number, { sum: number; n: number; first: number; last: number }>()
  for (const [m, v] of d.truth) {
    const w = Math.floor(m / size) * size
    const a = acc.get(w) ?? { sum: 0, n: 0, first: m, last: m }
    a.sum += v
    a.n++
    a.first = Math.min(a.first, m)
    a.last = Math.max(a.last, m)
    acc.set(w, a)
  }
  // A window at the edge of a capture covers only the minutes observed (as a count session would).
  return [...acc.values()]
    .sort((a, b) => a.first - b.first)
    .map((a) => {
      const seen = new Set<number>()
      for (let m = a.first; m <= a.last; m += MINUTE_MS)
        for (const x of d.addressesPerMinute.get(m) ?? []) seen.add(x)
      return { fromMs: a.first, toMs: a.last + MINUTE_MS, truth: a.sum / a.n, addresses: seen.size }
    })
}

export type Fold = {
  testDay: string
  model: CalibrationModel | null
  refusal: string | null
  naiveFactor: number
}

export type CrossValidation = {
  resolutionMinutes: number
  estimator: Figures
  naive: Figures
  folds: Fold[]
  perDay: Record<string, { estimator: Figures; naive: Figures }>
  rows: {
    day: string
    truth: number
    estimate: number
    naive: number
    low?: number
    high?: number
  }[]
}

/**
 * Leave-one-day-out: for each day, the estimator is calibrated on the windows of the other days
 * (each window a count session of people present) and applied to the left-out day; the naive
 * estimator's factor (Σ truth / Σ distinct addresses) is fitted on the same windows.
 */
export function leaveOneDayOut(
  days: readonly TruthDay[],
  minutes: number,
  o: Omit<CalibrateOptions, 'version' | 'fittedAtMs'> = {},
): CrossValidation {
  const windows = new Map(days.map((d) => [d.day, truthWindows(d, minutes)]))
  const folds: Fold[] = []
  const rows: CrossValidation['rows'] = []
  for (const test of days) {
    const train = days.filter((d) => d !== test)
    const counts: CountSession[] = train.flatMap((d) =>
      (windows.get(d.day) ?? []).map((w) => ({
        zoneId: d.zoneId,
        fromMs: w.fromMs,
        toMs: w.toMs,
        kind: 'present' as const,
        people: w.truth,
        day: d.day,
      })),
    )
    const fit = calibrate(counts, new Map(train.map((d) => [d.day, d.sessions])), {
      ...o,
      version: 1,
      fittedAtMs: 0,
    })
    let t = 0
    let a = 0
    for (const d of train)
      for (const w of windows.get(d.day) ?? []) {
        t += w.truth
        a += w.addresses
      }
    const naiveFactor = a > 0 ? t / a : 0
    folds.push({
      testDay: test.day,
      model: fit.ok ? fit.model : null,
      refusal: fit.ok ? null : fit.reason,
      naiveFactor,
    })
    const tw = windows.get(test.day) ?? []
    const est = fit.ok ? estimatePeople(test.sessions, fit.model, tw) : []
    tw.forEach((w, i) => {
      const p = est[i]?.present
      rows.push({
        day: test.day,
        truth: w.truth,
        estimate: p?.people ?? NaN,
        naive: naiveFactor * w.addresses,
        ...(p ? { low: p.low, high: p.high } : {}),
      })
    })
  }
  const est = (r: (typeof rows)[number]): Compared => ({
    fromMs: 0,
    truth: r.truth,
    estimate: r.estimate,
    ...(r.low !== undefined && r.high !== undefined ? { low: r.low, high: r.high } : {}),
  })
  const nav = (r: (typeof rows)[number]): Compared => ({
    fromMs: 0,
    truth: r.truth,
    estimate: r.naive,
  })
  const ok = rows.filter((r) => Number.isFinite(r.estimate))
  return {
    resolutionMinutes: minutes,
    estimator: figuresOf(ok.map(est)),
    naive: figuresOf(rows.map(nav)),
    folds,
    perDay: Object.fromEntries(
      days.map((d) => {
        const mine = rows.filter((r) => r.day === d.day)
        return [
          d.day,
          {
            estimator: figuresOf(mine.filter((r) => Number.isFinite(r.estimate)).map(est)),
            naive: figuresOf(mine.map(nav)),
          },
        ]
      }),
    ),
    rows,
  }
}
