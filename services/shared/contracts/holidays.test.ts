import { describe, expect, it } from 'vitest'
import { easterSunday, holidaysBetween, italianHolidays, LocalHolidaySchema } from './holidays.ts'

describe('public holidays', () => {
  it.each([
    [2024, 3, 31],
    [2025, 4, 20],
    [2026, 4, 5],
    [2027, 3, 28],
    [2038, 4, 25],
    [2011, 4, 24],
  ])('computes Easter Sunday %i as %i-%i', (year, month, day) => {
    expect(easterSunday(year)).toEqual({ month, day })
  })

  it('has the Italian national holidays with Easter Monday the day after Easter', () => {
    const dates = italianHolidays(2026).map((h) => h.date)
    expect(dates).toContain('2026-04-06')
    expect(italianHolidays(2026).find((h) => h.date === '2026-04-06')?.name).toBe(
      "Lunedì dell'Angelo",
    )
    for (const d of ['2026-01-01', '2026-01-06', '2026-04-25', '2026-05-01', '2026-06-02'])
      expect(dates).toContain(d)
    for (const d of ['2026-08-15', '2026-11-01', '2026-12-08', '2026-12-25', '2026-12-26'])
      expect(dates).toContain(d)
    expect(dates).toContain('2026-10-04')
    expect(italianHolidays(2025).map((h) => h.date)).not.toContain('2025-10-04')
    // Easter Monday across a month end: Easter 2024-03-31.
    expect(italianHolidays(2024).map((h) => h.date)).toContain('2024-04-01')
  })

  it("adds a district's own holidays, by date or every year by month-day, inside the range", () => {
    const local = [
      { monthDay: '09-29', name: 'San Michele' },
      { date: '2026-03-02', name: 'Chiusura' },
    ]
    const h = holidaysBetween('2025-09-01', '2026-12-31', local)
    expect(h.get('2025-09-29')).toBe('San Michele')
    expect(h.get('2026-09-29')).toBe('San Michele')
    expect(h.get('2026-03-02')).toBe('Chiusura')
    expect(h.get('2025-12-25')).toBe('Natale')
    expect(h.has('2025-08-15')).toBe(false)
    // A local holiday on a national one keeps both names.
    expect(
      holidaysBetween('2026-04-25', '2026-04-25', [{ monthDay: '04-25', name: 'San Marco' }]),
    ).toEqual(new Map([['2026-04-25', 'Festa della Liberazione · San Marco']]))
  })

  it('refuses a malformed local holiday', () => {
    expect(LocalHolidaySchema.safeParse({ monthDay: '13-01', name: 'x' }).success).toBe(false)
    expect(LocalHolidaySchema.safeParse({ date: '2026-1-1', name: 'x' }).success).toBe(false)
    expect(LocalHolidaySchema.safeParse({ name: 'x' }).success).toBe(false)
  })
})
