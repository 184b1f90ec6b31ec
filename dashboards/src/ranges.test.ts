import { describe, expect, it } from 'vitest'
import { footfallRequestFor } from './ranges.ts'

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
