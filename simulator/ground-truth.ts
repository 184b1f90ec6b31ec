import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type { Pedestrian, StreetModel } from './street-model.ts'

/**
 * One true transit: a pedestrian within a gateway's range (noise-free RSSI >= rssiFloor) from
 * firstMs to lastMs. `entered` is true when the pedestrian went into the gateway's shop.
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
      })
    }
  })
  return events
}

/** Transits per zone and bucket (by firstMs): visitors entered the zone's shop, passers-by did not. */
export function summariseTruth(events: readonly TruthEvent[], bucketMs: number): TruthSummary {
  if (!(bucketMs > 0)) throw new Error('bucketMs must be > 0')
  const buckets = new Map<string, TruthBucket>()
  const totals = new Map<string, TruthZoneTotal>()
  for (const e of events) {
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

/** One JSON object per line, in the given order. */
export async function writeTruthJsonl(path: string, events: Iterable<TruthEvent>): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' })
  // events.once rejects on 'error', so an unwritable path surfaces here instead of crashing.
  for (const event of events) {
    if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}
