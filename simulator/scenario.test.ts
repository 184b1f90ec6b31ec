import { describe, expect, it } from 'vitest'
import { isRandomisedMac, normaliseMac } from '../services/shared/contracts/mac.ts'
import { summariseTruth } from './ground-truth.ts'
import { createSimulation } from './simulation.ts'
import {
  createStreetModel,
  DEMO_SCENARIO,
  REALISTIC_SCENARIO,
  resolveScenario,
  SHOPPING_DAY_HOURS,
  SHOPPING_WEEK,
  SHOPPING_WEEKEND_HOURS,
  SIMPLE_SCENARIO,
  type Pedestrian,
  type ScenarioOptions,
} from './street-model.ts'
import { mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'

const district = mestreDistrict()
const HOUR_MS = 3_600_000
const MIN_MS = 60_000
/** Wednesday 18 November 2026, 00:00 in Rome (UTC+1). */
const WEDNESDAY_MS = Date.parse('2026-11-17T23:00:00Z')
/** Saturday 21 November 2026, 00:00 in Rome. */
const SATURDAY_MS = Date.parse('2026-11-20T23:00:00Z')

const within4Sigma = (observed: number, expected: number, variance = expected) =>
  expect(Math.abs(observed - expected)).toBeLessThanOrEqual(4 * Math.sqrt(variance))

function arrivalsOf(
  scenario: ScenarioOptions,
  fromMs: number,
  toMs: number,
  seed = 1,
): Pedestrian[] {
  return [...createStreetModel(district, seed, fromMs, toMs, scenario).arrivals()]
}

describe('weekday × hour profiles', () => {
  const model = createStreetModel(district, 1, WEDNESDAY_MS, WEDNESDAY_MS + 7 * 24 * HOUR_MS, {
    ...DEMO_SCENARIO,
  })

  it('multiplies the hour shape by the weekday factor, with the weekend shape on Saturday and Sunday', () => {
    for (let day = 0; day < 7; day++) {
      const dayMs = WEDNESDAY_MS + day * 24 * HOUR_MS
      const weekday = ((2 + day) % 7) + 1 // ISO: 1 = Monday … 7 = Sunday
      const hours = weekday >= 6 ? SHOPPING_WEEKEND_HOURS : SHOPPING_DAY_HOURS
      for (const hour of [3, 11, 18])
        expect(model.shapeAt(dayMs + hour * HOUR_MS + 30 * MIN_MS), `day ${day} ${hour}h`).toBe(
          (SHOPPING_WEEK[weekday - 1] ?? 0) * (hours[hour] ?? 0),
        )
    }
  })

  it('expects a Saturday busier than a Wednesday by the ratio of their profiles', () => {
    const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0)
    const wednesday = model.expectedArrivals(WEDNESDAY_MS, WEDNESDAY_MS + 24 * HOUR_MS)
    const saturday = model.expectedArrivals(SATURDAY_MS, SATURDAY_MS + 24 * HOUR_MS)
    expect(wednesday).toBeCloseTo(900 * (SHOPPING_WEEK[2] ?? 0) * sum(SHOPPING_DAY_HOURS), 6)
    expect(saturday).toBeCloseTo(900 * (SHOPPING_WEEK[5] ?? 0) * sum(SHOPPING_WEEKEND_HOURS), 6)
    expect(saturday / wednesday).toBeGreaterThan(1.5)
  })

  it('generates a Saturday morning busier than a Wednesday morning, as expected', () => {
    const morning = (dayMs: number) => {
      const from = dayMs + 9 * HOUR_MS
      const to = from + 2 * HOUR_MS
      const scenario = resolveScenario('demo', { groupSizeWeights: [1] })
      const m = createStreetModel(district, 8, from, to, scenario)
      return {
        count: arrivalsOf(scenario, from, to, 8).length,
        expected: m.expectedArrivals(from, to),
      }
    }
    const wed = morning(WEDNESDAY_MS)
    const sat = morning(SATURDAY_MS)
    within4Sigma(wed.count, wed.expected)
    within4Sigma(sat.count, sat.expected)
    expect(sat.count).toBeGreaterThan(wed.count)
  })

  it('gives every day the same shape when only hourShape is overridden', () => {
    const flat = Array.from({ length: 24 }, () => 1)
    const sut = resolveScenario('demo', { hourShape: flat })
    expect(sut.weekShape).toEqual([1, 1, 1, 1, 1, 1, 1])
    expect(sut.weekendHourShape).toBeNull()
    const kept = resolveScenario('demo', { hourShape: flat, weekShape: SHOPPING_WEEK })
    expect(kept.weekShape).toEqual(SHOPPING_WEEK)
  })

  it('keeps the simple scenario flat every day, alone, without residents', () => {
    const sut = createStreetModel(district, 1, SATURDAY_MS, SATURDAY_MS + 48 * HOUR_MS, {
      ...SIMPLE_SCENARIO,
      leaveStreetByEnd: false,
    })
    expect(sut.shapeAt(SATURDAY_MS + 3 * HOUR_MS)).toBe(1)
    expect(sut.shapeAt(WEDNESDAY_MS + 12 * HOUR_MS)).toBe(1)
    expect([...sut.residents()]).toEqual([])
    const people = [
      ...createStreetModel(district, 2, SATURDAY_MS, SATURDAY_MS + HOUR_MS, {
        ...SIMPLE_SCENARIO,
        leaveStreetByEnd: false,
      }).arrivals(),
    ]
    expect(people.every((p) => p.groupId === null && p.devices.length === 1)).toBe(true)
    expect(people.every((p) => p.legs.every((l) => l.kind !== 'stop'))).toBe(true)
  })
})

describe('events', () => {
  const fromMs = SATURDAY_9AM_MS
  const toMs = fromMs + 3 * HOUR_MS
  const event = {
    zoneId: 'piazza-ferretto',
    fromMs: fromMs + HOUR_MS,
    toMs: fromMs + 2 * HOUR_MS,
    factor: 3,
  }
  const base = resolveScenario('simple', { leaveStreetByEnd: false })
  const withEvent = { ...base, events: [event] }

  it('raises the expected arrivals by factor - 1 times the usual rate inside the window only', () => {
    const plain = createStreetModel(district, 1, fromMs, toMs, base)
    const sut = createStreetModel(district, 1, fromMs, toMs, withEvent)
    expect(sut.expectedArrivals(fromMs, event.fromMs)).toBeCloseTo(
      plain.expectedArrivals(fromMs, event.fromMs),
      6,
    )
    expect(sut.expectedArrivals(event.fromMs, event.toMs)).toBeCloseTo(
      3 * plain.expectedArrivals(event.fromMs, event.toMs),
      6,
    )
  })

  it('brings event goers to the zone in the window, where they stop', () => {
    const people = arrivalsOf(withEvent, fromMs, toMs, 4)
    const goers = people.filter((p) => p.eventIndex === 0)
    within4Sigma(goers.length, 2 * 600)
    const zone = district.zones.find((z) => z.id === 'piazza-ferretto')
    for (const p of goers) {
      expect(p.arriveMs).toBeGreaterThanOrEqual(event.fromMs)
      expect(p.arriveMs).toBeLessThan(event.toMs)
      const stop = p.legs.find((l) => l.kind === 'stop')
      expect(stop?.kind).toBe('stop')
      if (stop?.kind !== 'stop') continue
      expect(stop.zoneId).toBe('piazza-ferretto')
      expect(stop.xM).toBeGreaterThanOrEqual(zone?.streetFromM ?? 0)
      expect(stop.xM).toBeLessThanOrEqual(zone?.streetToM ?? 0)
      expect(stop.t1 - stop.t0).toBeGreaterThanOrEqual(60_000)
    }
  })

  it('makes passers-by stop in the zone with probability enterProbability × factor', () => {
    const people = arrivalsOf(withEvent, fromMs, toMs, 5).filter((p) => p.eventIndex === null)
    // Those who reach the piazza (600 m) well inside the window: arrived 40+ min after it opened
    // and 40+ min before it closed (the walk takes at most 21 min plus one 12-min visit).
    const sure = people.filter(
      (p) => p.arriveMs >= event.fromMs && p.arriveMs < event.toMs - 40 * MIN_MS,
    )
    const stopped = sure.filter((p) => p.legs.some((l) => l.kind === 'stop')).length
    const q = SIMPLE_SCENARIO.enterProbability * 3
    within4Sigma(stopped, sure.length * q, sure.length * q * (1 - q))
    const before = people.filter((p) => p.leaveMs < event.fromMs)
    expect(before.some((p) => p.legs.some((l) => l.kind === 'stop'))).toBe(false)
  })

  it('boosts visits to the shop of a shop zone', () => {
    const shopEvent = { zoneId: 'ottica-carducci', fromMs, toMs, factor: 5 }
    const share = (scenario: ScenarioOptions) => {
      const regular = arrivalsOf(scenario, fromMs, toMs, 6).filter((p) => p.eventIndex === null)
      const visitors = regular.filter((p) => p.visits.some((v) => v.shopId === 'ottica-carducci'))
      return visitors.length / regular.length
    }
    // Enter probability 0.4 where it was 0.08 (one visit per pedestrian at most dilutes both).
    expect(share({ ...base, events: [shopEvent] }) / share(base)).toBeGreaterThan(3)
    const people = arrivalsOf({ ...base, events: [shopEvent] }, fromMs, toMs, 6)
    const goers = people.filter((p) => p.eventIndex === 0)
    expect(goers.length).toBeGreaterThan(0)
    expect(goers.every((p) => p.visits[0]?.shopId === 'ottica-carducci')).toBe(true)
  })

  it('triples the true transits at the zone’s gateway during the event', () => {
    const count = (scenario: ScenarioOptions) => {
      const model = createStreetModel(district, 7, fromMs, toMs, scenario)
      const site = model.sites.findIndex((s) => s.gateway.id === 'gw-piazza-ferretto')
      let n = 0
      for (const p of model.arrivals())
        for (const [first] of model.inRangeIntervals(p, site))
          if (first >= event.fromMs && first < event.toMs) n++
      return n
    }
    const ratio = count(withEvent) / count(base)
    expect(ratio).toBeGreaterThan(2.6)
    expect(ratio).toBeLessThan(3.4)
  })

  it('rejects events in unknown zones or with a factor below 1', () => {
    expect(() =>
      createStreetModel(district, 1, fromMs, toMs, {
        ...base,
        events: [{ ...event, zoneId: 'nowhere' }],
      }),
    ).toThrow(/events\[0\]: unknown zone 'nowhere'/)
    expect(() =>
      createStreetModel(district, 1, fromMs, toMs, {
        ...base,
        events: [{ ...event, factor: 0.5 }],
      }),
    ).toThrow(/factor must be in \[1, 100\]/)
  })
})

describe('groups', () => {
  const fromMs = SATURDAY_9AM_MS
  const people = arrivalsOf(DEMO_SCENARIO, fromMs, fromMs + 4 * HOUR_MS, 11)
  const groups = new Map<string, Pedestrian[]>()
  for (const p of people)
    groups.set(p.groupId ?? p.id, [...(groups.get(p.groupId ?? p.id) ?? []), p])

  it('draws group sizes by their weights (chi-square, 3 degrees of freedom)', () => {
    const weights = DEMO_SCENARIO.groupSizeWeights
    const observed = weights.map(() => 0)
    for (const members of groups.values())
      observed[members.length - 1] = (observed[members.length - 1] ?? 0) + 1
    const n = groups.size
    const chi2 = weights.reduce((a, w, i) => a + ((observed[i] ?? 0) - n * w) ** 2 / (n * w), 0)
    expect(n).toBeGreaterThan(1000)
    expect(chi2).toBeLessThan(16.27) // p = 0.001
  })

  it('walks a group together: same arrival, path and speed; each member with their own devices', () => {
    let checked = 0
    for (const members of groups.values()) {
      if (members.length < 2) continue
      const [first, ...rest] = members
      for (const m of rest) {
        expect(m.arriveMs).toBe(first?.arriveMs)
        expect(m.legs).toEqual(first?.legs)
        expect(m.speedMps).toBe(first?.speedMps)
        expect(m.id).not.toBe(first?.id)
      }
      const macs = members.flatMap((m) => m.devices.map((d) => d.emitUntil(Infinity)[0]?.mac))
      expect(new Set(macs).size).toBe(macs.length)
      checked++
    }
    expect(checked).toBeGreaterThan(300)
  })

  it('keeps arrivalsPerHour counting people, not groups', () => {
    const model = createStreetModel(district, 11, fromMs, fromMs + 4 * HOUR_MS, DEMO_SCENARIO)
    const expected = model.expectedArrivals(fromMs, fromMs + 4 * HOUR_MS)
    const w = DEMO_SCENARIO.groupSizeWeights
    const meanSquare = w.reduce((a, x, i) => a + x * (i + 1) ** 2, 0)
    within4Sigma(people.length, expected, (expected * meanSquare) / model.meanGroupSize)
  })
})

describe('devices', () => {
  const fromMs = SATURDAY_9AM_MS
  const people = arrivalsOf(REALISTIC_SCENARIO, fromMs, fromMs + 2 * HOUR_MS, 12)
  const carriers = people.filter((p) => p.devices.length > 0)

  it('gives a share of pedestrians a phone and some of those a second device', () => {
    within4Sigma(carriers.length, people.length * 0.8, people.length * 0.8 * 0.2)
    const two = carriers.filter((p) => p.devices.length === 2).length
    within4Sigma(two, carriers.length * 0.25, carriers.length * 0.25 * 0.75)
    expect(people.every((p) => p.devices.length <= 2)).toBe(true)
  })

  it('randomises modern phones per scan, keeps a legacy share stable, rotates wearables over BLE', () => {
    let legacy = 0
    for (const p of carriers) {
      const [phone, wearable] = p.devices
      const emissions = phone?.emitUntil(Infinity) ?? []
      const macs = new Set(emissions.map((e) => e.mac))
      const randomised = emissions.every((e) => isRandomisedMac(normaliseMac(e.mac) ?? ''))
      if (macs.size === 1 && emissions.length > 1 && !randomised) legacy++
      else if (emissions.length > 1) {
        expect(randomised).toBe(true)
        expect(macs.size).toBe(emissions.length)
      }
      for (const e of wearable?.emitUntil(Infinity) ?? []) {
        expect(e.radio).toBe('ble')
        expect(isRandomisedMac(normaliseMac(e.mac) ?? '')).toBe(true)
      }
    }
    within4Sigma(legacy, carriers.length * 0.1, carriers.length * 0.1 * 0.9)
  })
})

describe('static devices and staff phones', () => {
  const fromMs = SATURDAY_9AM_MS
  const toMs = fromMs + 30 * MIN_MS
  const indoorShops = district.gateways.filter((g) => g.placement === 'indoor' && g.shopId).length

  it('puts 1–2 static devices in every shop with a gateway and staff on a daily shift', () => {
    const model = createStreetModel(
      district,
      3,
      fromMs - 2 * 24 * HOUR_MS,
      toMs,
      REALISTIC_SCENARIO,
    )
    const residents = [...model.residents()]
    const statics = residents.filter((r) => r.kind === 'static')
    expect(statics.length).toBeGreaterThanOrEqual(indoorShops)
    expect(statics.length).toBeLessThanOrEqual(2 * indoorShops)
    for (const s of statics) {
      expect(s.arriveMs).toBe(model.fromMs)
      expect(s.leaveMs).toBe(toMs)
      expect(s.legs).toHaveLength(1)
      expect(s.legs[0]?.kind).toBe('inside')
    }
    const staff = residents.filter((r) => r.kind === 'staff')
    const days = new Set(staff.map((s) => s.id.slice(-10)))
    expect(days.size).toBe(3)
    const arrivals = residents.map((r) => r.arriveMs)
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b))
    for (const s of staff) {
      const localHour = ((s.arriveMs - SATURDAY_MS) / HOUR_MS + 24 * 7) % 24
      if (s.arriveMs > model.fromMs) {
        expect(localHour).toBeGreaterThanOrEqual(8)
        expect(localHour).toBeLessThanOrEqual(10)
      }
      expect(s.leaveMs - s.arriveMs).toBeLessThanOrEqual(9 * HOUR_MS)
    }
  })

  it('is heard all run long at its shop’s gateway', () => {
    const model = createStreetModel(district, 3, fromMs, toMs, REALISTIC_SCENARIO)
    for (const s of [...model.residents()].filter((r) => r.kind === 'static')) {
      const leg = s.legs[0]
      const site = model.sites.findIndex(
        (x) => leg?.kind === 'inside' && x.enclosure === leg.shopId,
      )
      const emissions = s.device?.emitUntil(Infinity) ?? []
      expect(emissions.length).toBeGreaterThanOrEqual(50)
      expect(emissions[0]?.tMs).toBeLessThan(fromMs + 60_000)
      expect(emissions.at(-1)?.tMs).toBeGreaterThan(toMs - 60_000)
      for (const e of emissions)
        expect(model.hear(s, e, s.device).some((h) => h.siteIndex === site)).toBe(true)
    }
  })

  it('is in the ground truth, marked, and left out of the truth summary', () => {
    const sim = createSimulation({ district, seed: 3, fromMs, toMs, scenario: 'realistic' })
    let sightings = 0
    for (const m of sim) sightings += m.sightings
    expect(sightings).toBeGreaterThan(0)
    const truth = sim.truth()
    const residents = truth.filter((e) => e.kind === 'static' || e.kind === 'staff')
    expect(new Set(residents.map((e) => e.kind))).toEqual(new Set(['static', 'staff']))
    for (const e of residents) expect(e.pedestrianId).toMatch(/^(static|staff)-/)
    const pedestrians = truth.filter((e) => e.kind === 'pedestrian')
    expect(pedestrians.length + residents.length).toBe(truth.length)
    const summary = summariseTruth(truth, 15 * MIN_MS)
    const counted = summary.totals.reduce((n, t) => n + t.passersBy + t.visitors, 0)
    expect(counted).toBe(pedestrians.length)
    expect(sim.stats().residents).toBeGreaterThan(indoorShops)
  })
})
