import type { Db } from '../../shared/db/create-db.ts'
import { holidaysBetween } from '../../shared/contracts/holidays.ts'
import {
  localDateOf,
  localMidnightsIn,
  startOfLocalDay,
} from '../../shared/contracts/local-time.ts'
import type {
  ExpectedBucket,
  ExpectedMetric,
  ExpectedResponse,
  ExpectedRow,
} from '../../shared/contracts/ranges-api.ts'
import {
  districtSettings,
  eventWindows,
  firstDataAt,
  seriesByZone,
} from '../queries/expected-queries.ts'
import type { FootfallScope } from '../queries/footfall-queries.ts'
import { listExcludedDays } from '../../shared/registry/context-repository.ts'
import { BAND_Z, DEFAULT_BAND_WEEKS, expectedAt, sideOf, slotOf } from './expected-range.ts'

const BUCKET_MS: Record<ExpectedBucket, number> = { '15m': 15 * 60_000, '1h': 3_600_000 }
const DAY_MS = 86_400_000

export type ExpectedRequest = FootfallScope & {
  from: Date
  to: Date
  bucket: ExpectedBucket
  metric: ExpectedMetric
  tz: string
  /** Buckets not over by then get no side (a bucket in progress is not below its band). */
  nowMs: number
  weeks?: number
  minSamples?: number
}

/** Local dates of [fromMs, toMs) that are not comparable: holidays, event days, flagged days. */
async function excludedDays(
  db: Db,
  fromMs: number,
  toMs: number,
  tz: string,
): Promise<ExpectedResponse['excluded']> {
  const { holidays } = await districtSettings(db)
  const out = new Map<string, ExpectedResponse['excluded'][number]>()
  const hol = holidaysBetween(localDateOf(fromMs, tz), localDateOf(toMs, tz), holidays)
  for (const [date, name] of hol) out.set(date, { date, reason: 'holiday', name })
  for (const e of await eventWindows(db, new Date(fromMs), new Date(toMs))) {
    const first = Math.max(e.from.getTime(), fromMs)
    const last = Math.min(e.to.getTime() - 1, toMs - 1)
    const days = [
      localDateOf(first, tz),
      ...localMidnightsIn(first, last, tz).map((m) => localDateOf(m, tz)),
    ]
    for (const date of days)
      if (!out.has(date)) out.set(date, { date, reason: 'event', name: e.name })
  }
  const flagged = await listExcludedDays(db, {
    from: localDateOf(fromMs, tz),
    to: localDateOf(toMs, tz),
  })
  const zoneFlags = []
  for (const d of flagged) {
    const day = { date: d.day, reason: 'flagged' as const, name: d.reason }
    if (d.zoneId === null) {
      if (!out.has(d.day)) out.set(d.day, day)
    } else zoneFlags.push({ ...day, zoneId: d.zoneId })
  }
  return [...out.values(), ...zoneFlags].sort((a, b) => a.date.localeCompare(b.date))
}

/**
 * Every bucket of [from, to) of each zone in scope with its value and its expected range (see
 * expected-range.ts): one query for the range and the `weeks` weeks before it.
 */
export async function expectedRows(
  db: Db,
  r: ExpectedRequest,
): Promise<Pick<ExpectedResponse, 'rows' | 'excluded' | 'weeks' | 'minSamples' | 'z'>> {
  const weeks = r.weeks ?? DEFAULT_BAND_WEEKS
  const minSamples = r.minSamples ?? 3
  const step = BUCKET_MS[r.bucket]
  const fromMs = Math.floor(r.from.getTime() / step) * step
  const toMs = r.to.getTime()
  const historyFrom = fromMs - weeks * 7 * DAY_MS - DAY_MS
  const [series, covered, excluded] = await Promise.all([
    seriesByZone(db, { ...r, from: new Date(historyFrom), to: r.to }),
    firstDataAt(db),
    excludedDays(db, historyFrom, toMs, r.tz),
  ])
  const excludedDates = new Set(excluded.filter((e) => !e.zoneId).map((e) => e.date))
  // A day flagged for one zone is left out of that zone's comparisons only.
  const excludedFor = (zoneId: string) => {
    const own = excluded.filter((e) => e.zoneId === zoneId).map((e) => e.date)
    return own.length ? new Set([...excludedDates, ...own]) : excludedDates
  }
  const rows: ExpectedRow[] = []
  const zones = [...series.keys()].sort()
  if (r.zoneId && !series.has(r.zoneId)) zones.push(r.zoneId)
  for (const zoneId of zones) {
    const values = series.get(zoneId) ?? new Map<number, number>()
    const zoneDates = excludedFor(zoneId)
    for (let t = fromMs; t < toMs; t += step) {
      const band = expectedAt(t, (at) => values.get(at), {
        tz: r.tz,
        excludedDates: zoneDates,
        // From the local midnight of the first day with data (its first transit may be at 10:05).
        coveredFromMs: covered === null ? Infinity : startOfLocalDay(covered, r.tz),
        weeks,
        minSamples,
      })
      const value = values.get(t) ?? 0
      rows.push({
        zoneId,
        bucketStart: new Date(t).toISOString(),
        value,
        usual: band?.usual ?? null,
        low: band?.low ?? null,
        high: band?.high ?? null,
        samples: band?.samples ?? 0,
        side: t + step <= r.nowMs ? sideOf(value, band) : null,
        ...slotOf(t, r.tz),
      })
    }
  }
  return { rows, excluded, weeks, minSamples, z: BAND_Z }
}
