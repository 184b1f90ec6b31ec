import { CountSessionCreateSchema, type CountSessionCreate } from './calibration.ts'
import { parseCaptureTime, parseSnifferHeader } from './sniffer-csv.ts'

/**
 * Counting sessions as CSV (`miglio calibration import`): comma-separated, a header line, one
 * session a line. Columns (any order; names as below, case-insensitive):
 *
 * | column       | required | meaning                                                                  |
 * | ------------ | -------- | ------------------------------------------------------------------------ |
 * | `zone`       | yes      | zone id                                                                  |
 * | `start`      | yes      | window start, ISO 8601 with an offset (`2026-11-21T10:00:00+01:00`)      |
 * | `end`        | yes      | window end, the same way                                                 |
 * | `kind`       | yes      | `present` (mean people over the window), `in` or `out`                   |
 * | `people`     | yes      | the count (`present` may be fractional: a mean)                          |
 * | `counted_by` | yes      | who counted                                                              |
 * | `gateway`    | no       | the gateway the count is for (empty: every gateway of the zone)          |
 * | `note`       | no       | free text                                                                |
 *
 * Fields may be quoted (`"…"`, `""` for a quote). A file is taken whole or not at all: the first bad
 * line refuses it with its line number (the header is line 1) and the reason.
 */

export const COUNT_CSV_REQUIRED = ['zone', 'start', 'end', 'kind', 'people', 'counted_by'] as const
export const COUNT_CSV_OPTIONAL = ['gateway', 'note'] as const

export type CountCsvResult =
  | { ok: true; sessions: CountSessionCreate[]; lines: number[] }
  | { ok: false; line: number; reason: string }

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = []
  let i = 0
  for (;;) {
    let field = ''
    if (line[i] === '"') {
      i++
      for (;;) {
        if (i >= line.length) return null
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += line[i++]
      }
      if (i < line.length && line[i] !== ',') return null
    } else {
      const next = line.indexOf(',', i)
      field = next === -1 ? line.slice(i) : line.slice(i, next)
      i = next === -1 ? line.length : next
    }
    out.push(field.trim())
    if (i >= line.length) return out
    i++ // the comma
  }
}

/** Parses a counting-session CSV; the zod contract of the API judges every row. */
export function parseCountSessionsCsv(text: string): CountCsvResult {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const headerAt = lines.findIndex((l) => l.trim() !== '')
  if (headerAt === -1) return { ok: false, line: 1, reason: 'the file is empty' }
  const header = splitCsvLine(lines[headerAt] ?? '')?.map((c) => c.toLowerCase())
  if (!header) return { ok: false, line: headerAt + 1, reason: 'the header is not valid CSV' }
  const missing = COUNT_CSV_REQUIRED.filter((c) => !header.includes(c))
  if (missing.length)
    return { ok: false, line: headerAt + 1, reason: `missing columns: ${missing.join(', ')}` }
  const known = new Set<string>([...COUNT_CSV_REQUIRED, ...COUNT_CSV_OPTIONAL])
  const unknown = header.filter((c) => !known.has(c))
  if (unknown.length)
    return { ok: false, line: headerAt + 1, reason: `unknown columns: ${unknown.join(', ')}` }
  const sessions: CountSessionCreate[] = []
  const numbers: number[] = []
  for (let i = headerAt + 1; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    if (raw.trim() === '') continue
    const line = i + 1
    const fields = splitCsvLine(raw)
    if (!fields) return { ok: false, line, reason: 'not valid CSV (an unclosed quote?)' }
    if (fields.length !== header.length)
      return { ok: false, line, reason: `${fields.length} fields, the header has ${header.length}` }
    const get = (c: string) => fields[header.indexOf(c)] ?? ''
    const peopleText = get('people')
    const people = peopleText === '' ? NaN : Number(peopleText)
    if (!Number.isFinite(people)) return { ok: false, line, reason: 'people is not a number' }
    const candidate = {
      zone: get('zone'),
      from: get('start'),
      to: get('end'),
      kind: get('kind'),
      people,
      countedBy: get('counted_by'),
      ...(get('gateway') ? { gateway: get('gateway') } : {}),
      ...(get('note') ? { note: get('note') } : {}),
    }
    const parsed = CountSessionCreateSchema.safeParse(candidate)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const column = columnOf(String(issue?.path[0] ?? ''))
      return { ok: false, line, reason: `${column}: ${issue?.message ?? 'invalid'}` }
    }
    sessions.push(parsed.data)
    numbers.push(line)
  }
  if (sessions.length === 0) return { ok: false, line: headerAt + 2, reason: 'no sessions' }
  return { ok: true, sessions, lines: numbers }
}

const COLUMN_OF: Record<string, string> = { from: 'start', to: 'end', countedBy: 'counted_by' }
const columnOf = (field: string) => COLUMN_OF[field] ?? field

const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

/** Counting sessions as the CSV above (with the optional columns). */
export function formatCountSessionsCsv(sessions: readonly CountSessionCreate[]): string {
  const head = [...COUNT_CSV_REQUIRED, ...COUNT_CSV_OPTIONAL].join(',')
  const rows = sessions.map((s) =>
    [s.zone, s.from, s.to, s.kind, String(s.people), s.countedBy, s.gateway ?? '', s.note ?? '']
      .map(quote)
      .join(','),
  )
  return [head, ...rows].join('\n') + '\n'
}

export type OccupancyOptions = {
  zone: string
  gateway?: string
  /** Window length (default 15 minutes). */
  windowMinutes?: number
  countedBy?: string
  /** The capture's time zone (its timestamps carry none); Brno: Europe/Prague. */
  timeZone: string
  /** A minute without a line takes the last occupancy seen at most this long before (default 30). */
  holdMinutes?: number
}

const MINUTE_MS = 60_000

/**
 * A sniffer capture's ground-truth `occupancy` column (the Brno captures: people in the room when
 * each probe request was heard) as counting sessions of people present: per window of
 * `windowMinutes` (aligned to the clock), the mean over its minutes of the minute's mean occupancy,
 * a minute without a line holding the last value seen within `holdMinutes` (occupancy is a state;
 * probe requests come in bursts). Only whole windows inside the capture whose every minute has a
 * value are kept. Reads the `datetime` and `occupancy` columns only: no address is ever parsed.
 */
export function occupancyCountSessions(
  captureCsv: string,
  o: OccupancyOptions,
): { ok: true; sessions: CountSessionCreate[] } | { ok: false; line: number; reason: string } {
  const lines = captureCsv.split(/\r?\n/)
  const h = parseSnifferHeader(lines[0] ?? '')
  if (!h.ok) return { ok: false, line: 1, reason: `missing columns: ${h.missing.join(', ')}` }
  const ti = h.header.index.get('datetime')
  const oi = h.header.index.get('occupancy')
  if (ti === undefined || oi === undefined)
    return { ok: false, line: 1, reason: 'the capture has no occupancy column' }
  const perMinute = new Map<number, { sum: number; n: number }>()
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    if (raw.trim() === '') continue
    const fields = raw.split(';')
    const t = parseCaptureTime((fields[ti] ?? '').trim(), o.timeZone)
    const occText = (fields[oi] ?? '').trim()
    const occ = Number(occText)
    if (t === null || occText === '' || !Number.isFinite(occ) || occ < 0) continue
    const m = Math.floor(t / MINUTE_MS) * MINUTE_MS
    const a = perMinute.get(m) ?? { sum: 0, n: 0 }
    a.sum += occ
    a.n++
    perMinute.set(m, a)
  }
  const minutes = [...perMinute.keys()].sort((a, b) => a - b)
  const first = minutes[0]
  const last = minutes[minutes.length - 1]
  if (first === undefined || last === undefined)
    return { ok: false, line: 2, reason: 'no line with an occupancy' }
  const hold = (o.holdMinutes ?? 30) * MINUTE_MS
  const size = (o.windowMinutes ?? 15) * MINUTE_MS
  const value = new Map<number, number>()
  let lastSeen: { at: number; v: number } | null = null
  for (let m = first; m <= last; m += MINUTE_MS) {
    const a = perMinute.get(m)
    if (a) lastSeen = { at: m, v: a.sum / a.n }
    if (lastSeen && m - lastSeen.at <= hold) value.set(m, lastSeen.v)
  }
  const sessions: CountSessionCreate[] = []
  for (let w = Math.ceil(first / size) * size; w + size <= last + MINUTE_MS; w += size) {
    let sum = 0
    let n = 0
    for (let m = w; m < w + size; m += MINUTE_MS) {
      const v = value.get(m)
      if (v === undefined) break
      sum += v
      n++
    }
    if (n * MINUTE_MS !== size) continue
    sessions.push({
      zone: o.zone,
      ...(o.gateway ? { gateway: o.gateway } : {}),
      from: new Date(w).toISOString(),
      to: new Date(w + size).toISOString(),
      kind: 'present',
      people: Math.round((sum / n) * 100) / 100,
      countedBy: o.countedBy ?? 'occupancy ground truth',
    })
  }
  return { ok: true, sessions }
}
