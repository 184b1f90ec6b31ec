import { describe, expect, it } from 'vitest'
import { findMacLeaks, macEncodings } from './mac-leaks.ts'

const MAC = '7e:fd:7a:e4:31:66'

describe(findMacLeaks.name, () => {
  it.each(macEncodings(MAC).map((e) => [e.name, e.bytes] as const))(
    'finds a MAC planted as %s, at an odd offset too',
    (_name, planted) => {
      for (const prefix of ['', 'x']) {
        const data = Buffer.concat([Buffer.from(`${prefix}{"row":"`), planted, Buffer.from('"}')])
        expect(findMacLeaks(data, [MAC])).not.toEqual([])
      }
    },
  )

  it('finds nothing where the MAC is redacted, another MAC is present or only part of it is', () => {
    const data = Buffer.from(
      'xx:xx:xx:xx:xx:xx 7e:fd:7a:e4:31:67 7e:fd:7a:e4:31 1763720101703 3f2b8c1e-9a4d-4c7b-8e21-bb7f5a3c9d10',
    )
    expect(findMacLeaks(data, [MAC])).toEqual([])
  })

  it('names the encoding it found', () => {
    expect(findMacLeaks(Buffer.from(MAC, 'utf16le'), [MAC])).toContainEqual({
      mac: MAC,
      encoding: 'utf-16le',
    })
    expect(findMacLeaks(Buffer.from('7efd7ae43166', 'hex'), [MAC])).toEqual([
      { mac: MAC, encoding: 'raw bytes' },
    ])
  })
})
