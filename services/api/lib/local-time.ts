/**
 * Wall-clock arithmetic in the district's time zone (Europe/Rome by default) with Intl only: local
 * days, the same local time N days earlier, weekday and hour of an instant. Instants are epoch ms.
 */
export type LocalParts = {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 }
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterOf(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(tz, f)
  }
  return f
}

export function localParts(ms: number, tz: string): LocalParts {
  const out: Record<string, string> = {}
  for (const p of formatterOf(tz).formatToParts(new Date(ms))) out[p.type] = p.value
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour),
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: WEEKDAYS[out.weekday ?? ''] ?? 0,
  }
}

/** Offset of local time from UTC at an instant, in ms (Rome: 3 600 000 in winter). */
export function offsetAt(ms: number, tz: string): number {
  const p = localParts(ms, tz)
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
  return wall - (ms - (((ms % 1000) + 1000) % 1000))
}

type Wall = {
  year: number
  month: number
  day: number
  hour?: number
  minute?: number
  second?: number
  ms?: number
}

/**
 * The instant a local wall-clock time names. An ambiguous time (the repeated hour in autumn) is
 * its first occurrence; a time in the spring gap moves forward by the gap.
 */
export function fromLocal(w: Wall, tz: string): number {
  const wall = Date.UTC(
    w.year,
    w.month - 1,
    w.day,
    w.hour ?? 0,
    w.minute ?? 0,
    w.second ?? 0,
    w.ms ?? 0,
  )
  const before = offsetAt(wall - 86_400_000, tz)
  const after = offsetAt(wall + 86_400_000, tz)
  const valid = [...new Set([before, after])]
    .map((o) => wall - o)
    .filter((t) => offsetAt(t, tz) === wall - t)
  if (valid.length) return Math.min(...valid)
  return wall - before
}

/** Local midnight starting the local day of `ms`. */
export function localMidnight(ms: number, tz: string): number {
  const p = localParts(ms, tz)
  return fromLocal({ year: p.year, month: p.month, day: p.day }, tz)
}

/** The same local wall-clock time `days` days later (negative: earlier), across DST changes. */
export function shiftLocalDays(ms: number, days: number, tz: string): number {
  const p = localParts(ms, tz)
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + days))
  const subSecond = ((ms % 1000) + 1000) % 1000
  return fromLocal(
    {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: p.hour,
      minute: p.minute,
      second: p.second,
      ms: subSecond,
    },
    tz,
  )
}

/** `"2026-11-21"`: the local date of an instant. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz)
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`
}

/** True when `ms` is a local midnight. */
export function isLocalMidnight(ms: number, tz: string): boolean {
  return localMidnight(ms, tz) === ms
}

const HOUR = 3_600_000

/**
 * For every local (weekday, hour), how many distinct local dates have that hour inside [from, to),
 * counting the UTC hours the hourly aggregate buckets by. Key: `weekday * 100 + hour`.
 */
export function weekdayHourOccurrences(
  fromMs: number,
  toMs: number,
  tz: string,
): Map<number, number> {
  const dates = new Map<number, Set<string>>()
  for (let t = Math.ceil(fromMs / HOUR) * HOUR; t < toMs; t += HOUR) {
    const p = localParts(t, tz)
    const k = p.weekday * 100 + p.hour
    const set = dates.get(k) ?? new Set<string>()
    set.add(`${p.year}-${p.month}-${p.day}`)
    dates.set(k, set)
  }
  return new Map([...dates].map(([k, s]) => [k, s.size]))
}
