import { describe, expect, it } from 'vitest'
import { tinyDistrict } from '../services/shared/testing/fixtures.ts'
import { isoWeekdayOf } from '../services/shared/contracts/local-time.ts'
import { demoEvents, historyWindows, writeOrder } from './history-writer.ts'

const tz = 'Europe/Rome'
// Monday 7 December 2026, 10:00 local.
const endMs = Date.parse('2026-12-07T09:00:00Z')

describe('the demo history windows', () => {
  it('covers the part of the day before the end, then whole local days (DST days included)', () => {
    const w = historyWindows(endMs, 56, tz)
    expect(w).toHaveLength(57)
    expect(w[0]).toMatchObject({ date: '2026-12-07', back: 0, toMs: endMs, wholeDay: false })
    expect(w[1]).toMatchObject({ date: '2026-12-06', back: 1, wholeDay: true })
    expect(w.at(-1)?.date).toBe('2026-10-12')
    // 25 October 2026 has 25 hours; days are contiguous.
    const dst = w.find((x) => x.date === '2026-10-25')
    expect(dst && dst.toMs - dst.fromMs).toBe(25 * 3_600_000)
    for (let i = 1; i < w.length; i++) expect(w[i]?.toMs).toBe(w[i - 1]?.fromMs)
    expect(historyWindows(endMs, 0, tz)).toEqual([])
  })

  it("writes today's weekday first, newest first, so today's band needs three days, not weeks", () => {
    const order = writeOrder(historyWindows(endMs, 56, tz))
    expect(order[0]?.back).toBe(0)
    expect(order.slice(1, 9).map((x) => x.back)).toEqual([7, 14, 21, 28, 35, 42, 49, 56])
    expect(order.slice(1, 9).every((x) => isoWeekdayOf(x.fromMs, tz) === 1)).toBe(true)
    // Then yesterday's weekday (Sunday).
    expect(order[9]?.back).toBe(1)
    expect(new Set(order.map((x) => x.date)).size).toBe(57)
  })

  it('places two past events on squares inside the history', () => {
    const w = historyWindows(endMs, 56, tz)
    const { events, street } = demoEvents(tinyDistrict(), w, tz)
    expect(events).toHaveLength(2)
    expect(street).toHaveLength(2)
    for (const e of events) {
      expect(e.from.getTime()).toBeGreaterThan(w.at(-1)?.fromMs ?? Infinity)
      expect(e.to.getTime()).toBeLessThan(endMs)
    }
    expect(isoWeekdayOf(events[0]?.from.getTime() ?? 0, tz)).toBe(6)
    expect(demoEvents(tinyDistrict(), historyWindows(endMs, 3, tz), tz).events).toEqual([])
  })
})
