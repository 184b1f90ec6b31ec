import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import {
  MAX_PAYLOAD_BYTES,
  SightingsBatchSchema,
  toEpochMs,
  type Sighting,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { normaliseMac } from '../services/shared/contracts/mac.ts'
import { chunkSightings } from './gateway.ts'
import {
  parseSnifferHeader,
  parseSnifferLine,
  type SnifferHeader,
} from '../services/shared/contracts/sniffer-csv.ts'

/**
 * Recorded sightings for `miglio replay`, in two formats:
 * - `jsonl`: native v1, one SightingsBatch per line (what a gateway published);
 * - `csv`: the ESP32 probe-sniffer capture (semicolon-separated, header `datetime;dst;src;…`), whose
 *   rows become batches of one gateway, one per batch interval.
 * Everything here is pure except readRecording, which streams a file line by line.
 */
export type RecordingFormat = 'jsonl' | 'csv'

export interface RecordedSighting {
  tMs: number
  /** Lowercase `aa:bb:cc:dd:ee:ff`. */
  mac: string
  rssi: number
  radio: 'wifi' | 'ble'
  seqNum?: number
  ie?: string
}

export type LineResult<T> = { ok: true; value: T } | { ok: false; reason: string }

/** Format from the file name (.jsonl/.ndjson/.json, .csv), else from its first non-empty line. */
export function detectFormat(path: string, firstLine: string | null): RecordingFormat | null {
  const lower = path.toLowerCase()
  if (/\.(jsonl|ndjson|json)$/.test(lower)) return 'jsonl'
  if (lower.endsWith('.csv')) return 'csv'
  const line = firstLine?.trim() ?? ''
  if (line.startsWith('{')) return 'jsonl'
  if (line.includes(';') && /(^|;)datetime(;|$)/.test(line)) return 'csv'
  return null
}

export function parseEsp32CsvHeader(line: string): LineResult<SnifferHeader> {
  const parsed = parseSnifferHeader(line)
  if (!parsed.ok)
    return {
      ok: false,
      reason: `not an ESP32 sniffer header: missing column${parsed.missing.length > 1 ? 's' : ''} ${parsed.missing.join(', ')} (expected datetime;dst;src;…;rssi;…)`,
    }
  return { ok: true, value: parsed.header }
}

/**
 * One data row of the ESP32 sniffer CSV (contracts/sniffer-csv.ts reads it, as ingest's sniffer
 * adapter does): the device as `aa:bb:…`, with `occupancy` when the capture has it. The reason of a
 * bad row never quotes its values (they hold MAC addresses).
 */
export function parseEsp32CsvLine(
  line: string,
  header: SnifferHeader,
  timeZone: string,
): LineResult<RecordedSighting & { occupancy?: number }> {
  const parsed = parseSnifferLine(line, header, timeZone)
  if (!parsed.ok) return { ok: false, reason: parsed.detail }
  const { row } = parsed
  const out: RecordedSighting & { occupancy?: number } = {
    tMs: row.tMs,
    mac: row.mac.replace(/(..)(?!$)/g, '$1:'),
    rssi: row.rssi,
    radio: 'wifi',
  }
  if (row.seqNum !== undefined) out.seqNum = row.seqNum
  if (row.ie !== undefined) out.ie = row.ie
  if (row.occupancy !== undefined) out.occupancy = row.occupancy
  return { ok: true, value: out }
}

/** One line of native v1 JSONL: a SightingsBatch within the protocol's limits. */
export function parseJsonlBatchLine(line: string): LineResult<SightingsBatch> {
  if (Buffer.byteLength(line) > MAX_PAYLOAD_BYTES)
    return { ok: false, reason: `longer than ${MAX_PAYLOAD_BYTES} bytes (the protocol's limit)` }
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch {
    return { ok: false, reason: 'not valid JSON' }
  }
  const parsed = SightingsBatchSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return {
      ok: false,
      reason: `not a v1 sightings batch (${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'})`,
    }
  }
  const invalidTime = [parsed.data.sentAt, ...parsed.data.sightings.map((s) => s.t)].some((t) =>
    Number.isNaN(toEpochMs(t)),
  )
  if (invalidTime) return { ok: false, reason: 'a timestamp is not a valid date' }
  return { ok: true, value: parsed.data }
}

/**
 * Groups a capture's sightings into the batches one gateway would have sent: intervals of
 * `intervalS` on the epoch grid, one batch per interval from the first sighting's to the last's
 * (empty ones included: they advance ingest's watermark), sentAt at the interval's end, seq from 0.
 * A sighting earlier than the open interval (the capture went back in time) joins it and is counted
 * as late. Crowded intervals are split within the protocol's limits.
 */
export function createCaptureBatcher(options: {
  gatewayId: string
  bootId: string
  intervalS: number
}): {
  add(s: RecordedSighting): SightingsBatch[]
  flush(): SightingsBatch[]
  readonly late: number
} {
  const { gatewayId, bootId } = options
  const intervalMs = Math.round(options.intervalS * 1000)
  if (!(intervalMs > 0)) throw new Error('intervalS must be > 0')
  let seq = 0
  let late = 0
  let windowStart: number | null = null
  let buffer: RecordedSighting[] = []

  const cut = (): SightingsBatch[] => {
    if (windowStart === null) return []
    const sentAtMs = windowStart + intervalMs
    const sentAt = new Date(sentAtMs).toISOString()
    const sightings = buffer.sort((a, b) => a.tMs - b.tMs).map(toSighting)
    buffer = []
    const envelope = JSON.stringify({
      v: 1,
      gatewayId,
      bootId,
      seq: Number.MAX_SAFE_INTEGER,
      sentAt,
      sightings: [],
    }).length
    return chunkSightings(sightings, envelope).map((chunk) => ({
      v: 1 as const,
      gatewayId,
      bootId,
      seq: seq++,
      sentAt,
      sightings: chunk,
    }))
  }

  return {
    add(s) {
      const out: SightingsBatch[] = []
      if (windowStart === null) windowStart = Math.floor(s.tMs / intervalMs) * intervalMs
      while (s.tMs >= windowStart + intervalMs) {
        out.push(...cut())
        windowStart += intervalMs
      }
      if (s.tMs < windowStart) late++
      buffer.push(s)
      return out
    },
    flush() {
      const out = cut()
      windowStart = null
      return out
    },
    get late() {
      return late
    },
  }
}

function toSighting(s: RecordedSighting): Sighting {
  const out: Sighting = {
    t: new Date(s.tMs).toISOString(),
    mac: s.mac,
    rssi: s.rssi,
    radio: s.radio,
  }
  if (s.seqNum !== undefined) out.seqNum = s.seqNum
  if (s.ie !== undefined) out.ie = s.ie
  return out
}

/** A stable 8-hex-digit boot id for a capture replayed as `gatewayId`. */
export function captureBootId(fileName: string, gatewayId: string): string {
  return createHash('sha256').update(`${gatewayId}\u0000${fileName}`).digest('hex').slice(0, 8)
}

/** Shifts a batch's sentAt and sighting times by `shiftMs`, keeping ISO strings ISO and numbers numbers. */
export function shiftBatch(
  batch: SightingsBatch,
  shiftMs: number,
  gatewayId?: string,
): SightingsBatch {
  const shift = (t: string | number) =>
    typeof t === 'number' ? t + shiftMs : new Date(Date.parse(t) + shiftMs).toISOString()
  return {
    ...batch,
    ...(gatewayId ? { gatewayId } : {}),
    sentAt: shiftMs === 0 ? batch.sentAt : shift(batch.sentAt),
    sightings:
      shiftMs === 0 ? batch.sightings : batch.sightings.map((s) => ({ ...s, t: shift(s.t) })),
  }
}

export interface ReadRecordingOptions {
  format: RecordingFormat
  /** The gateway a capture stands for (required for csv; renames every batch of a jsonl file). */
  gatewayId?: string
  /** Capture time zone for csv wall times. */
  timeZone: string
  batchIntervalS: number
}

export interface RecordingStats {
  /** Lines read (header and blank lines included). */
  lines: number
  /** Data rows (csv) or batches (jsonl) accepted. */
  records: number
  /** Lines skipped as malformed. */
  malformed: number
  /** csv rows earlier than the batch they joined. */
  late: number
  batches: number
  sightings: number
  distinctDevices: number
  gatewayIds: string[]
  /** Earliest and latest batch sentAt (epoch ms), null when there is none. */
  firstSentAtMs: number | null
  lastSentAtMs: number | null
  /** csv `occupancy` column (people in the room), when present. */
  occupancy: { min: number; max: number; mean: number; samples: number } | null
}

/** First non-empty line of a file (for format detection), read from its first 64 KiB. */
export async function firstLineOf(path: string): Promise<string | null> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(65_536)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    const text = stripBom(buffer.subarray(0, bytesRead).toString('utf8'))
    return text.split(/\r?\n/).find((l) => l.trim() !== '') ?? null
  } finally {
    await handle.close()
  }
}

/**
 * Streams a recording as batches in file order. A malformed line is reported to `onProblem` with
 * its line number (and never its content), counted, and skipped; it is not fatal. The stats object
 * is filled as the file is read and final once the iteration ends.
 */
export function readRecording(
  path: string,
  options: ReadRecordingOptions,
  onProblem: (line: number, reason: string) => void = () => undefined,
): { batches: AsyncGenerator<SightingsBatch, void, undefined>; stats: RecordingStats } {
  const stats: RecordingStats = {
    lines: 0,
    records: 0,
    malformed: 0,
    late: 0,
    batches: 0,
    sightings: 0,
    distinctDevices: 0,
    gatewayIds: [],
    firstSentAtMs: null,
    lastSentAtMs: null,
    occupancy: null,
  }
  if (options.format === 'csv' && !options.gatewayId)
    throw new Error(
      'replaying an ESP32 CSV capture needs --gateway <id>: the gateway it stands for',
    )
  const devices = new Set<string>()
  const gateways = new Set<string>()
  let occupancySum = 0
  const count = (batch: SightingsBatch): SightingsBatch => {
    stats.batches++
    stats.sightings += batch.sightings.length
    for (const s of batch.sightings) devices.add(normaliseMac(s.mac) ?? s.mac)
    stats.distinctDevices = devices.size
    if (!gateways.has(batch.gatewayId)) {
      gateways.add(batch.gatewayId)
      stats.gatewayIds.push(batch.gatewayId)
    }
    const sentAtMs = toEpochMs(batch.sentAt)
    stats.firstSentAtMs = Math.min(stats.firstSentAtMs ?? sentAtMs, sentAtMs)
    stats.lastSentAtMs = Math.max(stats.lastSentAtMs ?? sentAtMs, sentAtMs)
    return batch
  }

  async function* batches(): AsyncGenerator<SightingsBatch, void, undefined> {
    const lines = createInterface({
      input: createReadStream(path, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    })
    const problem = (line: number, reason: string) => {
      stats.malformed++
      onProblem(line, reason)
    }
    try {
      if (options.format === 'jsonl') {
        for await (const raw of lines) {
          const n = ++stats.lines
          const line = n === 1 ? stripBom(raw) : raw
          if (line.trim() === '') continue
          const parsed = parseJsonlBatchLine(line)
          if (!parsed.ok) {
            problem(n, parsed.reason)
            continue
          }
          stats.records++
          const batch = options.gatewayId
            ? { ...parsed.value, gatewayId: options.gatewayId }
            : parsed.value
          yield count(batch)
        }
        return
      }
      const gatewayId = options.gatewayId ?? ''
      const batcher = createCaptureBatcher({
        gatewayId,
        bootId: captureBootId(path.split(/[\\/]/).pop() ?? path, gatewayId),
        intervalS: options.batchIntervalS,
      })
      let header: SnifferHeader | null = null
      for await (const raw of lines) {
        const n = ++stats.lines
        if (raw.trim() === '') continue
        if (!header) {
          const h = parseEsp32CsvHeader(raw)
          if (!h.ok) throw new Error(`${path}, line ${n}: ${h.reason}`)
          header = h.value
          continue
        }
        const row = parseEsp32CsvLine(raw.replace(/\r$/, ''), header, options.timeZone)
        if (!row.ok) {
          problem(n, row.reason)
          continue
        }
        stats.records++
        if (row.value.occupancy !== undefined) {
          const o = row.value.occupancy
          const prev = stats.occupancy
          occupancySum += o
          stats.occupancy = {
            min: Math.min(prev?.min ?? o, o),
            max: Math.max(prev?.max ?? o, o),
            samples: (prev?.samples ?? 0) + 1,
            mean: 0,
          }
          stats.occupancy.mean = occupancySum / stats.occupancy.samples
        }
        for (const batch of batcher.add(row.value)) yield count(batch)
        stats.late = batcher.late
      }
      if (!header) throw new Error(`${path}: empty file, no ESP32 sniffer header`)
      for (const batch of batcher.flush()) yield count(batch)
      stats.late = batcher.late
    } finally {
      lines.close()
    }
  }

  return { batches: batches(), stats }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}
