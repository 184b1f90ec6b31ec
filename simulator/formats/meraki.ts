import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import {
  colonMac,
  plainSightings,
  type FormatMessage,
  type PlainSighting,
  type SourceOf,
} from './common.ts'

/**
 * A native batch as the Meraki cloud would POST it to a Scanning API v3 receiver: one post per
 * radio (`"type":"WiFi"` / `"Bluetooth"`) at the batch's `sentAt`, one observation per client with
 * one `locations[]` entry per sighting (`time`, `rssiRecords[{apMac,rssi}]` of this AP). The real
 * cloud posts once a minute per network with its own location estimates; per-AP posts are valid v3
 * posts that keep every sighting. Meraki carries no 802.11 sequence number or IE list.
 */
export function encodeMerakiBatch(
  batch: SightingsBatch,
  source: SourceOf<'meraki'>,
  options: { secret: string },
): FormatMessage[] {
  const apMac = colonMac(source.apMac.replace(/[:-]/g, '').toLowerCase())
  const sentAtMs = toEpochMs(batch.sentAt)
  const posts: FormatMessage[] = []
  for (const [radio, type] of [
    ['wifi', 'WiFi'],
    ['ble', 'Bluetooth'],
  ] as const) {
    const sightings = plainSightings(batch).filter((s) => s.radio === radio)
    if (sightings.length === 0) continue
    const byClient = new Map<string, PlainSighting[]>()
    for (const s of sightings) {
      const list = byClient.get(s.mac) ?? []
      list.push(s)
      byClient.set(s.mac, list)
    }
    const observations = [...byClient].map(([mac, list]) => ({
      clientMac: colonMac(mac),
      locations: list.map((s) => ({
        time: new Date(s.tMs).toISOString(),
        rssiRecords: [{ apMac, rssi: s.rssi }],
      })),
      latestRecord: null,
    }))
    const data: Record<string, unknown> = { networkId: source.networkId, observations }
    if (type === 'Bluetooth') {
      data.startTime = new Date(sentAtMs - 60_000).toISOString()
      data.endTime = new Date(sentAtMs).toISOString()
      data.reportingAps = [{ mac: apMac }]
    }
    posts.push({
      transport: 'http',
      method: 'POST',
      contentType: 'application/json',
      body: JSON.stringify({ version: '3.0', secret: options.secret, type, data }),
      simTimeMs: sentAtMs,
      sightings: sightings.length,
    })
  }
  return posts
}
