import { describe, expect, it } from 'vitest'
import { isRandomisedMac, normaliseMac } from '../services/shared/contracts/mac.ts'
import { truthEventsOf } from './ground-truth.ts'
import {
  createStreetModel,
  DEMO_SCENARIO,
  resolveScenario,
  SIMPLE_SCENARIO,
  type Pedestrian,
  type ScenarioOptions,
  type StreetModel,
} from './street-model.ts'
import { mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'

const district = mestreDistrict()
const HOUR_MS = 3_600_000

/** A simple-scenario run whose arrivals span exactly `arrivalMinutes`, drained by toMs. */
function simpleRun(seed: number, arrivalMinutes: number): StreetModel {
  const fromMs = SATURDAY_9AM_MS
  const probe = createStreetModel(district, seed, fromMs, Infinity, SIMPLE_SCENARIO)
  const toMs = fromMs + arrivalMinutes * 60_000 + probe.maxStayMs
  return createStreetModel(district, seed, fromMs, toMs, SIMPLE_SCENARIO)
}

type SiteSightings = Map<number, Array<{ tMs: number; rssi: number; mac: string }>>

function sightingsOf(model: StreetModel, pedestrian: Pedestrian): SiteSightings {
  const bySite: SiteSightings = new Map()
  for (const emission of pedestrian.device?.emitUntil(Infinity) ?? []) {
    for (const { siteIndex, rssi } of model.hear(pedestrian, emission)) {
      const list = bySite.get(siteIndex) ?? []
      list.push({ tMs: emission.tMs, rssi, mac: emission.mac })
      bySite.set(siteIndex, list)
    }
  }
  return bySite
}

describe('simple scenario guarantees (30 minutes of arrivals on mestre.json)', () => {
  const model = simpleRun(2026, 30)
  const pedestrians = [...model.arrivals()]
  const runs = pedestrians.map((p) => ({ p, bySite: sightingsOf(model, p) }))

  it('generates a busy street with visitors in every shop', () => {
    expect(model.closedShops).toEqual([])
    expect(model.arrivalsUntilMs).toBe(SATURDAY_9AM_MS + 30 * 60_000)
    expect(pedestrians.length).toBeGreaterThan(200)
    for (const shop of district.shops) {
      const visitors = pedestrians.filter((p) => p.visits.some((v) => v.shopId === shop.id))
      expect(visitors.length, shop.id).toBeGreaterThan(0)
    }
  })

  it('keeps passers-by at least 3 dB under visitor.minRssi at every shop gateway', () => {
    let checked = 0
    for (const { p, bySite } of runs) {
      model.sites.forEach((site, siteIndex) => {
        const shopId = site.gateway.shopId
        if (!shopId || p.visits.some((v) => v.shopId === shopId)) return
        const peak = Math.max(...(bySite.get(siteIndex) ?? []).map((s) => s.rssi))
        expect(peak).toBeLessThanOrEqual(site.gateway.visitor.minRssi - 3)
        checked++
      })
    }
    expect(checked).toBeGreaterThan(1000)
  })

  it('gives visitors a peak at least 3 dB over visitor.minRssi and a dwell over minDwellS + 30 s', () => {
    let checked = 0
    for (const { p, bySite } of runs) {
      for (const visit of p.visits) {
        const siteIndex = model.sites.findIndex((s) => s.gateway.shopId === visit.shopId)
        const site = model.sites[siteIndex]
        if (!site) throw new Error(`no gateway in ${visit.shopId}`)
        const peak = Math.max(...(bySite.get(siteIndex) ?? []).map((s) => s.rssi))
        expect(peak).toBeGreaterThanOrEqual(site.gateway.visitor.minRssi + 3)
        expect(visit.dwellS).toBeGreaterThanOrEqual(site.gateway.visitor.minDwellS + 30)
        expect(visit.exitMs - visit.enterMs).toBeCloseTo(visit.dwellS * 1000, 2)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(50)
  })

  it('hears a device at one gateway in one pass, with sightings less than 120 s apart', () => {
    for (const { p, bySite } of runs) {
      const events = truthEventsOf(model, p)
      model.sites.forEach((site, siteIndex) => {
        const passes = events.filter((e) => e.gatewayId === site.gateway.id)
        expect(passes.length).toBeLessThanOrEqual(1)
        const sightings = bySite.get(siteIndex) ?? []
        expect(sightings.length > 0).toBe(passes.length === 1)
        for (let i = 1; i < sightings.length; i++) {
          const gap = (sightings[i]?.tMs ?? 0) - (sightings[i - 1]?.tMs ?? 0)
          expect(gap).toBeGreaterThan(0)
          expect(gap).toBeLessThan(120_000)
        }
        const pass = passes[0]
        if (pass) {
          for (const s of sightings) {
            expect(s.tMs).toBeGreaterThanOrEqual(pass.firstMs)
            expect(s.tMs).toBeLessThanOrEqual(pass.lastMs)
          }
        }
      })
    }
  })

  it('walks each pedestrian once from one end to the other and off the street before toMs', () => {
    for (const p of pedestrians) {
      const walks = p.legs.filter((l) => l.kind === 'walk')
      expect(walks[0]?.x0).toBe(p.direction === 1 ? 0 : district.streetLengthM)
      expect(walks[walks.length - 1]?.x1).toBe(p.direction === 1 ? district.streetLengthM : 0)
      for (const leg of walks)
        expect(Math.sign(leg.x1 - leg.x0) * p.direction).toBeGreaterThanOrEqual(0)
      for (let i = 1; i < p.legs.length; i++) expect(p.legs[i]?.t0).toBe(p.legs[i - 1]?.t1)
      expect(p.visits.length).toBeLessThanOrEqual(1)
      expect(p.speedMps).toBeGreaterThanOrEqual(0.8)
      expect(p.speedMps).toBeLessThanOrEqual(1.9)
      expect(p.lateralM).toBeGreaterThanOrEqual(2)
      expect(p.lateralM).toBeLessThanOrEqual(5)
      expect(p.leaveMs).toBeLessThanOrEqual(model.toMs)
    }
  })

  it('gives every phone a stable, globally administered MAC', () => {
    for (const { p, bySite } of runs) {
      const macs = new Set([...bySite.values()].flat().map((s) => s.mac))
      expect(macs.size, p.id).toBe(1)
      const mac = normaliseMac([...macs][0] ?? '')
      expect(mac).not.toBeNull()
      expect(isRandomisedMac(mac ?? '')).toBe(false)
    }
  })
})

describe(createStreetModel.name, () => {
  it('draws a Poisson number of arrivals over 6 hours (within 4 sigma), flat and shaped', () => {
    // Groups arrive as a Poisson process: people are compound Poisson, variance × E[S²]/E[S].
    for (const [seed, scenario] of [
      [1, resolveScenario('simple', { leaveStreetByEnd: false })],
      [2, DEMO_SCENARIO],
      [3, resolveScenario('demo', { arrivalsPerHour: 240 })],
    ] as Array<[number, ScenarioOptions]>) {
      const fromMs = SATURDAY_9AM_MS - 3 * HOUR_MS
      const sut = createStreetModel(district, seed, fromMs, fromMs + 6 * HOUR_MS, scenario)
      let count = 0
      for (const _ of sut.arrivals()) count++
      const expected = sut.expectedArrivals(fromMs, fromMs + 6 * HOUR_MS)
      expect(expected).toBeGreaterThan(100)
      const w = sut.options.groupSizeWeights
      const total = w.reduce((a, b) => a + b, 0)
      const meanSquare = w.reduce((a, x, i) => a + (x * (i + 1) ** 2) / total, 0)
      const dispersion = meanSquare / sut.meanGroupSize
      expect(Math.abs(count - expected)).toBeLessThanOrEqual(4 * Math.sqrt(expected * dispersion))
    }
  })

  it('computes the expected arrivals from the local hour shape', () => {
    const flat = createStreetModel(district, 1, 0, HOUR_MS * 48, {
      ...SIMPLE_SCENARIO,
      leaveStreetByEnd: false,
    })
    expect(flat.expectedArrivals(0, 6 * HOUR_MS)).toBeCloseTo(3600, 6)
    const shaped = createStreetModel(district, 1, 0, HOUR_MS * 48, DEMO_SCENARIO)
    // 00:00Z is 01:00 in Rome in November; 1 January 1970 was a Thursday (week factor 1).
    expect(shaped.expectedArrivals(0, HOUR_MS)).toBeCloseTo(900 * 0.03, 6)
  })

  it('is deterministic per seed', () => {
    const ids = (seed: number) =>
      [...simpleRun(seed, 10).arrivals()].map(
        (p) => `${p.arriveMs}:${p.speedMps}:${p.visits.length}`,
      )
    expect(ids(4)).toEqual(ids(4))
    expect(ids(4)).not.toEqual(ids(5))
  })

  it('stops arrivals early enough for everyone to leave, and none when the window is too short', () => {
    const short = createStreetModel(district, 1, 0, 20 * 60_000, SIMPLE_SCENARIO)
    expect(short.arrivalsUntilMs).toBe(0)
    expect([...short.arrivals()]).toEqual([])
  })

  it('rejects radio parameters that cannot keep the visitor margins', () => {
    const weakWall = { ...SIMPLE_SCENARIO.radio, wallLossDb: 0, rssiAt1mDbm: -30 }
    expect(() =>
      createStreetModel(district, 1, 0, HOUR_MS, { ...SIMPLE_SCENARIO, radio: weakWall }),
    ).toThrow(/passer-by peaks at/)
    expect(() =>
      createStreetModel(district, 1, 0, HOUR_MS, {
        ...SIMPLE_SCENARIO,
        radio: { ...SIMPLE_SCENARIO.radio, noiseSigmaDb: 2 },
      }),
    ).toThrow(/noiseSigmaDb/)
  })

  it('closes a shop whose visit would split a pass at a nearby street gateway', () => {
    const tweaked = {
      ...district,
      gateways: district.gateways.map((g) =>
        g.id === 'gw-piazza-ferretto' ? { ...g, streetOffsetM: 610 } : g,
      ),
    }
    const sut = createStreetModel(tweaked, 1, 0, HOUR_MS * 3, SIMPLE_SCENARIO)
    expect(sut.closedShops.map((c) => c.shopId)).toEqual(['alimentari-da-nane'])
    const visited = [...sut.arrivals()].flatMap((p) => p.visits.map((v) => v.shopId))
    expect(visited).not.toContain('alimentari-da-nane')
  })
})

describe('device randomisation', () => {
  const fromMs = SATURDAY_9AM_MS
  const firstPedestrian = (overrides: Partial<ScenarioOptions>): Pedestrian => {
    const sut = createStreetModel(district, 9, fromMs, fromMs + HOUR_MS, {
      ...resolveScenario('simple', { leaveStreetByEnd: false, ...overrides }),
    })
    const p = sut.arrivals().next().value
    if (!p) throw new Error('no pedestrian')
    return p
  }

  it('uses a fresh locally administered MAC per Wi-Fi scan, keeping the sequence number running', () => {
    const emissions =
      firstPedestrian({ randomisation: 'wifi-per-scan' }).device?.emitUntil(Infinity) ?? []
    expect(emissions.length).toBeGreaterThan(50)
    expect(new Set(emissions.map((e) => e.mac)).size).toBe(emissions.length)
    for (const e of emissions) expect(isRandomisedMac(normaliseMac(e.mac) ?? '')).toBe(true)
    for (let i = 1; i < emissions.length; i++)
      expect(emissions[i]?.seqNum).toBe(((emissions[i - 1]?.seqNum ?? 0) + 1) % 4096)
  })

  it('rotates BLE addresses every 5 to 15 minutes', () => {
    const emissions =
      firstPedestrian({ randomisation: 'ble-rotation' }).device?.emitUntil(Infinity) ?? []
    expect(emissions.every((e) => e.radio === 'ble')).toBe(true)
    const changes = emissions.filter((e, i) => i > 0 && e.mac !== emissions[i - 1]?.mac)
    const span = (emissions.at(-1)?.tMs ?? 0) - (emissions[0]?.tMs ?? 0)
    expect(changes.length).toBeGreaterThanOrEqual(Math.floor(span / 900_000) - 1)
    expect(changes.length).toBeLessThanOrEqual(Math.ceil(span / 300_000) + 1)
    for (const e of emissions) expect(isRandomisedMac(normaliseMac(e.mac) ?? '')).toBe(true)
  })

  it('keeps jittered probes in order and within the jitter', () => {
    const emissions = firstPedestrian({ probeJitterS: 3 }).device?.emitUntil(Infinity) ?? []
    for (let i = 1; i < emissions.length; i++) {
      const gap = (emissions[i]?.tMs ?? 0) - (emissions[i - 1]?.tMs ?? 0)
      expect(gap).toBeGreaterThanOrEqual(4000)
      expect(gap).toBeLessThanOrEqual(16_000)
    }
  })
})
