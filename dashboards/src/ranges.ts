import type { FootfallRequest } from './api-client.ts'
import { localHourOf, zonedParts, zoneOffsetMs } from './charts/time-axis.ts'
import type { RangeKind } from './i18n.ts'

export const rangeKinds: readonly RangeKind[] = ['last-hour', 'today', 'last-7-days']

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS

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
export function localMidnight(now: Date, timeZone?: string, daysBack = 0): Date {
  if (timeZone) {
    let t = localHourOf(now.getTime(), timeZone, 0)
    for (let i = 0; i < daysBack; i += 1) t = localHourOf(t - 12 * HOUR_MS, timeZone, 0)
    return new Date(t)
  }
  const midnight = new Date(now)
  midnight.setHours(0, 0, 0, 0)
  midnight.setDate(midnight.getDate() - daysBack)
  return midnight
}

/** Local weekday of `at` in `timeZone`: 1 = Monday … 7 = Sunday. */
export function localWeekday(at: Date, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone }).format(at)
  return ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(name) + 1
}

/** Local hour of `at` in `timeZone`, 0–23. */
export function localHour(at: Date, timeZone: string): number {
  return Number(
    new Intl.DateTimeFormat('en-GB', { hour: 'numeric', hourCycle: 'h23', timeZone }).format(at),
  )
}

/**
 * The instant of a `datetime-local` value (`2026-11-21T18:30`) read as wall-clock time in
 * `timeZone`; null when the value is not one. A time skipped by a DST change moves forward.
 */
export function instantOfLocal(value: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value)
  if (!m) return null
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const wall = Date.UTC(year, month - 1, day, hour, minute)
  if (new Date(wall).getUTCDate() !== day || hour > 23 || minute > 59) return null
  const first = wall - zoneOffsetMs(wall, timeZone)
  return new Date(wall - zoneOffsetMs(first, timeZone))
}

/** `at` as a `datetime-local` value in `timeZone`: `2026-11-21T18:30`. */
export function localInputValue(at: Date, timeZone: string): string {
  const p = zonedParts(at.getTime(), timeZone)
  const pad = (n: number, width = 2) => String(n).padStart(width, '0')
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`
}
