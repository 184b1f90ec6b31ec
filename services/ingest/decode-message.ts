import { z } from 'zod'
import {
  GatewayStatusSchema,
  MAX_PAYLOAD_BYTES,
  MAX_SIGHTINGS_PER_BATCH,
  SightingsBatchSchema,
  sightingsBatchFast,
  toEpochMs,
  type GatewayStatus,
  type SightingsBatch,
} from '../shared/contracts/gateway-messages.ts'
import { isRandomisedMac, normaliseMac } from '../shared/contracts/mac.ts'
import { parseGatewayTopic } from '../shared/contracts/topics.ts'

export const REJECT_REASONS = [
  'unknown_topic',
  'oversized',
  'malformed_json',
  'schema',
  'too_many_sightings',
  'bad_mac',
  'gateway_mismatch',
  'stale_timestamp',
  'future_timestamp',
  'unknown_gateway',
  'key_expired',
  'conflicting_replay',
  'write_failed',
  // The gateway formats' own (adapters/, docs/gateway-formats.md).
  'bad_omg_payload',
  'bad_espresense_payload',
  'bad_sniffer_line',
  'bad_meraki_post',
  'bad_meraki_secret',
  'bad_paxcounter_payload',
  // More messages or sightings per second than the gateway's ceiling (intake/flood-control.ts).
  'flood',
] as const
export type RejectReason = (typeof REJECT_REASONS)[number]

/** A sighting after decode: the MAC is normalised and lives only in memory until pseudonymised. */
export type DecodedSighting = {
  tMs: number
  mac: string
  rssi: number
  radio: 'wifi' | 'ble'
  randomised: boolean
  /** 802.11 sequence number and IE id list of a probe request: de-randomisation hints. */
  seqNum?: number
  ie?: string
}

export type DecodedBatch = {
  gatewayId: string
  bootId: string
  seq: number
  sentAtMs: number
  sightings: DecodedSighting[]
  /** Gateway clock minus ours, estimated from `sentAt` on arrival (ms; includes transit delay). */
  clockSkewMs: number
}

export type DecodeResult =
  | { ok: true; kind: 'sightings'; batch: DecodedBatch }
  | { ok: true; kind: 'status'; gatewayId: string; status: GatewayStatus }
  | { ok: false; reason: RejectReason; detail: string; gatewayId: string | null }

export type DecodeLimits = { maxPastMs: number; maxFutureMs: number }

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxPastMs: 24 * 3_600_000,
  maxFutureMs: 5 * 60_000,
}

function reject(reason: RejectReason, detail: string, gatewayId: string | null): DecodeResult {
  return { ok: false, reason, detail, gatewayId }
}

/** zod issue → a short path-and-message line that never echoes the offending value. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}

/**
 * Decodes one MQTT message of the native v1 protocol. Pure: bad input is a `{ ok: false, reason }`
 * value, never an exception. `nowMs` bounds sighting times (24 h back, 5 min ahead by default).
 */
export function decodeMessage(
  topic: string,
  payload: Buffer,
  nowMs: number,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodeResult {
  const parsedTopic = parseGatewayTopic(topic)
  if (!parsedTopic)
    return reject('unknown_topic', 'topic is not miglio/v1/gw/{gw}/(sightings|status)', null)
  const { gatewayId, kind } = parsedTopic
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return reject(
      'oversized',
      `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`,
      gatewayId,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(payload.toString('utf8'))
  } catch {
    return reject('malformed_json', 'payload is not valid JSON', gatewayId)
  }

  if (kind === 'status') {
    const status = GatewayStatusSchema.safeParse(json)
    if (!status.success) return reject('schema', describeIssues(status.error), gatewayId)
    if (status.data.gatewayId !== gatewayId) {
      return reject(
        'gateway_mismatch',
        `payload gatewayId differs from topic ${gatewayId}`,
        gatewayId,
      )
    }
    return { ok: true, kind: 'status', gatewayId, status: status.data }
  }

  return decodeSightingsValue(gatewayId, json, nowMs, limits)
}

/**
 * The sightings half of `decodeMessage`, from the parsed payload on (its topic named `gatewayId`):
 * the same schema, bounds and normalisation. For a producer in this process whose batches are
 * objects already (the demo history), so they are validated as a gateway's would be without a
 * JSON round trip.
 */
export function decodeSightingsValue(
  gatewayId: string,
  json: unknown,
  nowMs: number,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodeResult {
  if (
    typeof json === 'object' &&
    json !== null &&
    Array.isArray((json as { sightings?: unknown }).sightings) &&
    (json as { sightings: unknown[] }).sightings.length > MAX_SIGHTINGS_PER_BATCH
  ) {
    const n = (json as { sightings: unknown[] }).sightings.length
    return reject(
      'too_many_sightings',
      `${n} sightings exceed ${MAX_SIGHTINGS_PER_BATCH}`,
      gatewayId,
    )
  }
  // The usual shape is checked by hand; anything else goes through zod, which says what is wrong.
  const fast = sightingsBatchFast(json)
  let batch: SightingsBatch
  if (fast === undefined) {
    const parsed = SightingsBatchSchema.safeParse(json)
    if (!parsed.success) return reject('schema', describeIssues(parsed.error), gatewayId)
    batch = parsed.data
  } else batch = fast.batch
  if (batch.gatewayId !== gatewayId) {
    return reject(
      'gateway_mismatch',
      `payload gatewayId differs from topic ${gatewayId}`,
      gatewayId,
    )
  }
  const sentAtMs = fast ? fast.sentAtMs : toEpochMs(batch.sentAt)
  // sentAt drives the gateway's event-time watermark: an unbounded one would close every session.
  if (sentAtMs < nowMs - limits.maxPastMs) {
    return reject(
      'stale_timestamp',
      `sentAt: older than ${limits.maxPastMs / 3_600_000} h`,
      gatewayId,
    )
  }
  if (sentAtMs > nowMs + limits.maxFutureMs) {
    return reject(
      'future_timestamp',
      `sentAt: more than ${limits.maxFutureMs / 60_000} min ahead`,
      gatewayId,
    )
  }
  const oldest = nowMs - limits.maxPastMs
  const newest = nowMs + limits.maxFutureMs
  const sightings: DecodedSighting[] = new Array(batch.sightings.length)
  let i = -1
  for (const s of batch.sightings) {
    i++
    const mac = normaliseMac(s.mac)
    if (mac === null) return reject('bad_mac', `sightings.${i}.mac: not a MAC address`, gatewayId)
    const tMs = fast ? (fast.times[i] ?? NaN) : toEpochMs(s.t)
    if (tMs < oldest) {
      return reject(
        'stale_timestamp',
        `sightings.${i}.t: older than ${limits.maxPastMs / 3_600_000} h`,
        gatewayId,
      )
    }
    if (tMs > newest) {
      return reject(
        'future_timestamp',
        `sightings.${i}.t: more than ${limits.maxFutureMs / 60_000} min ahead`,
        gatewayId,
      )
    }
    const sighting: DecodedSighting = {
      tMs,
      mac,
      rssi: s.rssi,
      radio: s.radio,
      randomised: isRandomisedMac(mac),
    }
    if (s.seqNum !== undefined) sighting.seqNum = s.seqNum
    // The IE id list as a canonical text: ids separated by commas, no spaces.
    if (s.ie !== undefined && s.ie.trim() !== '') sighting.ie = s.ie.replace(/\s+/g, '')
    sightings[i] = sighting
  }
  return {
    ok: true,
    kind: 'sightings',
    batch: {
      gatewayId,
      bootId: batch.bootId,
      seq: batch.seq,
      sentAtMs,
      sightings,
      clockSkewMs: Math.round(sentAtMs - nowMs),
    },
  }
}
