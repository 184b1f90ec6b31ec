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
