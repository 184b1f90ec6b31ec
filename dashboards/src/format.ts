export function createCountFormat(locale: string): (value: number) => string {
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: 0, useGrouping: 'always' })
  return (value) => format.format(value)
}

/** A share in [0, 1] as a percentage: `0.1234` → "12.3%" (en) or "12,3%" (it). */
export function createPercentFormat(locale: string, digits = 1): (share: number) => string {
  const format = new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 0,
    maximumFractionDigits: digits,
  })
  return (share) => format.format(share)
}

/** A signed percentage change: `12.5` → "+12.5%", `-3` → "−3%", `0` → "±0%". */
export function createDeltaPercentFormat(locale: string): (pct: number) => string {
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 })
  return (pct) => {
    const rounded = Math.round(pct * 10) / 10
    if (rounded === 0) return '±0%'
    return `${rounded > 0 ? '+' : '−'}${format.format(Math.abs(rounded))}%`
  }
}

/** A signed count: `+1,234` / `−5` / `±0`. */
export function createDeltaCountFormat(locale: string): (value: number) => string {
  const count = createCountFormat(locale)
  return (value) => {
    const rounded = Math.round(value)
    if (rounded === 0) return '±0'
    return `${rounded > 0 ? '+' : '−'}${count(Math.abs(rounded))}`
  }
}

/** Seconds as minutes with one decimal: `385.7` → "6.4 min" (en) or "6,4 min" (it). */
export function createMinutesFormat(locale: string): (seconds: number) => string {
  const format = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  })
  return (seconds) => `${format.format(seconds / 60)} min`
}

/** A number with at most `digits` decimals, grouped. */
export function createDecimalFormat(locale: string, digits = 1): (value: number) => string {
  const format = new Intl.NumberFormat(locale, {
    maximumFractionDigits: digits,
    useGrouping: 'always',
  })
  return (value) => format.format(value)
}

export interface DateFormats {
  /** "14:30" */
  time: (date: Date) => string
  /** "Sat 21 Nov" / "sab 21 nov" */
  day: (date: Date) => string
  /** "Sat 21 Nov, 14:30" */
  dayTime: (date: Date) => string
  /** "21 Nov 2026" */
  date: (date: Date) => string
  /** "Monday" … "Sunday" short names, Monday first: "Mon" / "lun" */
  weekdaysShort: readonly string[]
  weekdaysLong: readonly string[]
}

/** Dates in the district's time zone, whatever the browser's, named in the chosen locale. */
export function createDateFormats(locale: string, timeZone: string): DateFormats {
  const time = new Intl.DateTimeFormat(locale, {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
  })
  const day = new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone,
  })
  const dayTime = new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
  })
  const date = new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone,
  })
  // 2024-01-01 was a Monday; noon UTC is the same weekday in every time zone.
  const monday = Date.UTC(2024, 0, 1, 12)
  const days = Array.from({ length: 7 }, (_, i) => new Date(monday + i * 86_400_000))
  const short = new Intl.DateTimeFormat(locale, { weekday: 'short', timeZone: 'UTC' })
  const long = new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' })
  return {
    time: (d) => time.format(d),
    day: (d) => day.format(d),
    dayTime: (d) => dayTime.format(d),
    date: (d) => date.format(d),
    weekdaysShort: days.map((d) => short.format(d)),
    weekdaysLong: days.map((d) => long.format(d)),
  }
}

/** Hour of day "09–10" for hour 9. */
export function hourRange(hour: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(hour)}–${pad((hour + 1) % 24)}`
}
