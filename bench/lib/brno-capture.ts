/**
 * The Brno probe-request captures (../shared/datasets/brno-probe-requests): read with the replay
 * parser of `miglio replay` (batches, as the pipeline gets them), the ground truth per minute from
 * the same line parser, and the distinct addresses heard per minute for the naive estimator (each
 * address replaced by a small integer at once: no MAC is kept).
 */
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import { createInterface } from 'node:readline'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { normaliseMac } from '../../services/shared/contracts/mac.ts'
import type { SnifferHeader } from '../../services/shared/contracts/sniffer-csv.ts'
import {
  parseEsp32CsvHeader,
  parseEsp32CsvLine,
  readRecording,
  type RecordingStats,
} from '../../simulator/replay.ts'
import { createMinuteTruth, MINUTE_MS } from './occupancy.ts'

export const CAPTURE_TZ = 'Europe/Prague'
/** `miglio replay`'s default batch interval for a CSV capture. */
export const BATCH_INTERVAL_S = 5

export type Capture = {
  day: string
  file: string
  batches: SightingsBatch[]
  stats: RecordingStats
  /** Mean occupancy per minute (capture time, epoch ms). */
  truth: Map<number, number>
  /** Distinct addresses per minute (capture time) at or above `rssiFloor`, as integers. */
  addressesPerMinute: Map<number, Set<number>>
}

export async function readCapture(
  file: string,
  gatewayId: string,
  rssiFloor: number,
  /** Normalised MACs a district's device list denies: not counted by the naive estimator either. */
  deny: ReadonlySet<string> = new Set(),
): Promise<Capture> {
  const recording = readRecording(
    file,
    { format: 'csv', gatewayId, timeZone: CAPTURE_TZ, batchIntervalS: BATCH_INTERVAL_S },
    () => undefined,
  )
  const batches: SightingsBatch[] = []
  const ids = new Map<string, number>()
  const addressesPerMinute = new Map<number, Set<number>>()
  for await (const b of recording.batches) {
    batches.push(b)
    for (const s of b.sightings) {
      if (s.rssi < rssiFloor) continue
      const mac = normaliseMac(s.mac) ?? s.mac
      if (deny.has(mac)) continue
      let id = ids.get(mac)
      if (id === undefined) ids.set(mac, (id = ids.size))
      const t = typeof s.t === 'number' ? s.t : Date.parse(s.t)
      const m = Math.floor(t / MINUTE_MS) * MINUTE_MS
      let set = addressesPerMinute.get(m)
      if (!set) addressesPerMinute.set(m, (set = new Set()))
      set.add(id)
    }
  }
  ids.clear()
  // The ground truth, from the same parser (readRecording only keeps occupancy's min/mean/max).
  const truth = createMinuteTruth()
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })
  let header: SnifferHeader | null = null
  for await (const raw of lines) {
    if (raw.trim() === '') continue
    if (!header) {
      const h = parseEsp32CsvHeader(raw)
      if (!h.ok) throw new Error(`${basename(file)}: ${h.reason}`)
      header = h.value
      continue
    }
    const row = parseEsp32CsvLine(raw, header, CAPTURE_TZ)
    if (row.ok && row.value.occupancy !== undefined) truth.add(row.value.tMs, row.value.occupancy)
  }
  const day = /(\d{4}-\d{2}-\d{2})/.exec(basename(file))?.[1] ?? basename(file)
  return { day, file, batches, stats: recording.stats, truth: truth.minutes(), addressesPerMinute }
}
