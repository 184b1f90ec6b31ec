import { startOfLocalDay } from '../services/shared/contracts/local-time.ts'
import type { GatewayTransit } from '../services/ingest/model.ts'

/** A row of flows_hourly or flows_daily. */
export type FlowRow = {
  bucketMs: number
  origin: string
  dest: string
  flows: number
  p25: number
  median: number
  p75: number
}

export type DayFlows = { hourly: FlowRow[]; daily: FlowRow[] }

/** PostgreSQL's percentile_cont over sorted values: linear between the two nearest ranks. */
function percentileCont(sorted: readonly number[], p: number): number {
  const pos = p * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] ?? 0
  const b = sorted[hi] ?? a
  return a + (b - a) * (pos - lo)
}

function aggregate(pairs: { bucketMs: number; origin: string; dest: string; travelS: number }[]) {
  const groups = new Map<string, { bucketMs: number; origin: string; dest: string; t: number[] }>()
  for (const p of pairs) {
    const key = `${p.bucketMs}\u0000${p.origin}\u0000${p.dest}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { bucketMs: p.bucketMs, origin: p.origin, dest: p.dest, t: [] }))
    g.t.push(p.travelS)
  }
  return [...groups.values()].map((g): FlowRow => {
    const t = g.t.sort((a, b) => a - b)
    return {
      bucketMs: g.bucketMs,
      origin: g.origin,
      dest: g.dest,
      flows: t.length,
      p25: percentileCont(t, 0.25),
      median: percentileCont(t, 0.5),
      p75: percentileCont(t, 0.75),
    }
  })
}

/**
 * The flows of a simulated day, computed where its pseudonyms still exist (the history's worker):
 * the same rule as the database's `miglio_compute_flows` — a device's consecutive transits (by start,
 * then gateway) in two different zones on the same local day are one flow from the first zone to
 * the second, arriving at the second's start, travel time from the end of the first (never below
 * 0) — aggregated per UTC hour and per local day with the quartiles of the travel time. The
 * history's transits are stored without pseudonyms, so the database cannot compute them later.
 */
export function flowsOfDay(transits: readonly GatewayTransit[], timeZone: string): DayFlows {
  const byDevice = new Map<string, GatewayTransit[]>()
  for (const t of transits) {
    const list = byDevice.get(t.transit.pseudonym)
    if (list) list.push(t)
    else byDevice.set(t.transit.pseudonym, [t])
  }
  const pairs: {
    arrivedMs: number
    dayMs: number
    origin: string
    dest: string
    travelS: number
  }[] = []
  for (const list of byDevice.values()) {
    list.sort(
      (a, b) =>
        a.transit.firstMs - b.transit.firstMs ||
        (a.gateway.id < b.gateway.id ? -1 : a.gateway.id > b.gateway.id ? 1 : 0),
    )
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]
      const cur = list[i]
      if (!prev || !cur) continue
      if (prev.gateway.zoneId === cur.gateway.zoneId) continue
      const dayMs = startOfLocalDay(cur.transit.firstMs, timeZone)
      if (startOfLocalDay(prev.transit.firstMs, timeZone) !== dayMs) continue
      pairs.push({
        arrivedMs: cur.transit.firstMs,
        dayMs,
        origin: prev.gateway.zoneId,
        dest: cur.gateway.zoneId,
        travelS: Math.max(0, (cur.transit.firstMs - prev.transit.lastMs) / 1000),
      })
    }
  }
  return {
    hourly: aggregate(
      pairs.map((p) => ({ ...p, bucketMs: Math.floor(p.arrivedMs / 3_600_000) * 3_600_000 })),
    ),
    daily: aggregate(pairs.map((p) => ({ ...p, bucketMs: p.dayMs }))),
  }
}
