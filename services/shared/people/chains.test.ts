import { describe, expect, it } from 'vitest'
import { buildChains, DEFAULT_CHAIN_OPTIONS } from './chains.ts'
import type { DeviceSession } from './sessions.ts'

const S = 1000
let n = 0
const session = (o: Partial<DeviceSession>): DeviceSession => ({
  gatewayId: 'gw-a',
  zoneId: 'z-a',
  pseudonym: String(++n),
  firstMs: 0,
  lastMs: 60 * S,
  samples: 5,
  peakRssi: -60,
  radio: 'ble',
  randomised: true,
  ...o,
})

describe(buildChains.name, () => {
  it('keeps the sessions of one pseudonym at one gateway as one device', () => {
    const chains = buildChains([
      session({ pseudonym: 'p', radio: 'wifi', randomised: false, firstMs: 0, lastMs: 10 * S }),
      session({
        pseudonym: 'p',
        radio: 'wifi',
        randomised: false,
        firstMs: 600 * S,
        lastMs: 700 * S,
      }),
      session({ pseudonym: 'p', gatewayId: 'gw-b', radio: 'wifi', randomised: false }),
    ])
    expect(chains.map((c) => [c.gatewayId, c.sessions.length])).toEqual([
      ['gw-a', 2],
      ['gw-b', 1],
    ])
  })

  it('links a BLE address rotation: a new randomised session starting just after one ends, same RSSI', () => {
    const a = session({ firstMs: 0, lastMs: 300 * S, peakRssi: -61 })
    const b = session({ firstMs: 320 * S, lastMs: 600 * S, peakRssi: -58 })
    const c = session({ firstMs: 630 * S, lastMs: 900 * S, peakRssi: -63 })
    const chains = buildChains([c, a, b])
    expect(chains).toHaveLength(1)
    expect(chains[0]?.sessions).toEqual([a, b, c])
    expect(chains[0]?.links).toBe(2)
  })

  it('does not link across a gap longer than bleMaxGapMs, a jump in RSSI, gateways, Wi-Fi or stable addresses', () => {
    const gap = DEFAULT_CHAIN_OPTIONS.bleMaxGapMs
    const end = session({ firstMs: 0, lastMs: 300 * S })
    const cases = [
      session({ firstMs: 300 * S + gap + 1, lastMs: 900 * S }),
      session({
        firstMs: 310 * S,
        lastMs: 900 * S,
        peakRssi: -60 - DEFAULT_CHAIN_OPTIONS.bleMaxRssiStepDb - 1,
      }),
      session({ firstMs: 310 * S, lastMs: 900 * S, gatewayId: 'gw-b' }),
      session({ firstMs: 310 * S, lastMs: 900 * S, radio: 'wifi' }),
      session({ firstMs: 310 * S, lastMs: 900 * S, randomised: false }),
    ]
    for (const next of cases) expect(buildChains([end, next])).toHaveLength(2)
  })

  it('pairs one-to-one, closest in time first: two phones rotating together stay two', () => {
    const a1 = session({ firstMs: 0, lastMs: 300 * S, peakRssi: -60 })
    const b1 = session({ firstMs: 0, lastMs: 305 * S, peakRssi: -62 })
    const a2 = session({ firstMs: 310 * S, lastMs: 600 * S, peakRssi: -61 })
    const b2 = session({ firstMs: 316 * S, lastMs: 600 * S, peakRssi: -63 })
    const chains = buildChains([a1, b1, a2, b2])
    expect(chains).toHaveLength(2)
    expect(chains.map((c) => c.sessions.length)).toEqual([2, 2])
    // b1 ended at 305 s: the start at 310 s is 5 s away, closer than a1's 10 s.
    const withB1 = chains.find((c) => c.sessions.includes(b1))
    expect(withB1?.sessions).toEqual([b1, a2])
  })

  it('never links a session that started before the previous one ended (two devices at once)', () => {
    const a = session({ firstMs: 0, lastMs: 300 * S })
    const b = session({ firstMs: 200 * S, lastMs: 600 * S })
    expect(buildChains([a, b])).toHaveLength(2)
  })

  it('treats a session without a pseudonym (nulled by the privacy job) as a device of its own', () => {
    const chains = buildChains([
      session({ pseudonym: null, radio: 'wifi', randomised: false }),
      session({ pseudonym: null, radio: 'wifi', randomised: false }),
    ])
    expect(chains).toHaveLength(2)
  })
})
