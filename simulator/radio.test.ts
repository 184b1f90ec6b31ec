import { describe, expect, it } from 'vitest'
import { DEFAULT_RADIO, hearingRangeM, meanRssi, toReportedRssi } from './radio.ts'

describe(meanRssi.name, () => {
  it('falls monotonically with distance', () => {
    let previous = Infinity
    for (let d = 0.5; d < 200; d *= 1.3) {
      const rssi = meanRssi(d, false, DEFAULT_RADIO)
      expect(rssi).toBeLessThanOrEqual(previous)
      previous = rssi
    }
  })

  it('follows the log-distance model with the default parameters', () => {
    expect(meanRssi(0.2, false, DEFAULT_RADIO)).toBe(-42.5)
    expect(meanRssi(1, false, DEFAULT_RADIO)).toBe(-42.5)
    expect(meanRssi(10, false, DEFAULT_RADIO)).toBeCloseTo(-72.5, 9)
    expect(meanRssi(100, false, DEFAULT_RADIO)).toBeCloseTo(-102.5, 9)
    expect(meanRssi(10, true, DEFAULT_RADIO)).toBeCloseTo(-78.5, 9)
  })

  it('puts passers-by and visitors of a shop on either side of the default visitor threshold', () => {
    const passerBy = toReportedRssi(
      meanRssi(2 + DEFAULT_RADIO.indoorGatewayDepthM, true, DEFAULT_RADIO),
    )
    const visitor = toReportedRssi(meanRssi(3, false, DEFAULT_RADIO))
    expect(passerBy).toBe(-76)
    expect(visitor).toBe(-57)
  })
})

describe(toReportedRssi.name, () => {
  it('rounds to an integer within the protocol range', () => {
    expect(toReportedRssi(-71.4)).toBe(-71)
    expect(toReportedRssi(-71.5)).toBe(-71)
    expect(toReportedRssi(3)).toBe(0)
    expect(toReportedRssi(-200)).toBe(-127)
  })
})

describe(hearingRangeM.name, () => {
  it('is the distance where the reported RSSI meets the floor', () => {
    for (const walled of [false, true]) {
      const range = hearingRangeM(-92, walled, DEFAULT_RADIO)
      expect(toReportedRssi(meanRssi(range * 0.999, walled, DEFAULT_RADIO))).toBeGreaterThanOrEqual(
        -92,
      )
      expect(toReportedRssi(meanRssi(range * 1.001, walled, DEFAULT_RADIO))).toBeLessThan(-92)
    }
    expect(hearingRangeM(-92, false, DEFAULT_RADIO)).toBeCloseTo(46.4, 1)
    expect(hearingRangeM(-92, true, DEFAULT_RADIO)).toBeCloseTo(29.3, 1)
  })

  it('is -1 when the phone is never heard', () => {
    expect(hearingRangeM(-30, false, DEFAULT_RADIO)).toBe(-1)
  })
})
