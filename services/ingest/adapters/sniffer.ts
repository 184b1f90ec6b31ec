import type { DecodedSighting } from '../decode-message.ts'
import { isRandomisedMac } from '../../shared/contracts/mac.ts'
import {
  DEFAULT_SNIFFER_HEADER,
  parseSnifferHeader,
  parseSnifferLine,
  type SnifferHeader,
} from '../../shared/contracts/sniffer-csv.ts'
import {
  DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  futureDetail,
  oversizedDetail,
  payloadLimit,
  rejectWith,
  sightingLimit,
  staleDetail,
  timeWindowProblem,
  type AdapterLimits,
  type AdapterResult,
  type SourceIdentity,
} from './common.ts'

/**
 * The ESP32 probe-request sniffer CSV (the Brno captures, shared/datasets/brno-probe-requests):
 * semicolon-separated, header
 * `datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy`.
 * The sniffer writes CSV; a bridge publishes it on an MQTT topic that the district file names (the
 * topic is the gateway). A message holds one or more lines; a first line starting with `datetime`
 * is a header that sets the column order, otherwise the order above applies.
 *
 * `datetime` is local wall time without a zone (`2022-10-18 10:53:42.597864`), read in
 * `options.timeZone` (the district's); a `Z` or `+hh:mm` suffix is honoured. `seq_num` and
 * `dot11elt` become the de-randomisation hints `seqNum` and `ie`, exactly as native v1 carries them.
 */
const FORMAT = 'sniffer'
const reject = rejectWith(FORMAT)

export type SnifferOptions = {
  /** IANA zone of the sniffer's clock (the district's `timezone`). */
  timeZone: string
}

const TOPIC_PATTERN = /^[A-Za-z0-9_.:-]{1,64}(\/[A-Za-z0-9_.:-]{1,64}){0,15}$/

/** Decodes one sniffer message (one or more CSV lines). Pure; never throws; quotes no value. */
export function decodeSnifferMessage(
  topic: string,
  payload: Buffer,
  nowMs: number,
  limits: AdapterLimits = DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  options: SnifferOptions = { timeZone: 'Europe/Rome' },
): AdapterResult {
  if (!TOPIC_PATTERN.test(topic)) return reject('unknown_topic', 'not a sniffer topic')
  const source: SourceIdentity = { format: 'sniffer', topic }
  if (payload.length > payloadLimit(limits))
    return reject('oversized', oversizedDetail(payload.length, limits), source)
  const text = payload.toString('utf8').replace(/^\uFEFF/, '')
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (lines.length === 0) return reject('bad_sniffer_line', 'no CSV line', source)
  let header: SnifferHeader = DEFAULT_SNIFFER_HEADER
  if (/^\s*datetime\s*;/.test(lines[0] ?? '')) {
    const parsed = parseSnifferHeader(lines.shift() ?? '')
    if (!parsed.ok)
      return reject('bad_sniffer_line', `header: missing column ${parsed.missing[0]}`, source)
    header = parsed.header
  }
  if (lines.length > sightingLimit(limits))
    return reject(
      'too_many_sightings',
      `${lines.length} lines exceed ${sightingLimit(limits)}`,
      source,
    )
  const sightings: DecodedSighting[] = []
  for (const [i, line] of lines.entries()) {
    const parsed = parseSnifferLine(line, header, options.timeZone)
    if (!parsed.ok) {
      const reason = parsed.reason === 'bad_mac' ? 'bad_mac' : 'bad_sniffer_line'
      return reject(reason, `line ${i + 1}: ${parsed.detail}`, source)
    }
    const { row } = parsed
    const problem = timeWindowProblem(row.tMs, nowMs, limits)
    if (problem === 'stale')
      return reject('stale_timestamp', staleDetail(`line ${i + 1}: datetime`, limits), source)
    if (problem === 'future')
      return reject('future_timestamp', futureDetail(`line ${i + 1}: datetime`, limits), source)
    const sighting: DecodedSighting = {
      tMs: row.tMs,
      mac: row.mac,
      rssi: row.rssi,
      radio: 'wifi',
      randomised: row.randomised ?? isRandomisedMac(row.mac),
    }
    if (row.seqNum !== undefined) sighting.seqNum = row.seqNum
    if (row.ie !== undefined) sighting.ie = row.ie
    sightings.push(sighting)
  }
  return { ok: true, kind: 'sightings', format: FORMAT, groups: [{ source, sightings }] }
}
