import { readFile } from 'node:fs/promises'

/**
 * A scanner for KNOWN MAC addresses (a scenario's, from the simulator) in arbitrary bytes: a database
 * dump, a process log, a file of any kind. It looks for every MAC of its list in each of these
 * encodings:
 *
 * - text, any case: `aa:bb:cc:dd:ee:ff`, `aa-bb-…`, 12 bare hex digits, mixed or dotted separators
 *   (`7e:fd-7a:e4:31:66`, `7efd.7ae4.3166`), even glued to other hex digits or text;
 * - the same text with JSON `\uXXXX` escapes (`7\u0065:fd…`) decoded;
 * - UTF-16LE and UTF-16BE text (at either byte alignment);
 * - the raw 6 bytes.
 *
 * It is written independently of the product's redactor (`redactMacs`) on purpose: a scan that
 * reused the redactor's pattern would share its blind spots. Searching for the scenario's own MACs
 * (instead of anything MAC-shaped) is what lets it look inside long hex runs and across separators
 * without drowning in false alarms: a random 12-digit window matches one of 100 000 MACs with a
 * probability of 4·10⁻¹⁰.
 */

/** How a found MAC was written. */
export type MacForm =
  | 'colon'
  | 'dash'
  | 'bare'
  | 'mixed-separators'
  | 'json-escaped'
  | 'utf16le'
  | 'utf16be'
  | 'raw-bytes'

export type MacFinding = {
  source: string
  form: MacForm
  /** Byte offset in the source (for UTF-16 and text views: of the match's start). */
  offset: number
  /** Position of the MAC in the scanner's list (its value is never reported). */
  macIndex: number
  /** A few characters around the match, the MAC itself replaced by `<MAC>`. */
  context: string
}

export type MacScanner = {
  /** Distinct MACs searched for. */
  readonly size: number
  /** Findings in `bytes` (at most `limit` per source, default 20). */
  scan(bytes: Buffer | string, source: string, limit?: number): MacFinding[]
  scanFile(path: string, limit?: number): Promise<MacFinding[]>
}

const TWO_POW_40 = 2 ** 40
const TWO_POW_44 = 2 ** 44
const SEPARATORS = new Set([':', '-', '.', '_'].map((c) => c.charCodeAt(0)))

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** `'7E-FD-7A-E4-31-66'`, `'7efd7ae43166'`, … → its 48-bit value; null when it is not a MAC. */
export function macValue(mac: string): number | null {
  const digits = mac.replace(/[:._-]/g, '')
  return /^[0-9a-f]{12}$/i.test(digits) ? parseInt(digits, 16) : null
}

export function createMacScanner(macs: Iterable<string>): MacScanner {
  const index = new Map<number, number>()
  for (const mac of macs) {
    const v = macValue(mac)
    if (v === null) throw new Error(`not a MAC address (entry ${index.size})`)
    if (!index.has(v)) index.set(v, index.size)
  }

  function contextOf(view: string, start: number, end: number): string {
    const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, '·')
    return `${printable(view.slice(Math.max(0, start - 24), start))}<MAC>${printable(view.slice(end, end + 24))}`
  }

  /**
   * Every hex digit extends a rolling 48-bit value of the last 12 digits; one separator (`:`, `-`,
   * `.`, `_`) may sit between two digits; anything else starts over. So a MAC is found inside longer hex
   * runs and with any separators. `toOffset` maps a view index back to a byte offset.
   */
  function scanView(
    view: string,
    source: string,
    /** The form of the match at view[start, end), or null to leave it out. */
    classify: (start: number, end: number) => MacForm | null,
    toOffset: (i: number) => number,
    out: MacFinding[],
    limit: number,
  ) {
    let value = 0
    let digits = 0
    let afterSeparator = false
    const starts: number[] = new Array<number>(12).fill(0)
    for (let i = 0; i < view.length && out.length < limit; i++) {
      const c = view.charCodeAt(i)
      const d = hexValue(c)
      if (d >= 0) {
        value = (value % TWO_POW_44) * 16 + d
        starts[digits % 12] = i
        digits++
        afterSeparator = false
        if (digits >= 12) {
          const at = index.get(value)
          if (at !== undefined) {
            const start = starts[digits % 12] ?? i
            const form = classify(start, i + 1)
            if (form !== null)
              out.push({
                source,
                form,
                offset: toOffset(start),
                macIndex: at,
                context: contextOf(view, start, i + 1),
              })
          }
        }
      } else if (digits > 0 && !afterSeparator && SEPARATORS.has(c)) {
        afterSeparator = true
      } else {
        digits = 0
        value = 0
        afterSeparator = false
      }
    }
  }

  const textForm =
    (view: string) =>
    (start: number, end: number): MacForm => {
      const matched = view.slice(start, end)
      const seps = new Set(matched.replace(/[0-9a-f]/gi, ''))
      if (seps.size === 0) return 'bare'
      if (seps.size > 1 || matched.length !== 17) return 'mixed-separators'
      return seps.has(':') ? 'colon' : seps.has('-') ? 'dash' : 'mixed-separators'
    }

  function scan(input: Buffer | string, source: string, limit = 20): MacFinding[] {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input
    const out: MacFinding[] = []
    // 1. Text (latin1 keeps one character per byte, so offsets are byte offsets).
    const text = bytes.toString('latin1')
    scanView(text, source, textForm(text), (i) => i, out, limit)
    // 2. JSON escapes decoded: `7\u0065:fd…`, `\u0037\u0065…`. Matches with no escaped character
    // in them were found as text already.
    if (text.includes('\\u')) {
      const offsets: number[] = []
      const escaped: boolean[] = []
      let decoded = ''
      for (let i = 0; i < text.length;) {
        const hex = text[i] === '\\' && text[i + 1] === 'u' ? text.slice(i + 2, i + 6) : ''
        offsets.push(i)
        if (/^[0-9a-f]{4}$/i.test(hex)) {
          decoded += String.fromCharCode(parseInt(hex, 16))
          escaped.push(true)
          i += 6
        } else {
          decoded += text[i]
          escaped.push(false)
          i++
        }
      }
      const viaEscape = (start: number, end: number): MacForm | null =>
        escaped.slice(start, end).includes(true) ? 'json-escaped' : null
      scanView(decoded, source, viaEscape, (i) => offsets[i] ?? i, out, limit)
    }
    // 3. UTF-16 text, little- and big-endian, at both alignments.
    for (const align of [0, 1]) {
      const slice = bytes.subarray(align, align + ((bytes.length - align) & ~1))
      scanView(
        slice.toString('utf16le'),
        source,
        () => 'utf16le',
        (i) => align + 2 * i,
        out,
        limit,
      )
      const swapped = Buffer.from(slice)
      swapped.swap16()
      scanView(
        swapped.toString('utf16le'),
        source,
        () => 'utf16be',
        (i) => align + 2 * i,
        out,
        limit,
      )
    }
    // 4. The raw 6 bytes.
    let value = 0
    for (let i = 0; i < bytes.length && out.length < limit; i++) {
      value = (value % TWO_POW_40) * 256 + (bytes[i] ?? 0)
      if (i >= 5) {
        const at = index.get(value)
        if (at !== undefined)
          out.push({
            source,
            form: 'raw-bytes',
            offset: i - 5,
            macIndex: at,
            context: `${bytes.subarray(Math.max(0, i - 29), i - 5).toString('hex')}<MAC>${bytes.subarray(i + 1, i + 25).toString('hex')}`,
          })
      }
    }
    return out
  }

  return {
    size: index.size,
    scan,
    async scanFile(path, limit) {
      return scan(await readFile(path), path, limit)
    },
  }
}
