import { describe, expect, it } from 'vitest'
import { createMacScanner, macValue, type MacForm } from './mac-scan.ts'

// The planted MAC and its encodings are written out by hand here, not produced by the scanner's code.
const MAC = '7e:fd:7a:e4:31:66'
const OTHER = '02:00:5e:10:00:01'
const scanner = createMacScanner([MAC, OTHER.toUpperCase()])

const filler = (n: number) => 'lorem ipsum 0123 deadbeef '.repeat(n)
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16()

const planted: [MacForm, Buffer][] = [
  ['colon', Buffer.from(`${filler(3)}{"mac":"7e:fd:7a:e4:31:66"}${filler(3)}`)],
  ['colon', Buffer.from(`${filler(1)}id=7E:FD:7A:E4:31:66;`)],
  ['dash', Buffer.from(`${filler(2)}device 7e-fd-7a-e4-31-66 seen`)],
  ['bare', Buffer.from(`${filler(2)}mac_7efd7ae43166_x`)],
  // Glued to other hex digits: a bytea dump (`\x…`) of the raw bytes among others.
  ['bare', Buffer.from(`${filler(2)}\\x00ff7efd7ae43166abcd\n`)],
  ['mixed-separators', Buffer.from(`${filler(2)}7e:fd-7a:e4:31:66`)],
  ['mixed-separators', Buffer.from(`${filler(2)}7efd.7ae4.3166`)],
  ['json-escaped', Buffer.from(`${filler(2)}{"mac":"7\\u0065:fd:7a:e4:31:66"}`)],
  ['json-escaped', Buffer.from(`${filler(2)}"\\u0037\\u0065\\u003a\\u0066d:7a:e4:31:66"`)],
  ['utf16le', Buffer.concat([Buffer.from(filler(2)), Buffer.from(`mac ${MAC} `, 'utf16le')])],
  // Odd alignment: one byte before the UTF-16 text.
  ['utf16le', Buffer.concat([Buffer.from('x'), Buffer.from(`mac ${MAC}`, 'utf16le')])],
  ['utf16be', Buffer.concat([Buffer.from(filler(2)), utf16be(`mac ${MAC} `)])],
  ['utf16be', Buffer.concat([Buffer.from('xyz'), utf16be(`${MAC}`)])],
  [
    'raw-bytes',
    Buffer.concat([
      Buffer.from(filler(2)),
      Buffer.from([0x7e, 0xfd, 0x7a, 0xe4, 0x31, 0x66]),
      Buffer.from([0, 1]),
    ]),
  ],
]

describe('MAC scanner', () => {
  it.each(planted.map(([form, bytes], i) => [form, i, bytes] as const))(
    'finds a planted MAC written as %s (case %i)',
    (form, _i, bytes) => {
      const found = scanner.scan(bytes, 'planted')
      expect(found.map((f) => f.form)).toContain(form)
      const hit = found.find((f) => f.form === form)!
      expect(hit.macIndex).toBe(0)
      expect(hit.source).toBe('planted')
      // The report never repeats the MAC itself.
      expect(hit.context).toContain('<MAC>')
      expect(hit.context).not.toMatch(/7e.?fd.?7a/i)
    },
  )

  it('reports the byte offset of a text match and of raw bytes', () => {
    expect(scanner.scan(Buffer.from('abc 7e:fd:7a:e4:31:66'), 's')[0]?.offset).toBe(4)
    const raw = Buffer.from([1, 2, 3, 0x7e, 0xfd, 0x7a, 0xe4, 0x31, 0x66])
    expect(scanner.scan(raw, 's')).toEqual([
      expect.objectContaining({ form: 'raw-bytes', offset: 3 }),
    ])
  })

  it('finds every MAC of its list, in any case, and counts each once', () => {
    expect(scanner.size).toBe(2)
    expect(createMacScanner([MAC, MAC.toUpperCase(), '7efd7ae43166']).size).toBe(1)
    const found = scanner.scan(`x ${OTHER} y ${MAC}`, 's')
    expect(found.map((f) => f.macIndex).sort()).toEqual([0, 1])
  })

  it('stays silent on text without the MACs: near misses, other MACs, long numbers, UUIDs', () => {
    const clean = [
      filler(50),
      '7e:fd:7a:e4:31:67', // one digit off
      '7e:fd:7a:e4:31', // five octets
      '7e::fd:7a:e4:31:66', // two separators in a row break the run
      '7e fd 7a e4 31 66', // spaces are not separators
      '11:22:33:44:55:66', // a MAC, but not one of the scenario's
      '1796572800000 -1234567890123456789', // epoch ms, a pseudonym
      'c0ffee00-1234-4abc-8def-0123456789ab',
      JSON.stringify({ mac: 'xx:xx:xx:xx:xx:xx', t: '2026-12-06T16:00:00.000Z' }),
    ].join('\n')
    expect(scanner.scan(Buffer.from(clean), 'clean')).toEqual([])
    expect(scanner.scan(Buffer.from(clean, 'utf16le'), 'clean16')).toEqual([])
  })

  it('rejects a list entry that is not a MAC', () => {
    expect(() => createMacScanner(['7e:fd:7a:e4:31'])).toThrow(/not a MAC/)
    expect(macValue('7E-FD-7A-E4-31-66')).toBe(0x7efd7ae43166)
  })

  it('caps the findings per source', () => {
    expect(scanner.scan(`${MAC} `.repeat(100), 's', 5)).toHaveLength(5)
  })
})
