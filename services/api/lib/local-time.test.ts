import { describe, expect, it } from 'vitest'
import {
  fromLocal,
  isLocalMidnight,
  localDate,
  localMidnight,
  localParts,
  shiftLocalDays,
  weekdayHourOccurrences,
} from './local-time.ts'

const ROME = 'Europe/Rome'
const t = (iso: string) => Date.parse(iso)

describe(localParts.name, () => {
  it('gives the local weekday and hour either side of the spring change', () => {
    expect(localParts(t('2026-03-29T00:30:00Z'), ROME)).toMatchObject({ weekday: 7, hour: 1 })
    expect(localParts(t('2026-03-29T01:30:00Z'), ROME)).toMatchObject({ weekday: 7, hour: 3 })
    expect(localParts(t('2026-03-29T22:30:00Z'), ROME)).toMatchObject({
      weekday: 1,
      hour: 0,
      day: 30,
    })
  })
})

describe(fromLocal.name, () => {
  it('maps wall-clock times to instants in winter and summer', () => {
    expect(fromLocal({ year: 2026, month: 1, day: 15, hour: 9 }, ROME)).toBe(
      t('2026-01-15T08:00:00Z'),
    )
    expect(fromLocal({ year: 2026, month: 7, day: 15, hour: 9 }, ROME)).toBe(
      t('2026-07-15T07:00:00Z'),
    )
  })

  it('takes the first of the repeated autumn hour and moves a spring-gap time forward', () => {
    expect(fromLocal({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, ROME)).toBe(
      t('2026-10-25T00:30:00Z'),
    )
    expect(fromLocal({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, ROME)).toBe(
      t('2026-03-29T01:30:00Z'),
    )
  })
})

describe(localMidnight.name, () => {
  it('starts the local day, which is 23 or 25 hours long on change days', () => {
    expect(localMidnight(t('2026-03-29T12:00:00Z'), ROME)).toBe(t('2026-03-28T23:00:00Z'))
    expect(localMidnight(t('2026-03-29T22:30:00Z'), ROME)).toBe(t('2026-03-29T22:00:00Z'))
    expect(isLocalMidnight(t('2026-10-24T22:00:00Z'), ROME)).toBe(true)
    expect(isLocalMidnight(t('2026-10-25T23:00:00Z'), ROME)).toBe(true)
    expect(localDate(t('2026-10-25T23:30:00Z'), ROME)).toBe('2026-10-26')
  })
})

describe(shiftLocalDays.name, () => {
  it('keeps the wall-clock time across a DST change', () => {
    // Tuesday 18:00 CEST → the Tuesday a week before at 18:00 CET.
    expect(shiftLocalDays(t('2026-03-31T16:00:00Z'), -7, ROME)).toBe(t('2026-03-24T17:00:00Z'))
    expect(shiftLocalDays(t('2026-03-24T17:00:00Z'), 7, ROME)).toBe(t('2026-03-31T16:00:00Z'))
    expect(shiftLocalDays(t('2026-05-12T10:07:30.250Z'), -28, ROME)).toBe(
      t('2026-04-14T10:07:30.250Z'),
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
})
