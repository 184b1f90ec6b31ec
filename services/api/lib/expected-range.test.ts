import { describe, expect, it } from 'vitest'
import { instantOfLocalTime } from '../../shared/contracts/local-time.ts'
import { bandOf, comparableInstants, expectedAt, sideOf, slotOf } from './expected-range.ts'

const tz = 'Europe/Rome'
const at = (day: number, hour: number, month = 12) =>
  instantOfLocalTime({ year: 2026, month, day, hour }, tz)

describe('expected ranges', () => {
  it('takes the median as usual and a band of ± 2 robust deviations, never below 0', () => {
    const b = bandOf([100, 104, 96, 100, 300])
    expect(b?.usual).toBe(100)
    // MAD 4 → 5.93; √100 = 10 is larger: the band is 100 ± 20.
    expect(b).toEqual({ usual: 100, low: 80, high: 120, samples: 5 })
    expect(bandOf([0, 0, 0])?.low).toBe(0)
    expect(bandOf([1, 2])).toBeNull()
    expect(bandOf([10, 50, 90], 3)?.high).toBeCloseTo(50 + 2 * 1.4826 * 40)
  })

  it('compares the same weekday and local hour of earlier weeks, across the DST change', () => {
    // Monday 2 November 2026, 11:00 (CET); the weeks before reach into October (CEST).
    const t = at(2, 11, 11)
    const back = comparableInstants(t, tz, 3)
    expect(back.map((x) => slotOf(x, tz))).toEqual(Array(3).fill({ weekday: 1, hour: 11 }))
    // 26 October is already winter time; 19 October was summer time: one hour more between.
    expect(t - (back[0] ?? 0)).toBe(7 * 86_400_000)
    expect(t - (back[1] ?? 0)).toBe(14 * 86_400_000 + 3_600_000)
  })

  it('skips excluded days and weeks before the data, and counts a missing bucket as 0', () => {
    const t = at(28, 11) // Monday 28 December 2026
    const values = new Map<number, number>([
      [at(21, 11), 100],
      [at(14, 11), 110],
      [at(7, 11), 500], // 7 December: an event day
      [at(30, 11, 11), 90],
    ])
    const o = {
      tz,
      excludedDates: new Set(['2026-12-07']),
      coveredFromMs: at(16, 0, 11),
      weeks: 8,
    }
    const band = expectedAt(t, (x) => values.get(x), o)
    // 21, 14, 30 Nov, 23 Nov (missing → 0); 7 Dec excluded; 16 Nov on the edge; before: not covered.
    expect(band?.samples).toBe(5)
    expect(band?.usual).toBe(90)
    expect(sideOf(500, band)).toBe('above')
    expect(sideOf(90, band)).toBe('within')
    expect(sideOf(1, null)).toBeNull()
    expect(expectedAt(t, () => 5, { ...o, coveredFromMs: at(20, 0) })).toBeNull()
  })
})
