import {
  isoWeekdayOf,
  localDateOf,
  localTimeOf,
  shiftLocalDays,
  type IsoWeekday,
} from '../../shared/contracts/local-time.ts'

/**
 * Expected ranges: for a bucket of a zone's or a shop's series, the usual value and a band, from
 * comparable past periods — the same local weekday and time of day in each of the `weeks` weeks
 * before, skipping days that are not comparable (event days, public holidays, days a user flagged)
 * and weeks before the data begins. Pure.
 *
 * The usual value is the median of the comparable values (robust to one odd week). The band is the
 * median ± Z robust standard deviations, where the standard deviation is the larger of 1.4826 × MAD
 * (the spread the weeks show) and √median (counting noise: a slot that happened to be identical for
 * a few weeks still varies), floored at 0. With fewer than `minSamples` comparable weeks there is
 * no band (null): too little to say what is usual.
 */
export const BAND_Z = 2
export const DEFAULT_BAND_WEEKS = 8
export const DEFAULT_MIN_SAMPLES = 3

export type Band = { usual: number; low: number; high: number; samples: number }

export type BandOptions = {
  tz: string
  /** Local dates never used as comparable periods (events, holidays, flagged days). */
  excludedDates: ReadonlySet<string>
  /** The first instant with data: a comparable period before it is unknown, not zero. */
  coveredFromMs: number
  weeks?: number
  minSamples?: number
}

function median(sorted: readonly number[]): number {
  const n = sorted.length
  const mid = Math.floor(n / 2)
  return n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Usual value and band of a set of comparable values; null when there are fewer than `min`. */
export function bandOf(values: readonly number[], min = DEFAULT_MIN_SAMPLES): Band | null {
  if (values.length < Math.max(1, min)) return null
  const sorted = [...values].sort((a, b) => a - b)
  const usual = median(sorted)
  const mad = median(sorted.map((v) => Math.abs(v - usual)).sort((a, b) => a - b))
  const sd = Math.max(1.4826 * mad, Math.sqrt(Math.max(usual, 1)))
  return {
    usual,
    low: Math.max(0, usual - BAND_Z * sd),
    high: usual + BAND_Z * sd,
    samples: values.length,
  }
}

/** The comparable instants of `tMs`: the same local weekday and time 1…weeks weeks before. */
export function comparableInstants(tMs: number, tz: string, weeks = DEFAULT_BAND_WEEKS): number[] {
  const out: number[] = []
  for (let k = 1; k <= weeks; k++) out.push(shiftLocalDays(tMs, -7 * k, tz))
  return out
}

/**
 * The band of the bucket starting at `tMs`, from `valueAt` (the stored value of a bucket start;
 * undefined when no row: zero transits, once the data has begun).
 */
export function expectedAt(
  tMs: number,
  valueAt: (bucketMs: number) => number | undefined,
  o: BandOptions,
): Band | null {
  const values: number[] = []
  for (const at of comparableInstants(tMs, o.tz, o.weeks)) {
    if (at < o.coveredFromMs) continue
    if (o.excludedDates.has(localDateOf(at, o.tz))) continue
    values.push(valueAt(at) ?? 0)
  }
  return bandOf(values, o.minSamples)
}

/** Bands of many buckets of one series (`values`: bucket start → value). */
export function expectedSeries(
  buckets: readonly number[],
  values: ReadonlyMap<number, number>,
  o: BandOptions,
): (Band | null)[] {
  return buckets.map((t) => expectedAt(t, (at) => values.get(at), o))
}

/** Where a value stands against its band: below, within or above (null without a band). */
export function sideOf(value: number, band: Band | null): 'below' | 'within' | 'above' | null {
  if (!band) return null
  if (value < band.low) return 'below'
  if (value > band.high) return 'above'
  return 'within'
}

/** "usual for a Monday at 11": the weekday and local hour a band describes. */
export function slotOf(tMs: number, tz: string): { weekday: IsoWeekday; hour: number } {
  return { weekday: isoWeekdayOf(tMs, tz), hour: localTimeOf(tMs, tz).hour }
}
