import { z } from 'zod'
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
  sighting,
  TOPIC_NAME_PATTERN,
  type AdapterLimits,
  type AdapterResult,
  type GatewayHealth,
  type SourceIdentity,
} from './common.ts'

/**
 * ESPresense (ESP32 BLE room presence). The room is the gateway; no timestamp, so `t` is the
 * arrival time. Topics (firmware src/main.cpp, CHANNEL `espresense`):
 *
 * - `espresense/devices/<device id>/<room>` one device, `{"mac":"58b1294494d3","id":"watch:darrell",
 *   "rssi@1m":-64,"rssi":-86,"distance":5.89,…}`; `rssi` is a median with two decimals;
 * - `espresense/devices/<device id>/<room>/<report>` query sub-reports (ignored);
 * - `espresense/rooms/<room>/status` `online` / `offline` (retained last will);
 * - `espresense/rooms/<room>/telemetry` `{"ip":…,"uptime":…,"rssi":…,"ver":…,"freeHeap":…}`;
 * - `espresense/rooms/<room>/<setting>` and `espresense/settings/…` settings (ignored).
 *
 * The device id in the topic may itself be an address (`244b03d72780`), so no detail quotes it.
 */
const FORMAT = 'espresense'
const reject = rejectWith(FORMAT)

const DeviceSchema = z
  .object({
    mac: z.string().max(64).optional(),
    id: z.string().max(256).optional(),
    rssi: z.number().finite().optional(),
  })
  .loose()

const TelemetrySchema = z
  .object({
    uptime: z.number().optional(),
    rssi: z.number().optional(),
    ver: z.string().optional(),
    firm: z.string().optional(),
    freeHeap: z.number().optional(),
  })
  .loose()

type EspresenseTopic =
  | { kind: 'device'; source: SourceIdentity }
  | { kind: 'report'; source: SourceIdentity }
  | { kind: 'status'; source: SourceIdentity }
  | { kind: 'telemetry'; source: SourceIdentity }
  | { kind: 'setting'; source: SourceIdentity | null }

export function parseEspresenseTopic(topic: string): EspresenseTopic | null {
  const parts = topic.split('/')
  if (parts[0] !== 'espresense') return null
  const room = (r: string | undefined): SourceIdentity | null =>
    r !== undefined && TOPIC_NAME_PATTERN.test(r) ? { format: 'espresense', room: r } : null
  if (parts[1] === 'devices' && (parts[2] ?? '') !== '') {
    const source = room(parts[3])
    if (!source) return null
    if (parts.length === 4) return { kind: 'device', source }
    if (parts.length === 5) return { kind: 'report', source }
    return null
  }
  if (parts[1] === 'rooms' && parts.length >= 4) {
    const source = room(parts[2])
    if (!source) return null
    if (parts.length === 4 && parts[3] === 'status') return { kind: 'status', source }
    if (parts.length === 4 && parts[3] === 'telemetry') return { kind: 'telemetry', source }
    return { kind: 'setting', source }
  }
  if (parts[1] === 'settings') return { kind: 'setting', source: null }
  return null
}

/** Decodes one ESPresense message. Pure; never throws; no detail quotes the payload or topic. */
export function decodeEspresenseMessage(
  topic: string,
  payload: Buffer,
  nowMs: number,
  limits: AdapterLimits = DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
): AdapterResult {
  const parsed = parseEspresenseTopic(topic)
  if (!parsed)
    return reject(
      'unknown_topic',
      'topic is not espresense/devices/<id>/<room> nor espresense/rooms/<room>/(status|telemetry)',
    )
  const { source } = parsed
  if (payload.length > payloadLimit(limits))
    return reject('oversized', oversizedDetail(payload.length, limits), source)
  if (parsed.kind === 'setting' || parsed.kind === 'report')
    return { ok: true, kind: 'ignored', format: FORMAT, source, why: `${parsed.kind} message` }
  const room = parsed.source

  if (parsed.kind === 'status') {
    const text = payload.toString('utf8').trim().toLowerCase()
    if (text !== 'online' && text !== 'offline')
      return reject('bad_espresense_payload', 'status: expected online or offline', room)
    return { ok: true, kind: 'health', format: FORMAT, source: room, health: { state: text } }
  }

  const json = parseJson(payload)
  if (!json.ok) return reject('bad_espresense_payload', 'payload is not valid JSON', room)
  if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value))
    return reject('bad_espresense_payload', 'payload is not a JSON object', room)

  if (parsed.kind === 'telemetry') {
    const t = TelemetrySchema.safeParse(json.value)
    if (!t.success)
      return reject('bad_espresense_payload', `telemetry: ${describeIssues(t.error)}`, room)
    return {
      ok: true,
      kind: 'health',
      format: FORMAT,
      source: room,
      health: telemetryHealth(t.data),
    }
  }

  const device = DeviceSchema.safeParse(json.value)
  if (!device.success) return reject('bad_espresense_payload', describeIssues(device.error), room)
  const d = device.data
  if (d.rssi === undefined)
    return {
      ok: true,
      kind: 'ignored',
      format: FORMAT,
      source: room,
      why: 'device report without rssi',
    }
  const rssi = roundRssi(d.rssi)
  if (rssi === null)
    return reject('bad_espresense_payload', 'rssi: not a dBm value in [-127, 0]', room)
  // `mac` since firmware 1.x; the id is an address only for devices identified by their public MAC.
  const mac = macOf(d.mac) ?? macOf(d.id)
  if (mac === null) return reject('bad_mac', 'mac: not a device address', room)
  return {
    ok: true,
    kind: 'sightings',
    format: FORMAT,
    groups: [{ source: room, sightings: [sighting(nowMs, mac, rssi, 'ble')] }],
  }
}

function telemetryHealth(t: z.infer<typeof TelemetrySchema>): GatewayHealth {
  const health: GatewayHealth = { state: 'online' }
  const uptime = cleanCount(t.uptime)
  if (uptime !== undefined) health.uptimeS = uptime
  const fw = cleanFirmware(t.ver) ?? cleanFirmware(t.firm)
  if (fw !== undefined) health.fw = fw
  const rssi = typeof t.rssi === 'number' ? roundRssi(t.rssi) : null
  if (rssi !== null) health.wifiRssi = rssi
  const heap = cleanCount(t.freeHeap)
  if (heap !== undefined) health.freeHeapBytes = heap
  return health
}
