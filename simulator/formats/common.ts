import type { GatewaySource } from '../../services/shared/contracts/district.ts'
import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { normaliseMac } from '../../services/shared/contracts/mac.ts'

/**
 * What a simulated gateway of another format puts on the wire: an MQTT publish, or (Meraki) an
 * HTTP POST from the vendor's cloud. `simTimeMs` is when it would be sent; `sightings` how many
 * native sightings it carries (counts carry none).
 */
export type FormatMessage =
  | {
      transport: 'mqtt'
      topic: string
      payload: string
      retain: boolean
      simTimeMs: number
      sightings: number
    }
  | {
      transport: 'http'
      method: 'POST'
      contentType: 'application/json'
      body: string
      simTimeMs: number
      sightings: number
    }

/** A native sighting with its time in ms and its address as 12 lowercase hex digits. */
export type PlainSighting = {
  tMs: number
  mac: string
  rssi: number
  radio: 'wifi' | 'ble'
  seqNum?: number
  ie?: string
}

export function plainSightings(batch: SightingsBatch): PlainSighting[] {
  const out: PlainSighting[] = []
  for (const s of batch.sightings) {
    const mac = normaliseMac(s.mac)
    if (mac === null) continue
    const p: PlainSighting = { tMs: toEpochMs(s.t), mac, rssi: s.rssi, radio: s.radio }
    if (s.seqNum !== undefined) p.seqNum = s.seqNum
    if (s.ie !== undefined) p.ie = s.ie.replace(/\s+/g, '')
    out.push(p)
  }
  return out
}

/** `7efd7ae43166` → `7e:fd:7a:e4:31:66` (or upper case). */
export function colonMac(mac: string, upper = false): string {
  const m = mac.replace(/(..)(?!$)/g, '$1:')
  return upper ? m.toUpperCase() : m
}

export type SourceOf<F extends GatewaySource['format']> = Extract<GatewaySource, { format: F }>
