import { stat } from 'node:fs/promises'
import type { MqttClient } from 'mqtt'
import type {
  GatewayStatus,
  SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { toEpochMs } from '../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, buildStatusTopic } from '../services/shared/contracts/topics.ts'
import { connectBroker } from './broker.ts'
import { parseReplayOptions, type ReplayOptionsInput } from './config.ts'
import { createProgressLine, type RunSimulateDeps } from './simulate-run.ts'
import { createStreamPublisher } from './publisher.ts'
import {
  detectFormat,
  firstLineOf,
  readRecording,
  shiftBatch,
  type ReadRecordingOptions,
  type RecordingFormat,
  type RecordingStats,
} from './replay.ts'
import type { OutboundMessage } from './simulation.ts'

export const REPLAY_FIRMWARE = 'replay'
const MAX_REPORTED_PROBLEMS = 20
const DAY_MS = 86_400_000

export interface RunReplayResult extends RecordingStats {
  file: string
  format: RecordingFormat
  /** Added to every recorded time (0 with keepTime). */
  shiftMs: number
  /** Sightings batches and sightings published. */
  published: number
  publishedSightings: number
  statusMessages: number
  wallMs: number
  aborted: boolean
}

/**
 * The offset that brings a recording to the present: it starts now when replayed in real time (or
 * slower); faster, it is placed so that its last batch is due when it is published, so no time is
 * ever in the future (ingest refuses more than 5 min ahead). With 'max' the recording ends now.
 */
export function replayShiftMs(
  firstMs: number,
  lastMs: number,
  speed: 'max' | number,
  nowMs: number,
): number {
  const durationMs = lastMs - firstMs
  const compress = speed === 'max' ? 1 : Math.max(0, 1 - 1 / speed)
  return Math.round(nowMs - firstMs - durationMs * compress)
}

/**
 * `miglio replay <file>`: validates the options, reads the recording once to report problems and
 * its time span, then publishes its batches (QoS 1, in file order) paced by their sentAt at `speed`,
 * with retained 'online'/'offline' status around them for each gateway.
 */
export async function runReplay(
  input: ReplayOptionsInput,
  deps: RunSimulateDeps,
): Promise<RunReplayResult> {
  const { log, signal } = deps
  const now = deps.now ?? Date.now
  const options = parseReplayOptions(input)
  const file = options.file
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(
      `recording ${file}: ${code === 'ENOENT' ? 'not found' : `unreadable (${code ?? (err as Error).message})`}`,
      { cause: err },
    )
  }
  const detected =
    options.format === 'auto' ? detectFormat(file, await firstLineOf(file)) : options.format
  if (!detected)
    throw new Error(
      `recording ${file}: cannot tell its format from the name or the first line; pass --format jsonl or --format csv`,
    )
  const format: RecordingFormat = detected
  if (format === 'csv' && !options.gateway)
    throw new Error(
      `recording ${file} is an ESP32 sniffer CSV: pass --gateway <id>, the gateway the capture stands for (it must be in the district ingest knows)`,
    )
  const readOptions: ReadRecordingOptions = {
    format,
    timeZone: options.tz,
    batchIntervalS: options.batchIntervalS,
    ...(options.gateway ? { gatewayId: options.gateway } : {}),
  }

  // Connect first, so an unreachable broker fails before a long scan.
  const client = await connectBroker(options.mqttUrl, {
    clientIdPrefix: 'miglio-replay',
    log,
    ...(deps.connectTimeoutMs ? { timeoutMs: deps.connectTimeoutMs } : {}),
  })
  try {
    return await replayWith(client)
  } finally {
    await client.endAsync()
  }

  async function replayWith(client: MqttClient): Promise<RunReplayResult> {
    // Pass 1: problems, time span and gateways.
    let reported = 0
    const scan = readRecording(file, readOptions, (line, reason) => {
      if (reported++ < MAX_REPORTED_PROBLEMS) log.warn(`${file}, line ${line}: ${reason}; skipped`)
    })
    for await (const _ of scan.batches) {
      if (signal?.aborted) break
    }
    const scanned = scan.stats
    if (scanned.malformed > MAX_REPORTED_PROBLEMS)
      log.warn(`${scanned.malformed - MAX_REPORTED_PROBLEMS} more malformed lines skipped`)
    log.info(
      `${file} (${format}${format === 'csv' ? `, times in ${options.tz}` : ''}): ${scanned.records} records, ${scanned.malformed} malformed, ${scanned.batches} batches, ${scanned.sightings} sightings from ${scanned.distinctDevices} devices`,
    )
    if (scanned.firstSentAtMs === null || scanned.lastSentAtMs === null) {
      log.warn(`${file}: nothing to replay`)
      return {
        ...scanned,
        file,
        format,
        shiftMs: 0,
        published: 0,
        publishedSightings: 0,
        statusMessages: 0,
        wallMs: 0,
        aborted: false,
      }
    }

    const nowMs = now()
    const { firstSentAtMs: firstMs, lastSentAtMs: lastMs } = scanned
    const shiftMs = options.keepTime ? 0 : replayShiftMs(firstMs, lastMs, options.speed, nowMs)
    const oldestMs = firstMs + shiftMs - options.batchIntervalS * 1000
    if (options.keepTime)
      log.warn(
        `keeping the recorded times (${iso(firstMs)} … ${iso(lastMs)}): ingest rejects sightings more than 24 h old (stale_timestamp) or 5 min ahead, so this is for consumers that accept past data`,
      )
    else
      log.info(
        `shifting recorded time by ${formatShift(shiftMs)}: ${iso(firstMs)} … ${iso(lastMs)} becomes ${iso(firstMs + shiftMs)} … ${iso(lastMs + shiftMs)}`,
      )
    if (nowMs - oldestMs > DAY_MS && !options.keepTime)
      log.warn(
        `the replay spans more than 24 h at this speed: ingest rejects its sightings older than 24 h (stale_timestamp); use a higher --speed closer to 1 or a shorter recording`,
      )

    const progress = createProgressLine(log, now, deps.progressEveryMs ?? 5000, firstMs + shiftMs)
    const wallStart = now()
    try {
      const publisher = createStreamPublisher({
        client,
        simStartMs: firstMs + shiftMs,
        speed: options.speed,
        ...(signal ? { signal } : {}),
        ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
        onProgress: progress.update,
      })
      const status = (state: GatewayStatus['state'], atMs: number) =>
        scanned.gatewayIds.map((gatewayId) => statusMessage(gatewayId, state, atMs))
      await publisher.publishAll(status('online', firstMs + shiftMs))
      const replay = readRecording(file, readOptions)
      let lastDueMs = firstMs + shiftMs
      async function* messages(): AsyncGenerator<OutboundMessage, void, undefined> {
        for await (const batch of replay.batches) {
          const shifted = shiftBatch(batch, shiftMs)
          // File order is publish order; a batch older than one before it goes out at once.
          lastDueMs = Math.max(lastDueMs, toEpochMs(shifted.sentAt))
          yield sightingsMessage(shifted, lastDueMs)
        }
      }
      const { lastSimTimeMs } = await publisher.publishAll(messages(), { paced: true })
      await publisher.publishAll(status('offline', lastSimTimeMs), { evenIfAborted: true })
      const result = publisher.result()
      const wallMs = now() - wallStart
      log.info(
        `replayed ${result.messages} batches (${result.sightings} sightings) in ${(wallMs / 1000).toFixed(1)} s${result.aborted ? ', stopped early' : ''}`,
      )
      return {
        ...scanned,
        file,
        format,
        shiftMs,
        published: result.messages,
        publishedSightings: result.sightings,
        statusMessages: result.statusMessages,
        wallMs,
        aborted: result.aborted,
      }
    } finally {
      progress.stop()
    }
  }
}

function sightingsMessage(batch: SightingsBatch, dueMs: number): OutboundMessage {
  return {
    topic: buildSightingsTopic(batch.gatewayId),
    payload: JSON.stringify(batch),
    simTimeMs: dueMs,
    gatewayId: batch.gatewayId,
    kind: 'sightings',
    sightings: batch.sightings.length,
  }
}

function statusMessage(
  gatewayId: string,
  state: GatewayStatus['state'],
  atMs: number,
): OutboundMessage {
  const status: GatewayStatus = { v: 1, gatewayId, state, fw: REPLAY_FIRMWARE, queue: 0 }
  return {
    topic: buildStatusTopic(gatewayId),
    payload: JSON.stringify(status),
    simTimeMs: atMs,
    gatewayId,
    kind: 'status',
    sightings: 0,
    retain: true,
  }
}

function formatShift(ms: number): string {
  const sign = ms < 0 ? '-' : '+'
  const abs = Math.abs(ms)
  const days = Math.floor(abs / DAY_MS)
  const rest = new Date(abs % DAY_MS).toISOString().slice(11, 19)
  return `${sign}${days}d ${rest}`
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
