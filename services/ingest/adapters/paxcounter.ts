import { z } from 'zod'
import {
  DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  cleanCount,
  describeIssues,
  oversizedDetail,
  parseJson,
  payloadLimit,
  rejectWith,
  TOPIC_NAME_PATTERN,
  type AdapterLimits,
  type AdapterResult,
  type GatewayHealth,
  type SourceIdentity,
} from './common.ts'

/**
 * ESP32-Paxcounter over MQTT (src/mqttclient.cpp): the device counts the distinct Wi-Fi and BLE
 * devices of each send cycle and publishes only the counts — never an address — on
 * `<MQTT_OUTTOPIC>/<port>`, the payload being its LoRaWAN payload in base64:
 *
 * - port 1, counts: `wifi` then `ble` (uint16 each; `ble` absent when BLE scanning is off), in the
 *   *packed* encoder little-endian (the firmware default, PAYLOAD_ENCODER 2) or in the *plain*
 *   encoder big-endian; with GPS the counts come first and the fix follows (15 or 17 bytes);
 * - port 2, device status: voltage, uptime, CPU temperature, free memory, reset reason, restarts;
 * - the bare out-topic: the client name, published on every connect (health: online).
 *
 * The project's TTN decoders turn the same bytes into `{"wifi":n,"ble":n}`; a JSON object in that
 * shape (what a TTN → MQTT bridge forwards) is accepted on port 1 as well. The out-topic is the
 * device identity (`paxout` unless configured; the firmware cuts topics to 15 characters).
 * Counts carry no time: `t` is the arrival time.
 */
const FORMAT = 'paxcounter'
const reject = rejectWith(FORMAT)

export type PaxcounterEncoding = 'packed' | 'plain'
export type PaxcounterOptions = { encoding: PaxcounterEncoding }

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const JsonCountsSchema = z
  .object({
    wifi: z.number().int().min(0).max(65535),
    ble: z.number().int().min(0).max(65535).optional(),
  })
  .loose()

type PaxTopic = { source: SourceIdentity; port: number | null }

export function parsePaxcounterTopic(topic: string): PaxTopic | null {
  const parts = topic.split('/')
  if (parts.length < 1 || parts.length > 2) return null
  const deviceId = parts[0] ?? ''
  if (!TOPIC_NAME_PATTERN.test(deviceId)) return null
  const source: SourceIdentity = { format: 'paxcounter', deviceId }
  if (parts.length === 1) return { source, port: null }
  const port = /^\d{1,3}$/.test(parts[1] ?? '') ? Number(parts[1]) : NaN
  return Number.isInteger(port) && port >= 1 && port <= 255 ? { source, port } : null
}

/** Decodes one Paxcounter message. Pure; never throws. */
export function decodePaxcounterMessage(
  topic: string,
  payload: Buffer,
  nowMs: number,
  limits: AdapterLimits = DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  options: PaxcounterOptions = { encoding: 'packed' },
): AdapterResult {
  const parsed = parsePaxcounterTopic(topic)
  if (!parsed) return reject('unknown_topic', 'topic is not <outtopic>/<port>')
  const { source, port } = parsed
  if (payload.length > payloadLimit(limits))
    return reject('oversized', oversizedDetail(payload.length, limits), source)
  if (port === null)
    return { ok: true, kind: 'health', format: FORMAT, source, health: { state: 'online' } }
  if (port !== 1 && port !== 2)
    return { ok: true, kind: 'ignored', format: FORMAT, source, why: `port ${port}` }

  const text = payload.toString('utf8').trim()
  if (port === 1 && text.startsWith('{')) {
    const json = parseJson(payload)
    if (!json.ok) return reject('bad_paxcounter_payload', 'payload is not valid JSON', source)
    const counts = JsonCountsSchema.safeParse(json.value)
    if (!counts.success)
      return reject('bad_paxcounter_payload', describeIssues(counts.error), source)
    return countsResult(source, nowMs, counts.data.wifi, counts.data.ble ?? null)
  }
  if (text === '' || !BASE64.test(text))
    return reject('bad_paxcounter_payload', 'payload is not base64', source)
  const bytes = Buffer.from(text, 'base64')
  const little = options.encoding === 'packed'
  const u16 = (at: number) => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at))

  if (port === 1) {
    if (bytes.length === 2 || bytes.length === 15) return countsResult(source, nowMs, u16(0), null)
    if (bytes.length === 4 || bytes.length === 17)
      return countsResult(source, nowMs, u16(0), u16(2))
    return reject(
      'bad_paxcounter_payload',
      `port 1: ${bytes.length} bytes is not a count payload (2, 4, 15 or 17)`,
      source,
    )
  }
  // Port 2: uint16 voltage, uint64 uptime, uint8 CPU °C, uint32 free memory, uint8 reset, uint32 restarts.
  if (bytes.length !== 20)
    return reject('bad_paxcounter_payload', `port 2: ${bytes.length} bytes, expected 20`, source)
  const uptime = little ? bytes.readBigUInt64LE(2) : bytes.readBigUInt64BE(2)
  const memory = little ? bytes.readUInt32LE(11) : bytes.readUInt32BE(11)
  const health: GatewayHealth = { state: 'online', freeHeapBytes: memory }
  const uptimeS = cleanCount(Number(uptime))
  if (uptimeS !== undefined && uptime <= BigInt(Number.MAX_SAFE_INTEGER)) health.uptimeS = uptimeS
  return { ok: true, kind: 'health', format: FORMAT, source, health }
}

function countsResult(
  source: SourceIdentity,
  tMs: number,
  wifi: number,
  ble: number | null,
): AdapterResult {
  return { ok: true, kind: 'counts', format: FORMAT, source, counts: { tMs, wifi, ble } }
}
