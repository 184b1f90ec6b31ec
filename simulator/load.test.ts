import { describe, expect, it } from 'vitest'
import { DEFAULT_TIME_ZONE, districtFileSchema } from '../services/shared/contracts/district.ts'
import {
  GatewayStatusSchema,
  MAX_PAYLOAD_BYTES,
  MAX_SIGHTINGS_PER_BATCH,
  SightingsBatchSchema,
  toEpochMs,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { parseGatewayTopic } from '../services/shared/contracts/topics.ts'
import { buildLoadDistrict, createLoadGenerator, loadGatewayId } from './load.ts'

const START = Date.parse('2026-11-21T10:00:00Z')

describe(createLoadGenerator.name, () => {
  const sut = createLoadGenerator({
    gateways: 40,
    sightingsPerSecond: 2000,
    devices: 5000,
    durationS: 60,
    seed: 9,
    startMs: START,
  })
  const messages = [...sut]
  const batches = messages.map((m) => SightingsBatchSchema.parse(JSON.parse(m.payload)))

  it('sends the configured sightings per second, one batch per gateway and interval', () => {
    const sightings = batches.reduce((n, b) => n + b.sightings.length, 0)
    expect(sightings).toBe(2000 * 60)
    expect(messages).toHaveLength(40 * 12)
    const stats = sut.stats()
    expect(stats).toMatchObject({ messages: 480, sightings: 120_000 })
    // Rate per 5-second window of sentAt stays within a batch of the target.
    const perWindow = new Map<number, number>()
    for (const b of batches) {
      const w = Math.floor((toEpochMs(b.sentAt) - START - 1) / 5000)
      perWindow.set(w, (perWindow.get(w) ?? 0) + b.sightings.length)
    }
    for (const n of perWindow.values()) expect(Math.abs(n - 10_000)).toBeLessThanOrEqual(260)
  })

  it('produces only valid batches within the protocol limits, on their gateway topics', () => {
    for (const [i, b] of batches.entries()) {
      const m = messages[i]
      expect(parseGatewayTopic(m?.topic ?? '')).toEqual({
        gatewayId: b.gatewayId,
        kind: 'sightings',
      })
      expect(b.sightings.length).toBeLessThanOrEqual(MAX_SIGHTINGS_PER_BATCH)
      expect(Buffer.byteLength(m?.payload ?? '')).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
      expect(m?.sightings).toBe(b.sightings.length)
      const times = b.sightings.map((s) => toEpochMs(s.t))
      expect(Math.max(...times)).toBeLessThan(toEpochMs(b.sentAt))
      expect(Math.min(...times)).toBeGreaterThanOrEqual(toEpochMs(b.sentAt) - 5000)
    }
    const times = messages.map((m) => m.simTimeMs)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(Math.max(...times)).toBeLessThanOrEqual(START + 60_000)
  })

  it('numbers every gateway’s batches from 0 with one boot', () => {
    const ids = [...new Set(batches.map((b) => b.gatewayId))]
    expect(ids).toHaveLength(40)
    expect(ids).toContain('load-gw-0001')
    expect(ids).toContain('load-gw-0040')
    for (const id of ids) {
      const own = batches.filter((b) => b.gatewayId === id)
      expect(own.map((b) => b.seq)).toEqual(own.map((_, i) => i))
      expect(new Set(own.map((b) => b.bootId)).size).toBe(1)
    }
  })

  it('counts the distinct devices it used, close to the expected coverage of the population', () => {
    const macs = new Set(batches.flatMap((b) => b.sightings.map((s) => s.mac)))
    expect(sut.stats().distinctDevices).toBe(macs.size)
    // 120 000 uniform draws from 5000 devices cover all of them.
    expect(macs.size).toBe(5000)
    const few = createLoadGenerator({
      gateways: 2,
      sightingsPerSecond: 10,
      devices: 1000,
      durationS: 50,
      seed: 1,
      startMs: START,
    })
    for (const _ of few);
    // 500 draws from 1000: 1000 × (1 − e^-0.5) ≈ 393 expected.
    expect(Math.abs(few.stats().distinctDevices - 393)).toBeLessThan(40)
  })

  it('splits batches over 5000 sightings or 256 KiB', () => {
    const heavy = createLoadGenerator({
      gateways: 2,
      sightingsPerSecond: 4000,
      devices: 100_000,
      durationS: 10,
      seed: 2,
      startMs: START,
    })
    const out = [...heavy].map((m) => {
      expect(Buffer.byteLength(m.payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
      return SightingsBatchSchema.parse(JSON.parse(m.payload)) as SightingsBatch
    })
    expect(out.length).toBeGreaterThan(4)
    expect(out.every((b) => b.sightings.length <= MAX_SIGHTINGS_PER_BATCH)).toBe(true)
    expect(out.reduce((n, b) => n + b.sightings.length, 0)).toBe(40_000)
  })

  it('is deterministic with the seed', () => {
    const again = createLoadGenerator({
      gateways: 40,
      sightingsPerSecond: 2000,
      devices: 5000,
      durationS: 60,
      seed: 9,
      startMs: START,
    })
    expect([...again].map((m) => m.payload)).toEqual(messages.map((m) => m.payload))
  })

  it('builds status messages and refuses nonsense', () => {
    for (const m of sut.statusMessages('online', START))
      expect(GatewayStatusSchema.parse(JSON.parse(m.payload)).state).toBe('online')
    expect(() =>
      createLoadGenerator({
        gateways: 0,
        sightingsPerSecond: -1,
        devices: 1,
        durationS: 1,
        seed: 1,
      }),
    ).toThrow(/gateways must be 1…10000; sightingsPerSecond must be > 0/)
  })
})

describe(buildLoadDistrict.name, () => {
  it('is a valid district holding exactly the load gateways', () => {
    const sut = districtFileSchema(DEFAULT_TIME_ZONE).parse(buildLoadDistrict(250))
    expect(sut.gateways.map((g) => g.id)).toEqual(
      Array.from({ length: 250 }, (_, i) => loadGatewayId(i)),
    )
    expect(loadGatewayId(0)).toBe('load-gw-0001')
    expect(sut.zones).toHaveLength(250)
  })
})
