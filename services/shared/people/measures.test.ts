import { describe, expect, it } from 'vitest'
import { buildChains, type DeviceChain } from './chains.ts'
import {
  DEFAULT_PRESENCE_OPTIONS,
  DEFAULT_STATIC_OPTIONS,
  deviceArrivals,
  devicesPresent,
  devicesPresentTime,
  MINUTE_MS,
  reportingPeriodMs,
  staticSince,
  visitStarts,
  type CountedChain,
} from './measures.ts'
import type { DeviceSession } from './sessions.ts'

const M = MINUTE_MS
const H = 60 * M
let n = 0
const session = (o: Partial<DeviceSession>): DeviceSession => ({
  gatewayId: 'gw-a',
  zoneId: 'z-a',
  pseudonym: String(++n),
  firstMs: 0,
  lastMs: M,
  samples: 3,
  peakRssi: -60,
  radio: 'wifi',
  randomised: false,
  ...o,
})
const counted = (c: DeviceChain, untilMs = Infinity): CountedChain => ({
  ...c,
  countsUntilMs: untilMs,
})

/** A device heard for one sample every `everyMs` from `fromMs` to `toMs`: a new session each time. */
function intermittent(pseudonym: string, fromMs: number, toMs: number, everyMs: number) {
  const out: DeviceSession[] = []
  for (let t = fromMs; t <= toMs; t += everyMs)
    out.push(session({ pseudonym, firstMs: t, lastMs: t, samples: 1 }))
  return out
}

describe(staticSince.name, () => {
  const o = DEFAULT_STATIC_OPTIONS

  it('a device heard in 90 % of the 5-minute slots of 4 h turns static then, even with gaps between its sessions', () => {
    // A probe every 4 minutes: every session is one sample, separated by more than the transit gap.
    const chains = buildChains(intermittent('pc', 0, 10 * H, 4 * M))
    const since = staticSince(chains, o)
    const at = since.get(chains[0] as DeviceChain)
    expect(at).toBeDefined()
    // 44 of 48 slots heard: it qualifies at the end of its 44th slot, 3 h 40 min in.
    expect(at).toBe(44 * 5 * M)
  })

  it('never fires in a capture shorter than the window, nor on a device heard less than 90 % of it', () => {
    const short = buildChains([session({ pseudonym: 'a', firstMs: 0, lastMs: 3.5 * H })])
    expect(staticSince(short, o).size).toBe(0)
    // Heard 20 minutes of every half hour for 10 h: two thirds of the slots.
    const partTime: DeviceSession[] = []
    for (let t = 0; t < 10 * H; t += 30 * M)
      partTime.push(session({ pseudonym: 'b', firstMs: t, lastMs: t + 19 * M }))
    expect(staticSince(buildChains(partTime), o).size).toBe(0)
  })

  it('looks back only: judged as of a time, only what was heard before counts', () => {
    const chains = buildChains([session({ pseudonym: 'a', firstMs: 0, lastMs: 6 * H })])
    expect(staticSince(chains, o, 3 * H).size).toBe(0)
    expect(staticSince(chains, o, 5 * H).get(chains[0] as DeviceChain)).toBe(44 * 5 * M)
  })
})

describe(devicesPresent.name, () => {
  it('is the mean per minute of devices heard, stable and randomised apart, each device once a minute', () => {
    const chains = buildChains([
      // minutes 0–9, heard by two sessions of one device in minute 5: still one device.
      session({ pseudonym: 'a', firstMs: 0, lastMs: 5 * M + 10_000 }),
      session({ pseudonym: 'a', firstMs: 5 * M + 50_000, lastMs: 9 * M + 59_000 }),
      // a randomised one, minutes 10–14
      session({ pseudonym: 'b', randomised: true, firstMs: 10 * M, lastMs: 14 * M }),
    ]).map((c) => counted(c))
    const [w] = devicesPresent(chains, [{ fromMs: 0, toMs: 15 * M }])
    expect(w?.stable).toBeCloseTo(10 / 15)
    expect(w?.randomised).toBeCloseTo(5 / 15)
  })

  it('stops counting a static device from the minute it turned static', () => {
    const [c] = buildChains([session({ pseudonym: 'a', firstMs: 0, lastMs: 20 * M })])
    const [w] = devicesPresent([counted(c as DeviceChain, 10 * M)], [{ fromMs: 0, toMs: 20 * M }])
    expect(w?.stable).toBeCloseTo(10 / 20)
  })
})

describe(devicesPresentTime.name, () => {
  const S = 1_000
  const o = DEFAULT_PRESENCE_OPTIONS

  it('counts a short stay by its time in range, not by the minutes it touched', () => {
    // A passer-by heard every 10 s for 20 s across a minute boundary: 30 s in range, not 2 minutes.
    const passer = session({ pseudonym: 'p', firstMs: M - 10 * S, lastMs: M + 10 * S, samples: 3 })
    const chains = buildChains([passer]).map((c) => counted(c))
    const w = { fromMs: 0, toMs: 15 * M }
    expect(devicesPresent(chains, [w])[0]?.stable).toBeCloseTo(2 / 15)
    expect(devicesPresentTime(chains, [w], o)[0]?.stable).toBeCloseTo(30 / 900)
  })

  it('is proportional to time in range whatever the mix of short and long stays', () => {
    // 10 passers-by of 30 s and one visitor of 5 min (heard every 10 s): 10 × 30 s + 300 s = 600
    // device-seconds, 2/3 of a device on average over 15 minutes; whole minutes say 10 × 1 + 5.
    const sessions: DeviceSession[] = []
    for (let i = 0; i < 10; i++) {
      const t = i * 80 * S + 15 * S
      sessions.push(session({ firstMs: t, lastMs: t + 20 * S, samples: 3, randomised: true }))
    }
    sessions.push(session({ firstMs: 5 * S, lastMs: 295 * S, samples: 30 }))
    const chains = buildChains(sessions).map((c) => counted(c))
    const [w] = devicesPresentTime(chains, [{ fromMs: 0, toMs: 15 * M }], o)
    expect(w?.randomised).toBeCloseTo(300 / 900)
    expect(w?.stable).toBeCloseTo(300 / 900)
  })

  it('counts a device once while its sessions overlap, pads a single sighting by the default period, and stops at static', () => {
    const [c] = buildChains([
      session({ pseudonym: 'a', firstMs: 60 * S, lastMs: 120 * S, samples: 7 }),
      session({ pseudonym: 'a', firstMs: 100 * S, lastMs: 200 * S, samples: 11 }),
    ])
    // Period (60 + 100) / (6 + 10) = 10 s: 55 s … 205 s.
    expect(reportingPeriodMs(c as DeviceChain, o)).toBe(10 * S)
    const w = { fromMs: 0, toMs: 300 * S }
    expect(devicesPresentTime([counted(c as DeviceChain)], [w], o)[0]?.stable).toBeCloseTo(
      150 / 300,
    )
    expect(devicesPresentTime([counted(c as DeviceChain, 100 * S)], [w], o)[0]?.stable).toBeCloseTo(
      45 / 300,
    )
    const [once] = buildChains([session({ firstMs: 100 * S, lastMs: 100 * S, samples: 1 })])
    expect(reportingPeriodMs(once as DeviceChain, o)).toBe(o.defaultPeriodMs)
    expect(devicesPresentTime([counted(once as DeviceChain)], [w], o)[0]?.stable).toBeCloseTo(
      o.defaultPeriodMs / S / 300,
    )
  })

  it('splits a stay over the windows it spans', () => {
    const chains = buildChains([
      session({ firstMs: 10 * M, lastMs: 20 * M, samples: 601 }), // every second
    ]).map((c) => counted(c))
    const out = devicesPresentTime(chains, [
      { fromMs: 0, toMs: 15 * M },
      { fromMs: 15 * M, toMs: 30 * M },
    ])
    expect(out[0]?.stable).toBeCloseTo(5 / 15, 2)
    expect(out[1]?.stable).toBeCloseTo(5 / 15, 2)
  })
})

describe(deviceArrivals.name, () => {
  it('counts visits begun in each window: a device back after the visit gap arrives again', () => {
    const chains = buildChains([
      session({ pseudonym: 'a', firstMs: 1 * M, lastMs: 3 * M }),
      session({ pseudonym: 'a', firstMs: 8 * M, lastMs: 9 * M }), // 5 min later: the same visit
      session({ pseudonym: 'a', firstMs: 40 * M, lastMs: 41 * M }), // 31 min later: a new visit
      session({ pseudonym: 'b', randomised: true, radio: 'ble', firstMs: 20 * M, lastMs: 21 * M }),
    ]).map((c) => counted(c))
    expect(visitStarts(chains[0] as DeviceChain, 10 * M)).toEqual([1 * M, 40 * M])
    const out = deviceArrivals(
      chains,
      [
        { fromMs: 0, toMs: 30 * M },
        { fromMs: 30 * M, toMs: 60 * M },
      ],
      10 * M,
    )
    expect(out).toEqual([
      { stable: 1, randomised: 1 },
      { stable: 1, randomised: 0 },
    ])
  })

  it('counts a visit in every window holding it, overlapping and nested windows too', () => {
    const chains = buildChains([
      session({ pseudonym: 'a', firstMs: 5 * M, lastMs: 6 * M }),
      session({ pseudonym: 'b', firstMs: 50 * M, lastMs: 51 * M }),
    ]).map((c) => counted(c))
    const out = deviceArrivals(
      chains,
      [
        { fromMs: 0, toMs: 60 * M }, // both
        { fromMs: 4 * M, toMs: 5 * M }, // ends as a begins: none
        { fromMs: 5 * M, toMs: 6 * M }, // a
        { fromMs: 45 * M, toMs: 55 * M }, // b
        { fromMs: 30 * M, toMs: 40 * M }, // none
      ],
      10 * M,
    )
    expect(out.map((o) => o.stable)).toEqual([2, 0, 1, 1, 0])
  })

  it('does not count the visits of a device after it turned static', () => {
    const [c] = buildChains([
      session({ pseudonym: 'a', firstMs: 0, lastMs: M }),
      session({ pseudonym: 'a', firstMs: 60 * M, lastMs: 61 * M }),
    ])
    const out = deviceArrivals(
      [counted(c as DeviceChain, 30 * M)],
      [{ fromMs: 0, toMs: 2 * H }],
      10 * M,
    )
    expect(out).toEqual([{ stable: 1, randomised: 0 }])
  })
})
