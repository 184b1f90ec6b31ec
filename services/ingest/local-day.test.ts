import { describe, expect, it } from 'vitest'
import { createDayResolver, localDay, nextDay, startOfLocalDay } from './local-day.ts'

const TZ = 'Europe/Rome'
const HOUR = 3_600_000
const at = (iso: string) => Date.parse(iso)

describe(localDay.name, () => {
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
  ])('puts %s on the Rome day %s', (iso, day) => {
    expect(localDay(at(iso), TZ)).toBe(day)
  })

  it('depends on the time zone it is given', () => {
    const ms = at('2026-03-28T23:30:00.000Z')
    expect(localDay(ms, 'UTC')).toBe('2026-03-28')
    expect(localDay(ms, TZ)).toBe('2026-03-29')
  })
})

describe(startOfLocalDay.name, () => {
  it.each([
    ['2026-03-28', '2026-03-27T23:00:00.000Z'],
    ['2026-03-29', '2026-03-28T23:00:00.000Z'],
    ['2026-03-30', '2026-03-29T22:00:00.000Z'],
    ['2026-10-25', '2026-10-24T22:00:00.000Z'],
    ['2026-10-26', '2026-10-25T23:00:00.000Z'],
    ['2026-07-15', '2026-07-14T22:00:00.000Z'],
    ['2027-01-01', '2026-12-31T23:00:00.000Z'],
  ])('starts the Rome day %s at local midnight, %s', (day, iso) => {
    expect(new Date(startOfLocalDay(day, TZ)).toISOString()).toBe(iso)
  })

  it('starts a UTC day at UTC midnight', () => {
    expect(startOfLocalDay('2026-03-29', 'UTC')).toBe(at('2026-03-29T00:00:00.000Z'))
  })

  it.each([
    ['2026-03-29', 23],
    ['2026-10-25', 25],
    ['2026-03-28', 24],
    ['2026-03-30', 24],
    ['2026-10-24', 24],
    ['2026-10-26', 24],
  ])('makes the Rome day %s %i hours long', (day, hours) => {
    expect(startOfLocalDay(nextDay(day), TZ) - startOfLocalDay(day, TZ)).toBe(hours * HOUR)
  })

  it('returns an instant that localDay puts on the same day, one ms after the previous day', () => {
    for (const day of ['2026-03-29', '2026-03-30', '2026-10-25', '2026-10-26']) {
      const start = startOfLocalDay(day, TZ)
      expect(localDay(start, TZ)).toBe(day)
      expect(localDay(start - 1, TZ)).not.toBe(day)
    }
  })
})

describe(nextDay.name, () => {
  it.each([
    ['2026-03-28', '2026-03-29'],
    ['2026-03-29', '2026-03-30'],
    ['2026-10-25', '2026-10-26'],
    ['2026-02-28', '2026-03-01'],
    ['2028-02-28', '2028-02-29'],
    ['2026-12-31', '2027-01-01'],
  ])('follows %s with %s', (day, next) => {
    expect(nextDay(day)).toBe(next)
  })
})

describe(createDayResolver.name, () => {
  const STEP = 17 * 60_000

  it.each([
    ['spring-forward', '2026-03-25T00:00:00.000Z', '2026-04-02T00:00:00.000Z'],
    ['fall-back', '2026-10-21T00:00:00.000Z', '2026-10-29T00:00:00.000Z'],
  ])('agrees with localDay every 17 minutes across the %s week', (_week, from, to) => {
    const sut = createDayResolver(TZ)
    const days = new Set<string>()
    for (let ms = at(from); ms < at(to); ms += STEP) {
      const day = sut(ms)
      expect(day).toBe(localDay(ms, TZ))
      days.add(day)
    }
    expect(days.size).toBeGreaterThanOrEqual(8)
  })

  it('agrees with localDay when walked backwards and jumping between weeks', () => {
    const sut = createDayResolver(TZ)
    const spring = at('2026-03-25T00:00:00.000Z')
    const autumn = at('2026-10-21T00:00:00.000Z')
    for (let i = Math.floor((8 * 24 * 60) / 17); i >= 0; i--) {
      for (const ms of [spring + i * STEP, autumn + i * STEP])
        expect(sut(ms)).toBe(localDay(ms, TZ))
    }
  })

  it('changes day exactly at local midnight on both DST days', () => {
    const sut = createDayResolver(TZ)
    for (const iso of ['2026-03-29T22:00:00.000Z', '2026-10-25T23:00:00.000Z']) {
      const midnight = at(iso)
      const before = sut(midnight - 1)
      const after = sut(midnight)
      expect(after).toBe(nextDay(before))
      expect(sut(midnight - 1)).toBe(before)
    }
  })
})
