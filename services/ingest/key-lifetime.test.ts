import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { keyDestroyAfter, oldestKeyedDayStart } from './key-lifetime.ts'
import { createPseudonymiser, type DailyKeyStore } from './pseudonymiser.ts'

const TZ = 'Europe/Rome'
const GRACE = 2 * 3_600_000

/** A key for every day asked (the pseudonymiser itself refuses days past their destroy-after). */
const store: DailyKeyStore = {
  getOrCreateKey: async () => randomBytes(32),
  destroyExpiredKeys: async () => [],
}

describe(keyDestroyAfter.name, () => {
  it('is the next local midnight plus the grace', () => {
    // 2026-11-21 in Rome ends at 2026-11-21T23:00Z.
    expect(keyDestroyAfter('2026-11-21', TZ, GRACE)).toBe(Date.parse('2026-11-22T01:00:00Z'))
  })
})

describe(oldestKeyedDayStart.name, () => {
  it.each([
    // 01:30 in Rome, inside the grace: yesterday (the 20th, from 2026-11-19T23:00Z) still counts.
    ['2026-11-21T00:30:00Z', '2026-11-19T23:00:00Z', '2026-11-19'],
    // 04:00 in Rome, past the grace: only today (the 21st, from 2026-11-20T23:00Z).
    ['2026-11-21T03:00:00Z', '2026-11-20T23:00:00Z', '2026-11-20'],
  ])('at %s is %s: where the pseudonymiser starts to accept', async (now, start, dayBefore) => {
    const nowMs = Date.parse(now)
    const startMs = oldestKeyedDayStart(nowMs, TZ, GRACE)
    expect(startMs).toBe(Date.parse(start))
    const sut = createPseudonymiser({ store, tz: TZ, graceMs: GRACE })
    expect(await sut.prepare([startMs], nowMs)).toEqual(new Set())
    expect(await sut.prepare([startMs - 1], nowMs)).toEqual(new Set([dayBefore]))
  })
})
