/**
 * The tests' own search for known MAC addresses in stored or logged bytes, in every encoding the
 * privacy rules name: `aa:bb:…`, `AA-BB-…`, bare digits, separators mixed (`7e:fd-7a:…`), Cisco's
 * dotted groups, JSON/JavaScript escapes of any character (`7\u0065:fd…`), UTF-16 (LE and BE, any
 * alignment) and the six raw bytes.
 *
 * Written independently of the product's redactor on purpose: a test that reused the redactor's
 * patterns would share its blind spots. It looks for the addresses a test actually used, so it has
 * no false positives from other hex in the data.
 */

export type MacLeak = { mac: string; encoding: 'text' | 'utf-16le' | 'utf-16be' | 'raw bytes' }

/** The normalised address (12 lower-case hex digits) of a MAC in any usual notation. */
export function macDigits(mac: string): string {
  const d = mac.toLowerCase().replace(/[^0-9a-f]/g, '')
  if (d.length !== 12) throw new Error(`not a MAC: ${mac}`)
  return d
}

/** Hex digits with at most one separator between any two of them, in either case. */
const HEX_RUN = /[0-9a-f](?:[0-9a-f]|[:\-._](?=[0-9a-f]))*/gi
/** `\u00XX` escapes (JSON, JavaScript; doubled by pg_dump's COPY format too). */
const ESCAPE = /\\u00([0-9a-f]{2})/gi

/**
 * Calls `onHit` with each wanted address written in `text`: escapes decoded, then every run of hex
 * digits (separators between them dropped, whatever they are) read through a 12-digit window. One
 * pass for all addresses, so a dump of megabytes is searched for thousands of them in a moment.
 */
function scanText(text: string, wanted: ReadonlySet<string>, onHit: (digits: string) => void) {
  const decoded = text.replace(ESCAPE, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  for (const m of decoded.matchAll(HEX_RUN)) {
    if (m[0].length < 12) continue
    const digits = m[0].toLowerCase().replace(/[:\-._]/g, '')
    for (let i = 0; i + 12 <= digits.length; i++) {
      const window = digits.slice(i, i + 12)
      if (wanted.has(window)) onHit(window)
    }
  }
}

/** Every place one of `macs` appears in `data`, by encoding (one entry per MAC and encoding). */
export function findMacLeaks(data: Buffer | string, macs: readonly string[]): MacLeak[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const original = new Map(macs.map((m) => [macDigits(m), m]))
  const wanted = new Set(original.keys())
  const found = new Map<string, Set<MacLeak['encoding']>>()
  const hit = (encoding: MacLeak['encoding']) => (digits: string) => {
    let encodings = found.get(digits)
    if (!encodings) found.set(digits, (encodings = new Set()))
    encodings.add(encoding)
  }
  const even = (b: Buffer) => b.subarray(0, b.length & ~1)
  scanText(bytes.toString('latin1'), wanted, hit('text'))
  scanText(even(bytes).toString('utf16le'), wanted, hit('utf-16le'))
  scanText(even(bytes.subarray(1)).toString('utf16le'), wanted, hit('utf-16le'))
  scanText(Buffer.from(even(bytes)).swap16().toString('utf16le'), wanted, hit('utf-16be'))
  scanText(
    Buffer.from(even(bytes.subarray(1)))
      .swap16()
      .toString('utf16le'),
    wanted,
    hit('utf-16be'),
  )
  const raw = new Set([...wanted].map((d) => parseInt(d, 16)))
  for (let i = 0; i + 6 <= bytes.length; i++)
    if (raw.has(bytes.readUIntBE(i, 6))) hit('raw bytes')(bytes.toString('hex', i, i + 6))
  const leaks: MacLeak[] = []
  for (const [digits, encodings] of found)
    for (const encoding of encodings) leaks.push({ mac: original.get(digits) ?? digits, encoding })
  return leaks
}

/** The ways a MAC can be written that `findMacLeaks` must find: for planting in tests. */
export function macEncodings(mac: string): { name: string; bytes: Buffer }[] {
  const d = macDigits(mac)
  const pairs = d.match(/../g) ?? []
  const colon = pairs.join(':')
  return [
    { name: 'colons', bytes: Buffer.from(colon) },
    { name: 'upper-case dashes', bytes: Buffer.from(pairs.join('-').toUpperCase()) },
    { name: 'bare digits', bytes: Buffer.from(d) },
    {
      name: 'mixed separators',
      bytes: Buffer.from(pairs.map((p, i) => (i ? ':-.'[i % 3] : '') + p).join('')),
    },
    {
      name: 'dotted groups',
      bytes: Buffer.from(`${d.slice(0, 4)}.${d.slice(4, 8)}.${d.slice(8)}`),
    },
    {
      name: 'a JSON escape',
      bytes: Buffer.from(`${colon[0]}\\u00${colon.charCodeAt(1).toString(16)}${colon.slice(2)}`),
    },
    { name: 'UTF-16LE', bytes: Buffer.from(colon, 'utf16le') },
    { name: 'UTF-16BE', bytes: Buffer.from(colon, 'utf16le').swap16() },
    { name: 'raw bytes', bytes: Buffer.from(d, 'hex') },
  ]
}
