import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { isRandomisedMac } from '../../services/shared/contracts/mac.ts'
import { colonMac, plainSightings, type FormatMessage, type SourceOf } from './common.ts'

/**
 * A native batch as OpenMQTTGateway publishes it: one `<base>/<name>/BTtoMQTT/<MAC>` message per
 * BLE advertisement heard, `{"id":"AA:BB:…","rssi":-70,…}`, sent when heard. OMG is a BLE gateway:
 * Wi-Fi sightings have no OMG form and are left out; random addresses carry Theengs'
 * `"type":"RMAC"` as OMG publishes them with `randommacs` on.
 */
export function encodeOmgBatch(batch: SightingsBatch, source: SourceOf<'omg'>): FormatMessage[] {
  return plainSightings(batch)
    .filter((s) => s.radio === 'ble')
    .map((s) => {
      const payload: Record<string, unknown> = { id: colonMac(s.mac, true), rssi: s.rssi }
      if (isRandomisedMac(s.mac)) payload.type = 'RMAC'
      return {
        transport: 'mqtt' as const,
        topic: `${source.baseTopic}/${source.name}/BTtoMQTT/${s.mac.toUpperCase()}`,
        payload: JSON.stringify(payload),
        retain: false,
        simTimeMs: s.tMs,
        sightings: 1,
      }
    })
}

/** The retained last will / announcement on `<base>/<name>/LWT`. */
export function encodeOmgStatus(
  state: 'online' | 'offline',
  source: SourceOf<'omg'>,
  atMs: number,
): FormatMessage {
  return {
    transport: 'mqtt',
    topic: `${source.baseTopic}/${source.name}/LWT`,
    payload: state,
    retain: true,
    simTimeMs: atMs,
    sightings: 0,
  }
}
