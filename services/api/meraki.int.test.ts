import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import mqtt, { type MqttClient } from 'mqtt'
import { buildApp, type ApiDeps } from './app.ts'
import { createDurablePublisher } from './lib/mqtt-publisher.ts'
import { merakiInternalSubscription, parseMerakiInternalTopic } from '../shared/contracts/topics.ts'
import { MerakiAcceptedSchema } from '../shared/contracts/api.ts'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { MAC_PATTERN, randomTopicPrefix } from '../shared/testing/helpers.ts'
import {
  capturingLogger,
  expectErrorBody,
  startBrokerProxy,
  type BrokerProxy,
} from './api-test-helpers.ts'

const VALIDATOR = '91473298742319492749273285409845a1b2c3d4'
const SECRET = 'Sh4red-s3cret-of-the-network'
const WRONG = 'a-guess-at-the-secret'
const NETWORK = 'L_674976994152158449'
const BODY_LIMIT = 1024 * 1024

/** A Scanning API v3 WiFi post of `n` clients heard by one AP (addresses made up). */
function post(n: number, over: Record<string, unknown> = {}) {
  return {
    version: '3.0',
    secret: SECRET,
    type: 'WiFi',
    data: {
      networkId: NETWORK,
      observations: Array.from({ length: n }, (_, i) => ({
        clientMac: `02:00:5e:${[i >> 16, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`,
        ipv4: null,
        ipv6: null,
        ssid: null,
        os: null,
        manufacturer: 'Apple',
        locations: [
          {
            time: new Date().toISOString(),
            lat: 45.4886,
            lng: 12.2405,
            variance: 2.5,
            rssiRecords: [{ apMac: 'a8:46:9d:27:56:63', rssi: -60 - (i % 30) }],
          },
        ],
        latestRecord: null,
      })),
    },
    ...over,
  }
}

type Received = { topic: string; payload: Buffer }

let database: TestDatabase
let broker: TestBroker
let proxy: BrokerProxy
let apiClient: MqttClient
let listener: MqttClient
const received: Received[] = []
const prefix = randomTopicPrefix('meraki')
const capture = capturingLogger('debug')
let sut: FastifyInstance

function app(deps: Partial<ApiDeps> = {}): Promise<FastifyInstance> {
  return buildApp({
    db: database.db,
    log: capture.log,
    checks: { broker: () => ({ up: true }) },
    options: {
      meraki: { validator: VALIDATOR, secret: SECRET, bodyLimitBytes: BODY_LIMIT },
      authFailureLimit: { capacity: 1000 },
    },
    publisher: createDurablePublisher(apiClient, { ackTimeoutMs: 3000 }),
    topicPrefix: prefix,
    ...deps,
  })
}

const send = (target: FastifyInstance, body: unknown, headers: Record<string, string> = {}) =>
  target.inject({
    method: 'POST',
    url: '/api/v1/ingest/meraki',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  })

async function metric(target: FastifyInstance, name: string): Promise<number> {
  const text = (await target.inject({ method: 'GET', url: '/metrics' })).body
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.split(' ')[1]) : 0
}
const rejected = (target: FastifyInstance, reason: string) =>
  metric(target, `miglio_api_meraki_rejected_total{reason="${reason}"}`)

beforeAll(async () => {
  database = await createTestDatabase()
  broker = await createTestBroker()
  proxy = await startBrokerProxy(broker.url)
  apiClient = await mqtt.connectAsync(proxy.url, {
    clientId: `${prefix}-api`,
    reconnectPeriod: 100,
  })
  listener = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-ingest` })
  listener.on('message', (topic, payload) => void received.push({ topic, payload }))
  await listener.subscribeAsync(merakiInternalSubscription(undefined, prefix), { qos: 1 })
  sut = await app()
})

afterAll(async () => {
  await sut?.close()
  await apiClient?.endAsync(true)
  await listener?.endAsync()
  await proxy?.close()
  await broker?.close()
  await database?.close()
})

beforeEach(() => {
  received.length = 0
})

describe('validation GET', () => {
  it('answers the configured validator as plain text, without a key', async () => {
    const res = await sut.inject({ method: 'GET', url: '/api/v1/ingest/meraki' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    expect(res.body).toBe(VALIDATOR)
  })

  it('is in the OpenAPI document, without a key', async () => {
    const doc = (await sut.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: unknown[]; description?: string }>>
    }
    const path = doc.paths['/api/v1/ingest/meraki']
    expect(path?.get?.security).toEqual([])
    expect(path?.post?.security).toEqual([])
    expect(path?.post?.description).toContain('PUBACK')
  })

  it('is not there (404) unless the validator and the secret are configured', async () => {
    const off = await buildApp({
      db: database.db,
      log: capture.log,
      checks: { broker: () => ({ up: true }) },
    })
    try {
      expectErrorBody(await off.inject({ method: 'GET', url: '/api/v1/ingest/meraki' }), 404)
      expectErrorBody(await send(off, post(1)), 404)
    } finally {
      await off.close()
    }
  })
})

describe('POST', () => {
  it('publishes a valid post raw at QoS 1 on the network topic and answers 200', async () => {
    const body = Buffer.from(JSON.stringify(post(3)))
    const res = await send(sut, body)
    expect(res.statusCode, res.body).toBe(200)
    expect(MerakiAcceptedSchema.parse(res.json())).toEqual({ accepted: true, messages: 1 })
    const [got] = await waitFor(
      async () => received,
      (r) => r.length >= 1,
      { what: 'the post on the broker' },
    )
    expect(got?.topic).toBe(`${prefix}/miglio/v1/internal/meraki/${NETWORK}`)
    expect(parseMerakiInternalTopic(got?.topic.slice(prefix.length + 1) ?? '')).toEqual({
      networkId: NETWORK,
    })
    expect(got?.payload.equals(body)).toBe(true)
    expect(await metric(sut, 'miglio_api_meraki_posts_total')).toBeGreaterThanOrEqual(1)
  })

  it('answers only after the broker acknowledged the post (PUBACK)', async () => {
    proxy.holdReplies()
    let answered = false
    const pending = send(sut, post(2)).then((res) => {
      answered = true
      return res
    })
    try {
      // The broker has the message (the listener got it); its PUBACK waits in the proxy.
      await waitFor(
        async () => received.length,
        (n) => n === 1,
        { what: 'the post at the listener' },
      )
      expect(answered).toBe(false)
    } finally {
      proxy.releaseReplies()
    }
    const res = await pending
    expect(res.statusCode, res.body).toBe(200)
  })

  it('refuses a wrong or missing secret with 403, counts it, and publishes nothing', async () => {
    const wrongBefore = await rejected(sut, 'wrong_secret')
    const missingBefore = await rejected(sut, 'missing_secret')
    const wrong = await send(sut, post(2, { secret: WRONG }))
    expectErrorBody(wrong, 403, 'forbidden')
    expect(wrong.body).not.toContain(WRONG)
    expect(wrong.body).not.toContain(SECRET)
    expectErrorBody(await send(sut, post(2, { secret: undefined })), 403, 'forbidden')
    expect(await rejected(sut, 'wrong_secret')).toBe(wrongBefore + 1)
    expect(await rejected(sut, 'missing_secret')).toBe(missingBefore + 1)

    // A valid post after them is the only message that reaches the broker.
    expect((await send(sut, post(1))).statusCode).toBe(200)
    await waitFor(
      async () => received.length,
      (n) => n >= 1,
    )
    expect(received).toHaveLength(1)
    expect(received[0]?.payload.toString()).toContain(SECRET)
  })

  it('refuses what is not a JSON v3 post, counted by reason', async () => {
    const notJson = await rejected(sut, 'not_json')
    const bad = await rejected(sut, 'bad_post')
    expectErrorBody(await send(sut, '{"secret":', {}), 400, 'bad_request')
    expectErrorBody(await send(sut, 'secret=x', { 'content-type': 'text/plain' }), 415)
    expectErrorBody(await send(sut, post(1, { version: '2.0' })), 400, 'bad_request')
    expectErrorBody(
      await send(sut, post(1, { data: { networkId: 'L_1/#', observations: [] } })),
      400,
      'bad_request',
    )
    expect(await rejected(sut, 'not_json')).toBe(notJson + 2)
    expect(await rejected(sut, 'bad_post')).toBe(bad + 2)
  })

  it('never logs the secrets or the addresses of a post', async () => {
    await send(sut, post(2, { secret: WRONG }))
    await send(sut, post(2))
    const logged = capture.text()
    expect(logged).toContain('/api/v1/ingest/meraki')
    expect(logged).not.toContain(SECRET)
    expect(logged).not.toContain(WRONG)
    expect(logged).not.toContain(VALIDATOR)
    expect(logged).not.toMatch(MAC_PATTERN)
  })

  it('limits refused secrets per client address (429 once spent)', async () => {
    const strict = await app({
      options: {
        meraki: { validator: VALIDATOR, secret: SECRET, bodyLimitBytes: BODY_LIMIT },
        authFailureLimit: { capacity: 2, refillPerSecond: 0.001 },
      },
    })
    try {
      for (let i = 0; i < 2; i++)
        expectErrorBody(await send(strict, post(1, { secret: WRONG })), 403)
      const limited = await send(strict, post(1))
      expectErrorBody(limited, 429, 'rate_limited')
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
      expect(await rejected(strict, 'rate_limited')).toBe(1)
    } finally {
      await strict.close()
    }
  })
})

describe('body limit', () => {
  it('takes posts over the API default limit and cuts those over 256 KiB into complete posts', async () => {
    const big = post(2500)
    const body = Buffer.from(JSON.stringify(big))
    expect(body.length).toBeGreaterThan(256 * 1024)
    expect(body.length).toBeLessThan(BODY_LIMIT)
    const res = await send(sut, body)
    expect(res.statusCode, res.body).toBe(200)
    const { messages } = MerakiAcceptedSchema.parse(res.json())
    expect(messages).toBeGreaterThan(1)
    await waitFor(
      async () => received.length,
      (n) => n === messages,
      { what: `${messages} parts` },
    )
    const parts = received.map((r) => JSON.parse(r.payload.toString()) as typeof big)
    for (const r of received) expect(r.payload.length).toBeLessThanOrEqual(256 * 1024)
    for (const p of parts)
      expect({ ...p, data: { ...p.data, observations: [] } }).toEqual({
        ...big,
        data: { ...big.data, observations: [] },
      })
    // QoS 1 from one client keeps its order; each observation is in exactly one part.
    expect(parts.flatMap((p) => p.data.observations)).toEqual(big.data.observations)
  })

  it('refuses a post over MERAKI_BODY_LIMIT_BYTES with 413, counted', async () => {
    const before = await rejected(sut, 'too_large')
    const body = Buffer.from(JSON.stringify(post(6000)))
    expect(body.length).toBeGreaterThan(BODY_LIMIT)
    expectErrorBody(await send(sut, body), 413, 'payload_too_large')
    expect(await rejected(sut, 'too_large')).toBe(before + 1)
    expect(received).toHaveLength(0)
  })
})

describe('broker unavailable', () => {
  it('answers 503 with Retry-After when the PUBACK does not come in time', async () => {
    const impatient = await app({
      publisher: createDurablePublisher(apiClient, { ackTimeoutMs: 300 }),
    })
    proxy.holdReplies()
    try {
      const res = await send(impatient, post(1))
      expectErrorBody(res, 503, 'broker_unavailable')
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
      expect(await rejected(impatient, 'broker_unavailable')).toBe(1)
    } finally {
      proxy.releaseReplies()
      await impatient.close()
    }
  })

  it('answers 503 at once while the broker is down, and takes posts again once it is back', async () => {
    proxy.down()
    try {
      await waitFor(
        async () => apiClient.connected,
        (c) => !c,
        { what: 'the API client to notice' },
      )
      const started = Date.now()
      const res = await send(sut, post(1))
      expectErrorBody(res, 503, 'broker_unavailable')
      expect(Date.now() - started).toBeLessThan(1000)
    } finally {
      proxy.up()
    }
    await waitFor(
      async () => apiClient.connected,
      (c) => c,
      { what: 'the API client to reconnect' },
    )
    expect((await send(sut, post(1))).statusCode).toBe(200)
  })

  it('answers 503 in a process without a broker', async () => {
    const alone = await buildApp({
      db: database.db,
      log: capture.log,
      checks: { broker: () => ({ up: false }) },
      options: { meraki: { validator: VALIDATOR, secret: SECRET } },
    })
    try {
      expectErrorBody(await send(alone, post(1)), 503, 'broker_unavailable')
    } finally {
      await alone.close()
    }
  })
})

describe('under load', () => {
  const timed = async (url: string, body: string) => {
    const t0 = performance.now()
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    return performance.now() - t0
  }
  const percentile = (times: number[], q: number) =>
    Math.round([...times].sort((a, b) => a - b)[Math.ceil(q * times.length) - 1] ?? 0)

  it('answers one post in milliseconds and every post of a burst within seconds', async () => {
    await sut.listen({ port: 0, host: '127.0.0.1' })
    const address = sut.server.address()
    if (!address || typeof address === 'string') throw new Error('no address')
    const url = `http://127.0.0.1:${address.port}/api/v1/ingest/meraki`

    // One network at a time, as Meraki posts: 400 clients (~110 KB) per post.
    const one = JSON.stringify(post(400))
    const single: number[] = []
    for (let i = 0; i < 20; i++) single.push(await timed(url, one))

    // A burst: 40 networks posting at once, 400 clients each, and 10 posts over 256 KiB.
    const bodies = [
      ...Array.from({ length: 40 }, () => one),
      ...Array.from({ length: 10 }, () => JSON.stringify(post(2000))),
    ]
    const started = Date.now()
    const burst = await Promise.all(bodies.map((body) => timed(url, body)))
    const mb = bodies.reduce((n, b) => n + b.length, 0) / 1e6
    console.log(
      `meraki receiver (${broker.kind} broker): one 110 KB post p50 ${percentile(single, 0.5)} ms, max ${percentile(single, 1)} ms; ` +
        `burst of ${bodies.length} posts (${mb.toFixed(1)} MB) in ${Date.now() - started} ms, ` +
        `answer p50 ${percentile(burst, 0.5)} ms, p95 ${percentile(burst, 0.95)} ms, max ${percentile(burst, 1)} ms`,
    )
    // Meraki asks a receiver to keep up with one post per network and radio a minute, and stops
    // posting for a while to one that answers slowly: one post in well under a second, and a burst
    // far beyond a district's load still within a few seconds on this shared 2-core machine.
    expect(percentile(single, 0.5)).toBeLessThan(250)
    expect(percentile(burst, 1)).toBeLessThan(5000)
  })
})
