import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import mqtt, { type MqttClient } from 'mqtt'
import { DistrictFileSchema, type DistrictFile } from '../services/shared/contracts/district.ts'
import { parseSimulateOptions, resolveWindow, type SimulateOptionsInput } from './config.ts'
import { writeTruthJsonl } from './ground-truth.ts'
import { publishSimulation, simulatorWill, type PublishLog } from './publisher.ts'
import { createSimulation } from './simulation.ts'

const CONNECT_TIMEOUT_MS = 10_000
const PROGRESS_EVERY_MS = 5_000

export interface RunSimulateDeps {
  log: PublishLog
  /** Stops the run cleanly: gateways go offline, truth is written, the client disconnects. */
  signal?: AbortSignal
  /** Wall clock in ms, for resolving 'now' and relative times. */
  now?: () => number
}

export interface RunSimulateResult {
  fromMs: number
  toMs: number
  messages: number
  sightings: number
  pedestrians: number
  /** Ground-truth events written, or null when no truthOut was given. */
  truthEvents: number | null
  aborted: boolean
}

export async function runSimulate(
  input: SimulateOptionsInput,
  deps: RunSimulateDeps,
): Promise<RunSimulateResult> {
  const { log, signal } = deps
  const now = deps.now ?? Date.now
  const options = parseSimulateOptions(input)
  const district = await loadDistrictFile(options.district)
  const { fromMs, toMs } = resolveWindow(options, now())
  const simulation = createSimulation({
    district,
    seed: options.seed,
    fromMs,
    toMs,
    scenario: options.scenario,
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

  const client = await connectBroker(options.mqttUrl, options.seed, district, log)
  let last = { atMs: now(), messages: 0 }
  let progress = { simTimeMs: fromMs, messages: 0, sightings: 0 }
  const timer = setInterval(() => {
    const atMs = now()
    const rate = ((progress.messages - last.messages) * 1000) / Math.max(1, atMs - last.atMs)
    last = { atMs, messages: progress.messages }
    log.info(
      `simulated time ${iso(progress.simTimeMs)}: ${progress.messages} batches, ${progress.sightings} sightings, ${rate.toFixed(1)} batches/s`,
    )
  }, PROGRESS_EVERY_MS)
  timer.unref()
  try {
    const published = await publishSimulation({
      client,
      simulation,
      speed: options.speed,
      log,
      ...(signal ? { signal } : {}),
      ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
      onProgress: (p) => {
        progress = p
      },
    })
    let truthEvents: number | null = null
    if (options.truthOut !== undefined) {
      const truth = simulation.truth()
      await writeTruthJsonl(options.truthOut, truth)
      truthEvents = truth.length
      log.info(`wrote ${truthEvents} ground-truth events to ${options.truthOut}`)
    }
    return {
      fromMs,
      toMs,
      messages: published.messages,
      sightings: published.sightings,
      pedestrians: simulation.stats().pedestrians,
      truthEvents,
      aborted: published.aborted,
    }
  } finally {
    clearInterval(timer)
    await client.endAsync()
  }
}

/** Reads and validates a district file; errors name the file and every invalid field. */
export async function loadDistrictFile(path: string): Promise<DistrictFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'not found' : `unreadable (${code ?? String(err)})`
    throw new Error(`district file ${path}: ${why}`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new Error(`district file ${path}: not valid JSON (${(err as Error).message})`, {
      cause: err,
    })
  }
  const parsed = DistrictFileSchema.safeParse(json)
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`,
    )
    throw new Error(`district file ${path} is invalid:\n${lines.join('\n')}`)
  }
  return parsed.data
}

async function connectBroker(
  url: string,
  seed: number,
  district: DistrictFile,
  log: PublishLog,
): Promise<MqttClient> {
  const shown = redactUrl(url)
  const only = district.gateways.length === 1 ? district.gateways[0] : undefined
  let client: MqttClient
  try {
    // allowRetries=false: fail after connectTimeout instead of retrying forever before the first CONNACK.
    client = await mqtt.connectAsync(
      url,
      {
        protocolVersion: 4,
        clientId: `miglio-sim-${seed}-${randomBytes(4).toString('hex')}`,
        clean: true,
        reconnectPeriod: 1000,
        connectTimeout: CONNECT_TIMEOUT_MS,
        ...(only ? { will: simulatorWill(only.id) } : {}),
      },
      false,
    )
  } catch (err) {
    throw new Error(
      `could not connect to the MQTT broker ${shown} within ${CONNECT_TIMEOUT_MS / 1000} s: ${(err as Error).message}`,
      { cause: err },
    )
  }
  client.on('error', (err) => log.warn(`MQTT ${shown}: ${err.message}`))
  client.on('offline', () => log.warn(`MQTT ${shown}: offline`))
  client.on('reconnect', () => log.info(`MQTT ${shown}: reconnecting`))
  log.info(`connected to ${shown}`)
  return client
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return 'the broker'
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : 'never'
}
