import type { MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { GatewayStatusSchema } from '../services/shared/contracts/gateway-messages.ts'
import { publishSimulation, simulatorWill } from './publisher.ts'
import { createSimulation } from './simulation.ts'
import { mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'

type Published = { topic: string; payload: string; qos: number; retain: boolean }

/** MQTT.js is not ours: a fake that acknowledges after a tick and records the wire order. */
function fakeClient(options: { failOn?: string } = {}) {
  const published: Published[] = []
  let inFlight = 0
  let maxInFlight = 0
  const client = {
    publishAsync(topic: string, payload: string, opts: { qos: number; retain: boolean }) {
      published.push({ topic, payload, qos: opts.qos, retain: opts.retain })
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      return new Promise((resolve, reject) =>
        setImmediate(() => {
          inFlight--
          if (options.failOn && topic.includes(options.failOn)) reject(new Error('no PUBACK'))
          else resolve(undefined)
        }),
      )
    },
  }
  return { client: client as unknown as MqttClient, published, maxInFlight: () => maxInFlight }
}

const district = mestreDistrict()
const simulation = (minutes: number) =>
  createSimulation({
    district,
    seed: 3,
    fromMs: SATURDAY_9AM_MS,
    toMs: SATURDAY_9AM_MS + minutes * 60_000,
    scenario: 'simple',
    overrides: { leaveStreetByEnd: false },
  })

describe(publishSimulation.name, () => {
  it('publishes retained online status, every batch in order with QoS 1, then offline status', async () => {
    const fake = fakeClient()
    const expected = [...simulation(2)]
    const sut = await publishSimulation({
      client: fake.client,
      simulation: simulation(2),
      speed: 'max',
    })
    const n = district.gateways.length
    expect(sut).toEqual({
      messages: expected.length,
      sightings: expected.reduce((a, m) => a + m.sightings, 0),
      statusMessages: 2 * n,
      aborted: false,
    })
    const online = fake.published.slice(0, n)
    const offline = fake.published.slice(-n)
    for (const [list, state] of [
      [online, 'online'],
      [offline, 'offline'],
    ] as const) {
      for (const p of list) {
        expect(p.topic).toMatch(/\/status$/)
        expect(p).toMatchObject({ qos: 1, retain: true })
        expect(GatewayStatusSchema.parse(JSON.parse(p.payload)).state).toBe(state)
      }
    }
    const batches = fake.published.slice(n, -n)
    expect(batches.map((p) => p.payload)).toEqual(expected.map((m) => m.payload))
    expect(batches.every((p) => p.qos === 1 && !p.retain)).toBe(true)
  })

  it('bounds the publishes awaiting PUBACK', async () => {
    const fake = fakeClient()
    await publishSimulation({
      client: fake.client,
      simulation: simulation(5),
      speed: 'max',
      maxInFlight: 8,
    })
    expect(fake.maxInFlight()).toBeLessThanOrEqual(8)
  })

  it('paces by simulated time and stops cleanly on abort', async () => {
    const fake = fakeClient()
    const controller = new AbortController()
    let wallMs = 0
    const progress: number[] = []
    const sut = await publishSimulation({
      client: fake.client,
      simulation: simulation(60),
      // 1000x: 5 s of simulated time per 5 ms of wall time; the fake clock jumps by 1 ms per read.
      speed: 1000,
      now: () => wallMs++,
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p.simTimeMs)
        if (p.messages === 100) controller.abort()
      },
    })
    expect(sut.aborted).toBe(true)
    expect(sut.messages).toBe(100)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    expect(fake.published.at(-1)?.topic).toMatch(/\/status$/)
  })

  it('publishes the status changes of faults retained, in stream order, and counts them apart', async () => {
    const fake = fakeClient()
    const sim = createSimulation({
      district,
      seed: 3,
      fromMs: SATURDAY_9AM_MS,
      toMs: SATURDAY_9AM_MS + 5 * 60_000,
      scenario: 'simple',
      overrides: { leaveStreetByEnd: false },
      faults: 'offline:gw-via-carducci@1m-2m,duplicates=0.1',
    })
    const sut = await publishSimulation({ client: fake.client, simulation: sim, speed: 'max' })
    const n = district.gateways.length
    expect(sut.statusMessages).toBe(2 * n + 2)
    const inner = fake.published.slice(n, -n)
    const statuses = inner.filter((p) => p.topic.endsWith('/status'))
    expect(statuses.map((p) => [p.retain, JSON.parse(p.payload).state])).toEqual([
      [true, 'offline'],
      [true, 'online'],
    ])
    expect(inner.filter((p) => p.retain)).toHaveLength(2)
    expect(sut.messages).toBe(inner.length - 2)
    expect(sut.messages).toBe(sim.stats().messages)
  })

  it('fails when the broker does not acknowledge', async () => {
    const fake = fakeClient({ failOn: 'sightings' })
    await expect(
      publishSimulation({ client: fake.client, simulation: simulation(1), speed: 'max' }),
    ).rejects.toThrow(/publish .*failed/)
  })
})

describe(simulatorWill.name, () => {
  it('is a retained offline status', () => {
    const will = simulatorWill('gw-via-carducci')
    expect(will).toMatchObject({
      topic: 'miglio/v1/gw/gw-via-carducci/status',
      qos: 1,
      retain: true,
    })
    expect(GatewayStatusSchema.parse(JSON.parse(String(will.payload))).state).toBe('offline')
  })
})
