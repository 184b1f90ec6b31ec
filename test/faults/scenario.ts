import { readFile } from 'node:fs/promises'
import { normaliseMac } from '../../services/shared/contracts/mac.ts'
import { readDistrictFile } from '../../services/shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../../services/shared/contracts/district.ts'
import { localTimeOf } from '../../services/shared/contracts/local-time.ts'
import { createSimulation } from '../../simulator/simulation.ts'
import { REALISTIC_SCENARIO } from '../../simulator/street-model.ts'
import { isPedestrianEvent, type TruthEvent } from '../../simulator/ground-truth.ts'

// The suite's traffic: the realistic scenario over a window of the last day chosen for its volume,
// and what the simulator will publish in it (regenerated in-process with the same seed), so the
// suite knows every batch and every MAC before the run.

const STEP_MS = 5 * 60_000

export type Window = { fromMs: number; toMs: number; minutes: number; label: string }

/**
 * The busiest window of `minutes` (by the realistic scenario's week × hour shape in `tz`) that ends
 * at least 3 min ago and starts at most 22 h ago (ingest refuses sightings older than 24 h), on
 * 5-minute boundaries; the latest of equally busy ones.
 */
export function chooseWindow(nowMs: number, minutes: number, tz = DEFAULT_TIME_ZONE): Window {
  const lengthMs = minutes * 60_000
  const shape = (tMs: number) => {
    const local = localTimeOf(tMs, tz)
    const weekend = local.weekday >= 6
    const hours = weekend
      ? (REALISTIC_SCENARIO.weekendHourShape ?? REALISTIC_SCENARIO.hourShape)
      : REALISTIC_SCENARIO.hourShape
    return (REALISTIC_SCENARIO.weekShape[local.weekday - 1] ?? 1) * (hours[local.hour] ?? 0)
  }
  let best: { fromMs: number; score: number } | null = null
  const latest = Math.floor((nowMs - 3 * 60_000 - lengthMs) / STEP_MS) * STEP_MS
  for (let from = latest; from >= nowMs - 22 * 3_600_000; from -= STEP_MS) {
    let score = 0
    for (let t = from; t < from + lengthMs; t += 60_000) score += shape(t)
    if (!best || score > best.score + 1e-9) best = { fromMs: from, score }
  }
  if (!best) throw new Error('no window fits in the last 22 hours')
  const local = localTimeOf(best.fromMs, tz)
  const pad = (n: number) => String(n).padStart(2, '0')
  return {
    fromMs: best.fromMs,
    toMs: best.fromMs + lengthMs,
    minutes,
    label: `${local.year}-${pad(local.month)}-${pad(local.day)} ${pad(local.hour)}:${pad(new Date(best.fromMs).getUTCMinutes())} ${tz}, ${minutes} min`,
  }
}

export type BatchKey = { gatewayId: string; bootId: string; seq: number; sentAtMs: number }

export type Traffic = {
  batches: BatchKey[]
  /** Every MAC the scenario's gateways report, normalised (12 lowercase hex digits). */
  macs: Set<string>
  sightings: number
  /** sentAt of every batch, sorted: how many were due by a given simulated time. */
  sentAt: Float64Array
}

export const batchKeyOf = (b: BatchKey) => `${b.gatewayId}|${b.bootId}|${b.seq}|${b.sentAtMs}`

/** What `miglio simulate --scenario realistic --seed <seed> --from … --to …` will publish. */
export async function expectedTraffic(
  districtFile: string,
  seed: number,
  window: Window,
): Promise<Traffic> {
  const district = await readDistrictFile(districtFile, DEFAULT_TIME_ZONE)
  const simulation = createSimulation({
    district,
    seed,
    fromMs: window.fromMs,
    toMs: window.toMs,
    scenario: 'realistic',
    collectTruth: false,
  })
  const batches: BatchKey[] = []
  const macs = new Set<string>()
  let sightings = 0
  for (const m of simulation) {
    if (m.kind !== 'sightings') continue
    const p = JSON.parse(m.payload) as {
      gatewayId: string
      bootId: string
      seq: number
      sentAt: string | number
      sightings: { mac: string }[]
    }
    batches.push({
      gatewayId: p.gatewayId,
      bootId: p.bootId,
      seq: p.seq,
      sentAtMs: typeof p.sentAt === 'number' ? p.sentAt : Date.parse(p.sentAt),
    })
    for (const s of p.sightings) {
      const mac = normaliseMac(s.mac)
      if (mac) macs.add(mac)
    }
    sightings += p.sightings.length
  }
  const sentAt = Float64Array.from(batches.map((b) => b.sentAtMs)).sort()
  return { batches, macs, sightings, sentAt }
}

/** Batches due by simulated time `tMs` (sentAt ≤ tMs). */
export function dueBy(traffic: Traffic, tMs: number): number {
  let lo = 0
  let hi = traffic.sentAt.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((traffic.sentAt[mid] ?? Infinity) <= tMs) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The simulator's ground truth per zone: pedestrians' transits, all and those carrying a device. */
export async function truthPerZone(
  truthFile: string,
): Promise<Map<string, { transits: number; withDevice: number; visitors: number }>> {
  const zones = new Map<string, { transits: number; withDevice: number; visitors: number }>()
  for (const line of (await readFile(truthFile, 'utf8')).split('\n')) {
    if (!line.trim()) continue
    const e = JSON.parse(line) as TruthEvent
    if (!isPedestrianEvent(e)) continue
    const z = zones.get(e.zoneId) ?? { transits: 0, withDevice: 0, visitors: 0 }
    z.transits++
    if (e.hasDevice) z.withDevice++
    if (e.entered) z.visitors++
    zones.set(e.zoneId, z)
  }
  return zones
}
