import {
  MAX_PAYLOAD_BYTES,
  MAX_SIGHTINGS_PER_BATCH,
  type GatewayStatus,
  type Sighting,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'

export const SIMULATED_FIRMWARE = 'sim-0.1.0'

export interface SimSighting {
  tMs: number
  mac: string
  rssi: number
  radio: 'wifi' | 'ble'
  seqNum?: number
  ie?: string
}

/** How a drained batch writes its times: ISO-8601 text (what gateways send) or epoch milliseconds. */
export type TimeForm = 'iso' | 'epoch'

export interface SimGatewayOptions {
  gatewayId: string
  /** 8 hex digits; a new one per simulated boot. */
  bootId: string
  /** Boot time: the first batch interval starts here. */
  startMs: number
  batchIntervalS: number
  /** The last batch ends here (its interval may be shorter); Infinity for a live run. */
  endMs: number
}

export interface SimGateway {
  readonly gatewayId: string
  readonly bootId: string
  /** End of the next batch interval, or Infinity once the last batch is out. */
  readonly nextBatchAtMs: number
  /** Buffers a sighting; its time must not precede the current batch interval. */
  add(sighting: SimSighting): void
  /**
   * Every batch whose interval ends at or before `untilMs`, empty ones included (they advance the
   * pipeline's event-time watermark). A full interval becomes several batches (consecutive seq)
   * rather than exceed the protocol's sighting-count or payload-size limits. `form: 'epoch'` writes
   * `sentAt` and every sighting's `t` as epoch milliseconds (which the protocol also accepts) instead
   * of ISO text: the same batches for a caller that hands them on as objects, without the cost of
   * formatting dates it would parse back.
   */
  drainUntil(untilMs: number, form?: TimeForm): SightingsBatch[]
  statusMessage(state: GatewayStatus['state'], atMs: number): GatewayStatus
  /**
   * Restarts the gateway at `atMs` (a batch boundary or later than the last drain): the sightings it
   * buffered and had not sent are lost, `bootId` changes, `seq` restarts at 0 and the batch interval
   * restarts at `atMs`. Returns how many sightings were lost.
   */
  reboot(atMs: number, bootId: string): number
}

export function createSimGateway(options: SimGatewayOptions): SimGateway {
  const { gatewayId, endMs } = options
  const intervalMs = options.batchIntervalS * 1000
  let { bootId, startMs } = options
  let seq = 0
  let intervalStartMs = startMs
  let nextBatchAtMs = Math.min(startMs + intervalMs, endMs)
  let buffer: SimSighting[] = []

  function cut(sentAtMs: number, form: TimeForm): SightingsBatch[] {
    const due: SimSighting[] = []
    const later: SimSighting[] = []
    for (const s of buffer) (s.tMs < sentAtMs ? due : later).push(s)
    buffer = later
    due.sort((a, b) => a.tMs - b.tMs)
    const sentAt = form === 'iso' ? new Date(sentAtMs).toISOString() : sentAtMs
    const envelope = envelopeBytes(gatewayId, bootId, sentAt)
    const sightings = due.map(form === 'iso' ? toSighting : toEpochSighting)
    const chunks =
      form === 'epoch' && fitsOneBatch(due, envelope)
        ? [sightings]
        : chunkSightings(sightings, envelope)
    return chunks.map((part) => ({ v: 1, gatewayId, bootId, seq: seq++, sentAt, sightings: part }))
  }

  return {
    gatewayId,
    get bootId() {
      return bootId
    },
    get nextBatchAtMs() {
      return nextBatchAtMs
    },
    add(sighting) {
      if (sighting.tMs < intervalStartMs || sighting.tMs >= endMs)
        throw new Error(`${gatewayId}: sighting at ${sighting.tMs} is outside the open interval`)
      buffer.push(sighting)
    },
    drainUntil(untilMs, form = 'iso') {
      if (!Number.isFinite(untilMs) && !Number.isFinite(endMs))
        throw new Error(`${gatewayId}: an endless gateway cannot drain until Infinity`)
      const batches: SightingsBatch[] = []
      while (Number.isFinite(nextBatchAtMs) && nextBatchAtMs <= untilMs) {
        batches.push(...cut(nextBatchAtMs, form))
        intervalStartMs = nextBatchAtMs
        nextBatchAtMs =
          nextBatchAtMs >= endMs ? Infinity : Math.min(nextBatchAtMs + intervalMs, endMs)
      }
      return batches
    },
    statusMessage(state, atMs) {
      const uptimeS = Math.max(0, Math.floor((atMs - startMs) / 1000))
      return { v: 1, gatewayId, state, fw: SIMULATED_FIRMWARE, uptimeS, queue: 0 }
    },
    reboot(atMs, newBootId) {
      if (atMs < intervalStartMs)
        throw new Error(`${gatewayId}: cannot reboot at ${atMs}, before the open interval`)
      const lost = buffer.length
      buffer = []
      bootId = newBootId
      startMs = atMs
      seq = 0
      intervalStartMs = atMs
      nextBatchAtMs = atMs >= endMs ? Infinity : Math.min(atMs + intervalMs, endMs)
      return lost
    },
  }
}

function toSighting(s: SimSighting): Sighting {
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

function toEpochSighting(s: SimSighting): Sighting {
  const out: Sighting = { t: s.tMs, mac: s.mac, rssi: s.rssi, radio: s.radio }
  if (s.seqNum !== undefined) out.seqNum = s.seqNum
  if (s.ie !== undefined) out.ie = s.ie
  return out
}

/**
 * Bytes an epoch-form sighting can take at most as JSON, IE list aside: `{"t":` + 16 digits,
 * `"mac":` + 17 characters, `"rssi":-127`, `"radio":"wifi"`, `"seqNum":4095`, `"ie":""`, quotes,
 * commas and braces — 97 bytes and the separator, rounded up.
 */
const EPOCH_SIGHTING_BYTES = 112

/**
 * Whether `due` (epoch form) fits one batch within the protocol's limits without measuring each
 * sighting's JSON: a bound that is exact enough for the simulator's few sightings per interval.
 */
function fitsOneBatch(due: readonly SimSighting[], envelope: number): boolean {
  if (due.length > MAX_SIGHTINGS_PER_BATCH) return false
  let bytes = envelope
  for (const s of due) bytes += EPOCH_SIGHTING_BYTES + (s.ie?.length ?? 0)
  return bytes <= MAX_PAYLOAD_BYTES
}

function envelopeBytes(gatewayId: string, bootId: string, sentAt: string | number): number {
  const widest = { v: 1, gatewayId, bootId, seq: Number.MAX_SAFE_INTEGER, sentAt, sightings: [] }
  return JSON.stringify(widest).length
}

/**
 * Splits sightings so that every batch holds at most MAX_SIGHTINGS_PER_BATCH and serialises to at
 * most `maxBytes`; always returns at least one (possibly empty) chunk. String length equals UTF-8
 * bytes here because every field is ASCII.
 */
export function chunkSightings(
  sightings: readonly Sighting[],
  envelope: number,
  maxBytes = MAX_PAYLOAD_BYTES,
  maxCount = MAX_SIGHTINGS_PER_BATCH,
): Sighting[][] {
  const chunks: Sighting[][] = []
  let current: Sighting[] = []
  let bytes = envelope
  for (const s of sightings) {
    const size = JSON.stringify(s).length + 1
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(current)
      current = []
      bytes = envelope
    }
    current.push(s)
    bytes += size
  }
  chunks.push(current)
  return chunks
}
