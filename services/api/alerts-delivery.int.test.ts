import { createServer, type Server } from 'node:http'
import WebSocket from 'ws'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createLogger } from '../shared/logger.ts'
import { ALERTS_TOPIC } from '../shared/contracts/alerts.ts'
import { withTopicPrefix } from '../shared/contracts/topics.ts'
import { threeShopDistrict } from './api-test-helpers.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'

// Where an alert goes once raised, on real transports: an HTTP webhook that fails first (retried
// with backoff), the broker's alert topic (QoS 1), from the evaluator the app runs on its timer —
// and the live clients of another API replica, which does not evaluate itself.

const NOW = Date.parse('2026-12-14T11:30:00Z')
const MIN = 60_000
const PREFIX = `alerts-${process.pid}`
type Notice = { change: string; alert: { id: string; kind: string; gatewayId: string | null } }

let database: TestDatabase
let broker: TestBroker
let hook: Server
let subscriber: MqttClient
let publisher: MqttClient
let sut: FastifyInstance
/** A second replica: its evaluator never runs during the test (the first one evaluates). */
let other: FastifyInstance
let analystKey = ''
const liveOnOther: { type: string; alert?: Notice['alert'] }[] = []
let ws: WebSocket | undefined
const posts: { status: number; body: Notice }[] = []
const published: Notice[] = []

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  const { db } = database
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  // Every gateway heard a minute ago but gw-shop-two: silent for 20 minutes.
  for (const [id, ago] of [
    ['gw-street-a', MIN],
    ['gw-shop-one', MIN],
    ['gw-shop-two', 20 * MIN],
    ['gw-shop-three', MIN],
  ] as const)
    await db
      .insertInto('gateway_state')
      .values({ gateway_id: id, last_message_at: new Date(NOW - ago) })
      .execute()
  // The webhook: busy (503) on its first call, then accepting.
  hook = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const status = posts.length === 0 ? 503 : 204
      posts.push({ status, body: JSON.parse(body) as Notice })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
  const topic = withTopicPrefix(PREFIX, ALERTS_TOPIC)
  subscriber = await mqtt.connectAsync(broker.url, { clientId: `${PREFIX}-sub` })
  subscriber.on('message', (_t, payload) =>
    published.push(JSON.parse(payload.toString()) as Notice),
  )
  await subscriber.subscribeAsync(topic, { qos: 1 })
  publisher = await mqtt.connectAsync(broker.url, { clientId: `${PREFIX}-api` })
  analystKey = (await createApiKey(db, { role: 'analyst', label: 'a' })).key
  // The other replica first: its alert follower's first read only learns what is already there,
  // so it must have read before the evaluating replica raises the alert (at once, below).
  other = await buildApp({
    db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: {
      rateLimit: { enabled: false },
      alerts: { enabled: true, firstDelayMs: 3_600_000, followMs: 200 },
    },
  })
  await other.listen({ port: 0, host: '127.0.0.1' })
  const port = (other.server.address() as AddressInfo).port
  ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/live`)
  ws.on('message', (data) => liveOnOther.push(JSON.parse(String(data)) as (typeof liveOnOther)[0]))
  await new Promise((resolve) => ws!.once('open', resolve))
  ws.send(JSON.stringify({ type: 'auth', key: analystKey }))
  // Authenticated and served a first message: the replica is up and its follower has started.
  await waitFor(
    async () => liveOnOther.length,
    (n) => n >= 1,
    { timeoutMs: 20_000, what: "the other replica's first live message" },
  )
  sut = await buildApp({
    db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    topicPrefix: PREFIX,
    alertPublish: async (t, payload) => {
      await publisher.publishAsync(t, payload, { qos: 1 })
    },
    options: {
      rateLimit: { enabled: false },
      alerts: {
        enabled: true,
        intervalMs: 1000,
        firstDelayMs: 0,
        webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`,
        mqtt: true,
      },
    },
  })
  await sut.ready()
})

afterAll(async () => {
  ws?.terminate()
  await other?.close()
  await sut?.close()
  await publisher?.endAsync()
  await subscriber?.endAsync()
  await new Promise((resolve) => hook?.close(resolve))
  await broker?.close()
  await database?.close()
})

describe('alert delivery', () => {
  it('posts a raised alert to the webhook, again after a 503, publishes it on the alert topic and pushes it to the live clients of the other replica', async () => {
    const delivered = await waitFor(
      async () => posts.filter((p) => p.status === 204),
      (ok) => ok.length >= 1,
      { timeoutMs: 20_000, what: 'the webhook accepting a notice' },
    )
    // The first attempt was refused and the same notice came again (1 s backoff).
    expect(posts[0]?.status).toBe(503)
    expect(delivered[0]!.body).toEqual(posts[0]!.body)
    expect(delivered[0]!.body).toMatchObject({
      change: 'raised',
      alert: { kind: 'gateway_silent', gatewayId: 'gw-shop-two' },
    })
    const onTopic = await waitFor(
      async () => published.filter((n) => n.alert.id === delivered[0]!.body.alert.id),
      (n) => n.length >= 1,
      { timeoutMs: 10_000, what: 'the alert on the MQTT topic' },
    )
    expect(onTopic[0]).toEqual(delivered[0]!.body)
    // The other replica did not raise it, yet its live client gets it (its follower read it).
    const live = await waitFor(
      async () => liveOnOther.filter((m) => m.type === 'alert'),
      (m) => m.length >= 1,
      { timeoutMs: 10_000, what: "the alert on the other replica's live feed" },
    )
    expect(live.map((m) => m.alert?.id)).toContain(delivered[0]!.body.alert.id)
  })
})
