import { z } from 'zod'
import type { DecodedSighting } from '../decode-message.ts'
import { isRandomisedMac } from '../../shared/contracts/mac.ts'
import {
  DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  cleanCount,
  cleanFirmware,
  describeIssues,
  macOf,
  oversizedDetail,
  parseJson,
  payloadLimit,
  rejectWith,
  roundRssi,
  TOPIC_NAME_PATTERN,
  type AdapterLimits,
  type AdapterResult,
  type GatewayHealth,
  type SourceIdentity,
} from './common.ts'

/**
 * OpenMQTTGateway (ESP32, BLE) and Theengs Gateway (Python, same JSON shape). One message per
 * advertisement heard, no timestamp:
 *
 * - `<base>/<name>/BTtoMQTT/<MAC or iBeacon UUID>` `{"id":"45:e1:74:12:6e:00","rssi":-89,…}`
 *   (OMG `buildTopicFromId`; Theengs `publish_topic/<address without colons>`);
 * - `<base>/presence/<name>` (OMG Home Assistant presence) and `<base>/<name>/presence` (Theengs),
 *   the same JSON with `distance`; with `presenceUseBeaconUuid` the `id` is the iBeacon UUID and the
 *   address moves to `mac`;
 * - `<base>/<name>/SYStoMQTT` system state (`uptime`, `version`, `freemem`, Wi-Fi `rssi`, …);
 * - `<base>/<name>/LWT` `online` / `offline` (retained last will);
 * - `<base>/<name>/BTtoMQTT/undecoded` (external decoder) and, on the `…-undecoded` build,
 *   `<base>/<name>/BTtoMQTT` itself: the same JSON, undecoded;
 * - `<base>/<name>/BTtoMQTT` without a device level and without `id`: the BT module's settings
 *   echo (ignored).
 *
 * `t` is the arrival time (`nowMs`): the formats carry none.
 */
const OMG_FORMAT = 'omg'
const reject = rejectWith(OMG_FORMAT)

const Rssi = z.number().finite()
const DeviceSchema = z
  .object({
    id: z.string().max(64).optional(),
    mac: z.string().max(64).optional(),
    rssi: Rssi.optional(),
    mac_type: z.number().int().min(0).max(3).optional(),
    type: z.string().max(16).optional(),
  })
  .loose()

const SystemSchema = z
  .object({
    uptime: z.number().optional(),
    version: z.string().optional(),
    freemem: z.number().optional(),
    freeMem: z.number().optional(),
    rssi: z.number().optional(),
  })
  .loose()

type OmgTopic =
  | { kind: 'device'; source: SourceIdentity; suffix: string }
  | { kind: 'presence'; source: SourceIdentity }
  | { kind: 'system'; source: SourceIdentity }
  | { kind: 'lwt'; source: SourceIdentity }
  | { kind: 'settings'; source: SourceIdentity }

/** A device address (12 hex digits, any case) or iBeacon UUID (32); shorter hex leaves reach the MAC check. */
const LEAF_PATTERN = /^[0-9A-Fa-f]{6,32}$/

/** The topic's meaning, or null when it is none of the OMG / Theengs topics. */
export function parseOmgTopic(topic: string): OmgTopic | null {
  const parts = topic.split('/')
  const source = (baseParts: string[], name: string): SourceIdentity | null =>
    baseParts.length > 0 &&
    baseParts.every((p) => TOPIC_NAME_PATTERN.test(p)) &&
    TOPIC_NAME_PATTERN.test(name)
      ? { format: 'omg', baseTopic: baseParts.join('/'), name }
      : null
  const n = parts.length
  if (n >= 4 && parts[n - 2] === 'BTtoMQTT') {
    const s = source(parts.slice(0, n - 3), parts[n - 3] ?? '')
    const suffix = parts[n - 1] ?? ''
    // `undecoded`: the external-decoder topic (extDecoderTopic), same JSON, decoded elsewhere.
    if (s && suffix === 'undecoded') return { kind: 'device', source: s, suffix: '' }
    return s && LEAF_PATTERN.test(suffix) ? { kind: 'device', source: s, suffix } : null
  }
  if (n >= 3) {
    const last = parts[n - 1]
    const s = source(parts.slice(0, n - 2), parts[n - 2] ?? '')
    if (last === 'BTtoMQTT') return s && { kind: 'settings', source: s }
    if (last === 'SYStoMQTT') return s && { kind: 'system', source: s }
    if (last === 'LWT') return s && { kind: 'lwt', source: s }
    if (last === 'presence') return s && { kind: 'presence', source: s }
    if (parts[n - 2] === 'presence') {
      const p = source(parts.slice(0, n - 2), last ?? '')
      return p && { kind: 'presence', source: p }
    }
  }
  return null
}

/**
 * Decodes one OpenMQTTGateway / Theengs Gateway message. Pure: bad input is a reject value, never
 * an exception; no detail quotes the payload or the topic.
 */
export function decodeOmgMessage(
  topic: string,
  payload: Buffer,
  nowMs: number,
  limits: AdapterLimits = DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
): AdapterResult {
  const parsed = parseOmgTopic(topic)
  if (!parsed)
    return reject(
      'unknown_topic',
      'topic is not <base>/<gateway>/(BTtoMQTT/<device>|SYStoMQTT|LWT) nor a presence topic',
    )
  const { source } = parsed
  if (payload.length > payloadLimit(limits))
    return reject('oversized', oversizedDetail(payload.length, limits), source)

  if (parsed.kind === 'lwt') {
    const text = payload.toString('utf8').trim().toLowerCase()
    if (text !== 'online' && text !== 'offline')
      return reject('bad_omg_payload', 'LWT: expected online or offline', source)
    return { ok: true, kind: 'health', format: OMG_FORMAT, source, health: { state: text } }
  }

  const json = parseJson(payload)
  if (!json.ok) return reject('bad_omg_payload', 'payload is not valid JSON', source)
  if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value))
    return reject('bad_omg_payload', 'payload is not a JSON object', source)

  // The bare BTtoMQTT topic carries the BT module's settings echo, except on the
  // esp32dev-ble-mqtt-undecoded build, which publishes advertisements there (with an `id`).
  if (parsed.kind === 'settings' && !('id' in json.value))
    return { ok: true, kind: 'ignored', format: OMG_FORMAT, source, why: 'BT module settings' }

  if (parsed.kind === 'system') {
    const sys = SystemSchema.safeParse(json.value)
    if (!sys.success)
      return reject('bad_omg_payload', `SYStoMQTT: ${describeIssues(sys.error)}`, source)
    return { ok: true, kind: 'health', format: OMG_FORMAT, source, health: systemHealth(sys.data) }
  }

  const device = DeviceSchema.safeParse(json.value)
  if (!device.success) return reject('bad_omg_payload', describeIssues(device.error), source)
  const d = device.data
  if (d.rssi === undefined) {
    // A tracker's {"id":…,"state":"offline"} or Theengs' {"id":…,"presence":"absent"}: no signal heard.
    return {
      ok: true,
      kind: 'ignored',
      format: OMG_FORMAT,
      source,
      why: 'device message without rssi',
    }
  }
  const rssi = roundRssi(d.rssi)
  if (rssi === null) return reject('bad_omg_payload', 'rssi: not a dBm value in [-127, 0]', source)
  // The address: `id` (OMG, Theengs), else `mac` (presenceUseBeaconUuid moves it there), else the
  // topic's last level (OMG releases that published without `id`).
  const suffix = parsed.kind === 'device' ? parsed.suffix : undefined
  const mac = macOf(d.id) ?? macOf(d.mac) ?? macOf(suffix)
  if (mac === null) return reject('bad_mac', 'no device address in id, mac or the topic', source)
  const randomised = d.type === 'RMAC' || d.mac_type === 1 || isRandomisedMac(mac)
  const s: DecodedSighting = { tMs: nowMs, mac, rssi, radio: 'ble', randomised }
  return { ok: true, kind: 'sightings', format: OMG_FORMAT, groups: [{ source, sightings: [s] }] }
}

function systemHealth(s: z.infer<typeof SystemSchema>): GatewayHealth {
  const health: GatewayHealth = { state: 'online' }
  const uptime = cleanCount(s.uptime)
  if (uptime !== undefined) health.uptimeS = uptime
  const fw = cleanFirmware(s.version)
  if (fw !== undefined) health.fw = fw
  const rssi = typeof s.rssi === 'number' ? roundRssi(s.rssi) : null
  if (rssi !== null) health.wifiRssi = rssi
  const heap = cleanCount(s.freemem ?? s.freeMem)
  if (heap !== undefined) health.freeHeapBytes = heap
  return health
}
