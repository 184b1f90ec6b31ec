import { instantOfLocalTime } from './local-time.ts'
import { normaliseMac } from './mac.ts'

/**
 * The ESP32 probe-request sniffer CSV (the Brno captures): semicolon-separated, one probe request a
 * line. One reader for both of its uses — ingest's sniffer adapter (lines published over MQTT) and
 * `miglio replay` (capture files):
 * `2022-10-18 10:53:42.597864;ff:ff:ff:ff:ff:ff;7e:fd:7a:e4:31:66;;1;-94;0;2187;2417;;SSID;[0, 1, 50];[6130];0.0`
 */
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

/** The columns a sniffer CSV must have (others, like `occupancy`, are optional). */
export const SNIFFER_REQUIRED_COLUMNS = ['datetime', 'src', 'rssi'] as const

export type SnifferHeader = {
  columns: readonly string[]
  /** Column name → its first position. */
  index: ReadonlyMap<string, number>
}

/** The header of the column order above, for lines that come without one. */
export const DEFAULT_SNIFFER_HEADER: SnifferHeader = headerOf(SNIFFER_COLUMNS)

function headerOf(columns: readonly string[]): SnifferHeader {
  const index = new Map<string, number>()
  columns.forEach((c, i) => {
    if (!index.has(c)) index.set(c, i)
  })
  return { columns, index }
}

/** A header line (`datetime;dst;src;…`), or the required columns it lacks. */
export function parseSnifferHeader(
  line: string,
): { ok: true; header: SnifferHeader } | { ok: false; missing: string[] } {
  const columns = line
    .replace(/^\uFEFF/, '')
    .trim()
    .split(';')
    .map((c) => c.trim())
  const header = headerOf(columns)
  const missing = SNIFFER_REQUIRED_COLUMNS.filter((c) => !header.index.has(c))
  return missing.length > 0 ? { ok: false, missing } : { ok: true, header }
}

const CAPTURE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * Epoch ms of a capture timestamp: local wall time in `timeZone` (`2022-10-18 10:53:42.597864`,
 * fraction truncated to ms; a time the autumn change repeats is its first occurrence, one the
 * spring change skips moves forward), or an absolute time when it carries `Z` or an offset. Null
 * when it is not a valid time (2022-02-30 included).
 */
export function parseCaptureTime(text: string, timeZone: string): number | null {
  const m = CAPTURE_TIME.exec(text.trim())
  if (!m) return null
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const wall = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
    millisecond: frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0,
  }
  const asUtc = Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  )
  const check = new Date(asUtc)
  // Date.UTC rolls 2022-02-30 over into March: a field out of range is not a time.
  if (
    check.getUTCFullYear() !== wall.year ||
    check.getUTCMonth() !== wall.month - 1 ||
    check.getUTCDate() !== wall.day ||
    wall.hour > 23 ||
    wall.minute > 59 ||
    wall.second > 59
  )
    return null
  if (zone === 'Z') return asUtc
  if (zone) {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
    return asUtc - sign * offset
  }
  return instantOfLocalTime(wall, timeZone)
}

/** One probe request of a sniffer line. `mac` is normalised (12 lower-case hex digits). */
export type SnifferRow = {
  tMs: number
  mac: string
  rssi: number
  /** The `randomized` column (0/1), or null when the line leaves it empty. */
  randomised: boolean | null
  seqNum?: number
  /** Information-element ids, `0,1,50,…` (the native protocol's `ie`). */
  ie?: string
  /** Ground-truth people in the room (the Brno captures' last column). */
  occupancy?: number
}

export type SnifferLineResult =
  | { ok: true; row: SnifferRow }
  /** `detail` never quotes a field's value (they hold MAC addresses). */
  | { ok: false; reason: 'bad_mac' | 'bad_line'; detail: string }

const bad = (detail: string): SnifferLineResult => ({ ok: false, reason: 'bad_line', detail })

/**
 * One data line: `src` is the device, `rssi` its signal, `datetime` local time in `timeZone`,
 * `randomized` 0/1, `seq_num` → seqNum, `dot11elt` (`[0, 1, 50, …]`) → ie (`0,1,50,…`, at most
 * 512 characters of whole ids, as the native protocol allows), `occupancy` kept when numeric.
 */
export function parseSnifferLine(
  line: string,
  header: SnifferHeader,
  timeZone: string,
): SnifferLineResult {
  const fields = line.split(';')
  if (fields.length !== header.columns.length)
    return bad(`expected ${header.columns.length} fields, got ${fields.length}`)
  const get = (name: string) => {
    const i = header.index.get(name)
    return i === undefined ? '' : (fields[i] ?? '').trim()
  }
  const tMs = parseCaptureTime(get('datetime'), timeZone)
  if (tMs === null) return bad('datetime is not YYYY-MM-DD hh:mm:ss[.ffffff]')
  const mac = normaliseMac(get('src'))
  if (mac === null) return { ok: false, reason: 'bad_mac', detail: 'src is not a MAC address' }
  const rssiText = get('rssi')
  const rssi = Number(rssiText)
  if (rssiText === '' || !Number.isInteger(rssi) || rssi < -127 || rssi > 0)
    return bad('rssi is not an integer dBm in [-127, 0]')
  const randomizedText = get('randomized')
  if (randomizedText !== '' && randomizedText !== '0' && randomizedText !== '1')
    return bad('randomized is not 0 or 1')
  const row: SnifferRow = {
    tMs,
    mac,
    rssi,
    randomised: randomizedText === '' ? null : randomizedText === '1',
  }
  const seqText = get('seq_num')
  if (seqText !== '') {
    const seqNum = Number(seqText)
    if (!Number.isInteger(seqNum) || seqNum < 0 || seqNum > 4095)
      return bad('seq_num is not an integer in [0, 4095]')
    row.seqNum = seqNum
  }
  const ieText = get('dot11elt')
  if (ieText !== '') {
    const inner = /^\[(.*)\]$/.exec(ieText)?.[1]
    if (inner === undefined) return bad('dot11elt is not a list like [0, 1, 50]')
    const ids = inner
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')
    if (ids.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255))
      return bad('dot11elt holds something other than element ids 0-255')
    let ie = ids.join(',')
    if (ie.length > 512) ie = ie.slice(0, ie.lastIndexOf(',', 512))
    if (ie !== '') row.ie = ie
  }
  const occupancyText = get('occupancy')
  if (occupancyText !== '') {
    const occupancy = Number(occupancyText)
    if (Number.isFinite(occupancy)) row.occupancy = occupancy
  }
  return { ok: true, row }
}
