import { describe, expect, it } from 'vitest'
import { tinyDistrict } from '../shared/testing/fixtures.ts'
import { MAC_PATTERN } from '../shared/testing/helpers.ts'
import { createSimulation, type SimulationOptions } from '../../simulator/simulation.ts'
import { createHistoryPipeline, type HistoryMessage } from './history-backfill.ts'
import type { RegisteredGateway } from './model.ts'

// The backfill mode's pure steps: the simulator's batch objects are decoded by the protocol's own
// schema and bounds (no JSON round trip) and give the same transits as their JSON payloads; every
// day's key dies with the day, also when the day fails half-way.
const district = tinyDistrict()
const gateways = new Map<string, RegisteredGateway>(
  district.gateways.map((g) => [
    g.id,
    {
      id: g.id,
      zoneId: g.zoneId,
      shopId: g.shopId ?? null,
      rssiFloor: g.rssiFloor,
      thresholds: { version: 1, ...g.visitor },
      calibration: { version: 1, factor: g.calibrationFactor },
      source: { format: 'native' },
      sourceKey: null,
    },
  ]),
)
const pipeline = () =>
  createHistoryPipeline({ gateways, tz: 'Europe/Rome', gapMs: 120_000, staticAfterMs: 3_600_000 })
const fromMs = Date.parse('2026-11-28T09:00:00Z')
const options: SimulationOptions = {
  district,
  seed: 11,
  fromMs,
  toMs: fromMs + 2 * 3_600_000,
  scenario: 'demo',
  overrides: { batchIntervalS: 300 },
  collectTruth: false,
}
const asJson = (): HistoryMessage[] =>
  [...createSimulation(options)].flatMap((m) =>
    m.kind === 'sightings' ? [{ topic: m.topic, payload: m.payload, atMs: m.simTimeMs }] : [],
  )
const asObjects = (): HistoryMessage[] =>
  [...createSimulation(options).batches()].map((m) => ({
    topic: m.topic,
    batch: m.batch,
    atMs: m.simTimeMs,
  }))
/** A transit without its pseudonym (which differs: each run has its own random key). */
const shape = (t: { gateway: { id: string }; transit: Record<string, unknown> }) => {
  const { pseudonym, ...rest } = t.transit
  return { gateway: t.gateway.id, named: typeof pseudonym === 'string', ...rest }
}

describe('the history pipeline', () => {
  it('takes the simulator batches as objects and gives the transits their JSON payloads give', async () => {
    const fromJson = await pipeline().runDay(asJson())
    const p = pipeline()
    const fromObjects = await p.runDay(asObjects())
    expect(p.liveKeys()).toBe(0)
    expect(fromObjects.rejected).toBe(0)
    expect(fromObjects.sightings).toBe(fromJson.sightings)
    expect(fromObjects.transits.length).toBeGreaterThan(50)
    expect(fromObjects.transits.map(shape)).toEqual(fromJson.transits.map(shape))
  })

  it('validates batch objects with the protocol schema: a bad one is rejected, not written', async () => {
    const good = asObjects()
    const first = good.find((m) => 'batch' in m && JSON.stringify(m.batch).includes('"mac"'))
    if (!first || !('batch' in first)) throw new Error('no batch with sightings')
    const batch = first.batch as { sightings: { rssi: number; mac: string }[] }
    const badRssi = {
      ...first,
      batch: { ...batch, sightings: batch.sightings.map((s) => ({ ...s, rssi: 12 })) },
    }
    const badMac = {
      ...first,
      batch: { ...batch, sightings: batch.sightings.map((s) => ({ ...s, mac: 'not a mac' })) },
    }
    const stale = { ...first, atMs: first.atMs + 2 * 86_400_000 }
    const wrongTopic = { ...first, topic: 'miglio/v1/gw/gw-street-a/status' }
    const day = await pipeline().runDay([badRssi, badMac, stale, wrongTopic])
    expect(day).toMatchObject({ messages: 4, rejected: 4, sightings: 0, transits: [] })
  })

  it("destroys the day's key when the day fails half-way", async () => {
    const p = pipeline()
    const messages = asObjects()
    async function* failing(): AsyncGenerator<HistoryMessage> {
      yield* messages.slice(0, 5)
      throw new Error('stopped')
    }
    await expect(p.runDay(failing())).rejects.toThrow('stopped')
    expect(p.liveKeys()).toBe(0)
    // Destroyed for good: the same day again gets no new key, its sightings are refused.
    const again = await p.runDay(messages)
    expect(again.rejected).toBeGreaterThan(0)
    expect(again.transits).toEqual([])
    const day = await pipeline().runDay(messages)
    expect(day.transits.length).toBeGreaterThan(50)
    expect(JSON.stringify(day.transits)).not.toMatch(MAC_PATTERN)
  })
})
