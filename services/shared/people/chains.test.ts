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

  it('leaves ambiguous rotations apart: two wearables ending and starting within seconds stay four pieces', () => {
    const a1 = session({ firstMs: 0, lastMs: 300 * S, peakRssi: -60 })
    const b1 = session({ firstMs: 0, lastMs: 305 * S, peakRssi: -62 })
    const a2 = session({ firstMs: 310 * S, lastMs: 600 * S, peakRssi: -61 })
    const b2 = session({ firstMs: 316 * S, lastMs: 600 * S, peakRssi: -63 })
    expect(buildChains([a1, b1, a2, b2])).toHaveLength(4)
    // Told apart by RSSI, the same two rotations are linked.
    const c2 = session({ firstMs: 316 * S, lastMs: 600 * S, peakRssi: -75 })
    const c1 = session({ firstMs: 0, lastMs: 305 * S, peakRssi: -76 })
    const chains = buildChains([a1, c1, a2, c2])
    expect(chains.map((c) => c.sessions)).toEqual([
      [a1, a2],
      [c1, c2],
    ])
  })

  it("links only within one and a half of the device's reporting interval", () => {
    // 31 samples over 300 s: a report every 10 s, so a successor must start within 15 s.
    const a = session({ firstMs: 0, lastMs: 300 * S, samples: 31 })
    expect(buildChains([a, session({ firstMs: 314 * S, lastMs: 600 * S })])).toHaveLength(1)
    expect(buildChains([a, session({ firstMs: 316 * S, lastMs: 600 * S })])).toHaveLength(2)
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
