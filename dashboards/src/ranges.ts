import type { FootfallRequest } from './api-client.ts'
import type { RangeKind } from './i18n.ts'
import {
  addDays,
  DAY_MS,
  HOUR_MS,
  instantOfLocalTime,
  localDateOf,
  localTimeOf,
  startOfLocalDate,
} from '../../services/shared/contracts/local-time.ts'

export { DAY_MS, HOUR_MS }

export const rangeKinds: readonly RangeKind[] = ['last-hour', 'today', 'last-7-days']

/** The browser's own time zone. */
const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone

/**
 * "Today" starts at local midnight: the district's when its time zone is known, else the browser's
 * (the people reading it stand on the street it measures).
 */
export function footfallRequestFor(kind: RangeKind, now: Date, timeZone?: string): FootfallRequest {
  const to = now.toISOString()
  switch (kind) {
    case 'last-hour':
      return { from: new Date(now.getTime() - HOUR_MS).toISOString(), to, bucket: '15m' }
    case 'today':
      return { from: localMidnight(now, timeZone).toISOString(), to, bucket: '1h' }
    case 'last-7-days':
      return { from: new Date(now.getTime() - 7 * DAY_MS).toISOString(), to, bucket: '1d' }
  }
}

/** Local midnight of `now`'s day, `daysBack` days earlier, in `timeZone` (or the browser's zone). */
export function localMidnight(now: Date, timeZone = browserTimeZone(), daysBack = 0): Date {
  const date = addDays(localDateOf(now.getTime(), timeZone), -daysBack)
  return new Date(startOfLocalDate(date, timeZone))
}

/**
 * The instant of a `datetime-local` value (`2026-11-21T18:30`) read as wall-clock time in
 * `timeZone`; null when the value is not one. A time skipped by a DST change moves forward.
 */
export function instantOfInputValue(value: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value)
  if (!m) return null
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day || hour > 23 || minute > 59)
    return null
  return new Date(instantOfLocalTime({ year, month, day, hour, minute }, timeZone))
}

/** `at` as a `datetime-local` value in `timeZone`: `2026-11-21T18:30`. */
export function localInputValue(at: Date, timeZone: string): string {
  const p = localTimeOf(at.getTime(), timeZone)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`
}
