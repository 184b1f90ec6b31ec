import { describe, expect, it } from 'vitest'
import { decodePaxcounterMessage } from './paxcounter.ts'
import { describeGoldenAndFuzz } from './golden-suite.ts'

const NOW = Date.parse('2026-11-21T10:15:05.000Z')

describeGoldenAndFuzz(
  'paxcounter',
  (c, topic, bytes) =>
    decodePaxcounterMessage(topic ?? '', bytes, c.nowMs, undefined, {
      encoding: c.options?.encoding === 'plain' ? 'plain' : 'packed',
    }),
  { update: process.env.UPDATE_GOLDEN === '1' },
)

describe(decodePaxcounterMessage.name, () => {
  it('reads the same bytes little-endian (packed) or big-endian (plain) as configured', () => {
    const bytes = Buffer.from([0x11, 0x00, 0x09, 0x00]).toString('base64')
    const packed = decodePaxcounterMessage('paxout/1', Buffer.from(bytes), NOW)
    const plain = decodePaxcounterMessage('paxout/1', Buffer.from(bytes), NOW, undefined, {
      encoding: 'plain',
    })
    expect(packed.ok && packed.kind === 'counts' && packed.counts).toEqual({
      tMs: NOW,
      wifi: 17,
      ble: 9,
    })
    expect(plain.ok && plain.kind === 'counts' && plain.counts).toEqual({
      tMs: NOW,
      wifi: 4352,
      ble: 2304,
    })
  })

  it.each([
    ['not base64', 'paxout/1', 'not base64!', 'bad_paxcounter_payload'],
    [
      'three bytes',
      'paxout/1',
      Buffer.from([1, 2, 3]).toString('base64'),
      'bad_paxcounter_payload',
    ],
    [
      'a short status',
      'paxout/2',
      Buffer.from([1, 2, 3]).toString('base64'),
      'bad_paxcounter_payload',
    ],
    ['JSON counts with text', 'paxout/1', '{"wifi":"many"}', 'bad_paxcounter_payload'],
    ['a topic of three levels', 'paxout/1/2', 'EQA=', 'unknown_topic'],
    ['port 0', 'paxout/0', 'EQA=', 'unknown_topic'],
  ])('refuses %s', (_name, topic, payload, reason) => {
    const r = decodePaxcounterMessage(topic, Buffer.from(payload), NOW)
    expect(r.ok ? 'ok' : r.reason).toBe(reason)
  })

  it('ignores ports that carry no counts (GPS, sensors, button)', () => {
    const r = decodePaxcounterMessage('paxout/4', Buffer.from('AAAA'), NOW)
    expect(r.ok && r.kind).toBe('ignored')
  })
})
