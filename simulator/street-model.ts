import type { DistrictFile, Gateway, Shop } from '../services/shared/contracts/district.ts'
import {
  createDevice,
  type Device,
  type DeviceOptions,
  type Emission,
  type Randomisation,
} from './device.ts'
import {
  hearingRangeM,
  meanRssi,
  toReportedRssi,
  DEFAULT_RADIO,
  type RadioParams,
} from './radio.ts'
import { createRng, deriveSeed, type Rng } from './rng.ts'
import {
  assertTimeZone,
  isoWeekdayOf,
  localDateOf,
  localHourOf,
  startOfLocalDay,
  startOfNextLocalDay,
} from '../services/shared/contracts/local-time.ts'

export type ShopCategory = Shop['category']
export type ScenarioName = 'simple' | 'demo' | 'realistic'

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

/**
 * Something on in a zone from `fromMs` to `toMs` (epoch ms): `factor` × the zone's usual arrivals
 * (factor - 1 extra people per usual one come for it, from a side street, and stop in the zone), and
 * passers-by stop there with probability min(1, enterProbability × factor) — in the zone's shop when
 * it has one, else on the street by the zone's gateway for `eventDwell`.
 */
export interface StreetEvent {
  zoneId: string
  fromMs: number
  toMs: number
  /** >= 1 */
  factor: number
}

/** Who a simulated subject is: only pedestrians count in the ground-truth summary. */
export type SubjectKind = 'pedestrian' | 'static' | 'staff'

export interface ScenarioOptions extends DeviceOptions {
  /** Mean pedestrian arrivals (people, not groups) per hour at hour-shape factor 1. */
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
  // The options below are optional so that scenario objects written before them still work; missing
  // ones take the flat, single, device-less values of STREET_DEFAULTS.
  /** 7 factors, Monday first, multiplying the hour shape on each local weekday. Default flat. */
  weekShape?: readonly number[]
  /** Hour shape of Saturdays and Sundays; null (default): `hourShape` every day. */
  weekendHourShape?: readonly number[] | null
  /** Default none. */
  events?: readonly StreetEvent[]
  /** How long a pedestrian stops at an event in a street or square zone. */
  eventDwell?: DwellDistribution
  /**
   * Relative weights of group sizes 1, 2, 3, …: a group walks together (same path and speed), each
   * member with their own devices. Default [1]: everyone alone.
   */
  groupSizeWeights?: readonly number[]
  /** Share of phones with a stable, globally administered MAC whatever `randomisation` says. */
  legacyShare?: number
  /** Share of phone carriers with a second device (watch, earbuds, second phone). */
  secondDeviceShare?: number
  secondDeviceRandomisation?: Randomisation
  /** Static devices per shop with an indoor gateway (PCs on Wi-Fi, speakers on BLE), on all run long. */
  staticDevicesPerShop?: Range
  staticProbeIntervalS?: number
  /** Staff per shop, each with a phone inside the shop for a daily shift. */
  staffPerShop?: Range
  /** Local hour the shift starts and its length in hours, both uniform. */
  staffShift?: { startHour: Range; hours: Range }
}

/** Scenario options with every optional one filled in. */
export type FullScenarioOptions = Required<ScenarioOptions>

const FLAT_HOURS: readonly number[] = Object.freeze(Array.from({ length: 24 }, () => 1))
const FLAT_WEEK: readonly number[] = Object.freeze(Array.from({ length: 7 }, () => 1))

/** A shopping street's day: quiet at night, a late-morning and an early-evening peak. */
export const SHOPPING_DAY_HOURS: readonly number[] = Object.freeze([
  0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.35, 0.6, 0.9, 1.2, 1.3, 1.2, 1, 0.9, 1, 1.1, 1.4, 1.5,
  1.2, 0.7, 0.4, 0.2, 0.1,
])

/** A weekend day: later start, no lunch dip, a long afternoon. */
export const SHOPPING_WEEKEND_HOURS: readonly number[] = Object.freeze([
  0.1, 0.06, 0.04, 0.02, 0.02, 0.02, 0.05, 0.12, 0.3, 0.6, 1, 1.3, 1.3, 1.2, 1.3, 1.5, 1.7, 1.8,
  1.7, 1.4, 1, 0.6, 0.35, 0.2,
])

/** Monday … Sunday: quiet Monday, busy Saturday, a calmer Sunday. */
export const SHOPPING_WEEK: readonly number[] = Object.freeze([0.8, 0.9, 0.95, 1, 1.1, 1.4, 0.9])

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

/** Values of the optional scenario options when a scenario leaves them out: nothing extra happens. */
export const STREET_DEFAULTS: Readonly<
  Pick<
    FullScenarioOptions,
    | 'weekShape'
    | 'weekendHourShape'
    | 'events'
    | 'eventDwell'
    | 'groupSizeWeights'
    | 'legacyShare'
    | 'secondDeviceShare'
    | 'secondDeviceRandomisation'
    | 'staticDevicesPerShop'
    | 'staticProbeIntervalS'
    | 'staffPerShop'
    | 'staffShift'
  >
> = Object.freeze({
  weekShape: FLAT_WEEK,
  weekendHourShape: null,
  events: [],
  eventDwell: { medianS: 15 * min, sigma: 0.6, minS: 60, maxS: 60 * min },
  groupSizeWeights: [1],
  legacyShare: 0,
  secondDeviceShare: 0,
  secondDeviceRandomisation: 'ble-rotation',
  staticDevicesPerShop: { min: 0, max: 0 },
  staticProbeIntervalS: 30,
  staffPerShop: { min: 0, max: 0 },
  staffShift: { startHour: { min: 8, max: 10 }, hours: { min: 4, max: 9 } },
})

const SIMPLE_MAX_DWELL_S = 12 * min

/**
 * The simple scenario: flat arrivals every day, one phone per pedestrian, stable MACs, no RSSI
 * noise, nobody in groups, no static devices or staff, at most one visit of at most 12 min, and the
 * visitor guarantees; its ground truth is what a correct pipeline must report exactly.
 */
export const SIMPLE_SCENARIO: Readonly<FullScenarioOptions> = Object.freeze({
  ...STREET_DEFAULTS,
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

/**
 * The demo scenario (what `miglio start` shows): a shopping week's rhythm (weekday × hour, with a
 * weekend shape), people alone or in small groups, some without a phone, noisy RSSI; phones keep
 * stable MACs so the dashboard's device counts read as people.
 */
export const DEMO_SCENARIO: Readonly<FullScenarioOptions> = Object.freeze({
  ...SIMPLE_SCENARIO,
  arrivalsPerHour: 900,
  hourShape: SHOPPING_DAY_HOURS,
  weekShape: SHOPPING_WEEK,
  weekendHourShape: SHOPPING_WEEKEND_HOURS,
  groupSizeWeights: [0.6, 0.25, 0.1, 0.05],
  deviceShare: 0.8,
  maxVisitsPerPedestrian: 3,
  dwell: DEFAULT_DWELL,
  guarantees: null,
  radio: { ...DEFAULT_RADIO, noiseSigmaDb: 3 },
  leaveStreetByEnd: false,
  probeJitterS: 2,
})

/**
 * The realistic scenario, for accuracy work: the demo street with modern phones (a fresh MAC per
 * Wi-Fi scan, 10 % legacy phones with stable MACs), a quarter of carriers with a BLE wearable
 * rotating its address, 1–2 static devices and 1–2 staff phones per shop.
 */
export const REALISTIC_SCENARIO: Readonly<FullScenarioOptions> = Object.freeze({
  ...DEMO_SCENARIO,
  randomisation: 'wifi-per-scan',
  legacyShare: 0.1,
  secondDeviceShare: 0.25,
  secondDeviceRandomisation: 'ble-rotation',
  probeIntervalS: 20,
  probeJitterS: 5,
  staticDevicesPerShop: { min: 1, max: 2 },
  staffPerShop: { min: 1, max: 2 },
})

const SCENARIOS: Readonly<Record<ScenarioName, Readonly<FullScenarioOptions>>> = {
  simple: SIMPLE_SCENARIO,
  demo: DEMO_SCENARIO,
  realistic: REALISTIC_SCENARIO,
}

export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[]

/**
 * A named scenario (or a scenario object) with overrides applied and every optional option filled
 * in. Overriding `hourShape` alone gives every day that shape: `weekShape` becomes flat and
 * `weekendHourShape` null unless the overrides set them too.
 */
export function resolveScenario(
  scenario: ScenarioName | ScenarioOptions,
  overrides: Partial<ScenarioOptions> = {},
): FullScenarioOptions {
  const base = typeof scenario === 'string' ? SCENARIOS[scenario] : scenario
  if (!base) throw new Error(`unknown scenario ${String(scenario)}`)
  const everyDay =
    overrides.hourShape !== undefined
      ? {
          weekShape: overrides.weekShape ?? FLAT_WEEK,
          weekendHourShape: overrides.weekendHourShape ?? null,
        }
      : {}
  return withDefaults({ ...base, ...overrides, ...everyDay })
}

function withDefaults(options: ScenarioOptions): FullScenarioOptions {
  const full = { ...STREET_DEFAULTS } as FullScenarioOptions
  for (const [key, value] of Object.entries(options))
    if (value !== undefined) (full as unknown as Record<string, unknown>)[key] = value
  return full
}

/** Noise (dB) up to which hear() rejects far gateways without computing their path loss. */
const REACH_MARGIN_DB = 15

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

/** `stop`: standing on the street (at an event) on the walking line. */
export type Leg =
  | { kind: 'walk'; t0: number; t1: number; x0: number; x1: number; lateralM: number }
  | { kind: 'inside'; t0: number; t1: number; shopId: string; xM: number; lateralM: number }
  | { kind: 'stop'; t0: number; t1: number; zoneId: string; xM: number; lateralM: number }

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
  /** The first of `devices`, or null without any. */
  device: Device | null
  devices: readonly Device[]
  /** Static devices and staff phones are not pedestrians: the truth summary leaves them out. */
  kind: SubjectKind
  /** Shared by the members of a group walking together; null for someone alone. */
  groupId: string | null
  /** The event that brought this pedestrian to the street, or null. */
  eventIndex: number | null
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
  readonly options: FullScenarioOptions
  readonly fromMs: number
  readonly toMs: number
  /** Arrivals happen in [fromMs, arrivalsUntilMs). */
  readonly arrivalsUntilMs: number
  /** Longest time a pedestrian can spend on the street. */
  readonly maxStayMs: number
  readonly sites: readonly GatewaySite[]
  /** Shops nobody enters in this run, with why (only under guarantees). */
  readonly closedShops: readonly ClosedShop[]
  /** Mean group size of `groupSizeWeights`. */
  readonly meanGroupSize: number
  /** Pedestrians in arrival order (group members one after another), generated lazily. */
  arrivals(): Generator<Pedestrian, void, undefined>
  /**
   * Static devices (from fromMs, all run long) and staff phones (a shift per local day), in order of
   * arrival, generated lazily; kind 'static' or 'staff'.
   */
  residents(): Generator<Pedestrian, void, undefined>
  positionAt(pedestrian: Pedestrian, tMs: number): Position
  /**
   * The gateways that hear one emission of one of the pedestrian's devices (default: the first),
   * with the reported RSSI; a gateway hears only the radios it has.
   */
  hear(pedestrian: Pedestrian, emission: Emission, device?: Device | null): Heard[]
  /** Maximal time intervals [first, last] during which the gateway hears the pedestrian (noise-free). */
  inRangeIntervals(pedestrian: Pedestrian, siteIndex: number): Array<[number, number]>
  /** Expected number of pedestrian arrivals in [fromMs, toMs) (event goers included). */
  expectedArrivals(fromMs: number, toMs: number): number
  /** The arrival-rate factor at an instant: weekday factor × hour shape of that day (no events). */
  shapeAt(tMs: number): number
}

const HOUR_SLOT_MS = 15 * 60_000
const EVENT_SIDE_STREET_M: Range = { min: 10, max: 30 }
const EVENT_STOP_SPREAD_M = 10

interface PathPlan {
  arriveMs: number
  leaveMs: number
  direction: 1 | -1
  speedMps: number
  lateralM: number
  legs: Leg[]
  visits: Visit[]
}

interface StopCandidate {
  xM: number
  shop: Shop | null
  event: { index: number; event: StreetEvent; zoneId: string } | null
}

export function createStreetModel(
  district: DistrictFile,
  seed: number,
  fromMs: number,
  toMs: number,
  scenario: ScenarioOptions,
): StreetModel {
  const options = withDefaults(scenario)
  validateOptions(options, fromMs, toMs, district)
  const { radio } = options
  const sites = district.gateways.map((g) => placeGateway(g, district, radio))
  const hearsWifi = sites.map((site) => site.gateway.radios.includes('wifi'))
  const hearsBle = sites.map((site) => site.gateway.radios.includes('ble'))
  const sigma = radio.noiseSigmaDb
  // Beyond these squared distances a site cannot report a phone at or above its floor, whatever
  // noise up to +REACH_MARGIN_DB is added (a 1 % safety on the distance): hear() skips the path loss
  // there, and computes it exactly for larger noise. -1: never heard. A floor of -127 hears all.
  const reach2 = (site: GatewaySite, walled: boolean) => {
    if (site.gateway.rssiFloor <= -127) return Infinity
    const r = hearingRangeM(site.gateway.rssiFloor - REACH_MARGIN_DB, walled, radio)
    return r < 0 ? -1 : (r * 1.01) ** 2
  }
  const openReach2 = sites.map((site) => reach2(site, false))
  const walledReach2 = sites.map((site) => reach2(site, true))
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

  // Events: a zone with an enterable shop boosts visits to it; any other zone gets street stops.
  const events = options.events.map((event, index) => {
    const shop = enterable.find((s) => s.zoneId === event.zoneId) ?? null
    return { index, event, zoneId: event.zoneId, shop, stopXM: eventStopX(district, event.zoneId) }
  })
  const streetStops = events.filter((e) => e.shop === null)

  const longestDwellS = Math.max(0, ...enterable.map((s) => dwellOf(s).maxS))
  const maxStayMs =
    (district.streetLengthM / options.walkSpeedMps.min +
      Math.min(options.maxVisitsPerPedestrian, enterable.length) * longestDwellS +
      streetStops.length * options.eventDwell.maxS) *
    1000
  const arrivalsUntilMs =
    options.leaveStreetByEnd && Number.isFinite(toMs) ? Math.max(fromMs, toMs - maxStayMs) : toMs

  const tz = district.timezone
  assertTimeZone(tz)
  const weekendShape = options.weekendHourShape
  const shapeAt = (tMs: number) => {
    // ISO weekday: 1 = Monday … 6 = Saturday, 7 = Sunday; weekShape is Monday first.
    const weekday = isoWeekdayOf(tMs, tz)
    const hours = weekendShape && weekday >= 6 ? weekendShape : options.hourShape
    return (options.weekShape[weekday - 1] ?? 0) * (hours[localHourOf(tMs, tz)] ?? 0)
  }
  const maxShape =
    Math.max(...options.weekShape) * Math.max(...options.hourShape, ...(weekendShape ?? []))
  const groupWeights = options.groupSizeWeights
  const groupTotal = groupWeights.reduce((a, b) => a + b, 0)
  const meanGroupSize = groupWeights.reduce((a, w, i) => a + w * (i + 1), 0) / groupTotal
  const drawGroupSize = (rng: Rng | null) => {
    if (!rng) return 1
    let u = rng.next() * groupTotal
    for (let i = 0; i < groupWeights.length; i++) {
      u -= groupWeights[i] ?? 0
      if (u < 0) return i + 1
    }
    return groupWeights.length
  }
  const activeEventAt = (zoneId: string, tMs: number) => {
    let factor = 1
    for (const { event } of events)
      if (event.zoneId === zoneId && tMs >= event.fromMs && tMs < event.toMs)
        factor = Math.max(factor, event.factor)
    return factor
  }

  function drawSpeed(rng: Rng): number {
    const s = options.walkSpeedMps
    return clamp(rng.normal(s.mean, s.sd), s.min, s.max)
  }

  function insideLeg(rng: Rng, shop: Shop, t0: number, t1: number): Leg {
    const anchor = anchors.get(shop.id) ?? insideAnchor(shop, sites, radio)
    const angle = rng.uniform(0, 2 * Math.PI)
    const r = rng.uniform(options.insideDistanceM.min, options.insideDistanceM.max)
    return {
      kind: 'inside',
      t0,
      t1,
      shopId: shop.id,
      xM: anchor.xM + r * Math.cos(angle),
      lateralM: Math.min(-0.5, anchor.lateralM + r * Math.sin(angle)),
    }
  }

  function createPathBuilder(arriveMs: number, startX: number, speedMps: number, lateralM: number) {
    const legs: Leg[] = []
    const visits: Visit[] = []
    let t = arriveMs
    let x = startX
    return {
      legs,
      visits,
      get t() {
        return t
      },
      /** When the pedestrian would reach `target` walking on from here. */
      reachMs(target: number) {
        return t + (Math.abs(target - x) / speedMps) * 1000
      },
      walkTo(target: number) {
        const t1 = this.reachMs(target)
        legs.push({ kind: 'walk', t0: t, t1, x0: x, x1: target, lateralM })
        t = t1
        x = target
      },
      /** Walks to the shop's door and stays inside at `inside`'s position for `dwellS`. */
      visit(shop: Shop, dwellS: number, inside: Leg) {
        this.walkTo(shop.streetOffsetM)
        const exitMs = t + dwellS * 1000
        legs.push({ ...inside, t0: t, t1: exitMs })
        visits.push({ shopId: shop.id, enterMs: t, exitMs, dwellS })
        t = exitMs
      },
      stop(zoneId: string, dwellS: number) {
        const t1 = t + dwellS * 1000
        legs.push({ kind: 'stop', t0: t, t1, zoneId, xM: x, lateralM })
        t = t1
      },
    }
  }

  const dwellS = (rng: Rng, d: DwellDistribution) =>
    clamp(rng.logNormal(d.medianS, d.sigma), d.minS, d.maxS)

  /** A pedestrian walking the whole mile, entering some shops and stopping at events on the way. */
  function planWalker(rng: Rng, arriveMs: number): { plan: PathPlan; hasDevice: boolean } {
    const direction = rng.bool(0.5) ? 1 : -1
    const speedMps = drawSpeed(rng)
    const lateralM = rng.uniform(options.lateralOffsetM.min, options.lateralOffsetM.max)
    const hasDevice = rng.bool(options.deviceShare)
    const start = direction === 1 ? 0 : district.streetLengthM
    const end = district.streetLengthM - start
    const candidates: StopCandidate[] = enterable.map((shop) => ({
      xM: shop.streetOffsetM,
      shop,
      event: null,
    }))
    for (const e of streetStops) {
      if (e.event.toMs <= arriveMs || e.event.fromMs >= arriveMs + maxStayMs) continue
      candidates.push({ xM: e.stopXM, shop: null, event: e })
    }
    // Stable sort: shops keep district order among equal offsets, as before events existed.
    candidates.sort((a, b) => direction * (a.xM - b.xM))
    const path = createPathBuilder(arriveMs, start, speedMps, lateralM)
    let eventRng: Rng | null = null
    for (const c of candidates) {
      if (c.shop) {
        const shop = c.shop
        if (path.visits.length >= options.maxVisitsPerPedestrian) continue
        const boost = events.length > 0 ? activeEventAt(shop.zoneId, path.reachMs(c.xM)) : 1
        if (!rng.bool(Math.min(1, options.enterProbability * boost))) continue
        // Draw order (dwell, then the place inside) is the one seeds have always produced.
        const stay = dwellS(rng, dwellOf(shop))
        path.visit(shop, stay, insideLeg(rng, shop, 0, 0))
      } else if (c.event) {
        eventRng ??= rng.fork('event-stops')
        const offset = eventRng.uniform(-EVENT_STOP_SPREAD_M, EVENT_STOP_SPREAD_M)
        const stopX = clampToZone(district, c.event.zoneId, c.xM + offset)
        const factor = activeEventAt(c.event.zoneId, path.reachMs(stopX))
        const stopDraw = eventRng.next()
        const stay = dwellS(eventRng, options.eventDwell)
        if (factor <= 1 || stopDraw >= Math.min(1, options.enterProbability * factor)) continue
        path.walkTo(stopX)
        path.stop(c.event.zoneId, stay)
      }
    }
    path.walkTo(end)
    return {
      plan: {
        arriveMs,
        leaveMs: path.t,
        direction,
        speedMps,
        lateralM,
        legs: path.legs,
        visits: path.visits,
      },
      hasDevice,
    }
  }

  /** Someone who comes for an event: in from a side street, a visit or a stop, out again. */
  function planEventGoer(
    rng: Rng,
    arriveMs: number,
    e: (typeof events)[number],
  ): { plan: PathPlan; hasDevice: boolean } {
    const direction = rng.bool(0.5) ? 1 : -1
    const speedMps = drawSpeed(rng)
    const lateralM = rng.uniform(options.lateralOffsetM.min, options.lateralOffsetM.max)
    const hasDevice = rng.bool(options.deviceShare)
    const targetX = e.shop
      ? e.shop.streetOffsetM
      : clampToZone(
          district,
          e.zoneId,
          e.stopXM + rng.uniform(-EVENT_STOP_SPREAD_M, EVENT_STOP_SPREAD_M),
        )
    const clampStreet = (x: number) => clamp(x, 0, district.streetLengthM)
    const inX = clampStreet(
      targetX - direction * rng.uniform(EVENT_SIDE_STREET_M.min, EVENT_SIDE_STREET_M.max),
    )
    const outX = clampStreet(
      targetX + direction * rng.uniform(EVENT_SIDE_STREET_M.min, EVENT_SIDE_STREET_M.max),
    )
    const path = createPathBuilder(arriveMs, inX, speedMps, lateralM)
    path.walkTo(targetX)
    if (e.shop) {
      const stay = dwellS(rng, dwellOf(e.shop))
      path.visit(e.shop, stay, insideLeg(rng, e.shop, 0, 0))
    } else path.stop(e.zoneId, dwellS(rng, options.eventDwell))
    path.walkTo(outX)
    return {
      plan: {
        arriveMs,
        leaveMs: path.t,
        direction,
        speedMps,
        lateralM,
        legs: path.legs,
        visits: path.visits,
      },
      hasDevice,
    }
  }

  function devicesOf(key: string, rng: Rng, from: number, to: number): Device[] {
    const mix = rng.fork('device-mix')
    const legacy = options.legacyShare > 0 && mix.bool(options.legacyShare)
    const primary = createDevice(
      `d-${key}`,
      rng.fork('device'),
      from,
      to,
      legacy ? { ...options, randomisation: 'none' } : options,
    )
    const devices = [primary]
    if (options.secondDeviceShare > 0 && mix.bool(options.secondDeviceShare))
      devices.push(
        createDevice(`d-${key}-2`, rng.fork('device-2'), from, to, {
          ...options,
          randomisation: options.secondDeviceRandomisation,
        }),
      )
    return devices
  }

  function pedestrianOf(
    plan: PathPlan,
    meta: {
      id: string
      key: string
      index: number
      groupId: string | null
      eventIndex: number | null
    },
    rng: Rng,
    hasDevice: boolean,
  ): Pedestrian {
    const devices = hasDevice ? devicesOf(meta.key, rng, plan.arriveMs, plan.leaveMs) : []
    return {
      ...plan,
      id: meta.id,
      index: meta.index,
      device: devices[0] ?? null,
      devices,
      kind: 'pedestrian',
      groupId: meta.groupId,
      eventIndex: meta.eventIndex,
    }
  }

  /**
   * One arrival stream (regular walkers, or the goers of one event): groups by thinning a Poisson
   * process at the peak rate; each group is a leader's path shared by its members.
   */
  function* stream(
    label: string,
    ratePerHour: number,
    fromT: number,
    untilT: number,
    factorAt: (tMs: number) => number,
    plan: (rng: Rng, arriveMs: number) => { plan: PathPlan; hasDevice: boolean },
    naming: (n: number) => { id: string; key: string; seedLabel: string },
    eventIndex: number | null,
  ): Generator<Pedestrian[], void, undefined> {
    if (ratePerHour <= 0 || maxShape <= 0 || untilT <= fromT) return
    const rng = createRng(deriveSeed(seed, label))
    const groupRng = groupWeights.length > 1 ? createRng(deriveSeed(seed, `${label}-groups`)) : null
    const peakPerMs = (ratePerHour * maxShape) / meanGroupSize / 3_600_000
    let t = fromT
    let n = 0
    for (;;) {
      t += rng.exponential(peakPerMs)
      if (t >= untilT) return
      if (rng.next() * maxShape >= factorAt(t)) continue
      const size = drawGroupSize(groupRng)
      const leader = naming(n)
      const leaderRng = createRng(deriveSeed(seed, leader.seedLabel))
      const { plan: path, hasDevice } = plan(leaderRng, t)
      const groupId = size > 1 ? `g-${leader.id.slice(2)}` : null
      const group: Pedestrian[] = []
      for (let k = 0; k < size; k++) {
        const who = k === 0 ? leader : naming(n + k)
        const memberRng = k === 0 ? leaderRng : createRng(deriveSeed(seed, who.seedLabel))
        const carries = k === 0 ? hasDevice : memberRng.bool(options.deviceShare)
        group.push(
          pedestrianOf(
            path,
            { id: who.id, key: who.key, index: -1, groupId, eventIndex },
            memberRng,
            carries,
          ),
        )
      }
      n += size
      yield group
    }
  }

  function positionAt(pedestrian: Pedestrian, tMs: number): Position {
    const legs = pedestrian.legs
    let leg = legs[legs.length - 1]
    for (const l of legs)
      if (tMs <= l.t1) {
        leg = l
        break
      }
    if (!leg) throw new Error(`pedestrian ${pedestrian.id} has no path`)
    if (leg.kind === 'inside') return { xM: leg.xM, lateralM: leg.lateralM, enclosure: leg.shopId }
    if (leg.kind === 'stop') return { xM: leg.xM, lateralM: leg.lateralM, enclosure: null }
    const f = leg.t1 > leg.t0 ? clamp((tMs - leg.t0) / (leg.t1 - leg.t0), 0, 1) : 1
    return { xM: leg.x0 + (leg.x1 - leg.x0) * f, lateralM: leg.lateralM, enclosure: null }
  }

  /** Static devices and staff shifts, in arrival order. */
  function* residents(): Generator<Pedestrian, void, undefined> {
    const shops = district.shops.filter((s) =>
      sites.some((site) => site.enclosure === s.id && site.gateway.placement === 'indoor'),
    )
    let index = 0
    const resident = (
      id: string,
      kind: SubjectKind,
      shop: Shop,
      rng: Rng,
      from: number,
      to: number,
      devices: Device[],
    ): Pedestrian => ({
      id,
      index: index++,
      arriveMs: from,
      leaveMs: to,
      direction: 1,
      speedMps: 0,
      lateralM: 0,
      legs: [insideLeg(rng, shop, from, to)],
      visits: [],
      device: devices[0] ?? null,
      devices,
      kind,
      groupId: null,
      eventIndex: null,
    })
    const rangeInt = (rng: Rng, r: Range) => rng.int(Math.ceil(r.min), Math.floor(r.max))
    for (const shop of shops) {
      const rng = createRng(deriveSeed(seed, `static-${shop.id}`))
      const count = rangeInt(rng, options.staticDevicesPerShop)
      for (let j = 0; j < count; j++) {
        const own = createRng(deriveSeed(seed, `static-${shop.id}-${j}`))
        const randomisation: Randomisation = own.bool(0.5) ? 'none' : 'ble-static'
        const device = createDevice(`static-${shop.id}-${j}`, own.fork('device'), fromMs, toMs, {
          ...options,
          randomisation,
          probeIntervalS: options.staticProbeIntervalS,
          probeJitterS: Math.min(2, options.staticProbeIntervalS / 4),
        })
        yield resident(`static-${shop.id}-${j}`, 'static', shop, own, fromMs, toMs, [device])
      }
    }
    const staff = shops.flatMap((shop) => {
      const rng = createRng(deriveSeed(seed, `staff-${shop.id}`))
      return Array.from({ length: rangeInt(rng, options.staffPerShop) }, (_, k) => ({ shop, k }))
    })
    if (staff.length === 0) return
    const { startHour, hours } = options.staffShift
    for (let day = startOfLocalDay(fromMs, district.timezone); day < toMs;) {
      const dayKey = localDateOf(day, district.timezone)
      const shifts: Array<{ shop: Shop; k: number; from: number; to: number }> = []
      for (const { shop, k } of staff) {
        const rng = createRng(deriveSeed(seed, `staff-${shop.id}-${k}-${dayKey}`))
        const from = day + rng.uniform(startHour.min, startHour.max) * 3_600_000
        const to = from + rng.uniform(hours.min, hours.max) * 3_600_000
        if (to > fromMs && from < toMs)
          shifts.push({ shop, k, from: Math.max(from, fromMs), to: Math.min(to, toMs) })
      }
      shifts.sort((a, b) => a.from - b.from)
      for (const { shop, k, from, to } of shifts) {
        const person = createRng(deriveSeed(seed, `staff-${shop.id}-${k}`))
        const devices = devicesOf(`staff-${shop.id}-${k}`, person, from, to).slice(0, 1)
        const place = createRng(deriveSeed(seed, `staff-${shop.id}-${k}-${dayKey}-place`))
        yield resident(`staff-${shop.id}-${k}-${dayKey}`, 'staff', shop, place, from, to, devices)
      }
      day = startOfNextLocalDay(day, district.timezone)
    }
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
    meanGroupSize,
    *arrivals() {
      const streams = [
        stream(
          'arrivals',
          options.arrivalsPerHour,
          fromMs,
          arrivalsUntilMs,
          shapeAt,
          planWalker,
          (n) => ({ id: `p-${n}`, key: `${n}`, seedLabel: `pedestrian-${n}` }),
          null,
        ),
        ...events.map((e) =>
          stream(
            `event-${e.index}`,
            options.arrivalsPerHour * (e.event.factor - 1),
            Math.max(fromMs, e.event.fromMs),
            Math.min(arrivalsUntilMs, e.event.toMs),
            shapeAt,
            (rng, t) => planEventGoer(rng, t, e),
            (n) => ({
              id: `p-e${e.index}-${n}`,
              key: `e${e.index}-${n}`,
              seedLabel: `event-${e.index}-pedestrian-${n}`,
            }),
            e.index,
          ),
        ),
      ]
      // Merge the streams by arrival time; a group is never split.
      const heads = streams.map((s) => s.next().value ?? null)
      let index = 0
      for (;;) {
        let best = -1
        let bestMs = Infinity
        heads.forEach((group, i) => {
          const arriveMs = group?.[0]?.arriveMs ?? Infinity
          if (arriveMs < bestMs) {
            best = i
            bestMs = arriveMs
          }
        })
        const group = heads[best]
        const source = streams[best]
        if (!group || !source) return
        for (const p of group) yield { ...p, index: index++ }
        heads[best] = source.next().value ?? null
      }
    },
    residents,
    positionAt,
    // The hot path of a simulated day (every emission × every gateway): plain loops, the radios
    // each site has looked up once, no closures.
    hear(pedestrian, emission, device = pedestrian.device) {
      const p = positionAt(pedestrian, emission.tMs)
      const noise = sigma > 0 ? (device?.noise ?? null) : null
      const hearsRadio = emission.radio === 'wifi' ? hearsWifi : hearsBle
      const heard: Heard[] = []
      for (let siteIndex = 0; siteIndex < sites.length; siteIndex++) {
        const site = sites[siteIndex] as GatewaySite
        if (!hearsRadio[siteIndex]) continue
        const walled = site.enclosure !== p.enclosure
        const dx = p.xM - site.xM
        const dy = p.lateralM - site.lateralM
        const d2 = dx * dx + dy * dy
        const n = noise ? noise.normal(0, sigma) : 0
        const far = walled ? walledReach2[siteIndex] : openReach2[siteIndex]
        if (n <= REACH_MARGIN_DB && d2 > (far ?? Infinity)) continue
        const rssi = meanRssi(Math.sqrt(d2), walled, radio) + n
        const reported = toReportedRssi(rssi)
        if (reported >= site.gateway.rssiFloor) heard.push({ siteIndex, rssi: reported })
      }
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
      const rateAt = (t: number) => {
        let factor = 1
        for (const { event } of events)
          if (t >= event.fromMs && t < event.toMs) factor += event.factor - 1
        return options.arrivalsPerHour * shapeAt(t) * factor
      }
      const end = Math.min(to, arrivalsUntilMs)
      const cuts = events.flatMap((e) => [e.event.fromMs, e.event.toMs])
      let total = 0
      for (let t = Math.max(from, fromMs); t < end;) {
        let slotEnd = Math.min(end, (Math.floor(t / HOUR_SLOT_MS) + 1) * HOUR_SLOT_MS)
        for (const c of cuts) if (c > t && c < slotEnd) slotEnd = c
        total += (rateAt(t) * (slotEnd - t)) / 3_600_000
        t = slotEnd
      }
      return total
    },
    shapeAt,
  }
}

function validateOptions(
  o: FullScenarioOptions,
  fromMs: number,
  toMs: number,
  district: DistrictFile,
): void {
  const problems: string[] = []
  const shareOk = (v: number) => v >= 0 && v <= 1
  const rangeOk = (r: Range, lo = 0) => r.min >= lo && r.max >= r.min
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
  if (o.weekShape.length !== 7 || o.weekShape.some((f) => !(f >= 0)))
    problems.push('weekShape needs 7 non-negative factors, Monday first')
  if (
    o.weekendHourShape &&
    (o.weekendHourShape.length !== 24 || o.weekendHourShape.some((f) => !(f >= 0)))
  )
    problems.push('weekendHourShape needs 24 non-negative factors (or null)')
  if (
    o.groupSizeWeights.length === 0 ||
    o.groupSizeWeights.some((w) => !(w >= 0)) ||
    !(o.groupSizeWeights.reduce((a, b) => a + b, 0) > 0)
  )
    problems.push(
      'groupSizeWeights needs non-negative weights of sizes 1, 2, … with a positive sum',
    )
  if (!shareOk(o.legacyShare)) problems.push('legacyShare must be in [0, 1]')
  if (!shareOk(o.secondDeviceShare)) problems.push('secondDeviceShare must be in [0, 1]')
  if (!rangeOk(o.staticDevicesPerShop)) problems.push('staticDevicesPerShop needs 0 <= min <= max')
  if (!rangeOk(o.staffPerShop)) problems.push('staffPerShop needs 0 <= min <= max')
  if (!(o.staticProbeIntervalS > 0)) problems.push('staticProbeIntervalS must be > 0')
  if (!rangeOk(o.staffShift.startHour) || o.staffShift.startHour.max >= 24)
    problems.push('staffShift.startHour needs 0 <= min <= max < 24')
  if (!rangeOk(o.staffShift.hours) || o.staffShift.hours.max > 24)
    problems.push('staffShift.hours needs 0 <= min <= max <= 24')
  if (!(o.eventDwell.minS > 0 && o.eventDwell.maxS >= o.eventDwell.minS))
    problems.push('eventDwell needs 0 < minS <= maxS')
  const zoneIds = new Set(district.zones.map((z) => z.id))
  o.events.forEach((e, i) => {
    if (!zoneIds.has(e.zoneId))
      problems.push(`events[${i}]: unknown zone '${e.zoneId}' (known: ${[...zoneIds].join(', ')})`)
    if (!(Number.isFinite(e.fromMs) && Number.isFinite(e.toMs) && e.toMs > e.fromMs))
      problems.push(`events[${i}]: needs finite fromMs < toMs`)
    if (!(e.factor >= 1 && e.factor <= 100))
      problems.push(`events[${i}]: factor must be in [1, 100]`)
  })
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
  if (leg.kind === 'inside' || leg.kind === 'stop') {
    const enclosure = leg.kind === 'inside' ? leg.shopId : null
    const range = site.enclosure === enclosure ? site.openRangeM : site.walledRangeM
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

/** Where an event in a zone draws people: its street gateway, else its middle. */
function eventStopX(district: DistrictFile, zoneId: string): number {
  const zone = district.zones.find((z) => z.id === zoneId)
  const gateway =
    district.gateways.find((g) => g.zoneId === zoneId && g.placement === 'street') ??
    district.gateways.find((g) => g.zoneId === zoneId)
  const x = gateway?.streetOffsetM ?? (zone ? (zone.streetFromM + zone.streetToM) / 2 : 0)
  return clamp(x, 0, district.streetLengthM)
}

function clampToZone(district: DistrictFile, zoneId: string, x: number): number {
  const zone = district.zones.find((z) => z.id === zoneId)
  const lo = Math.min(zone?.streetFromM ?? 0, zone?.streetToM ?? 0)
  const hi = Math.max(zone?.streetFromM ?? 0, zone?.streetToM ?? district.streetLengthM)
  return clamp(clamp(x, lo, hi), 0, district.streetLengthM)
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value))
}
