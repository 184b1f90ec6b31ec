import { describe, expect, it } from 'vitest'
import {
  GatewayStatusSchema,
  MAX_PAYLOAD_BYTES,
  SightingsBatchSchema,
  toEpochMs,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { createSimGateway } from './gateway.ts'

const T0 = Date.parse('2026-11-21T10:00:00Z')

const createSut = (endMs = Infinity) =>
  createSimGateway({
    gatewayId: 'gw-test-1',
    bootId: '5f0c2a9e',
    startMs: T0,
    batchIntervalS: 5,
    endMs,
  })

describe(createSimGateway.name, () => {
  it('emits a batch every interval, empty ones included, with seq from 0', () => {
    const sut = createSut()
    sut.add({ tMs: T0 + 6000, mac: '00:11:22:33:44:55', rssi: -70, radio: 'wifi', seqNum: 1 })
    const batches = sut.drainUntil(T0 + 15_000)
    expect(batches.map((b) => b.seq)).toEqual([0, 1, 2])
    expect(batches.map((b) => b.sightings.length)).toEqual([0, 1, 0])
    expect(batches.map((b) => b.sentAt)).toEqual([
      '2026-11-21T10:00:05.000Z',
      '2026-11-21T10:00:10.000Z',
      '2026-11-21T10:00:15.000Z',
    ])
    expect(batches[1]?.sightings[0]).toEqual({
      t: '2026-11-21T10:00:06.000Z',
      mac: '00:11:22:33:44:55',
      rssi: -70,
      radio: 'wifi',
      seqNum: 1,
    })
    for (const b of batches) expect(SightingsBatchSchema.parse(b)).toEqual(b)
    expect(sut.nextBatchAtMs).toBe(T0 + 20_000)
  })

  it('puts a sighting at the interval end into the next batch and orders sightings by time', () => {
    const sut = createSut()
    sut.add({ tMs: T0 + 5000, mac: '00:11:22:33:44:02', rssi: -70, radio: 'wifi' })
    sut.add({ tMs: T0 + 4999, mac: '00:11:22:33:44:01', rssi: -70, radio: 'wifi' })
    sut.add({ tMs: T0 + 1000, mac: '00:11:22:33:44:00', rssi: -70, radio: 'wifi' })
    const [first, second] = sut.drainUntil(T0 + 10_000)
    expect(first?.sightings.map((s) => s.mac)).toEqual(['00:11:22:33:44:00', '00:11:22:33:44:01'])
    expect(second?.sightings.map((s) => s.mac)).toEqual(['00:11:22:33:44:02'])
    expect(() =>
      sut.add({ tMs: T0 + 9000, mac: '00:11:22:33:44:03', rssi: -1, radio: 'wifi' }),
    ).toThrow()
  })

  it('splits a crowded interval into batches within the count and size limits', () => {
    const sut = createSut()
    for (let i = 0; i < 12_000; i++) {
      const mac = `02:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`
      sut.add({
        tMs: T0 + (i % 5000),
        mac,
        rssi: -80,
        radio: 'wifi',
        seqNum: i % 4096,
        ie: '0,1,50,3,45,127,255,221',
      })
    }
    const batches = sut.drainUntil(T0 + 5000)
    expect(batches.length).toBeGreaterThanOrEqual(3)
    expect(batches.map((b) => b.seq)).toEqual(batches.map((_, i) => i))
    expect(batches.reduce((n, b) => n + b.sightings.length, 0)).toBe(12_000)
    for (const b of batches) {
      expect(SightingsBatchSchema.safeParse(b).success).toBe(true)
      expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
      expect(b.sentAt).toBe('2026-11-21T10:00:05.000Z')
    }
  })

  it('writes the same batches with epoch-millisecond times in the epoch form, within the limits', () => {
    const fill = (sut: ReturnType<typeof createSut>, n: number, ie: string) => {
      for (let i = 0; i < n; i++) {
        const mac = `02:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:01`
        sut.add({ tMs: T0 + ((i * 7) % 5000), mac, rssi: -127, radio: 'wifi', seqNum: 4095, ie })
      }
    }
    // A few sightings: one batch; a crowd, and long IE lists: split as the ISO form splits.
    for (const [n, ie] of [
      [40, '0,1,50'],
      [12_000, '0,1,50,3,45,127,255,221'],
      [900, Array.from({ length: 120 }, () => '221').join(',')],
    ] as const) {
      const iso = createSut()
      const epoch = createSut()
      fill(iso, n, ie)
      fill(epoch, n, ie)
      const isoBatches = iso.drainUntil(T0 + 5000)
      const epochBatches = epoch.drainUntil(T0 + 5000, 'epoch')
      expect(epochBatches.reduce((k, b) => k + b.sightings.length, 0)).toBe(n)
      for (const b of epochBatches) {
        expect(SightingsBatchSchema.safeParse(b).success).toBe(true)
        expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
        expect(b.sentAt).toBe(T0 + 5000)
      }
      const asIso = (b: SightingsBatch) => ({
        ...b,
        sentAt: new Date(toEpochMs(b.sentAt)).toISOString(),
        sightings: b.sightings.map((x) => ({ ...x, t: new Date(toEpochMs(x.t)).toISOString() })),
      })
      const flat = (bs: SightingsBatch[]) => bs.flatMap((b) => asIso(b).sightings)
      expect(flat(epochBatches)).toEqual(flat(isoBatches))
      if (n === 40) expect(epochBatches.map(asIso)).toEqual(isoBatches)
    }
  })

  it('ends with a shorter last interval and then stops', () => {
    const sut = createSut(T0 + 12_500)
    expect(sut.drainUntil(Infinity).map((b) => b.sentAt)).toEqual([
      '2026-11-21T10:00:05.000Z',
      '2026-11-21T10:00:10.000Z',
      '2026-11-21T10:00:12.500Z',
    ])
    expect(sut.nextBatchAtMs).toBe(Infinity)
  })

  it('builds a status message with uptime', () => {
    const status = createSut().statusMessage('online', T0 + 90_500)
    expect(status).toEqual({
      v: 1,
      gatewayId: 'gw-test-1',
      state: 'online',
      fw: 'sim-0.1.0',
      uptimeS: 90,
      queue: 0,
    })
    expect(GatewayStatusSchema.parse(status)).toEqual(status)
  })
})
