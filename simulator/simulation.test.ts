import { describe, expect, it } from 'vitest'
import {
  GatewayStatusSchema,
  SightingsBatchSchema,
  toEpochMs,
} from '../services/shared/contracts/gateway-messages.ts'
import { parseGatewayTopic } from '../services/shared/contracts/topics.ts'
import { createSimulation, type OutboundMessage, type SimulationOptions } from './simulation.ts'
import { decodeBatch, mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'

const district = mestreDistrict()

function run(overrides: Partial<SimulationOptions> = {}): OutboundMessage[] {
  const sut = createSimulation({
    district,
    seed: 77,
    fromMs: SATURDAY_9AM_MS,
    toMs: SATURDAY_9AM_MS + 20 * 60_000 + 2500,
    scenario: 'simple',
    overrides: { leaveStreetByEnd: false },
    ...overrides,
  })
  return [...sut]
}

describe(createSimulation.name, () => {
  const messages = run()
  const batches = messages.map((m) => ({ m, batch: decodeBatch(m) }))

  it('emits valid native v1 batches on each gateway topic', () => {
    expect(messages.length).toBeGreaterThan(0)
    for (const { m, batch } of batches) {
      expect(parseGatewayTopic(m.topic)).toEqual({ gatewayId: batch.gatewayId, kind: 'sightings' })
      expect(m.gatewayId).toBe(batch.gatewayId)
      expect(m.sightings).toBe(batch.sightings.length)
      expect(batch.bootId).toMatch(/^[0-9a-f]{8}$/)
      for (const s of batch.sightings) {
        expect(s.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/)
        expect(s.radio).toBe('wifi')
        expect(typeof s.t).toBe('string')
      }
    }
    expect(batches.reduce((n, b) => n + b.batch.sightings.length, 0)).toBeGreaterThan(1000)
  })

  it('interleaves gateways in sentAt order', () => {
    const times = messages.map((m) => m.simTimeMs)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    for (const { m, batch } of batches) expect(toEpochMs(batch.sentAt)).toBe(m.simTimeMs)
  })

  it('numbers each gateway’s batches contiguously from 0 and sends one per interval, empty or not', () => {
    for (const gateway of district.gateways) {
      const own = batches.filter((b) => b.batch.gatewayId === gateway.id).map((b) => b.batch)
      expect(own.map((b) => b.seq)).toEqual(own.map((_, i) => i))
      expect(new Set(own.map((b) => b.bootId)).size).toBe(1)
      expect(own).toHaveLength(241)
      expect(own.at(-1)?.sentAt).toBe(new Date(SATURDAY_9AM_MS + 20 * 60_000 + 2500).toISOString())
    }
    expect(batches.some((b) => b.batch.sightings.length === 0)).toBe(true)
  })

  it('keeps every sighting inside its batch interval', () => {
    const previousEnd = new Map<string, number>()
    for (const { batch } of batches) {
      const end = toEpochMs(batch.sentAt)
      const start = previousEnd.get(batch.gatewayId) ?? SATURDAY_9AM_MS
      for (const s of batch.sightings) {
        expect(toEpochMs(s.t)).toBeGreaterThanOrEqual(start)
        expect(toEpochMs(s.t)).toBeLessThan(end)
      }
      previousEnd.set(batch.gatewayId, end)
    }
  })

  it('gives identical output for the same seed and different output for another seed', () => {
    const payloads = (ms: OutboundMessage[]) => ms.map((m) => m.payload)
    expect(payloads(run())).toEqual(payloads(messages))
    expect(payloads(run({ seed: 78 }))).not.toEqual(payloads(messages))
  })

  it('does not depend on the generation step size', () => {
    expect(run({ stepMs: 7_000 }).map((m) => m.payload)).toEqual(messages.map((m) => m.payload))
  })

  it('builds retained status messages for every gateway', () => {
    const sut = createSimulation({
      district,
      seed: 1,
      fromMs: SATURDAY_9AM_MS,
      toMs: Infinity,
      scenario: 'demo',
    })
    const statuses = sut.statusMessages('offline', SATURDAY_9AM_MS + 60_000)
    expect(statuses.map((s) => s.gatewayId)).toEqual(district.gateways.map((g) => g.id))
    for (const s of statuses) {
      expect(parseGatewayTopic(s.topic)?.kind).toBe('status')
      expect(GatewayStatusSchema.parse(JSON.parse(s.payload))).toMatchObject({
        state: 'offline',
        uptimeS: 60,
      })
    }
  })

  it('runs an endless window lazily with bounded state', () => {
    const sut = createSimulation({
      district,
      seed: 3,
      fromMs: SATURDAY_9AM_MS,
      toMs: Infinity,
      scenario: 'demo',
      collectTruth: false,
    })
    let count = 0
    let onStreetMax = 0
    for (const m of sut) {
      onStreetMax = Math.max(onStreetMax, sut.stats().pedestriansOnStreet)
      if (m.simTimeMs >= SATURDAY_9AM_MS + 2 * 3_600_000) break
      count++
    }
    expect(count).toBe((2 * 720 - 1) * district.gateways.length)
    expect(sut.truth()).toEqual([])
    expect(onStreetMax).toBeLessThan(2000)
    expect(sut.stats().pedestrians).toBeGreaterThan(onStreetMax)
  })

  it('has every simple-scenario pedestrian off the street by toMs, with all sightings before it', () => {
    const fromMs = SATURDAY_9AM_MS
    const toMs = fromMs + 90 * 60_000
    const sut = createSimulation({ district, seed: 5, fromMs, toMs, scenario: 'simple' })
    const all = [...sut]
    expect(sut.stats().pedestrians).toBeGreaterThan(0)
    expect(sut.stats().pedestriansOnStreet).toBe(0)
    expect(Math.max(...sut.truth().map((e) => e.lastMs))).toBeLessThan(toMs)
    expect(all.at(-1)?.simTimeMs).toBe(toMs)
  })

  it('yields the same batches as objects from batches(), times in epoch milliseconds', () => {
    const options: SimulationOptions = {
      district,
      seed: 21,
      fromMs: SATURDAY_9AM_MS,
      toMs: SATURDAY_9AM_MS + 10 * 60_000,
      scenario: 'realistic',
      collectTruth: false,
    }
    const encoded = [...createSimulation(options)]
    const objects = createSimulation(options)
    const batches = [...objects.batches()]
    expect(batches.length).toBe(encoded.length)
    for (const [i, b] of batches.entries()) {
      const m = encoded[i]
      if (!m) throw new Error('fewer messages than batches')
      expect(SightingsBatchSchema.safeParse(b.batch).success).toBe(true)
      expect([b.topic, b.gatewayId, b.simTimeMs]).toEqual([m.topic, m.gatewayId, m.simTimeMs])
      const iso = decodeBatch(m)
      expect(b.batch).toEqual({
        ...iso,
        sentAt: toEpochMs(iso.sentAt),
        sightings: iso.sightings.map((s) => ({ ...s, t: toEpochMs(s.t) })),
      })
    }
    expect(objects.stats().sightings).toBeGreaterThan(1000)
    expect(() => [...objects.batches()]).toThrow(/only once/)
    const faulty = createSimulation({ ...options, faults: 'duplicates=0.1' })
    expect(() => faulty.batches()).toThrow(/faults/)
  })
})
