import { describe, expect, it } from 'vitest'
import {
  addDays,
  assertTimeZone,
  atLocalHour,
  createLocalDateResolver,
  HOUR_MS,
  instantOfLocalTime,
  isLocalMidnight,
  isoWeekdayOf,
  isTimeZone,
  localDateOf,
  localHourOf,
  localMidnightsIn,
  localTimeOf,
  parseLocalDate,
  shiftLocalDays,
  startOfLocalDate,
  startOfLocalDay,
  startOfNextLocalDay,
  utcOffsetAt,
  weekdayHourOccurrences,
} from './local-time.ts'

const ROME = 'Europe/Rome'
const NEW_YORK = 'America/New_York'
/** +05:30 all year. */
const KOLKATA = 'Asia/Kolkata'
/** Southern hemisphere, +09:30 / +10:30: summer time from October to April. */
const ADELAIDE = 'Australia/Adelaide'
/** Southern hemisphere, −04:00 / −03:00, changing at local midnight. */
const SANTIAGO = 'America/Santiago'
const t = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()

/** Hours from the start of `date` to the start of the next date. */
const hoursOf = (date: string, tz: string) =>
  (startOfLocalDate(addDays(date, 1), tz) - startOfLocalDate(date, tz)) / HOUR_MS

describe('local days across DST changes', () => {
  it.each([
    [ROME, '2026-03-29', 23, '2026-03-28T23:00:00.000Z'],
    [ROME, '2026-10-25', 25, '2026-10-24T22:00:00.000Z'],
    [ROME, '2026-03-28', 24, '2026-03-27T23:00:00.000Z'],
    [ROME, '2026-07-15', 24, '2026-07-14T22:00:00.000Z'],
    [NEW_YORK, '2026-03-08', 23, '2026-03-08T05:00:00.000Z'],
    [NEW_YORK, '2026-11-01', 25, '2026-11-01T04:00:00.000Z'],
    [ADELAIDE, '2026-10-04', 23, '2026-10-03T14:30:00.000Z'],
    [ADELAIDE, '2026-04-05', 25, '2026-04-04T13:30:00.000Z'],
    [ADELAIDE, '2026-07-01', 24, '2026-06-30T14:30:00.000Z'],
    [KOLKATA, '2026-03-29', 24, '2026-03-28T18:30:00.000Z'],
    // The spring change swallows midnight: the day starts at 01:00.
    [SANTIAGO, '2026-09-06', 23, '2026-09-06T04:00:00.000Z'],
    // The autumn change repeats 23:00 of the day before.
    [SANTIAGO, '2026-04-04', 25, '2026-04-04T03:00:00.000Z'],
    [SANTIAGO, '2026-04-05', 24, '2026-04-05T04:00:00.000Z'],
  ])('%s %s lasts %i hours from %s', (tz, date, hours, start) => {
    expect(iso(startOfLocalDate(date, tz))).toBe(start)
    expect(hoursOf(date, tz)).toBe(hours)
    expect(localDateOf(startOfLocalDate(date, tz), tz)).toBe(date)
    expect(localDateOf(startOfLocalDate(date, tz) - 1, tz)).toBe(addDays(date, -1))
    expect(isLocalMidnight(startOfLocalDate(date, tz), tz)).toBe(true)
    expect(isLocalMidnight(startOfLocalDate(date, tz) + 1, tz)).toBe(false)
  })

  it.each([
    ['2026-03-28T22:59:59.999Z', '2026-03-28'],
    ['2026-03-28T23:00:00.000Z', '2026-03-29'],
    ['2026-03-29T21:59:59.999Z', '2026-03-29'],
    ['2026-03-29T22:00:00.000Z', '2026-03-30'],
    ['2026-10-24T21:59:59.999Z', '2026-10-24'],
    ['2026-10-24T22:00:00.000Z', '2026-10-25'],
    ['2026-10-25T22:59:59.999Z', '2026-10-25'],
    ['2026-10-25T23:00:00.000Z', '2026-10-26'],
    ['2026-12-31T23:00:00.000Z', '2027-01-01'],
  ])('puts %s on the Rome date %s', (at, date) => {
    expect(localDateOf(t(at), ROME)).toBe(date)
  })

  it.each([
    ['2026-03-30', '2026-03-29T22:00:00.000Z'],
    ['2026-10-26', '2026-10-25T23:00:00.000Z'],
    ['2027-01-01', '2026-12-31T23:00:00.000Z'],
  ])('starts the Rome date %s at local midnight, %s', (date, start) => {
    expect(iso(startOfLocalDate(date, ROME))).toBe(start)
  })

  it('starts a UTC day at UTC midnight', () => {
    expect(startOfLocalDate('2026-03-29', 'UTC')).toBe(t('2026-03-29T00:00:00.000Z'))
  })

  it('starts the local day of an instant, and the next one, on change days', () => {
    expect(iso(startOfLocalDay(t('2026-03-29T12:00:00Z'), ROME))).toBe('2026-03-28T23:00:00.000Z')
    expect(iso(startOfLocalDay(t('2026-03-29T22:30:00Z'), ROME))).toBe('2026-03-29T22:00:00.000Z')
    expect(iso(startOfNextLocalDay(t('2026-10-25T12:00:00Z'), ROME))).toBe(
      '2026-10-25T23:00:00.000Z',
    )
    expect(iso(startOfLocalDay(t('2026-04-05T10:00:00Z'), ADELAIDE))).toBe(
      '2026-04-04T13:30:00.000Z',
    )
    expect(iso(startOfNextLocalDay(t('2026-04-05T10:00:00Z'), ADELAIDE))).toBe(
      '2026-04-05T14:30:00.000Z',
    )
  })

  it('depends on the time zone it is given', () => {
    const ms = t('2026-03-28T23:30:00.000Z')
    expect(localDateOf(ms, 'UTC')).toBe('2026-03-28')
    expect(localDateOf(ms, ROME)).toBe('2026-03-29')
    expect(localDateOf(ms, NEW_YORK)).toBe('2026-03-28')
    expect(localDateOf(ms, KOLKATA)).toBe('2026-03-29')
  })
})

describe('local fields of an instant', () => {
  it('gives the ISO weekday and hour either side of the Rome spring change', () => {
    expect(localTimeOf(t('2026-03-29T00:30:00Z'), ROME)).toMatchObject({ weekday: 7, hour: 1 })
    expect(localTimeOf(t('2026-03-29T01:30:00Z'), ROME)).toMatchObject({ weekday: 7, hour: 3 })
    expect(localTimeOf(t('2026-03-29T22:30:00Z'), ROME)).toEqual({
      year: 2026,
      month: 3,
      day: 30,
      hour: 0,
      minute: 30,
      second: 0,
      millisecond: 0,
      weekday: 1,
    })
  })

  it('uses ISO weekdays, 1 = Monday … 7 = Sunday', () => {
    // Monday 16 November 2026 … Sunday 22 November, at local noon.
    const days = Array.from({ length: 7 }, (_, i) =>
      isoWeekdayOf(t(`2026-11-${16 + i}T11:00:00Z`), ROME),
    )
    expect(days).toEqual([1, 2, 3, 4, 5, 6, 7])
    // Sunday 23:30 in New York is Monday in UTC.
    expect(isoWeekdayOf(t('2026-11-23T04:30:00Z'), NEW_YORK)).toBe(7)
    expect(isoWeekdayOf(t('2026-11-23T04:30:00Z'), 'UTC')).toBe(1)
  })

  it('reads the hour in zones with half- and quarter-hour offsets', () => {
    expect(localTimeOf(t('2026-03-28T18:29:59.999Z'), KOLKATA)).toMatchObject({
      day: 28,
      hour: 23,
      minute: 59,
      second: 59,
      millisecond: 999,
      weekday: 6,
    })
    expect(localHourOf(t('2026-03-28T18:30:00Z'), KOLKATA)).toBe(0)
    expect(localHourOf(t('2026-10-03T16:29:00Z'), ADELAIDE)).toBe(1)
    expect(localHourOf(t('2026-10-03T16:30:00Z'), ADELAIDE)).toBe(3)
    expect(localTimeOf(t('2026-01-01T00:00:00Z'), 'Asia/Kathmandu')).toMatchObject({
      hour: 5,
      minute: 45,
    })
  })

  it('gives the offset from UTC', () => {
    expect(utcOffsetAt(t('2026-01-15T12:00:00Z'), ROME)).toBe(HOUR_MS)
    expect(utcOffsetAt(t('2026-07-15T12:00:00Z'), ROME)).toBe(2 * HOUR_MS)
    expect(utcOffsetAt(t('2026-01-15T12:00:00Z'), NEW_YORK)).toBe(-5 * HOUR_MS)
    expect(utcOffsetAt(t('2026-01-15T12:00:00Z'), ADELAIDE)).toBe(10.5 * HOUR_MS)
    expect(utcOffsetAt(t('2026-07-15T12:00:00Z'), ADELAIDE)).toBe(9.5 * HOUR_MS)
  })

  it('reads a change that falls inside a cached quarter hour (St. John’s changed at 00:01 until 2011)', () => {
    const stJohns = 'America/St_Johns'
    expect(localTimeOf(t('2010-03-14T03:30:30Z'), stJohns)).toMatchObject({ hour: 0, minute: 0 })
    expect(localTimeOf(t('2010-03-14T03:31:30Z'), stJohns)).toMatchObject({ hour: 1, minute: 1 })
    expect(localTimeOf(t('2010-03-14T03:30:59Z'), stJohns)).toMatchObject({ hour: 0, minute: 0 })
  })

  it('agrees with Intl everywhere, offsets of the past that are not whole minutes included', () => {
    const zones = [
      ROME,
      NEW_YORK,
      ADELAIDE,
      SANTIAGO,
      'Australia/Lord_Howe',
      'America/St_Johns',
      'Europe/Amsterdam',
      'Asia/Kathmandu',
      'Pacific/Apia',
    ]
    let seed = 12345
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const from = t('1900-01-01T00:00:00Z')
    const to = t('2100-01-01T00:00:00Z')
    for (const tz of zones) {
      const intl = new Intl.DateTimeFormat('en-US', {
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
      const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
      for (let i = 0; i < 2000; i++) {
        const ms = Math.floor(from + random() * (to - from))
        const p = Object.fromEntries(intl.formatToParts(ms).map((x) => [x.type, x.value]))
        const want = {
          year: Number(p.year),
          month: Number(p.month),
          day: Number(p.day),
          hour: Number(p.hour) % 24,
          minute: Number(p.minute),
          second: Number(p.second),
          weekday: weekdays.indexOf(p.weekday ?? '') + 1,
        }
        const { millisecond: _ms, ...got } = localTimeOf(ms, tz)
        expect(got, `${tz} ${iso(ms)}`).toEqual(want)
      }
    }
  })
})

describe(instantOfLocalTime.name, () => {
  it('maps wall-clock times to instants in winter and summer', () => {
    expect(iso(instantOfLocalTime({ year: 2026, month: 1, day: 15, hour: 9 }, ROME))).toBe(
      '2026-01-15T08:00:00.000Z',
    )
    expect(iso(instantOfLocalTime({ year: 2026, month: 7, day: 15, hour: 9 }, ROME))).toBe(
      '2026-07-15T07:00:00.000Z',
    )
    expect(
      iso(instantOfLocalTime({ year: 2026, month: 1, day: 15, hour: 9, minute: 15 }, ADELAIDE)),
    ).toBe('2026-01-14T22:45:00.000Z')
  })

  it('takes the first of a repeated hour and moves a time in the gap forward', () => {
    const at = (tz: string, month: number, day: number, hour: number, minute = 30) =>
      iso(instantOfLocalTime({ year: 2026, month, day, hour, minute }, tz))
    expect(at(ROME, 10, 25, 2)).toBe('2026-10-25T00:30:00.000Z')
    expect(at(ROME, 3, 29, 2)).toBe('2026-03-29T01:30:00.000Z')
    expect(at(NEW_YORK, 11, 1, 1)).toBe('2026-11-01T05:30:00.000Z')
    expect(at(NEW_YORK, 3, 8, 2)).toBe('2026-03-08T07:30:00.000Z')
    expect(at(ADELAIDE, 4, 5, 2)).toBe('2026-04-04T16:00:00.000Z')
    expect(at(ADELAIDE, 10, 4, 2)).toBe('2026-10-03T17:00:00.000Z')
    expect(at(SANTIAGO, 9, 6, 0, 0)).toBe('2026-09-06T04:00:00.000Z')
    expect(at(SANTIAGO, 4, 4, 23)).toBe('2026-04-05T02:30:00.000Z')
  })

  it('reads back what localTimeOf gives, milliseconds included', () => {
    for (const tz of [ROME, NEW_YORK, ADELAIDE, KOLKATA]) {
      for (
        let ms = t('2026-03-01T00:00:00.123Z');
        ms < t('2026-11-30T00:00:00Z');
        ms += 7 * HOUR_MS + 1
      ) {
        expect(instantOfLocalTime(localTimeOf(ms, tz), tz) <= ms).toBe(true)
        expect(localTimeOf(instantOfLocalTime(localTimeOf(ms, tz), tz), tz)).toEqual(
          localTimeOf(ms, tz),
        )
      }
    }
  })
})

describe(shiftLocalDays.name, () => {
  it('keeps the wall-clock time across a DST change', () => {
    // Tuesday 18:00 CEST → the Tuesday a week before at 18:00 CET.
    expect(iso(shiftLocalDays(t('2026-03-31T16:00:00Z'), -7, ROME))).toBe(
      '2026-03-24T17:00:00.000Z',
    )
    expect(iso(shiftLocalDays(t('2026-03-24T17:00:00Z'), 7, ROME))).toBe('2026-03-31T16:00:00.000Z')
    expect(iso(shiftLocalDays(t('2026-05-12T10:07:30.250Z'), -28, ROME))).toBe(
      '2026-04-14T10:07:30.250Z',
    )
    // Adelaide's summer time ends in April: 09:00 ACDT → 09:00 ACST a week later.
    expect(iso(shiftLocalDays(t('2026-03-31T22:30:00Z'), 7, ADELAIDE))).toBe(
      '2026-04-07T23:30:00.000Z',
    )
  })
})

describe(weekdayHourOccurrences.name, () => {
  it('counts each local weekday and hour once per date, missing the spring gap', () => {
    const occ = weekdayHourOccurrences(t('2026-03-22T23:00:00Z'), t('2026-04-05T22:00:00Z'), ROME)
    expect(occ.get(100)).toBe(2)
    expect(occ.get(723)).toBe(2)
    expect(occ.get(702)).toBe(1)
    expect([...occ.values()].reduce((a, b) => a + b, 0)).toBe(14 * 24 - 1)
  })

  it('counts the repeated autumn hour once', () => {
    const occ = weekdayHourOccurrences(t('2026-10-24T22:00:00Z'), t('2026-10-25T23:00:00Z'), ROME)
    expect(occ.get(702)).toBe(1)
    expect(occ.get(703)).toBe(1)
  })

  it('puts half-hour zones in the local hour their UTC hour starts in', () => {
    // UTC hours of a Kolkata day start at :30 local.
    const occ = weekdayHourOccurrences(
      t('2026-03-28T18:30:00Z'),
      t('2026-03-29T18:30:00Z'),
      KOLKATA,
    )
    expect([...occ.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 24 }, (_, h) => 700 + h),
    )
  })
})

describe(localMidnightsIn.name, () => {
  it('lists the starts of the local days in [from, to)', () => {
    expect(
      localMidnightsIn(t('2026-03-28T23:00:00Z'), t('2026-03-30T22:00:00Z'), ROME).map(iso),
    ).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'])
    expect(
      localMidnightsIn(t('2026-03-28T23:00:01Z'), t('2026-03-30T22:00:01Z'), ROME).map(iso),
    ).toEqual(['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'])
    expect(localMidnightsIn(t('2026-10-25T01:00:00Z'), t('2026-10-25T20:00:00Z'), ROME)).toEqual([])
    expect(
      localMidnightsIn(t('2026-04-04T00:00:00Z'), t('2026-04-06T00:00:00Z'), ADELAIDE).map(iso),
    ).toEqual(['2026-04-04T13:30:00.000Z', '2026-04-05T14:30:00.000Z'])
  })
})

describe(atLocalHour.name, () => {
  it('gives local hour:00 on the local day of an instant', () => {
    expect(iso(atLocalHour(t('2026-10-25T20:00:00Z'), 0, ROME))).toBe('2026-10-24T22:00:00.000Z')
    expect(iso(atLocalHour(t('2026-10-25T20:00:00Z'), 12, ROME))).toBe('2026-10-25T11:00:00.000Z')
    expect(iso(atLocalHour(t('2026-03-28T17:00:00Z'), 6, KOLKATA))).toBe('2026-03-28T00:30:00.000Z')
  })
})

describe('local dates', () => {
  it.each([
    ['2026-03-28', 1, '2026-03-29'],
    ['2026-10-25', 1, '2026-10-26'],
    ['2026-02-28', 1, '2026-03-01'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2027-01-01', -1, '2026-12-31'],
    ['2026-11-21', -28, '2026-10-24'],
  ])('adds to %s %i days: %s', (date, days, want) => {
    expect(addDays(date, days)).toBe(want)
  })

  it('refuses what is not a date', () => {
    expect(parseLocalDate('2026-02-28')).toEqual({ year: 2026, month: 2, day: 28 })
    for (const bad of ['2026-02-30', '2026-13-01', '26-01-01', '2026-1-1', ''])
      expect(() => parseLocalDate(bad)).toThrow(/not a date/)
  })
})

describe('time zones', () => {
  it('accepts IANA names and refuses the rest', () => {
    for (const tz of [ROME, NEW_YORK, KOLKATA, 'UTC', 'Etc/GMT+5'])
      expect(isTimeZone(tz)).toBe(true)
    for (const tz of ['Mars/Base', '', ' ', '+01:00', '-05'])
      expect(isTimeZone(tz), JSON.stringify(tz)).toBe(false)
    expect(() => assertTimeZone('Mars/Base')).toThrow(/unknown time zone 'Mars\/Base'/)
    expect(() => createLocalDateResolver('Mars/Base')).toThrow(/unknown time zone/)
  })
})

describe(createLocalDateResolver.name, () => {
  const STEP = 17 * 60_000

  it.each([
    [ROME, '2026-03-25T00:00:00.000Z', '2026-04-02T00:00:00.000Z'],
    [ROME, '2026-10-21T00:00:00.000Z', '2026-10-29T00:00:00.000Z'],
    [ADELAIDE, '2026-04-01T00:00:00.000Z', '2026-04-09T00:00:00.000Z'],
    [SANTIAGO, '2026-09-02T00:00:00.000Z', '2026-09-10T00:00:00.000Z'],
  ])('agrees with localDateOf every 17 minutes across a change week (%s, %s)', (tz, from, to) => {
    const sut = createLocalDateResolver(tz)
    const dates = new Set<string>()
    for (let ms = t(from); ms < t(to); ms += STEP) {
      const date = sut(ms)
      expect(date).toBe(localDateOf(ms, tz))
      dates.add(date)
    }
    expect(dates.size).toBeGreaterThanOrEqual(8)
  })

  it('agrees with localDateOf when walked backwards and jumping between weeks', () => {
    const sut = createLocalDateResolver(ROME)
    const spring = t('2026-03-25T00:00:00.000Z')
    const autumn = t('2026-10-21T00:00:00.000Z')
    for (let i = Math.floor((8 * 24 * 60) / 17); i >= 0; i--) {
      for (const ms of [spring + i * STEP, autumn + i * STEP])
        expect(sut(ms)).toBe(localDateOf(ms, ROME))
    }
  })

  it('changes date exactly at local midnight on both DST days', () => {
    const sut = createLocalDateResolver(ROME)
    for (const at of ['2026-03-29T22:00:00.000Z', '2026-10-25T23:00:00.000Z']) {
      const midnight = t(at)
      const before = sut(midnight - 1)
      const after = sut(midnight)
      expect(after).toBe(addDays(before, 1))
      expect(sut(midnight - 1)).toBe(before)
    }
  })
})
