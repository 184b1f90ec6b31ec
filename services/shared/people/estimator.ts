/**
 * People, not radios: the estimator. From a zone's device sessions (what the database holds) to
 * people present and people arriving per window, both through the same steps:
 *
 *   sessions ─▶ RSSI gate ─▶ device chains (same pseudonym; BLE rotations linked) ─▶ static chains
 *   out ─▶ devices present / device visits begun per window ─▶ calibration (devices → people, 90 %
 *   interval)
 *
 * Pure: no I/O, no clock. docs/metrics.md explains each step, its assumptions and where it fails.
 */
import { buildChains, DEFAULT_CHAIN_OPTIONS, type ChainOptions } from './chains.ts'
import {
  DEFAULT_STATIC_OPTIONS,
  DEFAULT_PRESENCE_OPTIONS,
  deviceArrivals,
  devicesPresent,
  devicesPresentTime,
  staticSince,
  type CountedChain,
  type DeviceCounts,
  type PresenceOptions,
  type StaticOptions,
  type Window,
} from './measures.ts'
import {
  estimateWith,
  fitCalibration,
  intervalScale,
  qOf,
  type KindModel,
  type CalibrationModel,
  type CountSession,
  type FitOptions,
  type FitResult,
  type Observation,
} from './calibration.ts'
import type { DeviceSession } from './sessions.ts'

export type EstimatorOptions = {
  chains: ChainOptions
  static: StaticOptions
  /** A device unheard for longer than this at a gateway arrives anew when heard again. */
  visitGapMs: number
  /**
   * Presence as device-time (devicesPresentTime). Absent: whole minutes heard (devicesPresent), as
   * models fitted before device-time counted them — a stored model keeps counting the way it was
   * fitted.
   */
  presence?: PresenceOptions
}

export const DEFAULT_ESTIMATOR_OPTIONS: EstimatorOptions = {
  chains: DEFAULT_CHAIN_OPTIONS,
  static: DEFAULT_STATIC_OPTIONS,
  visitGapMs: 10 * 60_000,
  presence: DEFAULT_PRESENCE_OPTIONS,
}

export type PreparedDevices = {
  /** Every chain, each with the time it stops counting (when it turned static). */
  chains: CountedChain[]
  /** Chains that turned static. */
  staticChains: number
  /** Sessions below the RSSI gate. */
  gatedSessions: number
  /** BLE rotations linked. */
  bleLinks: number
}

/**
 * The counting devices of a set of sessions (one zone, one local day: pseudonyms are per day):
 * sessions whose peak RSSI is below `rssiGate` out, chains built, static chains out as judged on what
 * was heard before `asOfMs` (default: everything).
 */
export function prepareDevices(
  sessions: readonly DeviceSession[],
  o: { rssiGate?: number | null; asOfMs?: number; options?: EstimatorOptions } = {},
): PreparedDevices {
  const options = o.options ?? DEFAULT_ESTIMATOR_OPTIONS
  const gate = o.rssiGate ?? null
  const asOf = o.asOfMs ?? Infinity
  const kept = sessions.filter((s) => (gate === null || s.peakRssi >= gate) && s.firstMs < asOf)
  const chains = buildChains(kept, options.chains)
  const statics = staticSince(chains, options.static, asOf)
  return {
    chains: chains.map((c) => ({ ...c, countsUntilMs: statics.get(c) ?? Infinity })),
    staticChains: statics.size,
    gatedSessions: sessions.length - kept.length,
    bleLinks: chains.reduce((n, c) => n + c.links, 0),
  }
}

export type DeviceMeasures = { present: DeviceCounts; arrived: DeviceCounts }

/**
 * Devices present (mean over the window: device-time, or whole minutes for a model fitted before
 * device-time) and device visits begun, per window.
 */
export function measureWindows(
  prepared: PreparedDevices,
  windows: readonly Window[],
  options: EstimatorOptions = DEFAULT_ESTIMATOR_OPTIONS,
): DeviceMeasures[] {
  const present = options.presence
    ? devicesPresentTime(prepared.chains, windows, options.presence)
    : devicesPresent(prepared.chains, windows)
  const arrived = deviceArrivals(prepared.chains, windows, options.visitGapMs)
  return windows.map((_, i) => ({
    present: present[i] ?? { stable: 0, randomised: 0 },
    arrived: arrived[i] ?? { stable: 0, randomised: 0 },
  }))
}

export type PeopleFigure = {
  /** Estimated people (present: mean over the window; arrivals: arriving in it). */
  people: number
  /** The 90 % interval. */
  low: number
  high: number
}

export type WindowEstimate = Window & {
  devices: DeviceMeasures
  /** Null when the calibration has no model of that kind (see `model.refused`). */
  present: PeopleFigure | null
  arrivals: PeopleFigure | null
}

/**
 * People present and arriving per window from a zone's sessions and its calibration model.
 *
 * The interval is valid at the resolution of the count sessions the model was fitted on
 * (`windowMinutes`). A window longer than 1.5 of those is cut into pieces of that length (the last
 * one shorter) and added up: arrivals are the sum of the pieces, presence their time-weighted mean.
 * The pieces' interval half-widths h add up as errors that are correlated by the model's
 * `pieceCorrelation` c (measured between count sessions of one day):
 * √(Σh² + c·((Σh)² − Σh²)) — Σh when they move as one, √Σh² when they are independent.
 */
export function estimatePeople(
  sessions: readonly DeviceSession[],
  model: CalibrationModel,
  windows: readonly Window[],
  o: { asOfMs?: number } = {},
): WindowEstimate[] {
  // Devices are counted exactly as they were when the model was fitted.
  const options = model.estimator
  const prepared = prepareDevices(
    sessions.filter((s) => s.zoneId === model.zoneId),
    { rssiGate: model.rssiGate, options, ...(o.asOfMs !== undefined ? { asOfMs: o.asOfMs } : {}) },
  )
  const pieces = windows.map((w) => piecesOf(w, model))
  const measures = measureWindows(prepared, pieces.flat(), options)
  let next = 0
  return windows.map((w, i) => {
    const parts = (pieces[i] ?? []).map((p) => ({ p, m: measures[next++] as DeviceMeasures }))
    const span = Math.max(1, w.toMs - w.fromMs)
    const weight = (p: Window) => (p.toMs - p.fromMs) / span
    const devices: DeviceMeasures = {
      present: sumCounts(parts.map(({ p, m }) => scaleCounts(m.present, weight(p)))),
      arrived: sumCounts(parts.map(({ m }) => m.arrived)),
    }
    const present = combine(
      model.present,
      parts.map(({ p, m }) => ({
        f: estimateWith(model.present, m.present),
        w: weight(p),
        d: m.present,
      })),
    )
    const arrivals = combine(
      model.arrivals,
      parts.map(({ m }) => ({ f: estimateWith(model.arrivals, m.arrived), w: 1, d: m.arrived })),
    )
    return { ...w, devices, present, arrivals }
  })
}

function piecesOf(w: Window, model: CalibrationModel): Window[] {
  const minutes = Math.max(model.present?.windowMinutes ?? 0, model.arrivals?.windowMinutes ?? 0)
  const size = minutes * 60_000
  if (!(size > 0) || w.toMs - w.fromMs <= 1.5 * size) return [w]
  const out: Window[] = []
  for (let t = w.fromMs; t < w.toMs; t += size)
    out.push({ fromMs: t, toMs: Math.min(w.toMs, t + size) })
  return out
}

const scaleCounts = (c: DeviceCounts, k: number): DeviceCounts => ({
  stable: c.stable * k,
  randomised: c.randomised * k,
})

const sumCounts = (cs: readonly DeviceCounts[]): DeviceCounts =>
  cs.reduce((a, c) => ({ stable: a.stable + c.stable, randomised: a.randomised + c.randomised }), {
    stable: 0,
    randomised: 0,
  })

function combine(
  model: KindModel | null,
  parts: readonly { f: PeopleFigure | null; w: number; d: DeviceCounts }[],
): PeopleFigure | null {
  if (!model || parts.length === 0 || parts.some((x) => x.f === null)) return null
  if (parts.length === 1) return parts[0]?.f ?? null
  let people = 0
  let sum = 0
  let squares = 0
  for (const { f, w, d } of parts) {
    const estimate = f?.people ?? 0
    people += estimate * w
    const h = qOf(model, estimate, d) * intervalScale(estimate, model.relativeError) * w
    sum += h
    squares += h * h
  }
  const c = model.pieceCorrelation
  const half = Math.sqrt(squares + c * (sum * sum - squares))
  return { people, low: Math.max(0, people - half), high: people + half }
}

/** RSSI gates the calibration tries, most inclusive first (null: every session above the floor). */
export const RSSI_GATES: readonly (number | null)[] = [null, -85, -80, -75, -70, -65, -60]
/** Days of counts needed before gates are compared (with fewer, the first gate is kept). */
export const MIN_GATE_DAYS = 4

export type CalibrateOptions = Omit<FitOptions, 'estimator' | 'rssiGate'> & {
  /** Gates to try (default RSSI_GATES); a stricter one must lower the held-out MAE by `richerGain`. */
  rssiGates?: readonly (number | null)[]
  options?: EstimatorOptions
}

/**
 * Fits a zone's calibration from its count sessions and its device sessions (those of the days the
 * counts were made; pseudonyms are per day, so sessions are grouped by `day` as the counts are).
 * With counts of at least MIN_GATE_DAYS days each RSSI gate is tried; the most inclusive one is kept
 * unless a stricter one predicts held-out days at least `richerGain` better (gate and model form are
 * chosen on the same held-out errors). With fewer days the first gate of `rssiGates` is used.
 */
export function calibrate(
  counts: readonly CountSession[],
  sessionsByDay: ReadonlyMap<string, readonly DeviceSession[]>,
  o: CalibrateOptions,
): FitResult {
  const options = o.options ?? DEFAULT_ESTIMATOR_OPTIONS
  const missing = counts.filter((c) => !sessionsByDay.has(c.day))
  if (missing.length)
    return { ok: false, reason: `no device sessions for the day ${missing[0]?.day} of a count` }
  const byGate = gatesToTry(counts, o).map((gate) => {
    const observations: Observation[] = []
    for (const [day, sessions] of sessionsByDay) {
      const todays = counts.filter((c) => c.day === day)
      if (todays.length === 0) continue
      const zone = todays[0]?.zoneId
      const prepared = prepareDevices(
        sessions.filter((s) => s.zoneId === zone),
        { rssiGate: gate, options },
      )
      const measures = measureWindows(prepared, todays, options)
      todays.forEach((session, i) => {
        const m = measures[i] as DeviceMeasures
        observations.push({
          session,
          devices: session.kind === 'present' ? m.present : m.arrived,
        })
      })
    }
    return { gate, observations }
  })
  return calibrateObservations(byGate, o)
}

/** The RSSI gates `calibrate` compares for these counts (only the first below MIN_GATE_DAYS days). */
export function gatesToTry(
  counts: readonly { day: string }[],
  o: Pick<CalibrateOptions, 'rssiGates'> = {},
): (number | null)[] {
  // A gate chosen on two or three days fits their noise: gates are compared from MIN_GATE_DAYS on.
  const days = new Set(counts.map((c) => c.day)).size
  return days >= MIN_GATE_DAYS ? [...(o.rssiGates ?? RSSI_GATES)] : [o.rssiGates?.[0] ?? null]
}

/**
 * `calibrate` from the device counts already measured over each count session, per gate (in the
 * order of `gatesToTry`): the most inclusive gate is kept unless a stricter one predicts held-out
 * days at least `richerGain` better.
 */
export function calibrateObservations(
  byGate: readonly { gate: number | null; observations: readonly Observation[] }[],
  o: CalibrateOptions,
): FitResult {
  const options = o.options ?? DEFAULT_ESTIMATOR_OPTIONS
  let best: { model: CalibrationModel; mae: number } | null = null
  let firstRefusal: FitResult | null = null
  for (const { gate, observations } of byGate) {
    const r = fitCalibration(observations, { ...o, rssiGate: gate, estimator: options })
    if (!r.ok) {
      firstRefusal ??= r
      continue
    }
    const mae = heldOutMae(r.model)
    if (!best || mae < best.mae * (1 - (o.richerGain ?? 0.05))) best = { model: r.model, mae }
  }
  return best ? { ok: true, model: best.model } : (firstRefusal ?? { ok: false, reason: 'no gate' })
}

/** The model's held-out MAE over its kinds, weighted by sessions (what gates are compared on). */
function heldOutMae(m: CalibrationModel): number {
  let sum = 0
  let n = 0
  for (const k of [m.present, m.arrivals]) {
    if (!k) continue
    sum += k.quality.maePeople * k.quality.sessions
    n += k.quality.sessions
  }
  return n ? sum / n : Infinity
}
