import { describe, expect, it } from 'vitest'
import { footfallRequestFor, instantOfInputValue, localInputValue } from './ranges.ts'

describe(footfallRequestFor.name, () => {
  const now = new Date('2026-11-21T10:17:42.000Z')

  it('asks for the last hour in 15-minute buckets', () => {
    expect(footfallRequestFor('last-hour', now)).toEqual({
      from: '2026-11-21T09:17:42.000Z',
      to: '2026-11-21T10:17:42.000Z',
      bucket: '15m',
    })
  })

  it('asks for today from local midnight in hourly buckets', () => {
    expect(footfallRequestFor('today', now)).toEqual({
      from: '2026-11-21T00:00:00.000Z',
      to: '2026-11-21T10:17:42.000Z',
      bucket: '1h',
    })
  })

  it('asks for the last 7 days in daily buckets', () => {
    expect(footfallRequestFor('last-7-days', now)).toEqual({
      from: '2026-11-14T10:17:42.000Z',
      to: '2026-11-21T10:17:42.000Z',
      bucket: '1d',
    })
  })
})

describe(instantOfInputValue.name, () => {
  it('reads a datetime-local value as wall-clock time of the district, not of the browser', () => {
    expect(instantOfInputValue('2026-11-21T18:30', 'Europe/Rome')?.toISOString()).toBe(
      '2026-11-21T17:30:00.000Z',
    )
    expect(instantOfInputValue('2026-07-01T00:00', 'Europe/Rome')?.toISOString()).toBe(
      '2026-06-30T22:00:00.000Z',
    )
    expect(instantOfInputValue('2026-03-29T03:30', 'Europe/Rome')?.toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    )
  })

  it('refuses what is not a date and time', () => {
    expect(instantOfInputValue('', 'Europe/Rome')).toBeNull()
    expect(instantOfInputValue('2026-02-30T10:00', 'Europe/Rome')).toBeNull()
    expect(instantOfInputValue('2026-11-21 10:00', 'Europe/Rome')).toBeNull()
  })

  it('round-trips with localInputValue', () => {
    const at = new Date('2026-10-25T09:45:00.000Z')
    expect(localInputValue(at, 'Europe/Rome')).toBe('2026-10-25T10:45')
    expect(instantOfInputValue(localInputValue(at, 'Europe/Rome'), 'Europe/Rome')).toEqual(at)
  })
})
