import type { DecodedSighting } from '../decode-message.ts'
import { isRandomisedMac, normaliseMac } from '../../shared/contracts/mac.ts'
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

export const SNIFFER_COLUMNS = [
  'datetime',
  'dst',
  'src',
  'src_vendor',
  'randomized',
  'rssi',
  'idx',
  'seq_num',
  'ch_freq',
  'FCfield',
  'ssid',
  'dot11elt',
  'oui',
  'occupancy',
] as const

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
  let columns: readonly string[] = SNIFFER_COLUMNS
  if (/^\s*datetime\s*;/.test(lines[0] ?? '')) {
    columns = (lines.shift() ?? '').split(';').map((c) => c.trim())
    for (const required of ['datetime', 'src', 'rssi'])
      if (!columns.includes(required))
        return reject('bad_sniffer_line', `header: missing column ${required}`, source)
  }
  if (lines.length > sightingLimit(limits))
    return reject(
      'too_many_sightings',
      `${lines.length} lines exceed ${sightingLimit(limits)}`,
      source,
    )
  const index = new Map<string, number>()
  columns.forEach((c, i) => {
    if (!index.has(c)) index.set(c, i)
  })
  const sightings: DecodedSighting[] = []
  for (const [i, line] of lines.entries()) {
    const row = parseLine(line, columns.length, index, options.timeZone)
    if (!row.ok) {
      const reason = row.reason === 'bad_mac' ? 'bad_mac' : 'bad_sniffer_line'
      return reject(reason, `line ${i + 1}: ${row.detail}`, source)
    }
    const problem = timeWindowProblem(row.sighting.tMs, nowMs, limits)
    if (problem === 'stale')
      return reject('stale_timestamp', staleDetail(`line ${i + 1}: datetime`, limits), source)
    if (problem === 'future')
      return reject('future_timestamp', futureDetail(`line ${i + 1}: datetime`, limits), source)
    sightings.push(row.sighting)
  }
  return { ok: true, kind: 'sightings', format: FORMAT, groups: [{ source, sightings }] }
}

type Row =
  | { ok: true; sighting: DecodedSighting }
  | { ok: false; reason: 'bad_mac' | 'bad_line'; detail: string }

function parseLine(
  line: string,
  width: number,
  index: ReadonlyMap<string, number>,
  timeZone: string,
): Row {
  const fields = line.split(';')
  if (fields.length !== width)
    return {
      ok: false,
      reason: 'bad_line',
      detail: `expected ${width} fields, got ${fields.length}`,
    }
  const get = (name: string) => {
    const i = index.get(name)
    return i === undefined ? '' : (fields[i] ?? '').trim()
  }
  const tMs = parseCaptureTime(get('datetime'), timeZone)
  if (tMs === null)
    return { ok: false, reason: 'bad_line', detail: 'datetime is not YYYY-MM-DD hh:mm:ss[.ffffff]' }
  const mac = normaliseMac(get('src'))
  if (mac === null) return { ok: false, reason: 'bad_mac', detail: 'src is not a MAC address' }
  const rssiText = get('rssi')
  const rssi = Number(rssiText)
  if (rssiText === '' || !Number.isInteger(rssi) || rssi < -127 || rssi > 0)
    return { ok: false, reason: 'bad_line', detail: 'rssi is not an integer dBm in [-127, 0]' }
  const randomizedText = get('randomized')
  let randomised = isRandomisedMac(mac)
  if (randomizedText === '1' || randomizedText === '0') randomised = randomizedText === '1'
  else if (randomizedText !== '')
    return { ok: false, reason: 'bad_line', detail: 'randomized is not 0 or 1' }
  const s: DecodedSighting = { tMs, mac, rssi, radio: 'wifi', randomised }
  const seqText = get('seq_num')
  if (seqText !== '') {
    const seqNum = Number(seqText)
    if (!Number.isInteger(seqNum) || seqNum < 0 || seqNum > 4095)
      return { ok: false, reason: 'bad_line', detail: 'seq_num is not an integer in [0, 4095]' }
    s.seqNum = seqNum
  }
  const ieText = get('dot11elt')
  if (ieText !== '') {
    const inner = /^\[(.*)\]$/.exec(ieText)?.[1]
    if (inner === undefined)
      return { ok: false, reason: 'bad_line', detail: 'dot11elt is not a list like [0, 1, 50]' }
    const ids = inner
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')
    if (ids.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255))
      return {
        ok: false,
        reason: 'bad_line',
        detail: 'dot11elt holds something other than ids 0-255',
      }
    let ie = ids.join(',')
    // The native protocol caps the IE list at 512 characters; keep whole ids.
    if (ie.length > 512) ie = ie.slice(0, ie.lastIndexOf(',', 512))
    if (ie !== '') s.ie = ie
  }
  return { ok: true, sighting: s }
}

const CAPTURE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * Epoch ms of a capture timestamp: local wall time in `timeZone` (fraction truncated to ms), or an
 * absolute time when it carries `Z` or an offset. Null when it is not a valid time.
 */
export function parseCaptureTime(text: string, timeZone: string): number | null {
  const m = CAPTURE_TIME.exec(text)
  if (!m) return null
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms)
  const check = new Date(wall)
  // Date.UTC rolls 2022-02-30 over into March: a field out of range is not a time.
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return null
  if (zone === 'Z') return wall
  if (zone) {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
    return wall - sign * offset
  }
  return wallToEpochMs(wall, timeZone)
}

/**
 * The instant whose wall time in `timeZone` reads `wall` (ms as if UTC). In the hour a DST change
 * repeats, the earlier instant; in the hour it skips, the offset in force just before the change
 * (as the simulator's and replay's clocks read it).
 */
function wallToEpochMs(wall: number, timeZone: string): number | null {
  const offset = zoneOffset(timeZone)
  if (!offset) return null
  const candidates = [...new Set([-1, 0, 1].map((d) => offset(wall + d * 86_400_000)))]
    .map((o) => wall - o)
    .filter((t) => t + offset(t) === wall)
  return candidates.length > 0 ? Math.min(...candidates) : wall - offset(wall - 86_400_000)
}

const offsetFns = new Map<string, ((ms: number) => number) | null>()

function zoneOffset(timeZone: string): ((ms: number) => number) | null {
  if (offsetFns.has(timeZone)) return offsetFns.get(timeZone) ?? null
  let fn: ((ms: number) => number) | null
  try {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    fn = (ms: number) => {
      const parts = format.formatToParts(new Date(ms))
      const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
      const asUtc = Date.UTC(
        get('year'),
        get('month') - 1,
        get('day'),
        get('hour'),
        get('minute'),
        get('second'),
      )
      return asUtc - Math.floor(ms / 1000) * 1000
    }
  } catch {
    fn = null
  }
  offsetFns.set(timeZone, fn)
  return fn
}
