import type { z } from 'zod'
import { containsMac, isRandomisedMac, normaliseMac } from '../../shared/contracts/mac.ts'
import { GATEWAY_TEXT_PATTERN, MAX_PAYLOAD_BYTES } from '../../shared/contracts/gateway-messages.ts'
import {
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type DecodedSighting,
} from '../decode-message.ts'

/**
 * The real gateway formats Miglio adapts, besides its native v1 protocol (decode-message.ts).
 * docs/gateway-formats.md describes each: topics, payload, identity, what is lost.
 */
export const ADAPTER_FORMATS = ['omg', 'espresense', 'sniffer', 'meraki', 'paxcounter'] as const
export type AdapterFormat = (typeof ADAPTER_FORMATS)[number]

/**
 * Who sent a message, as the format names it: a district file maps it to a gateway id
 * (resolve-source.ts). Infrastructure addresses (a Meraki AP's MAC) are configuration, not personal
 * data, but they are never written into a reject's `detail`.
 */
export type SourceIdentity =
  /** OpenMQTTGateway or Theengs Gateway: `<baseTopic>/<name>/BTtoMQTT/…`. */
  | { format: 'omg'; baseTopic: string; name: string }
  /** ESPresense: the room slug of `espresense/devices/<id>/<room>` and `espresense/rooms/<room>/…`. */
  | { format: 'espresense'; room: string }
  /** ESP32 probe sniffer CSV lines bridged to MQTT: the whole topic. */
  | { format: 'sniffer'; topic: string }
  /** Cisco Meraki Scanning API v3: the network and the AP that heard the client (12 hex digits). */
  | { format: 'meraki'; networkId: string; apMac: string }
  /** ESP32-Paxcounter: its MQTT out-topic (`MQTT_OUTTOPIC`, `paxout` by default). */
  | { format: 'paxcounter'; deviceId: string }

export type AdapterLimits = DecodeLimits & {
  /** Largest payload accepted (bytes); the native protocol's 256 KiB by default. */
  maxPayloadBytes?: number
  /** Most sightings one message may carry (a Meraki post, a multi-line sniffer message). */
  maxSightings?: number
}

export const DEFAULT_MAX_SIGHTINGS = 5000

/** The native decoder's time window (24 h back, 5 min ahead) and its payload limit. */
export const DEFAULT_DECODE_LIMITS_FOR_ADAPTERS: AdapterLimits = DEFAULT_DECODE_LIMITS

/** Gateway health, where the format reports it (status, telemetry, last will). */
export type GatewayHealth = {
  state: 'online' | 'offline'
  uptimeS?: number
  /** Firmware version, only when it has the shape of GATEWAY_TEXT_PATTERN and is not MAC-like. */
  fw?: string
  /** The gateway's own Wi-Fi signal to its access point (dBm). */
  wifiRssi?: number
  freeHeapBytes?: number
}

/** Device counts of one interval (Paxcounter): what the device counted, never who. */
export type DeviceCounts = {
  tMs: number
  wifi: number | null
  ble: number | null
}

export const ADAPTER_REJECT_REASONS = [
  'unknown_topic',
  'oversized',
  'too_many_sightings',
  'bad_mac',
  'stale_timestamp',
  'future_timestamp',
  'bad_omg_payload',
  'bad_espresense_payload',
  'bad_sniffer_line',
  'bad_meraki_post',
  'bad_meraki_secret',
  'bad_paxcounter_payload',
] as const
export type AdapterRejectReason = (typeof ADAPTER_REJECT_REASONS)[number]

export type AdapterReject = {
  ok: false
  format: AdapterFormat
  reason: AdapterRejectReason
  /** Says what is wrong and where, never the offending value (no MAC, no topic level). */
  detail: string
  source: SourceIdentity | null
}

export type AdapterResult =
  | {
      ok: true
      kind: 'sightings'
      format: AdapterFormat
      /** One group per source (a Meraki post holds several APs; MQTT formats hold one). */
      groups: Array<{ source: SourceIdentity; sightings: DecodedSighting[] }>
      /** Records left out because their time is outside the accepted window (Meraki only). */
      dropped?: { stale: number; future: number }
    }
  | { ok: true; kind: 'counts'; format: 'paxcounter'; source: SourceIdentity; counts: DeviceCounts }
  | {
      ok: true
      kind: 'health'
      format: AdapterFormat
      source: SourceIdentity
      health: GatewayHealth
    }
  /**
   * A message the format sends that carries nothing Miglio uses (settings echoes, sensor readings,
   * a device report without an RSSI): acknowledged, counted, never a dead letter.
   */
  | { ok: true; kind: 'ignored'; format: AdapterFormat; source: SourceIdentity | null; why: string }
  | AdapterReject

export function rejectWith(format: AdapterFormat) {
  return (
    reason: AdapterRejectReason,
    detail: string,
    source: SourceIdentity | null = null,
  ): AdapterReject => ({ ok: false, format, reason, detail: safeDetail(detail), source })
}

/**
 * Details are written by the adapters and never quote input, but a last guard costs nothing: any
 * MAC-looking token is replaced so that a bug in a message cannot leak an address.
 */
function safeDetail(detail: string): string {
  return containsMac(detail) ? 'detail withheld: it would have quoted an address' : detail
}

/** zod issues as `path: message` lines, never the offending value. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}

export function payloadLimit(limits: AdapterLimits): number {
  return limits.maxPayloadBytes ?? MAX_PAYLOAD_BYTES
}

export function sightingLimit(limits: AdapterLimits): number {
  return limits.maxSightings ?? DEFAULT_MAX_SIGHTINGS
}

export function oversizedDetail(bytes: number, limits: AdapterLimits): string {
  return `payload of ${bytes} bytes exceeds ${payloadLimit(limits)}`
}

/** Parses JSON, or null (never throws). */
export function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) }
  } catch {
    return { ok: false }
  }
}

/** 'stale' / 'future' when `tMs` is outside the window around `nowMs`, else null. */
export function timeWindowProblem(
  tMs: number,
  nowMs: number,
  limits: DecodeLimits,
): 'stale' | 'future' | null {
  if (!Number.isFinite(tMs)) return 'stale'
  if (tMs < nowMs - limits.maxPastMs) return 'stale'
  if (tMs > nowMs + limits.maxFutureMs) return 'future'
  return null
}

export function staleDetail(where: string, limits: DecodeLimits): string {
  return `${where}: older than ${limits.maxPastMs / 3_600_000} h`
}

export function futureDetail(where: string, limits: DecodeLimits): string {
  return `${where}: more than ${limits.maxFutureMs / 60_000} min ahead`
}

/** An RSSI in dBm rounded to an integer, or null when it is not within [-127, 0]. */
export function roundRssi(value: number): number | null {
  if (!Number.isFinite(value)) return null
  const r = Math.round(value)
  return r >= -127 && r <= 0 ? r : null
}

/** A normalised MAC or null; accepts `aa:bb:…`, `AA-BB-…`, 12 bare digits, any case. */
export function macOf(value: unknown): string | null {
  return typeof value === 'string' ? normaliseMac(value) : null
}

export function sighting(
  tMs: number,
  mac: string,
  rssi: number,
  radio: 'wifi' | 'ble',
  randomised = isRandomisedMac(mac),
): DecodedSighting {
  return { tMs, mac, rssi, radio, randomised }
}

/** A firmware text worth keeping: the strict gateway-text shape and nothing MAC-like. */
export function cleanFirmware(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const v = value.trim()
  return GATEWAY_TEXT_PATTERN.test(v) && !containsMac(v) ? v : undefined
}

export function cleanCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined
}

/** A topic level that may be an identity: no wildcard, no control character, 1–64 characters. */
export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/
