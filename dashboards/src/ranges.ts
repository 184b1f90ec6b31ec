import type { FootfallRequest } from './api-client.ts'
import { localHourOf } from './charts/time-axis.ts'
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
