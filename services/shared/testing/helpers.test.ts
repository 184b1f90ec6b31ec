import { describe, expect, it } from 'vitest'
import { oneDayWindowEnd } from './helpers.ts'

describe(oneDayWindowEnd.name, () => {
  const HOUR = 3_600_000
  it('ends a minute before now when the window fits in today', () => {
    const now = Date.parse('2026-11-21T15:00:00Z') // 16:00 in Rome
    expect(oneDayWindowEnd(HOUR, 'Europe/Rome', now)).toBe(now - 60_000)
  })

  it('moves the window before local midnight when it would straddle it', () => {
    const now = Date.parse('2026-11-21T23:20:00Z') // 00:20 in Rome, the 22nd
    expect(oneDayWindowEnd(HOUR, 'Europe/Rome', now)).toBe(Date.parse('2026-11-21T22:59:00Z'))
  })
})
