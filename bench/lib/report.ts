/** Figures, percentiles, tables and progress lines shared by every benchmark. */

export type Summary = { min: number; median: number; max: number; n: number }

/** Linear-interpolated quantile (0..1) of unsorted values; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] ?? NaN
  const b = sorted[hi] ?? NaN
  return a + (b - a) * (pos - lo)
}

export function summarise(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 }
  return {
    min: Math.min(...finite),
    median: quantile(finite, 0.5),
    max: Math.max(...finite),
    n: finite.length,
  }
}

/** prom-client histogram values (cumulative `le` buckets) as { le, count } pairs. */
export type HistogramBuckets = { le: number; count: number }[]

/**
 * Quantile of a cumulative histogram, interpolated inside the bucket the way Prometheus'
 * histogram_quantile does (the lower bound of the first bucket is 0; the +Inf bucket returns the
 * largest finite bound).
 */
export function histogramQuantile(buckets: HistogramBuckets, q: number): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le)
  const total = sorted.at(-1)?.count ?? 0
  if (total === 0) return NaN
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const b of sorted) {
    if (b.count >= rank) {
      // +Inf (sent over IPC as Number.MAX_VALUE): the largest finite bound.
      if (!Number.isFinite(b.le) || b.le >= Number.MAX_VALUE) return prevLe
      const inBucket = b.count - prevCount
      return inBucket === 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket
    }
    prevLe = b.le
    prevCount = b.count
  }
  return prevLe
}

/** Bucket-wise difference of two snapshots of one cumulative histogram (after − before). */
export function histogramDelta(
  after: HistogramBuckets,
  before: HistogramBuckets,
): HistogramBuckets {
  const prev = new Map(before.map((b) => [b.le, b.count]))
  return after.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) }))
}

export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–'
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

/** `median (min–max)` of a summary, or the single value when there was one repeat. */
export function fmtSummary(s: Summary, digits = 0): string {
  if (s.n === 0) return '–'
  if (s.n === 1 || s.min === s.max) return fmt(s.median, digits)
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
}

export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')
  const out = [
    '',
    `== ${title}`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
    '',
  ]
  process.stdout.write(out.join('\n') + '\n')
}

export function printNote(text: string): void {
  process.stdout.write(`   ${text}\n`)
}

const started = Date.now()

/** A progress line on stderr, prefixed with the time since the run started. */
export function progress(what: string, text: string): void {
  const s = Math.round((Date.now() - started) / 1000)
  const stamp = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
  process.stderr.write(`[bench ${stamp}] ${what}: ${text}\n`)
}

/** Absolute wall-clock time in ms with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Polls `fn` every 200 ms until it is true; a progress line every 10 s; throws after `timeoutMs`. */
export async function waitUntil(
  tag: string,
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastPrint = Date.now()
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now()
      progress(tag, `waiting for ${what}`)
    }
    await sleep(200)
  }
}
