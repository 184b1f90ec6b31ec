import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { plainSightings, type FormatMessage, type SourceOf } from './common.ts'

/**
 * A native batch as an ESPresense node publishes it: one `espresense/devices/<id>/<room>` message
 * per BLE device report, `{"mac":"…","id":"…","rssi":-70.00,…}`, sent when reported. The id is the
 * address, as ESPresense names devices known by their public MAC. Wi-Fi sightings are left out
 * (ESPresense is BLE only); the real firmware also skips random addresses it cannot fingerprint,
 * which this encoder does not model.
 */
export function encodeEspresenseBatch(
  batch: SightingsBatch,
  source: SourceOf<'espresense'>,
): FormatMessage[] {
  return plainSightings(batch)
    .filter((s) => s.radio === 'ble')
    .map((s) => ({
      transport: 'mqtt' as const,
      topic: `espresense/devices/${s.mac}/${source.room}`,
      payload: JSON.stringify({ mac: s.mac, id: s.mac, 'rssi@1m': -65, rssi: s.rssi }),
      retain: false,
      simTimeMs: s.tMs,
      sightings: 1,
    }))
}

/** The retained status (and last will) on `espresense/rooms/<room>/status`. */
export function encodeEspresenseStatus(
  state: 'online' | 'offline',
  source: SourceOf<'espresense'>,
  atMs: number,
): FormatMessage {
  return {
    transport: 'mqtt',
    topic: `espresense/rooms/${source.room}/status`,
    payload: state,
    retain: true,
    simTimeMs: atMs,
    sightings: 0,
  }
}
