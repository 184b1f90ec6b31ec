/** A table ready for CSV: a header row and rows of plain values. */
export type CsvTable = { columns: string[]; rows: unknown[][] }

const FORMULA_START = /^[=+\-@\t\r]/

function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (Array.isArray(v)) return cell(v.map((x) => (x === null ? '' : String(x))).join(';'))
  let s = typeof v === 'string' ? v : JSON.stringify(v)
  // A text cell that a spreadsheet would run as a formula is prefixed with an apostrophe.
  if (FORMULA_START.test(s)) s = `'${s}`
  return /[",\r\n;]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s
}

/** RFC 4180 CSV: CRLF line ends, a header row, fields with `"` `,` `;` or line breaks quoted. */
export function toCsv(table: CsvTable): string {
  const lines = [table.columns.map(cell).join(',')]
  for (const r of table.rows) lines.push(r.map(cell).join(','))
  return `${lines.join('\r\n')}\r\n`
}
