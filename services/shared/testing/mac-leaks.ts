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

const SEPARATOR = String.raw`(?:[:\-._]|\\u00(?:3[aA]|2[dDeE]|5[fF]))?`

/** One hex digit as itself (either case) or as a `\u00XX` escape of either case. */
function digit(d: string): string {
  const forms = new Set([d.toLowerCase(), d.toUpperCase()])
  const escapes = [...forms].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0'))
  const escaped = escapes.map((h) => String.raw`\\u00${h[0]}[${h[1]}${h[1]?.toUpperCase()}]`)
  return `(?:${[...forms].join('|')}|${escaped.join('|')})`
}

/** The normalised address (12 lower-case hex digits) of a MAC in any usual notation. */
export function macDigits(mac: string): string {
  const d = mac.toLowerCase().replace(/[^0-9a-f]/g, '')
  if (d.length !== 12) throw new Error(`not a MAC: ${mac}`)
  return d
}

/** A pattern for one MAC as text, in any case, with or without separators, escapes allowed. */
export function macTextPattern(mac: string): RegExp {
  const d = macDigits(mac)
  const pairs: string[] = []
  for (let i = 0; i < 12; i += 2) pairs.push(digit(d[i] ?? '') + digit(d[i + 1] ?? ''))
  return new RegExp(pairs.join(SEPARATOR))
}

/** Every place one of `macs` appears in `data`, by encoding (one entry per MAC and encoding). */
export function findMacLeaks(data: Buffer | string, macs: readonly string[]): MacLeak[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const texts: [MacLeak['encoding'], string][] = [
    ['text', bytes.toString('latin1')],
    ['utf-16le', bytes.toString('utf16le')],
    ['utf-16le', bytes.subarray(1).toString('utf16le')],
    [
      'utf-16be',
      Buffer.from(bytes.subarray(0, bytes.length & ~1))
        .swap16()
        .toString('utf16le'),
    ],
    [
      'utf-16be',
      Buffer.from(bytes.subarray(1, 1 + ((bytes.length - 1) & ~1)))
        .swap16()
        .toString('utf16le'),
    ],
  ]
  const leaks: MacLeak[] = []
  for (const mac of macs) {
    const pattern = macTextPattern(mac)
    const found = new Set<MacLeak['encoding']>()
    for (const [encoding, text] of texts) if (pattern.test(text)) found.add(encoding)
    if (bytes.includes(Buffer.from(macDigits(mac), 'hex'))) found.add('raw bytes')
    for (const encoding of found) leaks.push({ mac, encoding })
  }
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
