import { instantOfLocalTime, startOfLocalDate } from './local-time.ts'

/**
 * Context series (weather, markets, roadworks…) as a CSV file: one value a row. The one reader for
 * `miglio context import <file>` and `POST /api/v1/context/imports` (docs/metrics.md, "Context").
 *
 * ```csv
 * time,zone,variable,value
 * 2026-11-21T10:00:00+01:00,,rain_mm,2.4
 * 2026-11-21 11:00,,temperature_c,9.5
 * 2026-11-21,piazza-ferretto,market,1
 * 2026-11-23,via-palazzo,roadworks,lane closed
 * ```
 *
 * - Header (any order, case-insensitive): `time`, `zone` (or `district`), `variable`, `value`; no
 *   other column. Separator `,` or `;` (taken from the header), RFC 4180 quotes; a UTF-8 BOM is
 *   ignored. With `;` a decimal comma is read as a decimal point (`2,4`).
 * - `time`: an instant with an offset (`…T10:00:00+01:00`, `…Z`), a local date-time without one
 *   (`2026-11-21 10:00`, the district's time zone; a time the autumn change repeats is its first
 *   occurrence, one the spring change skips moves forward) or a local date (`2026-11-21`: the whole
 *   local day). Years 2000–9999.
 * - `zone`: a zone id, or empty (or `district`) for the whole district.
 * - `variable`: 1–40 of `a–z 0–9 _`, starting with a letter (upper case is lowered): `rain_mm`.
 * - `value`: a number (a 0/1 flag is a number) or a text of at most 200 characters; one variable is
 *   all numbers or all text.
 *
 * Rows are numbered as a spreadsheet shows them: the header is row 1. A file with any bad row is
 * refused as a whole, each bad row named with its number and reason.
 */

export const CONTEXT_COLUMNS = ['time', 'zone', 'variable', 'value'] as const
export const CONTEXT_MAX_ROWS = 100_000
export const CONTEXT_MAX_TEXT = 200
/** Errors reported before the reader stops looking. */
export const CONTEXT_MAX_ERRORS = 20

export const CONTEXT_VARIABLE = /^[a-z][a-z0-9_]{0,39}$/

export type ContextRow = {
  /** Row number in the file (the header is row 1). */
  row: number
  /** Epoch ms: the instant, or the first instant of the local day. */
  at: number
  /** The value holds for the whole local day starting at `at`. */
  wholeDay: boolean
  /** Null: the whole district. */
  zoneId: string | null
  variable: string
  value: number | string
}

export type ContextRowError = { row: number; reason: string }

export type ContextParse =
  { ok: true; rows: ContextRow[] } | { ok: false; errors: ContextRowError[]; more: boolean }

/** Records of a CSV text (RFC 4180: quoted fields may hold separators, quotes and line breaks). */
export function splitCsv(text: string, separator: string): string[][] | { error: string } {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  let afterQuote = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i)
    if (quoted) {
      if (c === '"' && text.charAt(i + 1) === '"') {
        field += '"'
        i++
      } else if (c === '"') {
        quoted = false
        afterQuote = true
      } else field += c
      continue
    }
    if (c === '"' && field === '' && !afterQuote) quoted = true
    else if (c === separator) {
      record.push(field)
      field = ''
      afterQuote = false
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text.charAt(i + 1) === '\n') i++
      record.push(field)
      records.push(record)
      record = []
      field = ''
      afterQuote = false
    } else if (afterQuote) {
      return { error: `row ${records.length + 1}: text after a closing quote` }
    } else field += c
  }
  if (quoted) return { error: `row ${records.length + 1}: a quote is never closed` }
  if (field !== '' || record.length) {
    record.push(field)
    records.push(record)
  }
  return records
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/
const NUMBER = /^[-+]?(\d+([.]\d*)?|[.]\d+)([eE][-+]?\d+)?$/

function validDate(y: number, mo: number, d: number): boolean {
  const date = new Date(Date.UTC(y, mo - 1, d))
  return (
    y >= 2000 &&
    y <= 9999 &&
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d
  )
}

/** A `time` field: the instant and whether it names a whole local day, or why not. */
export function parseContextTime(
  text: string,
  timeZone: string,
): { at: number; wholeDay: boolean } | { error: string } {
  const s = text.trim()
  const expected =
    'expected 2026-11-21T10:00:00+01:00, 2026-11-21 10:00 (local) or 2026-11-21 (a whole day)'
  const day = DATE.exec(s)
  if (day) {
    const [y, mo, d] = [Number(day[1]), Number(day[2]), Number(day[3])]
    if (!validDate(y, mo, d)) return { error: `time: ${s} is not a date between 2000 and 9999` }
    return { at: startOfLocalDate(s, timeZone), wholeDay: true }
  }
  const m = DATE_TIME.exec(s)
  if (!m) return { error: `time: ${expected}` }
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const sec = Number(m[6] ?? 0)
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3))
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || sec > 59)
    return { error: `time: ${s} is not a valid time between 2000 and 9999` }
  const zone = m[8]
  if (zone === undefined) {
    const at = instantOfLocalTime(
      { year: y, month: mo, day: d, hour: h, minute: mi, second: sec, millisecond: ms },
      timeZone,
    )
    return { at, wholeDay: false }
  }
  let offsetMin = 0
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2))
    const om = Number(digits.slice(2, 4))
    if (oh > 18 || om > 59) return { error: `time: ${zone} is not a UTC offset` }
    offsetMin = sign * (oh * 60 + om)
  }
  return { at: Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offsetMin * 60_000, wholeDay: false }
}

/** A `value` field: a number, or a text (trimmed, at most 200 characters, no control characters). */
export function parseContextValue(
  text: string,
  decimalComma: boolean,
): { value: number | string } | { error: string } {
  const s = text.trim()
  if (s === '') return { error: 'value: empty' }
  const numeric = decimalComma && /^[-+]?\d+,\d+$/.test(s) ? s.replace(',', '.') : s
  if (NUMBER.test(numeric)) {
    const n = Number(numeric)
    if (!Number.isFinite(n)) return { error: `value: ${s} is out of range` }
    return { value: n }
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) return { error: 'value: control characters are not allowed' }
  if (s.length > CONTEXT_MAX_TEXT)
    return { error: `value: a text may hold at most ${CONTEXT_MAX_TEXT} characters` }
  return { value: s }
}

function headerOf(
  fields: string[],
): { index: Record<(typeof CONTEXT_COLUMNS)[number], number> } | { error: string } {
  const names = fields.map((f) =>
    f
      .trim()
      .toLowerCase()
      .replace(/^district$/, 'zone'),
  )
  const unknown = names.filter((n) => !(CONTEXT_COLUMNS as readonly string[]).includes(n))
  if (unknown.length)
    return {
      error: `row 1: unknown column ${unknown.map((u) => `"${u}"`).join(', ')}; the header is ${CONTEXT_COLUMNS.join(',')}`,
    }
  const index = {} as Record<(typeof CONTEXT_COLUMNS)[number], number>
  for (const c of CONTEXT_COLUMNS) {
    const i = names.indexOf(c)
    if (i < 0)
      return { error: `row 1: no column "${c}"; the header is ${CONTEXT_COLUMNS.join(',')}` }
    if (names.lastIndexOf(c) !== i) return { error: `row 1: column "${c}" appears twice` }
    index[c] = i
  }
  return { index }
}

/**
 * Reads a context CSV. Every row is checked; the first `CONTEXT_MAX_ERRORS` bad rows are reported
 * (`more` when there were others). Zone ids are checked for shape here and for existence by the
 * importer (services/shared/registry/context-repository.ts).
 */
export function parseContextCsv(text: string, timeZone: string): ContextParse {
  const body = text.replace(/^\uFEFF/, '')
  const firstLine = body.slice(0, body.search(/\r|\n|$/))
  const separator = firstLine.includes(';') && !firstLine.includes(',') ? ';' : ','
  const records = splitCsv(body, separator)
  if ('error' in records) return { ok: false, errors: [parseError(records.error)], more: false }
  const header = records[0]
  if (!header || header.every((f) => f.trim() === ''))
    return { ok: false, errors: [{ row: 1, reason: 'the file is empty: no header' }], more: false }
  const h = headerOf(header)
  if ('error' in h) return { ok: false, errors: [parseError(h.error)], more: false }
  const errors: ContextRowError[] = []
  let more = false
  const fail = (row: number, reason: string) => {
    if (errors.length < CONTEXT_MAX_ERRORS) errors.push({ row, reason })
    else more = true
  }
  const rows: ContextRow[] = []
  const kinds = new Map<string, { kind: 'number' | 'text'; row: number }>()
  const seen = new Map<string, number>()
  for (let i = 1; i < records.length; i++) {
    const fields = records[i] ?? []
    const row = i + 1
    if (fields.every((f) => f.trim() === '')) continue
    if (rows.length >= CONTEXT_MAX_ROWS) {
      fail(row, `more than ${CONTEXT_MAX_ROWS} rows: split the file`)
      break
    }
    if (fields.length !== header.length) {
      fail(row, `${fields.length} fields, the header has ${header.length}`)
      continue
    }
    const field = (c: (typeof CONTEXT_COLUMNS)[number]) => fields[h.index[c]] ?? ''
    const time = parseContextTime(field('time'), timeZone)
    if ('error' in time) {
      fail(row, time.error)
      continue
    }
    const zoneText = field('zone').trim().toLowerCase()
    const zoneId = zoneText === '' || zoneText === 'district' ? null : zoneText
    if (zoneId !== null && !/^[a-z0-9-]{1,64}$/.test(zoneId)) {
      fail(row, 'zone: must be a zone id (1–64 of a–z 0–9 -) or empty for the whole district')
      continue
    }
    const variable = field('variable').trim().toLowerCase()
    if (!CONTEXT_VARIABLE.test(variable)) {
      fail(row, 'variable: must be 1–40 of a–z 0–9 _ starting with a letter, such as rain_mm')
      continue
    }
    const value = parseContextValue(field('value'), separator === ';')
    if ('error' in value) {
      fail(row, value.error)
      continue
    }
    const kind = typeof value.value === 'number' ? 'number' : 'text'
    const known = kinds.get(variable)
    if (known && known.kind !== kind) {
      fail(
        row,
        `value: ${variable} holds ${known.kind === 'number' ? 'numbers' : 'text'} (row ${known.row}), not ${kind === 'number' ? 'a number' : 'text'}`,
      )
      continue
    }
    if (!known) kinds.set(variable, { kind, row })
    const key = `${variable}|${zoneId ?? ''}|${time.at}|${time.wholeDay}`
    const earlier = seen.get(key)
    if (earlier !== undefined) {
      fail(row, `the same time, zone and variable as row ${earlier}`)
      continue
    }
    seen.set(key, row)
    rows.push({ row, at: time.at, wholeDay: time.wholeDay, zoneId, variable, value: value.value })
  }
  if (errors.length) return { ok: false, errors, more }
  return { ok: true, rows }
}

function parseError(message: string): ContextRowError {
  const m = /^row (\d+): (.*)$/.exec(message)
  return m ? { row: Number(m[1]), reason: m[2] ?? message } : { row: 1, reason: message }
}

/** `row 3: time: …; row 7: value: empty (and more)` — at most `max` errors. */
export function describeContextErrors(errors: readonly ContextRowError[], more: boolean, max = 5) {
  const shown = errors.slice(0, max).map((e) => `row ${e.row}: ${e.reason}`)
  const rest = errors.length - shown.length
  const tail = more ? ' (and more bad rows)' : rest > 0 ? ` (and ${rest} more bad rows)` : ''
  return `${shown.join('; ')}${tail}`
}
