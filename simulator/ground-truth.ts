import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { Pedestrian, StreetModel, SubjectKind } from './street-model.ts'

/**
 * One true transit: a pedestrian (or a static device, or a staff phone) within a gateway's range
 * (noise-free RSSI >= rssiFloor) from firstMs to lastMs. `entered` is true when the pedestrian went
 * into the gateway's shop.
 */
export interface TruthEvent {
  pedestrianId: string
  gatewayId: string
  zoneId: string
  shopId: string | null
  firstMs: number
  lastMs: number
  entered: boolean
  dwellInsideS: number | null
  /** False for pedestrians without a phone: real people the radios cannot see. */
  hasDevice: boolean
  /**
   * 'static' (a shop's PC or speaker) and 'staff' (a staff phone on shift) are not pedestrians and
   * summariseTruth leaves them out. Absent means 'pedestrian'.
   */
  kind?: SubjectKind
  /** Devices the subject carries (0 without a phone, 2 with a second device). */
  devices?: number
  /** Shared by the members of a group walking together; null for someone alone. */
  groupId?: string | null
  /** Index (in the scenario's `events`) of the event that brought the pedestrian, or null. */
  eventIndex?: number | null
  /** Seconds the pedestrian stood at an event within this transit, or null. */
  stoppedS?: number | null
}

export interface TruthBucket {
  zoneId: string
  bucketStartMs: number
  passersBy: number
  visitors: number
}

export interface TruthZoneTotal {
  zoneId: string
  passersBy: number
  visitors: number
}

export interface TruthSummary {
  buckets: TruthBucket[]
  totals: TruthZoneTotal[]
}

/**
 * The true transits of one pedestrian, computed from the path (not from emitted sightings). Times
 * are whole milliseconds inside the interval; transits are cut at `untilMs` (the end of the run).
 */
export function truthEventsOf(
  model: StreetModel,
  pedestrian: Pedestrian,
  untilMs = Infinity,
): TruthEvent[] {
  const events: TruthEvent[] = []
  model.sites.forEach((site, siteIndex) => {
    const { gateway } = site
    const shopId = gateway.shopId ?? (site.enclosure?.startsWith('zone:') ? null : site.enclosure)
    const visit = shopId ? pedestrian.visits.find((v) => v.shopId === shopId) : undefined
    for (const [first, last] of model.inRangeIntervals(pedestrian, siteIndex)) {
      const firstMs = Math.ceil(first)
      const lastMs = Math.min(Math.floor(last), Math.ceil(untilMs) - 1)
      if (firstMs > lastMs) continue
      const entered = visit !== undefined && visit.enterMs >= first && visit.exitMs <= last
      events.push({
        pedestrianId: pedestrian.id,
        gatewayId: gateway.id,
        zoneId: gateway.zoneId,
        shopId,
        firstMs,
        lastMs,
        entered,
        dwellInsideS: entered ? visit.dwellS : null,
        hasDevice: pedestrian.device !== null,
        kind: pedestrian.kind,
        devices: pedestrian.devices.length,
        groupId: pedestrian.groupId,
        eventIndex: pedestrian.eventIndex,
        stoppedS: stoppedWithin(pedestrian, first, last),
      })
    }
  })
  return events
}

function stoppedWithin(pedestrian: Pedestrian, first: number, last: number): number | null {
  let ms = 0
  for (const leg of pedestrian.legs)
    if (leg.kind === 'stop' && leg.t0 >= first - 1e-6 && leg.t1 <= last + 1e-6)
      ms += leg.t1 - leg.t0
  return ms > 0 ? ms / 1000 : null
}

/** True for the transits of pedestrians (not static devices, not staff phones). */
export function isPedestrianEvent(e: TruthEvent): boolean {
  return e.kind === undefined || e.kind === 'pedestrian'
}

/**
 * Pedestrian transits per zone and bucket (by firstMs): visitors entered the zone's shop,
 * passers-by did not. Static devices and staff phones are not counted.
 */
export function summariseTruth(events: readonly TruthEvent[], bucketMs: number): TruthSummary {
  if (!(bucketMs > 0)) throw new Error('bucketMs must be > 0')
  const buckets = new Map<string, TruthBucket>()
  const totals = new Map<string, TruthZoneTotal>()
  for (const e of events) {
    if (!isPedestrianEvent(e)) continue
    const bucketStartMs = Math.floor(e.firstMs / bucketMs) * bucketMs
    const key = `${e.zoneId}\u0000${bucketStartMs}`
    const bucket = buckets.get(key) ?? {
      zoneId: e.zoneId,
      bucketStartMs,
      passersBy: 0,
      visitors: 0,
    }
    const total = totals.get(e.zoneId) ?? { zoneId: e.zoneId, passersBy: 0, visitors: 0 }
    if (e.entered) {
      bucket.visitors++
      total.visitors++
    } else {
      bucket.passersBy++
      total.passersBy++
    }
    buckets.set(key, bucket)
    totals.set(e.zoneId, total)
  }
  return {
    buckets: [...buckets.values()].sort(
      (a, b) => a.bucketStartMs - b.bucketStartMs || a.zoneId.localeCompare(b.zoneId),
    ),
    totals: [...totals.values()].sort((a, b) => a.zoneId.localeCompare(b.zoneId)),
  }
}

/** A window of one zone's time: [fromMs, toMs). */
export interface ZoneWindow {
  zoneId: string
  fromMs: number
  toMs: number
}

/** People in a zone window: present on average over it, and arriving in it. */
export interface TruthPeople {
  /** Mean number of pedestrians in range over the window (time-weighted), with or without a phone. */
  present: number
  /** Pedestrian transits of the zone beginning in the window (summariseTruth's count, by firstMs). */
  arriving: number
}

/**
 * The people truth of zone windows, from the pedestrians' transits (static devices and staff are not
 * people here): presence is the time-weighted mean of pedestrians in range of the zone's gateways
 * (one pedestrian heard by two gateways of a zone at once is one person), arrivals are transits
 * begun in the window. Pedestrians without a phone count: they are people the radios cannot see.
 */
export function peopleInWindows(
  events: readonly TruthEvent[],
  windows: readonly ZoneWindow[],
): TruthPeople[] {
  const byZone = new Map<string, { intervals: [number, number][]; firsts: number[] }>()
  const perPedestrian = new Map<string, [number, number][]>()
  for (const e of events) {
    if (!isPedestrianEvent(e)) continue
    const key = `${e.zoneId}\u0000${e.pedestrianId}`
    const list = perPedestrian.get(key)
    if (list) list.push([e.firstMs, e.lastMs])
    else perPedestrian.set(key, [[e.firstMs, e.lastMs]])
    let z = byZone.get(e.zoneId)
    if (!z) byZone.set(e.zoneId, (z = { intervals: [], firsts: [] }))
    z.firsts.push(e.firstMs)
  }
  for (const [key, list] of perPedestrian) {
    const zoneId = key.slice(0, key.indexOf('\u0000'))
    const z = byZone.get(zoneId)
    if (!z) continue
    list.sort((a, b) => a[0] - b[0])
    let cur: [number, number] | null = null
    for (const [a, b] of list) {
      if (cur && a <= cur[1]) cur[1] = Math.max(cur[1], b)
      else {
        if (cur) z.intervals.push(cur)
        cur = [a, b]
      }
    }
    if (cur) z.intervals.push(cur)
  }
  return windows.map((w) => {
    const z = byZone.get(w.zoneId)
    if (!z || !(w.toMs > w.fromMs)) return { present: 0, arriving: 0 }
    let overlap = 0
    for (const [a, b] of z.intervals) {
      const lo = Math.max(a, w.fromMs)
      const hi = Math.min(b, w.toMs)
      if (hi > lo) overlap += hi - lo
    }
    let arriving = 0
    for (const t of z.firsts) if (t >= w.fromMs && t < w.toMs) arriving++
    return { present: overlap / (w.toMs - w.fromMs), arriving }
  })
}

export interface TruthFlow {
  fromZoneId: string
  toZoneId: string
  /** Pedestrians who were in `fromZoneId` and next in `toZoneId`. */
  pedestrians: number
}

/**
 * True flows: for each pedestrian, consecutive zones in the order they were first heard (repeats of
 * the same zone merged), counted per ordered pair. Only pedestrians (optionally only those with a
 * device) count.
 */
export function summariseFlows(
  events: readonly TruthEvent[],
  options: { withDeviceOnly?: boolean } = {},
): TruthFlow[] {
  const byPedestrian = new Map<string, TruthEvent[]>()
  for (const e of events) {
    if (!isPedestrianEvent(e) || (options.withDeviceOnly && !e.hasDevice)) continue
    const list = byPedestrian.get(e.pedestrianId) ?? []
    list.push(e)
    byPedestrian.set(e.pedestrianId, list)
  }
  const flows = new Map<string, TruthFlow>()
  for (const list of byPedestrian.values()) {
    list.sort((a, b) => a.firstMs - b.firstMs)
    const zones = list.map((e) => e.zoneId).filter((z, i, all) => i === 0 || z !== all[i - 1])
    for (let i = 1; i < zones.length; i++) {
      const fromZoneId = zones[i - 1] ?? ''
      const toZoneId = zones[i] ?? ''
      const key = `${fromZoneId}\u0000${toZoneId}`
      const flow = flows.get(key) ?? { fromZoneId, toZoneId, pedestrians: 0 }
      flow.pedestrians++
      flows.set(key, flow)
    }
  }
  return [...flows.values()].sort(
    (a, b) => a.fromZoneId.localeCompare(b.fromZoneId) || a.toZoneId.localeCompare(b.toZoneId),
  )
}

/** One JSON object per line, in the given order. */
export async function writeTruthJsonl(path: string, events: Iterable<TruthEvent>): Promise<void> {
  await writeJsonl(path, events)
}

/** One JSON object per line; rejects (instead of crashing) when the path is not writable. */
export async function writeJsonl(path: string, rows: Iterable<unknown>): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' })
  const failed = new Promise<never>((_, reject) => out.once('error', reject))
  failed.catch(() => undefined)
  for (const row of rows) {
    if (!out.write(`${JSON.stringify(row)}\n`)) await Promise.race([once(out, 'drain'), failed])
  }
  out.end()
  await Promise.race([once(out, 'finish'), failed])
}
