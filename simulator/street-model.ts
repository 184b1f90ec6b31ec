import type { DistrictFile, Gateway, Shop } from '../services/shared/contracts/district.ts'
import { createDevice, type Device, type DeviceOptions, type Emission } from './device.ts'
import {
  hearingRangeM,
  meanRssi,
  toReportedRssi,
  DEFAULT_RADIO,
  type RadioParams,
} from './radio.ts'
import { createRng, deriveSeed } from './rng.ts'

export type ShopCategory = Shop['category']
export type ScenarioName = 'simple' | 'demo'

export interface Range {
  min: number
  max: number
}

/** Time inside a shop: lognormal around `medianS`, clamped to [minS, maxS]. */
export interface DwellDistribution {
  medianS: number
  sigma: number
  minS: number
  maxS: number
}

/**
 * Margins that make the simple scenario unambiguous for the pipeline: passers-by stay
 * `rssiMarginDb` below a shop gateway's visitor.minRssi, visitors peak `rssiMarginDb` above it and
 * stay at least visitor.minDwellS + `dwellMarginS`.
 */
export interface VisitorGuarantees {
  rssiMarginDb: number
  dwellMarginS: number
}

export interface ScenarioOptions extends DeviceOptions {
  /** Mean pedestrian arrivals per hour at hour-shape factor 1. */
  arrivalsPerHour: number
  /** 24 factors, by local hour in the district's timezone, multiplying `arrivalsPerHour`. */
  hourShape: readonly number[]
  /** Share of pedestrians carrying a detectable phone. */
  deviceShare: number
  /** Probability that a pedestrian enters each shop they pass. */
  enterProbability: number
  maxVisitsPerPedestrian: number
  walkSpeedMps: { mean: number; sd: number; min: number; max: number }
  /** Distance of the walking line from the shopfront line. */
  lateralOffsetM: Range
  /** Distance of a visitor's phone from the shop's indoor gateway (or its door when it has none). */
  insideDistanceM: Range
  dwell: Readonly<Record<ShopCategory, DwellDistribution>>
  /**
   * When set, createStreetModel checks that the radio parameters meet the margins on every indoor
   * gateway (and throws otherwise), stretches dwell accordingly, and keeps pedestrians out of shops
   * whose visit would split a pass at another gateway into two.
   */
  guarantees: VisitorGuarantees | null
  radio: RadioParams
  /** Seconds of simulated time per gateway batch. */
  batchIntervalS: number
  /**
   * Stop arrivals at toMs - maxStayMs (the slowest walk of the whole street plus the longest possible
   * dwell), so that every pedestrian has left the street, and every transit has closed, by toMs.
   * Ignored when toMs is Infinity.
   */
  leaveStreetByEnd: boolean
}

const FLAT_HOURS: readonly number[] = Object.freeze(Array.from({ length: 24 }, () => 1))

/** A shopping street's day: quiet at night, a late-morning and an early-evening peak. */
export const SHOPPING_DAY_HOURS: readonly number[] = Object.freeze([
  0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.35, 0.6, 0.9, 1.2, 1.3, 1.2, 1, 0.9, 1, 1.1, 1.4, 1.5,
  1.2, 0.7, 0.4, 0.2, 0.1,
])

const min = 60

export const DEFAULT_DWELL: Readonly<Record<ShopCategory, DwellDistribution>> = Object.freeze({
  shoes: { medianS: 7 * min, sigma: 0.6, minS: 20, maxS: 40 * min },
  optician: { medianS: 12 * min, sigma: 0.5, minS: 30, maxS: 45 * min },
  grocer: { medianS: 5 * min, sigma: 0.5, minS: 20, maxS: 25 * min },
  bistro: { medianS: 25 * min, sigma: 0.5, minS: 60, maxS: 90 * min },
  pastry: { medianS: 6 * min, sigma: 0.5, minS: 20, maxS: 30 * min },
  clothing: { medianS: 10 * min, sigma: 0.6, minS: 20, maxS: 50 * min },
  books: { medianS: 9 * min, sigma: 0.6, minS: 20, maxS: 45 * min },
  other: { medianS: 6 * min, sigma: 0.6, minS: 20, maxS: 30 * min },
})

const SIMPLE_MAX_DWELL_S = 12 * min

/**
 * The simple scenario: flat arrivals, one phone per pedestrian, stable MACs, no RSSI noise, at most
 * one visit of at most 12 min, and the visitor guarantees; its ground truth is what a correct
 * pipeline must report exactly.
 */
export const SIMPLE_SCENARIO: Readonly<ScenarioOptions> = Object.freeze({
  arrivalsPerHour: 600,
  hourShape: FLAT_HOURS,
  deviceShare: 1,
  enterProbability: 0.08,
  maxVisitsPerPedestrian: 1,
  walkSpeedMps: { mean: 1.3, sd: 0.2, min: 0.8, max: 1.9 },
  lateralOffsetM: { min: 2, max: 5 },
  insideDistanceM: { min: 1, max: 3 },
  dwell: Object.fromEntries(
    Object.entries(DEFAULT_DWELL).map(([category, d]) => [
      category,
      { ...d, maxS: Math.min(d.maxS, SIMPLE_MAX_DWELL_S) },
    ]),
  ) as Record<ShopCategory, DwellDistribution>,
  guarantees: { rssiMarginDb: 3, dwellMarginS: 30 },
  radio: DEFAULT_RADIO,
  batchIntervalS: 5,
  leaveStreetByEnd: true,
  randomisation: 'none',
  probeIntervalS: 10,
  probeJitterS: 0,
  bleRotationS: { min: 300, max: 900 },
})

/** The demo scenario: a shopping day's rhythm, some pedestrians without a phone, noisy RSSI. */
export const DEMO_SCENARIO: Readonly<ScenarioOptions> = Object.freeze({
  ...SIMPLE_SCENARIO,
  arrivalsPerHour: 900,
  hourShape: SHOPPING_DAY_HOURS,
  deviceShare: 0.8,
  maxVisitsPerPedestrian: 3,
  dwell: DEFAULT_DWELL,
  guarantees: null,
  radio: { ...DEFAULT_RADIO, noiseSigmaDb: 3 },
  leaveStreetByEnd: false,
  probeJitterS: 2,
})

export function resolveScenario(
  scenario: ScenarioName | ScenarioOptions,
  overrides: Partial<ScenarioOptions> = {},
): ScenarioOptions {
  const base = typeof scenario === 'string' ? SCENARIOS[scenario] : scenario
  return { ...base, ...overrides }
}

const SCENARIOS: Readonly<Record<ScenarioName, Readonly<ScenarioOptions>>> = {
  simple: SIMPLE_SCENARIO,
  demo: DEMO_SCENARIO,
}

/** A gateway placed in the street's 1-D frame: x along the mile, lateral across it (inside < 0). */
export interface GatewaySite {
  gateway: Gateway
  xM: number
  lateralM: number
  /** The shop the gateway stands in, or null for a street gateway. */
  enclosure: string | null
  /** Noise-free hearing range to a phone in the same space / behind one wall. */
  openRangeM: number
  walledRangeM: number
}

export interface Position {
  xM: number
  lateralM: number
  /** Shop id when inside a shop. */
  enclosure: string | null
}

export type Leg =
  | { kind: 'walk'; t0: number; t1: number; x0: number; x1: number; lateralM: number }
  | { kind: 'inside'; t0: number; t1: number; shopId: string; xM: number; lateralM: number }

export interface Visit {
  shopId: string
  enterMs: number
  exitMs: number
  dwellS: number
}

export interface Pedestrian {
  id: string
  index: number
  arriveMs: number
  leaveMs: number
  direction: 1 | -1
  speedMps: number
  lateralM: number
  legs: readonly Leg[]
  visits: readonly Visit[]
  device: Device | null
}

export interface Heard {
  siteIndex: number
  rssi: number
}

export interface ClosedShop {
  shopId: string
  reason: string
}

export interface StreetModel {
  readonly district: DistrictFile
  readonly seed: number
  readonly options: ScenarioOptions
  readonly fromMs: number
  readonly toMs: number
  /** Arrivals happen in [fromMs, arrivalsUntilMs). */
  readonly arrivalsUntilMs: number
  /** Longest time a pedestrian can spend on the street. */
  readonly maxStayMs: number
  readonly sites: readonly GatewaySite[]
  /** Shops nobody enters in this run, with why (only under guarantees). */
  readonly closedShops: readonly ClosedShop[]
  /** Pedestrians in arrival order, generated lazily. */
  arrivals(): Generator<Pedestrian, void, undefined>
  positionAt(pedestrian: Pedestrian, tMs: number): Position
  /** The gateways that hear one emission of the pedestrian's phone, with the reported RSSI. */
  hear(pedestrian: Pedestrian, emission: Emission): Heard[]
  /** Maximal time intervals [first, last] during which the gateway hears the pedestrian (noise-free). */
  inRangeIntervals(pedestrian: Pedestrian, siteIndex: number): Array<[number, number]>
  /** Expected number of arrivals in [fromMs, toMs) (the Poisson mean). */
  expectedArrivals(fromMs: number, toMs: number): number
}

const HOUR_SLOT_MS = 15 * 60_000

export function createStreetModel(
  district: DistrictFile,
  seed: number,
  fromMs: number,
  toMs: number,
  options: ScenarioOptions,
): StreetModel {
  validateOptions(options, fromMs, toMs)
  const { radio } = options
  const sites = district.gateways.map((g) => placeGateway(g, district, radio))
  const anchors = new Map(district.shops.map((s) => [s.id, insideAnchor(s, sites, radio)]))

  if (options.guarantees) checkVisitorGuarantees(district, sites, anchors, options)
  const closedShops = options.guarantees
    ? findSplittingShops(district, sites, anchors, options)
    : []
  const closed = new Set(closedShops.map((c) => c.shopId))
  const enterable = district.shops.filter((s) => !closed.has(s.id))
  const dwellFloorS = new Map(
    district.shops.map((s) => [s.id, visitorDwellFloorS(s, district, options.guarantees)]),
  )
  const dwellOf = (shop: Shop): DwellDistribution => {
    const d = options.dwell[shop.category]
    const floor = Math.max(d.minS, dwellFloorS.get(shop.id) ?? 0)
    return { ...d, minS: floor, maxS: Math.max(d.maxS, floor) }
  }
  const longestDwellS = Math.max(0, ...enterable.map((s) => dwellOf(s).maxS))
  const maxStayMs =
    (district.streetLengthM / options.walkSpeedMps.min +
      Math.min(options.maxVisitsPerPedestrian, enterable.length) * longestDwellS) *
    1000
  const arrivalsUntilMs =
    options.leaveStreetByEnd && Number.isFinite(toMs) ? Math.max(fromMs, toMs - maxStayMs) : toMs

  const localHour = createLocalHour(district.timezone)
  const shapeAt = (tMs: number) => options.hourShape[localHour(tMs)] ?? 0
  const maxShape = Math.max(...options.hourShape)

  function planPedestrian(index: number, arriveMs: number): Pedestrian {
    const rng = createRng(deriveSeed(seed, `pedestrian-${index}`))
    const direction = rng.bool(0.5) ? 1 : -1
    const s = options.walkSpeedMps
    const speedMps = clamp(rng.normal(s.mean, s.sd), s.min, s.max)
    const lateralM = rng.uniform(options.lateralOffsetM.min, options.lateralOffsetM.max)
    const hasDevice = rng.bool(options.deviceShare)
    const start = direction === 1 ? 0 : district.streetLengthM
    const end = district.streetLengthM - start
    const ordered = [...enterable].sort((a, b) => direction * (a.streetOffsetM - b.streetOffsetM))
    const legs: Leg[] = []
    const visits: Visit[] = []
    let t = arriveMs
    let x = start
    const walkTo = (target: number) => {
      const t1 = t + (Math.abs(target - x) / speedMps) * 1000
      legs.push({ kind: 'walk', t0: t, t1, x0: x, x1: target, lateralM })
      t = t1
      x = target
    }
    for (const shop of ordered) {
      if (visits.length >= options.maxVisitsPerPedestrian) break
      if (!rng.bool(options.enterProbability)) continue
      const d = dwellOf(shop)
      const dwellS = clamp(rng.logNormal(d.medianS, d.sigma), d.minS, d.maxS)
      const anchor = anchors.get(shop.id) ?? insideAnchor(shop, sites, radio)
      const angle = rng.uniform(0, 2 * Math.PI)
      const r = rng.uniform(options.insideDistanceM.min, options.insideDistanceM.max)
      walkTo(shop.streetOffsetM)
      const exitMs = t + dwellS * 1000
      legs.push({
        kind: 'inside',
        t0: t,
        t1: exitMs,
        shopId: shop.id,
        xM: anchor.xM + r * Math.cos(angle),
        lateralM: Math.min(-0.5, anchor.lateralM + r * Math.sin(angle)),
      })
      visits.push({ shopId: shop.id, enterMs: t, exitMs, dwellS })
      t = exitMs
    }
    walkTo(end)
    const id = `p-${index}`
    const device = hasDevice
      ? createDevice(`d-${index}`, rng.fork('device'), arriveMs, t, options)
      : null
    return { id, index, arriveMs, leaveMs: t, direction, speedMps, lateralM, legs, visits, device }
  }

  function positionAt(pedestrian: Pedestrian, tMs: number): Position {
    const legs = pedestrian.legs
    const leg = legs.find((l) => tMs <= l.t1) ?? legs[legs.length - 1]
    if (!leg) throw new Error(`pedestrian ${pedestrian.id} has no path`)
    if (leg.kind === 'inside') return { xM: leg.xM, lateralM: leg.lateralM, enclosure: leg.shopId }
    const f = leg.t1 > leg.t0 ? clamp((tMs - leg.t0) / (leg.t1 - leg.t0), 0, 1) : 1
    return { xM: leg.x0 + (leg.x1 - leg.x0) * f, lateralM: leg.lateralM, enclosure: null }
  }

  return {
    district,
    seed,
    options,
    fromMs,
    toMs,
    arrivalsUntilMs,
    maxStayMs,
    sites,
    closedShops,
    *arrivals() {
      if (options.arrivalsPerHour <= 0 || maxShape <= 0) return
      // Thinning: candidates at the peak rate, each kept with probability shape(t) / peak.
      const rng = createRng(deriveSeed(seed, 'arrivals'))
      const peakPerMs = (options.arrivalsPerHour * maxShape) / 3_600_000
      let t = fromMs
      let index = 0
      for (;;) {
        t += rng.exponential(peakPerMs)
        if (t >= arrivalsUntilMs) return
        if (rng.next() * maxShape >= shapeAt(t)) continue
        yield planPedestrian(index++, t)
      }
    },
    positionAt,
    hear(pedestrian, emission) {
      const p = positionAt(pedestrian, emission.tMs)
      const noise = pedestrian.device?.noise
      const heard: Heard[] = []
      sites.forEach((site, siteIndex) => {
        const walled = site.enclosure !== p.enclosure
        const d = Math.hypot(p.xM - site.xM, p.lateralM - site.lateralM)
        const sigma = radio.noiseSigmaDb
        const rssi = meanRssi(d, walled, radio) + (sigma > 0 && noise ? noise.normal(0, sigma) : 0)
        const reported = toReportedRssi(rssi)
        if (reported >= site.gateway.rssiFloor) heard.push({ siteIndex, rssi: reported })
      })
      return heard
    },
    inRangeIntervals(pedestrian, siteIndex) {
      const site = sites[siteIndex]
      if (!site) throw new Error(`no gateway site ${siteIndex}`)
      const intervals: Array<[number, number]> = []
      for (const leg of pedestrian.legs) {
        const interval = legInRange(leg, site)
        if (interval) intervals.push(interval)
      }
      return mergeTouching(intervals)
    },
    expectedArrivals(from, to) {
      const end = Math.min(to, arrivalsUntilMs)
      let total = 0
      for (let t = Math.max(from, fromMs); t < end;) {
        const slotEnd = Math.min(end, (Math.floor(t / HOUR_SLOT_MS) + 1) * HOUR_SLOT_MS)
        total += (options.arrivalsPerHour * shapeAt(t) * (slotEnd - t)) / 3_600_000
        t = slotEnd
      }
      return total
    },
  }
}

function validateOptions(o: ScenarioOptions, fromMs: number, toMs: number): void {
  const problems: string[] = []
  if (!Number.isFinite(fromMs)) problems.push('fromMs must be finite')
  if (!(toMs > fromMs)) problems.push('toMs must be after fromMs')
  if (o.hourShape.length !== 24 || o.hourShape.some((f) => !(f >= 0)))
    problems.push('hourShape needs 24 non-negative factors')
  if (!(o.arrivalsPerHour >= 0)) problems.push('arrivalsPerHour must be >= 0')
  if (!(o.deviceShare >= 0 && o.deviceShare <= 1)) problems.push('deviceShare must be in [0, 1]')
  if (!(o.enterProbability >= 0 && o.enterProbability <= 1))
    problems.push('enterProbability must be in [0, 1]')
  if (!(o.walkSpeedMps.min > 0 && o.walkSpeedMps.max >= o.walkSpeedMps.min))
    problems.push('walkSpeedMps needs 0 < min <= max')
  if (!(o.lateralOffsetM.min > 0 && o.lateralOffsetM.max >= o.lateralOffsetM.min))
    problems.push('lateralOffsetM needs 0 < min <= max')
  if (!(o.insideDistanceM.min >= 0 && o.insideDistanceM.max >= o.insideDistanceM.min))
    problems.push('insideDistanceM needs 0 <= min <= max')
  if (!(o.probeIntervalS > 0)) problems.push('probeIntervalS must be > 0')
  if (!(o.probeJitterS >= 0 && o.probeJitterS < o.probeIntervalS / 2))
    problems.push('probeJitterS must be in [0, probeIntervalS / 2)')
  if (!(o.batchIntervalS > 0)) problems.push('batchIntervalS must be > 0')
  if (o.guarantees && o.radio.noiseSigmaDb !== 0)
    problems.push('guarantees need radio.noiseSigmaDb = 0')
  if (problems.length > 0) throw new Error(`invalid scenario options: ${problems.join('; ')}`)
}

function placeGateway(gateway: Gateway, district: DistrictFile, radio: RadioParams): GatewaySite {
  const indoor = gateway.placement === 'indoor'
  const shopId =
    gateway.shopId ?? district.shops.find((s) => s.zoneId === gateway.zoneId)?.id ?? null
  return {
    gateway,
    xM: gateway.streetOffsetM,
    lateralM: indoor ? -radio.indoorGatewayDepthM : 0,
    enclosure: indoor ? (shopId ?? `zone:${gateway.zoneId}`) : null,
    openRangeM: hearingRangeM(gateway.rssiFloor, false, radio),
    walledRangeM: hearingRangeM(gateway.rssiFloor, true, radio),
  }
}

/** Where visitors of a shop stand: around its indoor gateway, or just inside the door. */
function insideAnchor(
  shop: Shop,
  sites: readonly GatewaySite[],
  radio: RadioParams,
): { xM: number; lateralM: number } {
  const site = sites.find((s) => s.enclosure === shop.id)
  return site
    ? { xM: site.xM, lateralM: site.lateralM }
    : { xM: shop.streetOffsetM, lateralM: -radio.indoorGatewayDepthM }
}

function visitorDwellFloorS(
  shop: Shop,
  district: DistrictFile,
  guarantees: VisitorGuarantees | null,
): number {
  if (!guarantees) return 0
  const own = district.gateways.filter((g) => g.shopId === shop.id || g.zoneId === shop.zoneId)
  return Math.max(0, ...own.map((g) => g.visitor.minDwellS)) + guarantees.dwellMarginS
}

function checkVisitorGuarantees(
  district: DistrictFile,
  sites: readonly GatewaySite[],
  anchors: ReadonlyMap<string, { xM: number; lateralM: number }>,
  options: ScenarioOptions,
): void {
  const margin = options.guarantees?.rssiMarginDb ?? 0
  const problems: string[] = []
  for (const site of sites) {
    if (site.enclosure === null) continue
    const { minRssi } = site.gateway.visitor
    const closestOutsideM = options.lateralOffsetM.min - site.lateralM
    const outside = toReportedRssi(meanRssi(closestOutsideM, true, options.radio))
    if (outside > minRssi - margin)
      problems.push(
        `${site.gateway.id}: a passer-by peaks at ${outside} dBm, above visitor.minRssi ${minRssi} - ${margin}`,
      )
    for (const [shopId, other] of anchors) {
      if (shopId === site.enclosure) continue
      const nearestM = Math.max(
        0,
        Math.hypot(other.xM - site.xM, other.lateralM - site.lateralM) -
          options.insideDistanceM.max,
      )
      const fromNextDoor = toReportedRssi(meanRssi(nearestM, true, options.radio))
      if (fromNextDoor > minRssi - margin)
        problems.push(
          `${site.gateway.id}: a visitor of ${shopId} may reach ${fromNextDoor} dBm, above visitor.minRssi ${minRssi} - ${margin}`,
        )
    }
    const anchor = anchors.get(site.enclosure)
    if (!anchor) continue
    const farthestInsideM =
      Math.hypot(anchor.xM - site.xM, anchor.lateralM - site.lateralM) + options.insideDistanceM.max
    const inside = toReportedRssi(meanRssi(farthestInsideM, false, options.radio))
    if (inside < minRssi + margin)
      problems.push(
        `${site.gateway.id}: a visitor may peak at ${inside} dBm, below visitor.minRssi ${minRssi} + ${margin}`,
      )
  }
  if (problems.length > 0)
    throw new Error(
      `district ${district.id}: radio parameters cannot guarantee visitor margins: ${problems.join('; ')}`,
    )
}

/**
 * A visit splits a pass at another gateway when that gateway hears the street on both sides of the
 * shop's door but may not hear the phone inside: the pedestrian would vanish for the dwell and come
 * back as a second transit.
 */
function findSplittingShops(
  district: DistrictFile,
  sites: readonly GatewaySite[],
  anchors: ReadonlyMap<string, { xM: number; lateralM: number }>,
  options: ScenarioOptions,
): ClosedShop[] {
  const closed: ClosedShop[] = []
  for (const shop of district.shops) {
    const anchor = anchors.get(shop.id)
    if (!anchor) continue
    for (const site of sites) {
      if (site.enclosure === shop.id) continue
      const laneRangeM = site.enclosure === null ? site.openRangeM : site.walledRangeM
      const dLat = options.lateralOffsetM.min - site.lateralM
      const halfM = laneRangeM >= Math.abs(dLat) ? Math.sqrt(laneRangeM ** 2 - dLat ** 2) : -1
      const doorInRange = Math.abs(shop.streetOffsetM - site.xM) < halfM
      const insideFarM =
        Math.hypot(anchor.xM - site.xM, anchor.lateralM - site.lateralM) +
        options.insideDistanceM.max
      if (doorInRange && insideFarM > site.walledRangeM) {
        closed.push({
          shopId: shop.id,
          reason: `${site.gateway.id} hears the street around its door but not its interior`,
        })
        break
      }
    }
  }
  return closed
}

function legInRange(leg: Leg, site: GatewaySite): [number, number] | null {
  if (leg.kind === 'inside') {
    const range = site.enclosure === leg.shopId ? site.openRangeM : site.walledRangeM
    const d = Math.hypot(leg.xM - site.xM, leg.lateralM - site.lateralM)
    return d <= range ? [leg.t0, leg.t1] : null
  }
  const range = site.enclosure === null ? site.openRangeM : site.walledRangeM
  const dLat = leg.lateralM - site.lateralM
  if (range < Math.abs(dLat)) return null
  const half = Math.sqrt(range ** 2 - dLat ** 2)
  const lo = Math.max(Math.min(leg.x0, leg.x1), site.xM - half)
  const hi = Math.min(Math.max(leg.x0, leg.x1), site.xM + half)
  if (lo > hi) return null
  if (leg.x1 === leg.x0) return [leg.t0, leg.t1]
  const timeAt = (x: number) => leg.t0 + ((x - leg.x0) / (leg.x1 - leg.x0)) * (leg.t1 - leg.t0)
  const a = timeAt(lo)
  const b = timeAt(hi)
  return a <= b ? [a, b] : [b, a]
}

function mergeTouching(intervals: Array<[number, number]>): Array<[number, number]> {
  intervals.sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [a, b] of intervals) {
    const last = merged[merged.length - 1]
    if (last && a <= last[1] + 1e-6) last[1] = Math.max(last[1], b)
    else merged.push([a, b])
  }
  return merged
}

/** Local hour (0–23) of an instant in an IANA timezone, cached per 15-minute slot. */
function createLocalHour(timeZone: string): (tMs: number) => number {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' })
  const cache = new Map<number, number>()
  return (tMs) => {
    const slot = Math.floor(tMs / HOUR_SLOT_MS)
    const cached = cache.get(slot)
    if (cached !== undefined) return cached
    const part = format.formatToParts(slot * HOUR_SLOT_MS).find((p) => p.type === 'hour')
    const hour = Number(part?.value ?? 0) % 24
    if (cache.size > 10_000) cache.clear()
    cache.set(slot, hour)
    return hour
  }
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value))
}
