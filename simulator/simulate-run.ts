import { readFile, writeFile } from 'node:fs/promises'
import {
  DEFAULT_TIME_ZONE,
  parseDistrictFile,
  type DistrictFile,
} from '../services/shared/contracts/district.ts'
import { connectBroker } from './broker.ts'
import {
  parseEventSpec,
  parseLoadOptions,
  parseSimulateOptions,
  parseTimeSpec,
  resolveWindow,
  type LoadOptionsInput,
  type SimulateOptionsInput,
} from './config.ts'
import { formatFault } from './faults.ts'
import { writeJsonl, writeTruthJsonl } from './ground-truth.ts'
import { buildLoadDistrict, createLoadGenerator, type LoadStats } from './load.ts'
import {
  publishSimulation,
  simulatorWill,
  type PublishLog,
  type PublishProgress,
} from './publisher.ts'
import { createSimulation, type Simulation } from './simulation.ts'
import { districtWithFormat, formatStream } from './formats/stream.ts'
import type { GatewaySource } from '../services/shared/contracts/district.ts'

const PROGRESS_EVERY_MS = 5_000

export interface RunSimulateDeps {
  log: PublishLog
  /** Stops the run cleanly: gateways go offline, truth is written, the client disconnects. */
  signal?: AbortSignal
  /** Wall clock in ms, for resolving 'now' and relative times. */
  now?: () => number
  /** How long to wait for the broker's CONNACK (default 10 s). */
  connectTimeoutMs?: number
  /** How often to log the progress line (default 5 s). */
  progressEveryMs?: number
}

export interface RunSimulateResult {
  fromMs: number
  toMs: number
  messages: number
  sightings: number
  pedestrians: number
  /** Ground-truth events written, or null when no truthOut was given. */
  truthEvents: number | null
  /** Status messages published (start, end, and fault windows). */
  statusMessages: number
  /** Faults injected, and the file they were written to (null when none was written). */
  faults: number
  faultsOut: string | null
  aborted: boolean
}

export async function runSimulate(
  input: SimulateOptionsInput,
  deps: RunSimulateDeps,
): Promise<RunSimulateResult> {
  const { log, signal } = deps
  const now = deps.now ?? Date.now
  const options = parseSimulateOptions(input)
  const fileDistrict = await loadDistrictFile(
    options.district,
    options.defaultTimeZone ?? DEFAULT_TIME_ZONE,
  )
  const district = options.format ? districtWithFormat(fileDistrict, options.format) : fileDistrict
  if (options.districtOut !== undefined) {
    await writeFile(options.districtOut, `${JSON.stringify(district, null, 2)}\n`)
    log.info(
      `wrote the district as simulated to ${options.districtOut}: load it with 'miglio district load ${options.districtOut}' so ingest knows the gateways' sources`,
    )
  }
  const nowMs = now()
  const { fromMs, toMs } = resolveWindow(options, nowMs)
  const events = (options.events ?? []).map((spec) => {
    const event = parseEventSpec(spec, fromMs, nowMs)
    if (!event) throw new Error(`invalid simulate options:\n  - events: cannot read '${spec}'`)
    return event
  })
  const simulation = createSimulation({
    district,
    seed: options.seed,
    fromMs,
    toMs,
    scenario: options.scenario,
    ...(events.length > 0 ? { overrides: { events } } : {}),
    ...(options.faults ? { faults: options.faults } : {}),
    collectTruth: options.truthOut !== undefined,
  })
  const { model } = simulation
  for (const closed of model.closedShops)
    log.warn(`nobody enters ${closed.shopId} in this scenario: ${closed.reason}`)
  if (model.arrivalsUntilMs <= fromMs)
    log.warn(
      `the window is shorter than the longest stay (${Math.ceil(model.maxStayMs / 60_000)} min): no pedestrians will arrive`,
    )
  if (options.truthOut !== undefined && !Number.isFinite(toMs))
    log.warn('ground truth of an endless run is kept in memory until the run stops')
  log.info(
    `simulating ${district.id} (${district.gateways.length} gateways, scenario ${options.scenario}, seed ${options.seed}) from ${iso(fromMs)} to ${iso(toMs)} at speed ${options.speed}`,
  )
  if (simulation.faultSpecs.length > 0)
    log.info(`injecting faults: ${simulation.faultSpecs.map(formatFault).join(', ')}`)
  for (const e of events)
    log.info(`event in ${e.zoneId} from ${iso(e.fromMs)} to ${iso(e.toMs)}: ×${e.factor}`)

  const only = district.gateways.length === 1 ? district.gateways[0] : undefined
  const client = await connectBroker(options.mqttUrl, {
    clientIdPrefix: `miglio-sim-${options.seed}`,
    log,
    ...(deps.connectTimeoutMs ? { timeoutMs: deps.connectTimeoutMs } : {}),
    ...(only ? { will: simulatorWill(only.id) } : {}),
  })
  const progress = createProgressLine(log, now, deps.progressEveryMs ?? PROGRESS_EVERY_MS, fromMs)
  try {
    const published = await publishSimulation({
      client,
      simulation: onTheWire(simulation, district, options.merakiSecret),
      speed: options.speed,
      log,
      ...(signal ? { signal } : {}),
      ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
      onProgress: progress.update,
    })
    let truthEvents: number | null = null
    if (options.truthOut !== undefined) {
      const truth = simulation.truth()
      await writeTruthJsonl(options.truthOut, truth)
      truthEvents = truth.length
      log.info(`wrote ${truthEvents} ground-truth events to ${options.truthOut}`)
    }
    const faults = simulation.faults()
    const faultsOut =
      options.faultsOut ??
      (options.truthOut !== undefined && simulation.faultSpecs.length > 0
        ? `${options.truthOut.replace(/\.jsonl?$/i, '')}.faults.jsonl`
        : undefined)
    if (faultsOut !== undefined) {
      await writeJsonl(faultsOut, faults)
      log.info(`wrote ${faults.length} injected faults to ${faultsOut}`)
    }
    return {
      fromMs,
      toMs,
      messages: published.messages,
      sightings: published.sightings,
      pedestrians: simulation.stats().pedestrians,
      truthEvents,
      statusMessages: published.statusMessages,
      faults: faults.length,
      faultsOut: faultsOut ?? null,
      aborted: published.aborted,
    }
  } finally {
    progress.stop()
    await client.endAsync()
  }
}

/**
 * The simulation as its gateways put it on the wire: each gateway with a `source` in its format
 * (formats/stream.ts), a Meraki post on the internal topic the API would publish it on.
 */
export function onTheWire(simulation: Simulation, district: DistrictFile, merakiSecret: string) {
  const sources = new Map<string, GatewaySource>()
  for (const g of district.gateways) if (g.source) sources.set(g.id, g.source)
  if (sources.size === 0) return simulation
  const options = {
    timeZone: district.timezone,
    merakiSecret,
    // A batch interval: sightings of one-message-per-device formats go out when heard, before it.
    lagMs: simulation.model.options.batchIntervalS * 1000,
  }
  return {
    model: simulation.model,
    statusMessages: (state: 'online' | 'offline', atMs: number) => [
      ...formatStream(simulation.statusMessages(state, atMs), sources, { ...options, lagMs: 0 }),
    ],
    [Symbol.iterator]: () => formatStream(simulation, sources, options),
  }
}

export interface RunLoadResult extends LoadStats {
  fromMs: number
  toMs: number
  /** Messages and status messages the broker acknowledged. */
  published: number
  statusMessages: number
  wallMs: number
  /** Acknowledged sightings per wall-clock second. */
  achievedSightingsPerSecond: number
  districtOut: string | null
  aborted: boolean
}

/**
 * Load mode (`miglio simulate --load`): `gateways` synthetic gateways publish `sightingsPerSecond`
 * in total for `durationS` of simulated time, paced by `speed` (1 = the configured rate in real
 * time, 'max' = as fast as the broker acknowledges). Reports what was sent.
 */
export async function runLoad(
  input: LoadOptionsInput,
  deps: RunSimulateDeps,
): Promise<RunLoadResult> {
  const { log, signal } = deps
  const now = deps.now ?? Date.now
  const options = parseLoadOptions(input)
  const nowMs = now()
  const fromSpec = parseTimeSpec(options.from, nowMs)
  if (fromSpec === null || !Number.isFinite(fromSpec))
    throw new Error('invalid load options:\n  - from: must be a time')
  // From 'now' faster than real time, the run is moved back so that no timestamp is ever in the
  // future when published (ingest refuses more than 5 min ahead); with 'max' it ends now.
  const compress = options.speed === 'max' ? 1 : Math.max(0, 1 - 1 / options.speed)
  const startMs =
    options.from === 'now' ? Math.round(nowMs - options.durationS * 1000 * compress) : fromSpec
  const generator = createLoadGenerator({
    gateways: options.gateways,
    sightingsPerSecond: options.sightingsPerSecond,
    devices: options.devices,
    durationS: options.durationS,
    batchIntervalS: options.batchIntervalS,
    seed: options.seed,
    startMs,
  })
  if (options.districtOut !== undefined) {
    const district = buildLoadDistrict(options.gateways)
    try {
      await writeFile(options.districtOut, `${JSON.stringify(district, null, 2)}\n`)
    } catch (err) {
      throw new Error(`cannot write ${options.districtOut}: ${(err as Error).message}`, {
        cause: err,
      })
    }
    log.info(
      `wrote the load district (${options.gateways} gateways) to ${options.districtOut}: load it with 'miglio district load ${options.districtOut}' so ingest knows the gateways`,
    )
  }
  log.info(
    `load: ${options.gateways} gateways, ${options.sightingsPerSecond} sightings/s over ${options.devices} devices, ${(generator.model.toMs - startMs) / 1000} s of simulated time (whole batch intervals) from ${iso(startMs)} at speed ${options.speed}`,
  )
  const client = await connectBroker(options.mqttUrl, {
    clientIdPrefix: `miglio-load-${options.seed}`,
    log,
    ...(deps.connectTimeoutMs ? { timeoutMs: deps.connectTimeoutMs } : {}),
  })
  const progress = createProgressLine(log, now, deps.progressEveryMs ?? PROGRESS_EVERY_MS, startMs)
  const wallStart = now()
  try {
    const published = await publishSimulation({
      client,
      simulation: generator,
      speed: options.speed,
      ...(signal ? { signal } : {}),
      ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
      onProgress: progress.update,
      maxInFlight: 256,
    })
    const wallMs = Math.max(1, now() - wallStart)
    const stats = generator.stats()
    const result: RunLoadResult = {
      ...stats,
      fromMs: startMs,
      toMs: generator.model.toMs,
      published: published.messages,
      statusMessages: published.statusMessages,
      wallMs,
      achievedSightingsPerSecond: Math.round((published.sightings * 1000) / wallMs),
      districtOut: options.districtOut ?? null,
      aborted: published.aborted,
    }
    log.info(
      `load sent ${stats.messages} batches, ${stats.sightings} sightings from ${stats.distinctDevices} devices in ${(wallMs / 1000).toFixed(1)} s (${result.achievedSightingsPerSecond} sightings/s)`,
    )
    return result
  } finally {
    progress.stop()
    await client.endAsync()
  }
}

/** The progress line of long runs: simulated time, messages, sightings and rate, every few seconds. */
export function createProgressLine(
  log: PublishLog,
  now: () => number,
  everyMs: number,
  startSimMs: number,
): { update: (p: PublishProgress) => void; stop: () => void } {
  let last = { atMs: now(), messages: 0 }
  let progress: PublishProgress = { simTimeMs: startSimMs, messages: 0, sightings: 0 }
  const timer = setInterval(() => {
    const atMs = now()
    const rate = ((progress.messages - last.messages) * 1000) / Math.max(1, atMs - last.atMs)
    last = { atMs, messages: progress.messages }
    log.info(
      `simulated time ${iso(progress.simTimeMs)}: ${progress.messages} batches, ${progress.sightings} sightings, ${rate.toFixed(1)} batches/s`,
    )
  }, everyMs)
  timer.unref()
  return {
    update: (p) => {
      progress = p
    },
    stop: () => clearInterval(timer),
  }
}

/**
 * Reads and validates a district file; errors name the file and every invalid field. A file that
 * names no time zone gets `defaultTimeZone` (MIGLIO_TZ).
 */
export async function loadDistrictFile(
  path: string,
  defaultTimeZone: string = DEFAULT_TIME_ZONE,
): Promise<DistrictFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'not found' : `unreadable (${code ?? String(err)})`
    throw new Error(`district file ${path}: ${why}`, { cause: err })
  }
  const parsed = parseDistrictFile(text, path, defaultTimeZone)
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.district
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'never'
}
