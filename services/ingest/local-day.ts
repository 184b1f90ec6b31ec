/** Local calendar day of an instant in a time zone, as `YYYY-MM-DD`. */
export function localDay(ms: number, tz: string): string {
  return dayFormatter(tz).format(new Date(ms))
}

const formatters = new Map<string, Intl.DateTimeFormat>()
function dayFormatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    // en-CA formats dates as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    })
    formatters.set(tz, f)
  }
  return f
}

/** Offset of `tz` from UTC at instant `ms`, in ms (Europe/Rome in winter: 3 600 000). */
function offsetMs(ms: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  )
  return asUtc - Math.floor(ms / 1000) * 1000
}

/** The instant local midnight starts `day` (`YYYY-MM-DD`) in `tz`, DST-aware. */
export function startOfLocalDay(day: string, tz: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const guess = Date.UTC(y, m - 1, d)
  let t = guess - offsetMs(guess, tz)
  t = guess - offsetMs(t, tz)
  return t
}

/** The day after `day`. */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)
}

/** `localDay` with the last day's [start, end) remembered: the hot path formats a date once a day. */
export function createDayResolver(tz: string): (ms: number) => string {
  let start = 0
  let end = 0
  let day = ''
  return (ms) => {
    if (ms >= start && ms < end) return day
    day = localDay(ms, tz)
    start = startOfLocalDay(day, tz)
    end = startOfLocalDay(nextDay(day), tz)
    return day
  }
}
