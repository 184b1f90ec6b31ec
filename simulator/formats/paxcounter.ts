import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { plainSightings, type FormatMessage, type SourceOf } from './common.ts'

/**
 * A native batch as an ESP32-Paxcounter reports its send cycle: the number of distinct Wi-Fi and
 * BLE addresses heard, base64 of the port-1 payload (`packed` little-endian or `plain`
 * big-endian, as the device's encoder), on `<deviceId>/1` at the batch's `sentAt`. Only counts
 * leave the device: no address, RSSI or time of a sighting.
 */
export function encodePaxcounterBatch(
  batch: SightingsBatch,
  source: SourceOf<'paxcounter'>,
): FormatMessage[] {
  const sightings = plainSightings(batch)
  const count = (radio: 'wifi' | 'ble') =>
    Math.min(65535, new Set(sightings.filter((s) => s.radio === radio).map((s) => s.mac)).size)
  const bytes = Buffer.alloc(4)
  if (source.encoding === 'plain') {
    bytes.writeUInt16BE(count('wifi'), 0)
    bytes.writeUInt16BE(count('ble'), 2)
  } else {
    bytes.writeUInt16LE(count('wifi'), 0)
    bytes.writeUInt16LE(count('ble'), 2)
  }
  return [
    {
      transport: 'mqtt',
      topic: `${source.deviceId}/1`,
      payload: bytes.toString('base64'),
      retain: false,
      simTimeMs: toEpochMs(batch.sentAt),
      sightings: 0,
    },
  ]
}
