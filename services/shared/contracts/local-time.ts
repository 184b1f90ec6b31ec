/**
 * Local time in a district's time zone, with `Intl` only: the one place Miglio turns instants into
 * local dates, hours and weekdays and back (ingest's daily keys, the API's local days and heatmap,
 * the simulator's traffic profile, the dashboards' ranges and axes, the benchmarks).
 *
 * - Instants are epoch milliseconds; time zones are IANA names (`America/New_York`).
 * - A local date is `YYYY-MM-DD`.
 * - Weekdays are ISO 8601: 1 = Monday … 7 = Sunday, everywhere.
 * - A local day starts at its first instant (local midnight, or the end of a DST gap that swallows
 *   midnight) and lasts 23, 24 or 25 hours.
 * - A wall-clock time repeated by a DST change (the autumn hour) names its first occurrence; a time
 *   skipped by one (the spring gap) moves forward by the gap.
 *
 * It is fast on hot paths: one cached `Intl.DateTimeFormat` per zone, and the UTC offset cached per
 * zone and 15-minute slot, so most calls are a map lookup and integer arithmetic.
 */

/** ISO 8601 weekday: 1 = Monday … 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7

/** The local calendar and clock fields of an instant. */
export type LocalDateTime = {
  year: number
  /** 1–12 */
  month: number
  /** 1–31 */
  day: number
  /** 0–23 */
  hour: number
  minute: number
  second: number
  millisecond: number
  weekday: IsoWeekday
}

/** A wall-clock time in a zone; omitted clock fields are 0. */
export type WallClockTime = {
  year: number
  /** 1–12 */
  month: number
  day: number
  hour?: number
  minute?: number
  second?: number
  millisecond?: number
}

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

/** Offsets are cached per slot of this length (every offset in use changes on a slot boundary). */
const SLOT_MS = 15 * MINUTE_MS
/** Slots cached per zone before the cache starts over (50 000 slots ≈ 520 days). */
const MAX_CACHED_SLOTS = 50_000

const formatters = new Map<string, Intl.DateTimeFormat>()
const offsetCaches = new Map<string, Map<number, number>>()

/** The zone's formatter, created once; throws a RangeError for a zone Intl does not know. */
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** True when `timeZone` is an IANA zone this runtime knows (`UTC` included). */
export function isTimeZone(timeZone: string): boolean {
  // A name, not an offset: PostgreSQL reads `+01:00` with the opposite sign to Intl.
  if (typeof timeZone !== 'string' || !/^[A-Za-z]/.test(timeZone)) return false
  try {
    formatterOf(timeZone)
    return true
  } catch {
    return false
  }
}

/** The problem with a time zone that is not one, as validation messages word it. */
export const TIME_ZONE_PROBLEM = 'must be an IANA time zone name such as America/New_York'

/** Throws a clear error when `timeZone` is not an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  if (!isTimeZone(timeZone))
    throw new RangeError(`unknown time zone '${timeZone}': ${TIME_ZONE_PROBLEM}`)
}

/** The offset at `ms` as Intl measures it (whole seconds; `ms` truncated to its second). */
function measuredOffset(ms: number, timeZone: string): number {
  let year = 0
  let month = 1
  let day = 1
  let hour = 0
  let minute = 0
  let second = 0
  for (const p of formatterOf(timeZone).formatToParts(ms)) {
    switch (p.type) {
      case 'year':
        year = Number(p.value)
        break
      case 'month':
        month = Number(p.value)
        break
      case 'day':
        day = Number(p.value)
        break
      case 'hour':
        // Some Intl builds print midnight as 24 even with h23.
        hour = Number(p.value) % 24
        break
      case 'minute':
        minute = Number(p.value)
        break
      case 'second':
        second = Number(p.value)
        break
    }
  }
  const wall = new Date(0)
  wall.setUTCFullYear(year, month - 1, day)
  wall.setUTCHours(hour, minute, second, 0)
  return wall.getTime() - Math.floor(ms / 1000) * 1000
}

/**
 * Milliseconds local time is ahead of UTC at `ms` (New York in winter: −18 000 000). Cached per
 * 15-minute slot; a slot holding an offset change (none does in current zones, some did in the
 * past) is measured at every call.
 */
export function utcOffsetAt(ms: number, timeZone: string): number {
  let cache = offsetCaches.get(timeZone)
  if (!cache) {
    formatterOf(timeZone)
    cache = new Map()
    offsetCaches.set(timeZone, cache)
  }
  const slot = Math.floor(ms / SLOT_MS)
  let offset = cache.get(slot)
  if (offset === undefined) {
    const start = slot * SLOT_MS
    const first = measuredOffset(start, timeZone)
    offset = first === measuredOffset(start + SLOT_MS - 1, timeZone) ? first : NaN
    if (cache.size >= MAX_CACHED_SLOTS) cache.clear()
    cache.set(slot, offset)
  }
  return Number.isNaN(offset) ? measuredOffset(ms, timeZone) : offset
}

/** Epoch day (days since 1970-01-01) of a wall-clock instant expressed as UTC ms. */
const epochDay = (wallMs: number) => Math.floor(wallMs / DAY_MS)

/** ISO weekday of an epoch day: 1970-01-01 was a Thursday (4). */
const weekdayOfEpochDay = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1

/** The local calendar and clock fields of `ms` in `timeZone`. */
export function localTimeOf(ms: number, timeZone: string): LocalDateTime {
  const wallMs = ms + utcOffsetAt(ms, timeZone)
  const d = new Date(wallMs)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    weekday: weekdayOfEpochDay(epochDay(wallMs)) as IsoWeekday,
  }
}

/** The local hour of `ms`, 0–23. */
export function localHourOf(ms: number, timeZone: string): number {
  const wallMs = ms + utcOffsetAt(ms, timeZone)
  return Math.floor((wallMs - epochDay(wallMs) * DAY_MS) / HOUR_MS)
}

/** The local ISO weekday of `ms`: 1 = Monday … 7 = Sunday. */
export function isoWeekdayOf(ms: number, timeZone: string): IsoWeekday {
  return weekdayOfEpochDay(epochDay(ms + utcOffsetAt(ms, timeZone))) as IsoWeekday
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** `YYYY-MM-DD` of calendar fields. */
function formatDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`
}

/** The local date of `ms`: `"2026-11-21"`. */
export function localDateOf(ms: number, timeZone: string): string {
  const d = new Date(ms + utcOffsetAt(ms, timeZone))
  return formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** The fields of a local date `YYYY-MM-DD`; throws on anything else (a date that does not exist included). */
export function parseLocalDate(date: string): { year: number; month: number; day: number } {
  const m = DATE.exec(date)
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
    const check = new Date(0)
    check.setUTCFullYear(year, month - 1, day)
    if (check.getUTCMonth() === month - 1 && check.getUTCDate() === day) return { year, month, day }
  }
  throw new RangeError(`not a date (YYYY-MM-DD): '${date}'`)
}

/** The calendar date `days` days after `date` (negative: before): `addDays('2026-12-31', 1)` → `'2027-01-01'`. */
export function addDays(date: string, days: number): string {
  const { year, month, day } = parseLocalDate(date)
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day + days)
  return formatDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())
}

/**
 * The instant a local wall-clock time names in `timeZone`. A time the autumn change repeats is its
 * first occurrence; a time the spring change skips moves forward by the gap (02:30 → 03:30).
 */
export function instantOfLocalTime(wall: WallClockTime, timeZone: string): number {
  const d = new Date(0)
  d.setUTCFullYear(wall.year, wall.month - 1, wall.day)
  d.setUTCHours(wall.hour ?? 0, wall.minute ?? 0, wall.second ?? 0, wall.millisecond ?? 0)
  const wallMs = d.getTime()
  // The offsets in force around it: at most two differ in any two days.
  const before = utcOffsetAt(wallMs - DAY_MS, timeZone)
  const candidates = new Set([
    before,
    utcOffsetAt(wallMs, timeZone),
    utcOffsetAt(wallMs + DAY_MS, timeZone),
  ])
  let first = Infinity
  for (const offset of candidates) {
    const t = wallMs - offset
    if (t < first && utcOffsetAt(t, timeZone) === offset) first = t
  }
  // None maps back: the time is in a gap; read it with the offset before the change.
  return first === Infinity ? wallMs - before : first
}

/** The first instant of the local date `date` (`YYYY-MM-DD`) in `timeZone`. */
export function startOfLocalDate(date: string, timeZone: string): number {
  return instantOfLocalTime(parseLocalDate(date), timeZone)
}

/** The first instant of the local day that holds `ms` (its local midnight). */
export function startOfLocalDay(ms: number, timeZone: string): number {
  const d = new Date(ms + utcOffsetAt(ms, timeZone))
  return instantOfLocalTime(
    { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() },
    timeZone,
  )
}

/** The first instant of the local day after the one that holds `ms`. */
export function startOfNextLocalDay(ms: number, timeZone: string): number {
  const d = new Date(ms + utcOffsetAt(ms, timeZone))
  return instantOfLocalTime(
    { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() + 1 },
    timeZone,
  )
}

/** True when `ms` starts a local day. */
export function isLocalMidnight(ms: number, timeZone: string): boolean {
  return startOfLocalDay(ms, timeZone) === ms
}

/** The starts of the local days that fall in [fromMs, toMs), in order. */
export function localMidnightsIn(fromMs: number, toMs: number, timeZone: string): number[] {
  const out: number[] = []
  let t = startOfLocalDay(fromMs, timeZone)
  if (t < fromMs) t = startOfNextLocalDay(fromMs, timeZone)
  while (t < toMs) {
    out.push(t)
    const next = startOfNextLocalDay(t, timeZone)
    t = next > t ? next : t + HOUR_MS
  }
  return out
}

/** The instant of local `hour`:00 on the local day that holds `ms`. */
export function atLocalHour(ms: number, hour: number, timeZone: string): number {
  const d = new Date(ms + utcOffsetAt(ms, timeZone))
  return instantOfLocalTime(
    { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour },
    timeZone,
  )
}

/**
 * The same local wall-clock time `days` local days later (negative: earlier), across DST changes:
 * Tuesday 18:00 in summer → the Tuesday a week before at 18:00 in winter.
 */
export function shiftLocalDays(ms: number, days: number, timeZone: string): number {
  const d = new Date(ms + utcOffsetAt(ms, timeZone))
  return instantOfLocalTime(
    {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate() + days,
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      millisecond: d.getUTCMilliseconds(),
    },
    timeZone,
  )
}

/**
 * For every local (weekday, hour), how many distinct local dates have that hour inside
 * [fromMs, toMs), counting whole UTC hours (the hourly aggregate's buckets). Key:
 * `weekday * 100 + hour`. A spring gap's hour does not occur; an autumn hour counts once.
 */
export function weekdayHourOccurrences(
  fromMs: number,
  toMs: number,
  timeZone: string,
): Map<number, number> {
  const dates = new Map<number, Set<number>>()
  for (let t = Math.ceil(fromMs / HOUR_MS) * HOUR_MS; t < toMs; t += HOUR_MS) {
    const wallMs = t + utcOffsetAt(t, timeZone)
    const day = epochDay(wallMs)
    const key = weekdayOfEpochDay(day) * 100 + Math.floor((wallMs - day * DAY_MS) / HOUR_MS)
    let set = dates.get(key)
    if (!set) dates.set(key, (set = new Set()))
    set.add(day)
  }
  return new Map([...dates].map(([k, s]) => [k, s.size]))
}

/**
 * `localDateOf` for a stream of mostly ordered instants (ingest asks it per sighting): the last
 * local day's bounds are remembered, so an instant inside them costs two comparisons.
 */
export function createLocalDateResolver(timeZone: string): (ms: number) => string {
  assertTimeZone(timeZone)
  let start = 0
  let end = 0
  let date = ''
  return (ms) => {
    if (ms >= start && ms < end) return date
    date = localDateOf(ms, timeZone)
    start = startOfLocalDay(ms, timeZone)
    end = startOfNextLocalDay(ms, timeZone)
    return date
  }
}
