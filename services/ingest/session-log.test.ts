import { describe, expect, it } from 'vitest'
import { packSightings, unpackSightings } from './session-log.ts'
import type { PseudoSighting } from './sessionise.ts'

describe('the session log packing', () => {
  it('gives back exactly the sightings and allow-list marks it packed', () => {
    const sightings: PseudoSighting[] = [
      {
        pseudonym: '-9223372036854775808',
        tMs: 1_765_000_000_123,
        rssi: -91,
        radio: 'wifi',
        randomised: false,
      },
      {
        pseudonym: '9223372036854775807',
        tMs: 1_765_000_000_999.5,
        rssi: 0,
        radio: 'ble',
        randomised: true,
      },
      {
        pseudonym: '42',
        tMs: 1_765_000_001_000,
        rssi: -60,
        radio: 'wifi',
        randomised: true,
        seqNum: 4095,
        fp: '-17',
      },
      {
        pseudonym: '43',
        tMs: 1_765_000_001_001,
        rssi: -61,
        radio: 'wifi',
        randomised: true,
        seqNum: 0,
      },
    ]
    const packed = packSightings(sightings, new Set(['42', 'not-in-batch']))
    const { sightings: back, exempt } = unpackSightings(packed)
    expect(back).toEqual(sightings)
    expect([...exempt]).toEqual(['42'])
    // 5 bytes of header, 19 per sighting, 2 per sequence number, 8 per fingerprint.
    expect(packed.length).toBe(5 + 4 * 19 + 2 * 2 + 8)
  })

  it('refuses what is not a 64-bit pseudonym and a packing it does not know', () => {
    const s = { tMs: 0, rssi: -50, radio: 'wifi', randomised: false } as const
    expect(() => packSightings([{ ...s, pseudonym: 'ab:cd' }], new Set())).toThrow(
      /pseudonym is not a 64-bit integer/,
    )
    expect(() => packSightings([{ ...s, pseudonym: '9223372036854775808' }], new Set())).toThrow(
      /64-bit/,
    )
    expect(() => unpackSightings(Buffer.from([2, 0, 0, 0, 0]))).toThrow(/unknown packing/)
    const packed = packSightings([{ ...s, pseudonym: '1' }], new Set())
    expect(() => unpackSightings(Buffer.concat([packed, Buffer.from([0])]))).toThrow(/trailing/)
  })
})
