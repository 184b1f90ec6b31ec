import type { MetricDelta } from '../../shared/contracts/api.ts'

/** visitors / (visitors + passers-by), null when there is no transit. */
export function captureRate(passersBy: number, visitors: number): number | null {
  const all = passersBy + visitors
  return all > 0 ? visitors / all : null
}

/** Visitors' mean dwell in seconds, null without visitors. */
export function dwellMean(dwellSecondsSum: number, visitors: number): number | null {
  return visitors > 0 ? dwellSecondsSum / visitors : null
}

/** `current` vs `baseline`: difference and percentage (null when the baseline is 0 or absent). */
export function deltaOf(current: number | null, baseline: number | null): MetricDelta {
  if (current === null || baseline === null)
    return { current, baseline, delta: null, deltaPct: null }
  const delta = current - baseline
  return { current, baseline, delta, deltaPct: baseline !== 0 ? (delta / baseline) * 100 : null }
}

export type Spread = { mean: number; min: number; max: number; stddev: number | null }

/** Mean, min, max and sample standard deviation (n − 1; null for fewer than two values). */
export function spreadOf(values: number[]): Spread | null {
  if (!values.length) return null
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const stddev =
    values.length > 1
      ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1))
      : null
  return { mean, min: Math.min(...values), max: Math.max(...values), stddev }
}

/** z of a two-sided 95 % interval. */
const Z95 = 1.959964

/** P(X ≤ k) for X ~ Poisson(λ), summed in log space. */
function poissonCdf(k: number, lambda: number): number {
  let term = -lambda // log P(X = 0)
  let sum = Math.exp(term)
  for (let i = 1; i <= k; i++) {
    term += Math.log(lambda) - Math.log(i)
    sum += Math.exp(term)
  }
  return Math.min(1, sum)
}

/** The λ in [lo, hi] where `f` (decreasing in λ) crosses `target`. */
function bisect(f: (lambda: number) => number, target: number, lo: number, hi: number): number {
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (f(mid) > target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

const EXACT_UP_TO = 200
const exactLimits = new Map<number, { lower: number; upper: number }>()

/**
 * 95 % limits of a Poisson mean given a count: exact (Garwood, by bisection on the Poisson CDF) up
 * to 200, Wilson–Hilferty's approximation beyond (relative error under 0.1 % there).
 */
export function poissonLimits(n: number): { lower: number; upper: number } {
  if (n <= EXACT_UP_TO) {
    let limits = exactLimits.get(n)
    if (!limits) {
      const hi = n + 10 * Math.sqrt(n + 1) + 10
      limits = {
        lower: n === 0 ? 0 : bisect((l) => poissonCdf(n - 1, l), 0.975, 0, hi),
        upper: bisect((l) => poissonCdf(n, l), 0.025, 0, hi),
      }
      exactLimits.set(n, limits)
    }
    return limits
  }
  const m = n + 1
  return {
    lower: n * (1 - 1 / (9 * n) - Z95 / (3 * Math.sqrt(n))) ** 3,
    upper: m * (1 - 1 / (9 * m) + Z95 / (3 * Math.sqrt(m))) ** 3,
  }
}

/**
 * The 95 % counting band of an estimate of people: `transits` devices heard, `estimated` = the
 * transits × their calibration factors. Devices passing a gateway arrive as a Poisson process, so the
 * count a bucket happens to see varies around its rate; the band is the exact Poisson interval of
 * the count scaled by the mean calibration factor. It does not contain the systematic error of
 * turning devices into people (randomisation, people without a phone, calibration): bench/README.md
 * measures that. With no device heard the upper bound is that of a count of 0 at factor 1.
 */
export function estimateBand(transits: number, estimated: number): { low: number; high: number } {
  const factor = transits > 0 ? estimated / transits : 1
  const { lower, upper } = poissonLimits(transits)
  const round = (v: number) => Math.round(v * 100) / 100
  return { low: round(lower * factor), high: round(upper * factor) }
}
