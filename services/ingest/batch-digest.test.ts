import { describe, expect, it } from 'vitest'
import { batchDigest, type DigestInput } from './batch-digest.ts'

const batch: DigestInput = {
  sentAtMs: 1_763_720_102_120,
  sightings: [
    { tMs: 1_763_720_101_503, rssi: -71, radio: 'wifi', seqNum: 2187, ie: '0,1' },
    { tMs: 1_763_720_101_703, rssi: -95, radio: 'ble' },
  ],
  pseudonyms: ['-4211', null],
}

describe(batchDigest.name, () => {
  it('is the same for the same content, as a signed 64-bit decimal', () => {
    const d = batchDigest(batch)
    expect(batchDigest(structuredClone(batch))).toBe(d)
    expect(d).toMatch(/^-?\d{1,19}$/)
    const n = BigInt(d)
    expect(n >= -(2n ** 63n) && n < 2n ** 63n).toBe(true)
  })

  it('is the digest earlier versions recorded, so a redelivery across an upgrade is still one', () => {
    // Computed by the release before the pseudonyms moved beside the sightings (2026-12-07).
    expect(batchDigest(batch)).toBe('2141723559390743371')
  })

  it.each<[string, (b: DigestInput) => DigestInput]>([
    ['sentAt moved by 1 ms', (b) => ({ ...b, sentAtMs: b.sentAtMs + 1 })],
    [
      'a sighting dropped',
      (b) => ({ ...b, sightings: b.sightings.slice(0, 1), pseudonyms: b.pseudonyms.slice(0, 1) }),
    ],
    [
      'the sightings reordered',
      (b) => ({
        ...b,
        sightings: [...b.sightings].reverse(),
        pseudonyms: [...b.pseudonyms].reverse(),
      }),
    ],
    ['another device', (b) => ({ ...b, pseudonyms: ['-4212', null] })],
    [
      'an rssi changed',
      (b) => ({ ...b, sightings: [{ ...b.sightings[0]!, rssi: -70 }, b.sightings[1]!] }),
    ],
    [
      'a sequence number changed',
      (b) => ({ ...b, sightings: [{ ...b.sightings[0]!, seqNum: 2188 }, b.sightings[1]!] }),
    ],
  ])('changes when %s', (_what, change) => {
    expect(batchDigest(change(batch))).not.toBe(batchDigest(batch))
  })
})
