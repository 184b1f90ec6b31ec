import { describe, expect, it } from 'vitest'
import { MqttFrameScanner } from './packet-size-guard.ts'

/** A packet's fixed header: type byte and remaining length. */
function header(type: number, remaining: number): Buffer {
  const bytes = [type]
  let n = remaining
  do {
    const b = n % 128
    n = Math.floor(n / 128)
    bytes.push(n > 0 ? b | 0x80 : b)
  } while (n > 0)
  return Buffer.from(bytes)
}

describe(MqttFrameScanner.name, () => {
  it('follows packets of any size up to the limit across arbitrary chunking', () => {
    const stream = Buffer.concat([
      header(0x10, 20),
      Buffer.alloc(20),
      header(0x30, 1000),
      Buffer.alloc(1000),
      header(0xc0, 0), // PINGREQ
      header(0x30, 127),
      Buffer.alloc(127),
      header(0x30, 128),
      Buffer.alloc(128),
    ])
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new MqttFrameScanner(1000)
      for (let i = 0; i < stream.length; i += size) {
        expect(scanner.feed(stream.subarray(i, i + size))).toBeNull()
      }
    }
  })

  it('reports a packet over the limit at its length field, before its body', () => {
    const scanner = new MqttFrameScanner(1000)
    expect(scanner.feed(Buffer.concat([header(0x30, 10), Buffer.alloc(10)]))).toBeNull()
    expect(scanner.feed(header(0x30, 20 * 1024 * 1024))).toEqual({
      kind: 'too_large',
      remainingLength: 20 * 1024 * 1024,
    })
  })

  it('notices a large packet whose length bytes arrive one at a time', () => {
    const scanner = new MqttFrameScanner(1000)
    const h = header(0x30, 1001)
    expect(scanner.feed(h.subarray(0, 2))).toBeNull()
    expect(scanner.feed(h.subarray(2))).toEqual({ kind: 'too_large', remainingLength: 1001 })
  })

  it('refuses a length field longer than four bytes', () => {
    const scanner = new MqttFrameScanner(Number.MAX_SAFE_INTEGER)
    expect(scanner.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual({
      kind: 'malformed_length',
    })
  })
})
