import { describe, expect, it } from 'vitest'
import { decodeMessage, type DecodeResult, type RejectReason } from './decode-message.ts'

const NOW = Date.parse('2026-11-21T10:15:05.000Z')
const HOUR = 3_600_000
const GW = 'gw-corte-legrenzi-1'
const SIGHTINGS_TOPIC = `miglio/v1/gw/${GW}/sightings`
const STATUS_TOPIC = `miglio/v1/gw/${GW}/status`
const RAW_MAC = '7E:FD:7A:E4:31:66'
const MAC_DIGITS = '7efd7ae43166'

function sighting(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { t: '2026-11-21T10:15:01.503Z', mac: RAW_MAC, rssi: -71, radio: 'wifi', ...overrides }
}

function batch(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    gatewayId: GW,
    bootId: '5f0c2a9e',
    seq: 1842,
    sentAt: '2026-11-21T10:15:02.120Z',
    sightings: [sighting()],
    ...overrides,
  }
}

function status(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    gatewayId: GW,
    state: 'online',
    fw: '1.4.2',
    uptimeS: 3600,
    queue: 0,
    ...overrides,
  }
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value))

function decodeOk(topic: string, payload: Buffer) {
  const sut = decodeMessage(topic, payload, NOW)
  if (!sut.ok) throw new Error(`expected ok, got ${sut.reason}: ${sut.detail}`)
  return sut
}

function decodeBatch(payload: Buffer) {
  const sut = decodeOk(SIGHTINGS_TOPIC, payload)
  if (sut.kind !== 'sightings') throw new Error('expected a sightings batch')
  return sut.batch
}

type RejectCase = { name: string; topic: string; payload: Buffer; reason: RejectReason }

const rejectCases: RejectCase[] = [
  {
    name: 'a topic outside miglio/v1/gw',
    topic: 'home/gw-1/BTtoMQTT/7EFD7AE43166',
    payload: json(batch()),
    reason: 'unknown_topic',
  },
  {
    name: 'a topic with an unknown kind',
    topic: `miglio/v1/gw/${GW}/config`,
    payload: json(batch()),
    reason: 'unknown_topic',
  },
  {
    name: 'a payload one byte over 256 KiB',
    topic: SIGHTINGS_TOPIC,
    payload: Buffer.alloc(256 * 1024 + 1, 0x20),
    reason: 'oversized',
  },
  {
    name: 'a payload that is not JSON',
    topic: SIGHTINGS_TOPIC,
    payload: Buffer.from(`{"v":1,"sightings":[{"mac":"${RAW_MAC}"`),
    reason: 'malformed_json',
  },
  {
    name: 'an empty payload',
    topic: STATUS_TOPIC,
    payload: Buffer.alloc(0),
    reason: 'malformed_json',
  },
  {
    name: 'an RSSI above 0 dBm',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ rssi: 3 })] })),
    reason: 'schema',
  },
  {
    name: 'an RSSI below -127 dBm',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ rssi: -128 })] })),
    reason: 'schema',
  },
  {
    name: 'a fractional RSSI',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ rssi: -70.5 })] })),
    reason: 'schema',
  },
  {
    name: 'an unknown radio',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ radio: 'zigbee' })] })),
    reason: 'schema',
  },
  {
    name: 'a sighting without a MAC',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [{ t: NOW, rssi: -70, radio: 'ble' }] })),
    reason: 'schema',
  },
  {
    name: 'a bootId with a NUL character (Postgres text cannot store it)',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ bootId: 'boot\u0000x' })),
    reason: 'schema',
  },
  {
    name: 'a status with a NUL character in fw',
    topic: STATUS_TOPIC,
    payload: json(status({ fw: '1.4\u0000' })),
    reason: 'schema',
  },
  {
    name: 'a sentAt in 1970 (it would drive the watermark and the skew)',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sentAt: 0 })),
    reason: 'stale_timestamp',
  },
  {
    name: 'a sentAt ten days ahead (it would close every open session)',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sentAt: NOW + 240 * HOUR })),
    reason: 'future_timestamp',
  },
  {
    name: 'a batch without a bootId',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ bootId: undefined })),
    reason: 'schema',
  },
  {
    name: 'a batch of protocol version 2',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ v: 2 })),
    reason: 'schema',
  },
  {
    name: 'a timestamp without a zone',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ t: '2026-11-21T10:15:01.503' })] })),
    reason: 'schema',
  },
  {
    name: 'a MAC longer than 17 characters',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ mac: `${RAW_MAC}:01` })] })),
    reason: 'schema',
  },
  {
    name: 'a JSON array instead of an object',
    topic: SIGHTINGS_TOPIC,
    payload: json([sighting()]),
    reason: 'schema',
  },
  {
    name: 'a status with an unknown state',
    topic: STATUS_TOPIC,
    payload: json(status({ state: 'sleeping' })),
    reason: 'schema',
  },
  {
    name: 'a batch of 5001 sightings',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: new Array<number>(5001).fill(0) })),
    reason: 'too_many_sightings',
  },
  {
    name: 'a MAC with a non-hex digit',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting(), sighting({ mac: '7E:FD:7A:E4:31:6G' })] })),
    reason: 'bad_mac',
  },
  {
    name: 'a MAC with mixed separators',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ mac: '7E:FD-7A:E4:31:66' })] })),
    reason: 'bad_mac',
  },
  {
    name: 'a MAC with 11 digits',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting({ mac: '7EFD7AE4316' })] })),
    reason: 'bad_mac',
  },
  {
    name: 'a batch whose gateway id differs from the topic',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ gatewayId: 'gw-other' })),
    reason: 'gateway_mismatch',
  },
  {
    name: 'a status whose gateway id differs from the topic',
    topic: STATUS_TOPIC,
    payload: json(status({ gatewayId: 'gw-other' })),
    reason: 'gateway_mismatch',
  },
  {
    name: 'a sighting more than 24 h old',
    topic: SIGHTINGS_TOPIC,
    payload: json(batch({ sightings: [sighting(), sighting({ t: NOW - 24 * HOUR - 1 })] })),
    reason: 'stale_timestamp',
  },
  {
    name: 'a sighting more than 5 min ahead',
    topic: SIGHTINGS_TOPIC,
    payload: json(
      batch({ sightings: [sighting({ t: new Date(NOW + 5 * 60_000 + 1).toISOString() })] }),
    ),
    reason: 'future_timestamp',
  },
]

function rejection(result: DecodeResult) {
  if (result.ok) throw new Error('expected a rejection')
  return result
}

describe(decodeMessage.name, () => {
  describe('rejections', () => {
    it.each(rejectCases)('rejects $name as $reason', ({ topic, payload, reason }) => {
      expect(rejection(decodeMessage(topic, payload, NOW)).reason).toBe(reason)
    })

    it.each(rejectCases.filter((c) => c.reason !== 'unknown_topic'))(
      'names the topic’s gateway when rejecting $name',
      ({ topic, payload }) => {
        expect(rejection(decodeMessage(topic, payload, NOW)).gatewayId).toBe(GW)
      },
    )

    it('names no gateway for an unknown topic', () => {
      expect(rejection(decodeMessage('a/b', json(batch()), NOW)).gatewayId).toBeNull()
    })

    it.each(rejectCases)(
      'never echoes the MAC it was sent in the detail of $name',
      ({ topic, payload }) => {
        const { detail } = rejection(decodeMessage(topic, payload, NOW))
        expect(detail.length).toBeGreaterThan(0)
        expect(detail.toLowerCase().replace(/[^0-9a-f]/g, '')).not.toContain(MAC_DIGITS)
      },
    )

    it('says which sighting was rejected without quoting it', () => {
      const payload = json(
        batch({ sightings: [sighting(), sighting({ mac: 'not-a-mac-at-all' })] }),
      )
      const { detail } = rejection(decodeMessage(SIGHTINGS_TOPIC, payload, NOW))
      expect(detail).toContain('sightings.1.mac')
      expect(detail).not.toContain('not-a-mac-at-all')
    })

    it('accepts a payload of exactly 256 KiB', () => {
      const body = JSON.stringify(batch())
      const payload = Buffer.from(body.padEnd(256 * 1024, ' '))
      expect(payload.length).toBe(256 * 1024)
      expect(decodeMessage(SIGHTINGS_TOPIC, payload, NOW).ok).toBe(true)
    })

    it('does not count 5000 entries as too many sightings', () => {
      const payload = json(batch({ sightings: new Array<number>(5000).fill(0) }))
      expect(rejection(decodeMessage(SIGHTINGS_TOPIC, payload, NOW)).reason).toBe('schema')
    })

    it('accepts sightings exactly 24 h old and exactly 5 min ahead', () => {
      const payload = json(
        batch({ sightings: [sighting({ t: NOW - 24 * HOUR }), sighting({ t: NOW + 5 * 60_000 })] }),
      )
      expect(decodeBatch(payload).sightings.map((s) => s.tMs)).toEqual([
        NOW - 24 * HOUR,
        NOW + 5 * 60_000,
      ])
    })

    it('applies the limits it is given instead of the defaults', () => {
      const payload = json(batch({ sightings: [sighting({ t: NOW - 2 * HOUR })] }))
      const sut = decodeMessage(SIGHTINGS_TOPIC, payload, NOW, { maxPastMs: HOUR, maxFutureMs: 0 })
      expect(rejection(sut).reason).toBe('stale_timestamp')
    })
  })

  describe('accepted sightings', () => {
    it('decodes the batch header and reads ISO timestamps', () => {
      const sut = decodeBatch(json(batch()))
      expect(sut).toMatchObject({
        gatewayId: GW,
        bootId: '5f0c2a9e',
        seq: 1842,
        sentAtMs: Date.parse('2026-11-21T10:15:02.120Z'),
      })
      expect(sut.sightings[0]?.tMs).toBe(Date.parse('2026-11-21T10:15:01.503Z'))
    })

    it('reads an ISO timestamp with a non-UTC offset as the same instant', () => {
      const sut = decodeBatch(
        json(batch({ sightings: [sighting({ t: '2026-11-21T11:15:01.503+01:00' })] })),
      )
      expect(sut.sightings[0]?.tMs).toBe(Date.parse('2026-11-21T10:15:01.503Z'))
    })

    it('reads epoch-millisecond timestamps in sightings and sentAt', () => {
      const sut = decodeBatch(
        json(batch({ sentAt: NOW - 1000, sightings: [sighting({ t: NOW - 1500 })] })),
      )
      expect(sut.sentAtMs).toBe(NOW - 1000)
      expect(sut.sightings[0]?.tMs).toBe(NOW - 1500)
    })

    it('estimates the gateway clock skew from sentAt', () => {
      expect(decodeBatch(json(batch({ sentAt: NOW + 2500 }))).clockSkewMs).toBe(2500)
      expect(decodeBatch(json(batch({ sentAt: NOW - 800 }))).clockSkewMs).toBe(-800)
    })

    it.each(['7E:FD:7A:E4:31:66', '7e-fd-7a-e4-31-66', '7EFD7AE43166', '7e:FD:7a:E4:31:66'])(
      'normalises the MAC %s to 12 lower-case hex digits',
      (mac) => {
        expect(decodeBatch(json(batch({ sightings: [sighting({ mac })] }))).sightings[0]?.mac).toBe(
          MAC_DIGITS,
        )
      },
    )

    it('flags randomised MACs whatever their case', () => {
      const sut = decodeBatch(
        json(
          batch({
            sightings: [
              sighting({ mac: '7E:FD:7A:E4:31:66' }),
              sighting({ mac: 'C4:9A:02:11:22:33' }),
              sighting({ mac: 'DA-00-00-00-00-01' }),
              sighting({ mac: '020000000001' }),
            ],
          }),
        ),
      )
      expect(sut.sightings.map((s) => s.randomised)).toEqual([true, false, true, true])
    })

    it('keeps RSSI, radio and the de-randomisation hints (IE list without spaces)', () => {
      const sut = decodeBatch(
        json(
          batch({
            sightings: [
              sighting({ rssi: -127, radio: 'wifi', seqNum: 4095, ie: '0, 1, 50' }),
              sighting({ rssi: 0, radio: 'wifi' }),
              sighting({ rssi: -60, radio: 'wifi', seqNum: 0, ie: '  ' }),
            ],
          }),
        ),
      )
      expect(sut.sightings).toEqual([
        {
          tMs: expect.any(Number),
          mac: MAC_DIGITS,
          rssi: -127,
          radio: 'wifi',
          randomised: true,
          seqNum: 4095,
          ie: '0,1,50',
        },
        { tMs: expect.any(Number), mac: MAC_DIGITS, rssi: 0, radio: 'wifi', randomised: true },
        {
          tMs: expect.any(Number),
          mac: MAC_DIGITS,
          rssi: -60,
          radio: 'wifi',
          randomised: true,
          seqNum: 0,
        },
      ])
    })

    it('accepts an empty sightings array', () => {
      expect(decodeBatch(json(batch({ sightings: [] }))).sightings).toEqual([])
    })
  })

  describe('status messages', () => {
    it('decodes an online status', () => {
      const sut = decodeOk(STATUS_TOPIC, json(status()))
      expect(sut).toEqual({ ok: true, kind: 'status', gatewayId: GW, status: status() })
    })

    it('decodes a last-will offline status with only the required fields', () => {
      const sut = decodeOk(STATUS_TOPIC, json({ v: 1, gatewayId: GW, state: 'offline' }))
      expect(sut.kind === 'status' && sut.status.state).toBe('offline')
    })

    it('does not read a status payload on a sightings topic as a batch', () => {
      expect(rejection(decodeMessage(SIGHTINGS_TOPIC, json(status()), NOW)).reason).toBe('schema')
    })
  })
})
