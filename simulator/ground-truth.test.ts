import { describe, expect, it } from 'vitest'
import { peopleInWindows, summariseTruth, type TruthEvent } from './ground-truth.ts'
import { createSimulation } from './simulation.ts'
import { decodeBatch, mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'
import { toEpochMs } from '../services/shared/contracts/gateway-messages.ts'

const district = mestreDistrict()
const QUARTER_MS = 15 * 60_000

const event = (overrides: Partial<TruthEvent>): TruthEvent => ({
  pedestrianId: 'p-0',
  gatewayId: 'gw-a',
  zoneId: 'zone-a',
  shopId: 'shop-a',
  firstMs: 0,
  lastMs: 1000,
  entered: false,
  dwellInsideS: null,
  hasDevice: true,
  ...overrides,
})

describe(summariseTruth.name, () => {
  it('counts visitors and passers-by per zone and bucket of firstMs', () => {
    const sut = summariseTruth(
      [
        event({ firstMs: 10 }),
        event({ pedestrianId: 'p-1', firstMs: QUARTER_MS - 1, entered: true, dwellInsideS: 120 }),
        event({ pedestrianId: 'p-2', firstMs: QUARTER_MS }),
        event({ pedestrianId: 'p-3', zoneId: 'zone-b', gatewayId: 'gw-b', shopId: null }),
      ],
      QUARTER_MS,
    )
    expect(sut.buckets).toEqual([
      { zoneId: 'zone-a', bucketStartMs: 0, passersBy: 1, visitors: 1 },
      { zoneId: 'zone-b', bucketStartMs: 0, passersBy: 1, visitors: 0 },
      { zoneId: 'zone-a', bucketStartMs: QUARTER_MS, passersBy: 1, visitors: 0 },
    ])
    expect(sut.totals).toEqual([
      { zoneId: 'zone-a', passersBy: 2, visitors: 1 },
      { zoneId: 'zone-b', passersBy: 1, visitors: 0 },
    ])
  })
})

describe('ground truth of a simple run', () => {
  const fromMs = SATURDAY_9AM_MS
  const toMs = fromMs + 90 * 60_000
  const sim = createSimulation({ district, seed: 11, fromMs, toMs, scenario: 'simple' })
  const messages = [...sim]
  const truth = sim.truth()

  it('summarises to totals that add up to the number of events', () => {
    const summary = summariseTruth(truth, QUARTER_MS)
    const totals = summary.totals.reduce((n, t) => n + t.passersBy + t.visitors, 0)
    const buckets = summary.buckets.reduce((n, b) => n + b.passersBy + b.visitors, 0)
    expect(truth.length).toBeGreaterThan(0)
    expect(totals).toBe(truth.length)
    expect(buckets).toBe(truth.length)
    expect(new Set(summary.totals.map((t) => t.zoneId))).toEqual(
      new Set(district.gateways.map((g) => g.zoneId)),
    )
  })

  it('has one event per pedestrian and gateway, with visitors only at their shop', () => {
    const keys = truth.map((e) => `${e.pedestrianId}/${e.gatewayId}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys.length).toBe(sim.stats().pedestrians * district.gateways.length)
    for (const e of truth) {
      expect(e.firstMs).toBeLessThanOrEqual(e.lastMs)
      if (e.entered) {
        expect(e.shopId).not.toBeNull()
        expect(e.dwellInsideS).toBeGreaterThanOrEqual(90)
      } else expect(e.dwellInsideS).toBeNull()
    }
    expect(truth.filter((e) => e.entered).length).toBeGreaterThan(0)
  })

  it('matches the emitted sightings: every event is heard, and only inside its interval', () => {
    const heard = new Map<string, number[]>()
    for (const m of messages) {
      const batch = decodeBatch(m)
      for (const s of batch.sightings) {
        const key = batch.gatewayId
        heard.set(key, [...(heard.get(key) ?? []), toEpochMs(s.t)])
      }
    }
    for (const gateway of district.gateways) {
      const events = truth.filter((e) => e.gatewayId === gateway.id)
      const times = heard.get(gateway.id) ?? []
      for (const t of times) expect(events.some((e) => e.firstMs <= t && t <= e.lastMs)).toBe(true)
      for (const e of events) expect(times.some((t) => e.firstMs <= t && t <= e.lastMs)).toBe(true)
    }
  })
})

describe(peopleInWindows.name, () => {
  it('gives people present (time-weighted, one pedestrian once) and arriving per zone window', () => {
    const events = [
      // p-0 in zone-a for the whole first half of the window, heard by two gateways at once.
      event({ pedestrianId: 'p-0', firstMs: 0, lastMs: 500 }),
      event({ pedestrianId: 'p-0', gatewayId: 'gw-a2', firstMs: 100, lastMs: 400 }),
      // p-1 without a phone: a person all the same, from 500 to 1000.
      event({ pedestrianId: 'p-1', firstMs: 500, lastMs: 1500, hasDevice: false }),
      // staff and static devices are not people.
      event({ pedestrianId: 'staff-0', firstMs: 0, lastMs: 1000, kind: 'staff' }),
      event({ pedestrianId: 'static-0', firstMs: 0, lastMs: 1000, kind: 'static' }),
      event({ pedestrianId: 'p-2', zoneId: 'zone-b', firstMs: 0, lastMs: 1000 }),
    ]
    expect(
      peopleInWindows(events, [
        { zoneId: 'zone-a', fromMs: 0, toMs: 1000 },
        { zoneId: 'zone-a', fromMs: 1000, toMs: 2000 },
        { zoneId: 'zone-b', fromMs: 0, toMs: 1000 },
        { zoneId: 'zone-c', fromMs: 0, toMs: 1000 },
      ]),
    ).toEqual([
      { present: 1, arriving: 3 },
      { present: 0.5, arriving: 0 },
      { present: 1, arriving: 1 },
      { present: 0, arriving: 0 },
    ])
  })
})
