import { z } from 'zod'

/**
 * Public holidays: the Italian national ones built in (Easter Sunday and Monday computed), plus a
 * district's local ones from its file (`holidays: [{date | monthDay, name}]`: the patron saint's
 * day, a one-off closure). Dates are local `YYYY-MM-DD`. Pure; imports only zod.
 */

/** A local holiday of a district file: a single date, or a month-day every year. */
export const LocalHolidaySchema = z.union([
  z.strictObject({
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
    name: z.string().min(1).max(120),
  }),
  z.strictObject({
    monthDay: z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be MM-DD'),
    name: z.string().min(1).max(120),
  }),
])
export type LocalHoliday = z.infer<typeof LocalHolidaySchema>

export type Holiday = { date: string; name: string }

const pad = (n: number) => String(n).padStart(2, '0')
const dateOf = (year: number, month: number, day: number) => `${year}-${pad(month)}-${pad(day)}`

/** Easter Sunday of the Gregorian calendar (the anonymous Meeus/Jones/Butcher algorithm). */
export function easterSunday(year: number): { month: number; day: number } {
  const a = year % 19
  const b = Math.floor(year / 100)
  const c = year % 100
  const d = Math.floor(b / 4)
  const e = b % 4
  const f = Math.floor((b + 8) / 25)
  const g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - d - g + 15) % 30
  const i = Math.floor(c / 4)
  const k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7
  const m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31)
  const day = ((h + l - 7 * m + 114) % 31) + 1
  return { month, day }
}

/** The day after a local date (UTC arithmetic on the calendar date only). */
function nextDate(year: number, month: number, day: number): string {
  const t = new Date(Date.UTC(year, month - 1, day + 1))
  return dateOf(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate())
}

/**
 * Italy's national public holidays of `year` (L. 260/1949 and later), Easter Sunday and Easter
 * Monday included; St Francis' day (4 October) from 2026, when it became a holiday again.
 */
export function italianHolidays(year: number): Holiday[] {
  const easter = easterSunday(year)
  const fixed: [number, number, string][] = [
    [1, 1, 'Capodanno'],
    [1, 6, 'Epifania'],
    [4, 25, 'Festa della Liberazione'],
    [5, 1, 'Festa del Lavoro'],
    [6, 2, 'Festa della Repubblica'],
    [8, 15, 'Ferragosto'],
    [11, 1, 'Ognissanti'],
    [12, 8, 'Immacolata Concezione'],
    [12, 25, 'Natale'],
    [12, 26, 'Santo Stefano'],
  ]
  if (year >= 2026) fixed.push([10, 4, "San Francesco d'Assisi"])
  const out: Holiday[] = fixed.map(([m, d, name]) => ({ date: dateOf(year, m, d), name }))
  out.push({ date: dateOf(year, easter.month, easter.day), name: 'Pasqua' })
  out.push({ date: nextDate(year, easter.month, easter.day), name: "Lunedì dell'Angelo" })
  return out.sort((a, b) => a.date.localeCompare(b.date))
}

/**
 * Every holiday (national and the district's own) on the local dates from `fromDate` to `toDate`
 * (inclusive): date → name (names of two holidays on one date are joined).
 */
export function holidaysBetween(
  fromDate: string,
  toDate: string,
  local: readonly LocalHoliday[] = [],
): Map<string, string> {
  const out = new Map<string, string>()
  const add = (h: Holiday) => {
    if (h.date < fromDate || h.date > toDate) return
    const had = out.get(h.date)
    out.set(h.date, had && had !== h.name ? `${had} · ${h.name}` : h.name)
  }
  const y0 = Number(fromDate.slice(0, 4))
  const y1 = Number(toDate.slice(0, 4))
  for (let y = y0; y <= y1; y++) {
    for (const h of italianHolidays(y)) add(h)
    for (const h of local) add('date' in h ? h : { date: `${y}-${h.monthDay}`, name: h.name })
  }
  return out
}
