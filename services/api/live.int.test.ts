import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { startOfLocalDay } from '../shared/contracts/local-time.ts'
import mqtt, { type MqttClient } from 'mqtt'
import {
  createTestBroker,
  createTestDatabase,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { randomTopicPrefix } from '../shared/testing/helpers.ts'
import { onTransitsChanged } from './lib/transits-changed.ts'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../shared/contracts/topics.ts'
import type { TransitsChanged } from '../shared/contracts/gateway-messages.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import { LiveServerMessageSchema, type LiveServerMessage } from '../shared/contracts/api.ts'
import { bearer, countingDb, insertTransits, threeShopDistrict } from './api-test-helpers.ts'
import {
  uncalibratedModel,
  type CalibrationModel,
  type KindModel,
} from '../shared/people/calibration.ts'
import { DEFAULT_ESTIMATOR_OPTIONS } from '../shared/people/estimator.ts'
import { raiseAlerts } from './queries/alert-queries.ts'

const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
let url = ''
const keys = { analyst: '', shopkeeper: '' }

/** A ws client that queues every message, so none is missed between awaits. */
class Client {
  readonly ws: WebSocket
  readonly messages: LiveServerMessage[] = []
  #waiters: (() => void)[] = []
  closed: { code: number; reason: string } | null = null

  constructor(target: string, protocols?: string[], options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(target, protocols, options)
    this.ws.on('message', (data) => {
      this.messages.push(LiveServerMessageSchema.parse(JSON.parse(String(data))))
      for (const w of this.#waiters.splice(0)) w()
    })
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) }
      for (const w of this.#waiters.splice(0)) w()
    })
    this.ws.on('error', () => undefined)
  }

  async open() {
    await once(this.ws, 'open')
    return this
  }

  send(m: object) {
    this.ws.send(JSON.stringify(m))
  }

  /** The first message at or after `from` that `ok` accepts. */
  async next<T extends LiveServerMessage>(
    ok: (m: LiveServerMessage) => m is T,
    opts: { from?: number; timeoutMs?: number } = {},
  ): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
    let i = opts.from ?? 0
    for (;;) {
      for (; i < this.messages.length; i++) {
        const m = this.messages[i]!
        if (ok(m)) return m
      }
      if (this.closed) throw new Error(`closed ${JSON.stringify(this.closed)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no such message; got ${JSON.stringify(this.messages)}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  async closedWith(timeoutMs = 10_000) {
    if (!this.closed) await Promise.race([once(this.ws, 'close'), sleep(timeoutMs)])
    return this.closed
  }

  close() {
    this.ws.terminate()
  }
}

/** A moment a few seconds ago, but never before today's local midnight (the feed's "today"). */
const recent = () => Math.max(Date.now() - 2000, startOfLocalDay(Date.now(), 'Europe/Rome'))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const isReady = (m: LiveServerMessage): m is Extract<LiveServerMessage, { type: 'ready' }> =>
  m.type === 'ready'
const isCounts = (m: LiveServerMessage): m is Extract<LiveServerMessage, { type: 'counts' }> =>
  m.type === 'counts'
const isError = (m: LiveServerMessage): m is Extract<LiveServerMessage, { type: 'error' }> =>
  m.type === 'error'

function today(m: Extract<LiveServerMessage, { type: 'counts' }>, zoneId: string) {
  return m.zones.find((z) => z.zoneId === zoneId)?.today.passersBy ?? -1
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no address')
  return `ws://127.0.0.1:${address.port}/api/v1/live`
}

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, threeShopDistrict())
  keys.analyst = (await createApiKey(database.db, { role: 'analyst', label: 'a' })).key
  keys.shopkeeper = (
    await createApiKey(database.db, { role: 'shopkeeper', shopId: 'shop-one', label: 's' })
  ).key
  sut = await buildApp({ db: database.db, log, checks: { broker: () => ({ up: true }) } })
  url = await listen(sut)
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

describe('GET /api/v1/live', () => {
  it('authenticates by the first message and pushes per-zone counts', async () => {
    const c = await new Client(url).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      const ready = await c.next(isReady)
      expect(ready).toEqual({
        type: 'ready',
        role: 'analyst',
        shopId: null,
        zones: ['street-a', 'shop-one', 'shop-two', 'shop-three'],
      })
      const counts = await c.next(isCounts)
      expect(counts.zones.map((z) => z.zoneId)).toEqual(ready.zones)
      expect(counts.zones[0]).toMatchObject({
        today: expect.any(Object),
        last15m: expect.any(Object),
      })
    } finally {
      c.close()
    }
  })

  it('delivers a transit written to the database to a subscribed client within about a second', async () => {
    const c = await new Client(url).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      let last = await c.next(isCounts)
      const delays: number[] = []
      // Insert at three phases of the 1 s poll: right after a push, a third and two thirds later.
      for (const phaseMs of [0, 333, 666]) {
        await sleep(phaseMs)
        const before = today(last, 'street-a')
        const mark = c.messages.length
        await insertTransits(database.db, [{ gateway: 'gw-street-a', at: recent() }])
        const written = Date.now()
        last = await c.next(
          (m): m is Extract<LiveServerMessage, { type: 'counts' }> =>
            isCounts(m) && today(m, 'street-a') === before + 1,
          { from: mark },
        )
        delays.push(Date.now() - written)
        expect(last.zones.find((z) => z.zoneId === 'street-a')?.last15m.passersBy).toBeGreaterThan(
          0,
        )
      }
      console.log(
        `live feed: transits reached the client ${delays.join(', ')} ms after their INSERT committed (poll 1000 ms)`,
      )
      for (const d of delays) expect(d).toBeLessThan(3_000)
    } finally {
      c.close()
    }
  })

  it('accepts the key as a Sec-WebSocket-Protocol value next to miglio.v1', async () => {
    const c = await new Client(url, ['miglio.v1', keys.analyst]).open()
    try {
      expect(c.ws.protocol).toBe('miglio.v1')
      expect((await c.next(isReady)).role).toBe('analyst')
    } finally {
      c.close()
    }
  })

  it('refuses a key in the URL before the upgrade', async () => {
    for (const q of [`key=${keys.analyst}`, `token=${keys.analyst}`, `x=${keys.analyst}`]) {
      const ws = new WebSocket(`${url}?${q}`)
      ws.on('error', () => undefined)
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }]
      expect(res.statusCode).toBe(400)
      ws.terminate()
    }
  })

  it('refuses an unknown key, by message (close 4401) and by header (401)', async () => {
    const c = await new Client(url).open()
    c.send({ type: 'auth', key: `mgl_${'n'.repeat(43)}` })
    expect((await c.next(isError)).code).toBe('unauthorised')
    expect((await c.closedWith())?.code).toBe(4401)

    const ws = new WebSocket(url, ['miglio.v1', `mgl_${'n'.repeat(43)}`])
    ws.on('error', () => undefined)
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }]
    expect(res.statusCode).toBe(401)
    ws.terminate()
  })

  it('closes a client that subscribes before authenticating', async () => {
    const c = await new Client(url).open()
    c.send({ type: 'subscribe', zones: ['street-a'] })
    expect((await c.next(isError)).code).toBe('unauthorised')
    expect((await c.closedWith())?.code).toBe(4401)
  })

  it("gives a shopkeeper only its shop's zone, and an error for another shop's zone", async () => {
    const c = await new Client(url).open()
    try {
      c.send({ type: 'auth', key: keys.shopkeeper })
      expect(await c.next(isReady)).toMatchObject({ shopId: 'shop-one', zones: ['shop-one'] })
      const first = await c.next(isCounts)
      expect(first.zones.map((z) => z.zoneId)).toEqual(['shop-one'])

      for (const zone of ['street-a', 'shop-two']) {
        const mark = c.messages.length
        c.send({ type: 'subscribe', zones: [zone] })
        const err = await c.next(isError, { from: mark })
        expect(err.code).toBe('forbidden')
        expect(err.message).toContain(zone)
      }
      const mark = c.messages.length
      c.send({ type: 'subscribe', zones: ['nowhere'] })
      expect((await c.next(isError, { from: mark })).code).toBe('not_found')

      const before = today(first, 'shop-one')
      const fromHere = c.messages.length
      await insertTransits(database.db, [
        { gateway: 'gw-street-a', at: recent() },
        { gateway: 'gw-shop-two', at: recent() },
        { gateway: 'gw-shop-one', at: recent() },
      ])
      await c.next(
        (m): m is Extract<LiveServerMessage, { type: 'counts' }> =>
          isCounts(m) && today(m, 'shop-one') === before + 1,
        { from: fromHere },
      )
      for (const m of c.messages.filter(isCounts))
        expect(m.zones.map((z) => z.zoneId)).toEqual(['shop-one'])
    } finally {
      c.close()
    }
  })

  it('narrows an analyst to the zones it subscribes to', async () => {
    const c = await new Client(url).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      await c.next(isCounts)
      await sleep(1100)
      const mark = c.messages.length
      c.send({ type: 'subscribe', zones: ['shop-two'] })
      const narrowed = await c.next(isCounts, { from: mark })
      expect(narrowed.zones.map((z) => z.zoneId)).toEqual(['shop-two'])
    } finally {
      c.close()
    }
  })

  it('answers a plain GET with 426', async () => {
    const res = await sut.inject({ method: 'GET', url: '/api/v1/live' })
    expect(res.statusCode).toBe(426)
    expect(res.json()).toMatchObject({ error: { code: 'upgrade_required' } })
  })
})

describe('live feed timeouts', () => {
  let app: FastifyInstance
  let fastUrl = ''

  beforeAll(async () => {
    app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { live: { authTimeoutMs: 300, pingMs: 200 } },
    })
    fastUrl = await listen(app)
  })
  afterAll(async () => {
    await app?.close()
  })

  it('closes a client that does not authenticate in time (4408)', async () => {
    const c = await new Client(fastUrl).open()
    expect((await c.closedWith())?.code).toBe(4408)
  })

  it('pings clients and terminates one that stops answering', async () => {
    const alive = await new Client(fastUrl).open()
    const dead = await new Client(fastUrl, undefined, { autoPong: false }).open()
    try {
      alive.send({ type: 'auth', key: keys.analyst })
      dead.send({ type: 'auth', key: keys.analyst })
      await alive.next(isReady)
      await dead.next(isReady)
      const closed = await dead.closedWith(3_000)
      expect(closed?.code).toBe(1006)
      await sleep(500)
      expect(alive.closed).toBeNull()
      const metrics = await app.inject({ method: 'GET', url: '/metrics' })
      expect(metrics.body).toMatch(/miglio_api_live_terminated_total 1/)
    } finally {
      alive.close()
      dead.close()
    }
  })
})

describe('live feed pushed by ingest announcements', () => {
  let app: FastifyInstance
  let pushUrl = ''
  let broker: TestBroker
  let apiClient: MqttClient
  let ingestClient: MqttClient
  const prefix = randomTopicPrefix('live')

  beforeAll(async () => {
    broker = await createTestBroker()
    apiClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-api` })
    ingestClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-ingest` })
    app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      // A poll every 30 s: anything faster than that comes from an announcement.
      options: { live: { pollMs: 30_000 } },
      onTransitsChanged: onTransitsChanged(apiClient, prefix, log),
    })
    pushUrl = await listen(app)
  })
  afterAll(async () => {
    await app?.close()
    await apiClient?.endAsync()
    await ingestClient?.endAsync()
    await broker?.close()
  })

  it('polls at once when ingest announces new transits, and ignores malformed announcements', async () => {
    const c = await new Client(pushUrl).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      const first = await c.next(isCounts)
      const before = today(first, 'street-a')
      await insertTransits(database.db, [{ gateway: 'gw-street-a', at: recent() }])
      const topic = withTopicPrefix(prefix, TRANSITS_CHANGED_TOPIC)

      // Not an announcement: nothing happens until the next poll, 30 s away.
      await ingestClient.publishAsync(topic, '{"v":1,"zones":"street-a"}')
      await sleep(1500)
      expect(c.messages.filter(isCounts)).toHaveLength(1)

      const mark = c.messages.length
      const announced = Date.now()
      // What ingest publishes (services/ingest/transits-changed.ts), as the contract defines it:
      // the API meets ingest in the contract, never in its code.
      const announcement: TransitsChanged = { v: 1, zones: ['street-a'] }
      await ingestClient.publishAsync(topic, JSON.stringify(announcement))
      const pushed = await c.next(
        (m): m is Extract<LiveServerMessage, { type: 'counts' }> =>
          isCounts(m) && today(m, 'street-a') === before + 1,
        { from: mark, timeoutMs: 5000 },
      )
      expect(pushed.type).toBe('counts')
      console.log(
        `live feed: announced transit reached the client ${Date.now() - announced} ms later`,
      )
    } finally {
      c.close()
    }
  })
})

describe('live feed and key revocation', () => {
  it('closes the sockets of a revoked key on every replica within a second (4403)', async () => {
    // Two replicas that share nothing but the database.
    const deps = { db: database.db, log, checks: { broker: () => ({ up: true }) } }
    const [one, two] = [await buildApp(deps), await buildApp(deps)]
    const clients: Client[] = []
    try {
      const [urlOne, urlTwo] = [await listen(one), await listen(two)]
      const admin = await createApiKey(database.db, { role: 'admin', label: 'revoker' })
      const doomed = await createApiKey(database.db, { role: 'analyst', label: 'doomed' })
      const connect = async (target: string, key: string) => {
        const c = await new Client(target).open()
        clients.push(c)
        c.send({ type: 'auth', key })
        await c.next(isCounts)
        return c
      }
      const onOne = await connect(urlOne, doomed.key)
      const onTwo = await connect(urlTwo, doomed.key)
      const bystander = await connect(urlTwo, keys.analyst)

      const revokedAt = Date.now()
      const res = await one.inject({
        method: 'DELETE',
        url: `/api/v1/admin/keys/${doomed.id}`,
        headers: bearer(admin.key),
      })
      expect(res.statusCode).toBe(204)
      const [closedOne, closedTwo] = await Promise.all([
        onOne.closedWith(2000),
        onTwo.closedWith(2000),
      ])
      const took = Date.now() - revokedAt
      expect(closedOne).toEqual({ code: 4403, reason: 'key revoked' })
      expect(closedTwo).toEqual({ code: 4403, reason: 'key revoked' })
      expect(took).toBeLessThan(1000)
      for (const c of [onOne, onTwo])
        expect(c.messages.at(-1)).toMatchObject({ type: 'error', code: 'unauthorised' })
      // Other keys keep their feed.
      expect(bystander.closed).toBeNull()
      console.log(
        `live feed: a revoked key's sockets closed on both replicas ${took} ms after DELETE`,
      )
    } finally {
      for (const c of clients) c.close()
      await one.close()
      await two.close()
    }
  })
})

describe('live feed limits per client address', () => {
  it('refuses authentication with 4429 once an address has failed too often, without a lookup', async () => {
    const lookups = countingDb(database.db, 'api_keys')
    const app = await buildApp({
      db: lookups.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { authFailureLimit: { capacity: 2, refillPerSecond: 0.01 } },
    })
    try {
      const target = await listen(app)
      const bad = `mgl_${'b'.repeat(43)}`
      // A key seen valid from this address before keeps working; failures then spend the budget.
      const good = await new Client(target).open()
      good.send({ type: 'auth', key: keys.analyst })
      await good.next(isReady)
      good.close()
      for (let i = 0; i < 2; i++) {
        const c = await new Client(target).open()
        c.send({ type: 'auth', key: bad })
        expect((await c.next(isError)).code).toBe('unauthorised')
        expect((await c.closedWith())?.code).toBe(4401)
      }
      const before = lookups.count()
      const limited = await new Client(target).open()
      limited.send({ type: 'auth', key: bad })
      expect((await limited.next(isError)).code).toBe('rate_limited')
      expect((await limited.closedWith())?.code).toBe(4429)
      // By header: 429 before the upgrade.
      const ws = new WebSocket(target, ['miglio.v1', bad])
      ws.on('error', () => undefined)
      const [, res] = (await once(ws, 'unexpected-response')) as [
        unknown,
        { statusCode: number; headers: Record<string, string> },
      ]
      expect(res.statusCode).toBe(429)
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      ws.terminate()
      expect(lookups.count()).toBe(before)

      const again = await new Client(target).open()
      again.send({ type: 'auth', key: keys.analyst })
      expect((await again.next(isReady)).role).toBe('analyst')
      again.close()
    } finally {
      await app.close()
    }
  })

  it('answers a message flood with rate_limited errors, then closes 4429; zone owners are cached', async () => {
    const owners = countingDb(database.db, 'zones')
    const app = await buildApp({
      db: owners.db,
      log,
      checks: { broker: () => ({ up: true }) },
      // No poll during the test (the poll reads zones too).
      options: {
        live: { pollMs: 60_000 },
        liveMessageLimit: { capacity: 6, refillPerSecond: 0.01, closeAfter: 3 },
      },
    })
    try {
      const c = await new Client(await listen(app)).open()
      c.send({ type: 'auth', key: keys.analyst })
      await c.next(isCounts)
      const before = owners.count()
      // Auth took one token: five subscriptions pass, and cost at most one zone query together.
      for (let i = 0; i < 5; i++) c.send({ type: 'subscribe', zones: ['street-a'] })
      const mark = c.messages.length
      for (let i = 0; i < 3; i++) c.send({ type: 'subscribe', zones: ['street-a'] })
      const err = await c.next(isError, { from: mark })
      expect(err.code).toBe('rate_limited')
      expect((await c.closedWith())?.code).toBe(4429)
      expect(c.messages.filter(isError).every((m) => m.code === 'rate_limited')).toBe(true)
      expect(owners.count() - before).toBeLessThanOrEqual(1)
    } finally {
      await app.close()
    }
  })
})

describe('live feed: people present now', () => {
  let app: FastifyInstance
  let peopleUrl = ''
  const present = (m: Extract<LiveServerMessage, { type: 'counts' }>, zoneId: string) =>
    m.zones.find((z) => z.zoneId === zoneId)?.presentNow

  beforeAll(async () => {
    // shop-three's gateway is calibrated: people present = devices present × 2, interval ± √(e+1).
    const base = uncalibratedModel('shop-three', DEFAULT_ESTIMATOR_OPTIONS)
    const model: CalibrationModel = {
      ...base,
      version: 2,
      present: {
        ...(base.present as KindModel),
        coefficients: { intercept: 0, stable: 2, randomised: 2 },
        q: 1,
        relativeError: 0,
      },
    }
    app = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { live: { peopleEveryMs: 0 } },
      calibrations: async (q) =>
        new Map(q.zoneIds.includes('shop-three') ? [['gw-shop-three', model]] : []),
    })
    peopleUrl = await listen(app)
  })
  afterAll(async () => {
    await app?.close()
  })

  it('sends each zone its people present now with the 90 % interval and calibrated', async () => {
    const c = await new Client(peopleUrl).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      const first = await c.next(isCounts)
      // Nobody heard at shop-three yet: 0 people, the calibrated empty-room interval [0, 1].
      expect(present(first, 'shop-three')).toEqual({
        people: 0,
        low: 0,
        high: 1,
        calibrated: true,
      })
      // street-a has no calibration: its figure says so.
      expect(present(first, 'street-a')?.calibrated).toBe(false)
      // A device heard at shop-three for the whole of the last 15 minutes, still being heard.
      const now = Date.now()
      await database.db
        .insertInto('open_transits')
        .values({
          gateway_id: 'gw-shop-three',
          pseudonym: 424242,
          first_seen: new Date(now - 20 * 60_000),
          last_seen: new Date(now + 60_000),
          peak_rssi: -60,
          samples: 200,
          radio: 'wifi',
          randomised: false,
        })
        .execute()
      const mark = c.messages.length
      const after = await c.next(
        (m): m is Extract<LiveServerMessage, { type: 'counts' }> =>
          isCounts(m) && (present(m, 'shop-three')?.people ?? 0) > 0,
        { from: mark },
      )
      const figure = present(after, 'shop-three')
      expect(figure?.people).toBeCloseTo(2, 9)
      expect(figure?.low).toBeCloseTo(2 - Math.sqrt(3), 9)
      expect(figure?.high).toBeCloseTo(2 + Math.sqrt(3), 9)
      expect(figure?.calibrated).toBe(true)
    } finally {
      c.close()
      await database.db
        .deleteFrom('open_transits')
        .where('gateway_id', '=', 'gw-shop-three')
        .execute()
    }
  })

  it('still sends the counts when people present now cannot be estimated', async () => {
    const failing = await buildApp({
      db: database.db,
      log,
      checks: { broker: () => ({ up: true }) },
      options: { live: { peopleEveryMs: 0 } },
      calibrations: async () => {
        throw new Error('calibration store unavailable')
      },
    })
    const c = await new Client(await listen(failing)).open()
    try {
      c.send({ type: 'auth', key: keys.analyst })
      const counts = await c.next(isCounts)
      expect(counts.zones.length).toBeGreaterThan(0)
      for (const z of counts.zones) expect(z.presentNow).toBeNull()
    } finally {
      c.close()
      await failing.close()
    }
  })
})

describe('alerts on the live feed', () => {
  const isAlert = (m: LiveServerMessage): m is Extract<LiveServerMessage, { type: 'alert' }> =>
    m.type === 'alert'

  it("pushes an alert change to analysts, and to a shopkeeper only its shop's", async () => {
    const [shopAlert, streetAlert] = await raiseAlerts(
      database.db,
      [
        {
          kind: 'gateway_silent',
          zoneId: 'shop-one',
          shopId: 'shop-one',
          gatewayId: 'gw-shop-one',
          details: { silentMinutes: 20 },
        },
        {
          kind: 'zone_outside_band',
          zoneId: 'street-a',
          shopId: null,
          gatewayId: null,
          details: { direction: 'above' },
        },
      ],
      new Date(),
    )
    const analyst = await new Client(url).open()
    const shopkeeper = await new Client(url).open()
    try {
      analyst.send({ type: 'auth', key: keys.analyst })
      shopkeeper.send({ type: 'auth', key: keys.shopkeeper })
      await analyst.next(isReady)
      await shopkeeper.next(isReady)
      for (const a of [streetAlert, shopAlert]) {
        const res = await sut.inject({
          method: 'POST',
          url: `/api/v1/alerts/${a?.id}/acknowledge`,
          headers: bearer(keys.analyst),
        })
        expect(res.statusCode, res.body).toBe(200)
      }
      const first = await analyst.next(isAlert)
      expect(first.alert).toMatchObject({ id: streetAlert?.id, kind: 'zone_outside_band' })
      expect(first.alert.acknowledgedAt).not.toBeNull()
      const own = await shopkeeper.next(isAlert)
      expect(own.alert).toMatchObject({ id: shopAlert?.id, shopId: 'shop-one' })
      expect(shopkeeper.messages.filter(isAlert)).toHaveLength(1)
    } finally {
      analyst.close()
      shopkeeper.close()
    }
  })
})
