import { describe, expect, it } from 'vitest'
import { chartDataOf, peopleBucketFor, type PeopleRow } from './people-panel.ts'

const v = (people: number, low: number, high: number, calibrated = true) => ({
  people,
  low,
  high,
  calibrated,
})
const row = (t: string, present: ReturnType<typeof v>, arrivals = v(0, 0, 1)): PeopleRow => ({
  bucketStart: t,
  figures: { present, arrivals },
})

describe(chartDataOf.name, () => {
  it('takes presence with its interval and arrivals; uncalibrated if any bucket is', () => {
    const data = chartDataOf([row('2026-11-21T09:00:00.000Z', v(3, 1, 5), v(9, 4, 14, false))], {
      from: '2026-11-21T09:00:00.000Z',
      to: '2026-11-21T10:00:00.000Z',
      bucket: '15m',
    })
    expect(data.points).toEqual([
      { t: '2026-11-21T09:00:00.000Z', present: 3, low: 1, high: 5, arrivals: 9 },
    ])
    expect(data.stepMs).toBe(15 * 60_000)
    expect(data.calibrated).toBe(false)
  })
})

describe(peopleBucketFor.name, () => {
  it('quarters up to a day, hours beyond', () => {
    expect(peopleBucketFor(0, 86_400_000)).toBe('15m')
    expect(peopleBucketFor(0, 86_400_001)).toBe('1h')
  })
})
