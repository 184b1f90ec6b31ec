import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { isRandomisedMac } from '../../services/shared/contracts/mac.ts'
import { utcOffsetAt } from '../../services/shared/contracts/local-time.ts'
import { colonMac, plainSightings, type FormatMessage, type SourceOf } from './common.ts'

export const SNIFFER_HEADER =
  'datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy'

/**
 * A native batch as ESP32 probe-sniffer CSV lines (the Brno captures' columns), published as one
 * message on the sniffer's topic at the batch's `sentAt`. `datetime` is local time in `timeZone`
 * (the district's) with microseconds; `seq_num` and `dot11elt` carry the de-randomisation hints.
 * A probe sniffer hears Wi-Fi only: BLE sightings are left out.
 */
export function encodeSnifferBatch(
  batch: SightingsBatch,
  source: SourceOf<'sniffer'>,
  options: { timeZone: string; header?: boolean },
): FormatMessage[] {
  const wifi = plainSightings(batch).filter((s) => s.radio === 'wifi')
  if (wifi.length === 0) return []
  const lines = wifi.map((s, i) =>
    [
      localDateTime(s.tMs, utcOffsetAt(s.tMs, options.timeZone)),
      'ff:ff:ff:ff:ff:ff',
      colonMac(s.mac),
      '',
      isRandomisedMac(s.mac) ? '1' : '0',
      String(s.rssi),
      String(i),
      s.seqNum === undefined ? '' : String(s.seqNum),
      '2437',
      '',
      '',
      s.ie === undefined ? '' : `[${s.ie.split(',').join(', ')}]`,
      '',
      '',
    ].join(';'),
  )
  if (options.header) lines.unshift(SNIFFER_HEADER)
  return [
    {
      transport: 'mqtt',
      topic: source.topic,
      payload: lines.join('\n'),
      retain: false,
      simTimeMs: toEpochMs(batch.sentAt),
      sightings: wifi.length,
    },
  ]
}

/** `2022-10-18 10:53:42.597000`: the wall time at `tMs` with the zone offset in force. */
function localDateTime(tMs: number, offsetMs: number): string {
  const iso = new Date(tMs + offsetMs).toISOString() // wall time, written as if UTC
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`
}
