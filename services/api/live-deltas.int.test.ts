import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import mqtt, { type MqttClient } from 'mqtt'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { onTransitsChanged } from './lib/transits-changed.ts'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { randomTopicPrefix } from '../shared/testing/helpers.ts'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../shared/contracts/topics.ts'
import { liveBucketOf, type TransitsChanged } from '../shared/contracts/gateway-messages.ts'
import { startOfLocalDay } from '../shared/contracts/local-time.ts'
import { LiveServerMessageSchema, type LiveServerMessage } from '../shared/contracts/api.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { insertTransits, threeShopDistrict } from './api-test-helpers.ts'

type Counts = Extract<LiveServerMessage, { type: 'counts' }>

const log = createLogger({ level: 'silent' })
const prefix = randomTopicPrefix('deltas')
const topic = withTopicPrefix(prefix, TRANSITS_CHANGED_TOPIC)
let database: TestDatabase
let broker: TestBroker
let apiClient: MqttClient
let ingestClient: MqttClient
let app: FastifyInstance
let url = ''
let key = ''
/** Statements the API sent to the database that read transits (the live feed's queries). */
let transitReads = 0

/** A Db that counts the statements reading `transits` or `footfall_15m` (raw SQL included). */
function countingReads(db: Db): Db {
  return db.withPlugin({
    transformQuery({ node }) {
      if (/transits|footfall_15m/.test(JSON.stringify(node))) transitReads++
      return node
    },
    async transformResult({ result }) {
      return result
    },
  })
}

/** A moment a few seconds ago, but never before today's local midnight (the feed's "today"). */
const recent = () => Math.max(Date.now() - 2000, startOfLocalDay(Date.now(), 'Europe/Rome'))

/** Commits one passer-by transit at street-a; returns its transaction's id and first_seen. */
async function commitTransit(): Promise<{ xid: string; at: number }> {
  const at = recent()
  const xid = await database.db.transaction().execute(async (trx) => {
    await insertTransits(trx, [{ gateway: 'gw-street-a', at }])
    return (await sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`.execute(trx))
      .rows[0]!.xid
  })
  return { xid, at }
}

/** What ingest publishes after that commit (services/ingest/transits-changed.ts), by the contract. */
function announcement(seq: number, t: { xid: string; at: number }): TransitsChanged {
  return {
    v: 2,
    instance: 'test-ingest',
    seq,
    xid: t.xid,
    zones: [{ id: 'street-a', b: [[liveBucketOf(t.at), 1, 0]] }],
  }
}

async function metric(name: string, labels = ''): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}${labels} `))
  return line ? Number(line.split(' ')[1]) : 0
}

/** A WebSocket client that keeps every counts message. */
async function connect(to = url): Promise<{ counts: Counts[]; close: () => void }> {
  const ws = new WebSocket(to)
  const counts: Counts[] = []
  ws.on('message', (data) => {
    const m = LiveServerMessageSchema.parse(JSON.parse(String(data)))
    if (m.type === 'counts') counts.push(m)
  })
  ws.on('error', () => undefined)
  await once(ws, 'open')
  ws.send(JSON.stringify({ type: 'auth', key }))
  await waitFor(
    () => Promise.resolve(counts.length),
    (n) => n > 0,
    { what: 'the first counts' },
  )
  return { counts, close: () => ws.terminate() }
}

const streetA = (m: Counts | undefined) =>
  m?.zones.find((z) => z.zoneId === 'street-a')?.today.passersBy ?? -1
const lastStreetA = (c: { counts: Counts[] }) => Promise.resolve(streetA(c.counts.at(-1)))

beforeAll(async () => {
  database = await createTestDatabase()
  broker = await createTestBroker()
  await loadDistrict(database.db, threeShopDistrict())
  key = (await createApiKey(database.db, { role: 'analyst', label: 'deltas' })).key
  apiClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-api` })
  ingestClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-ingest` })
  app = await buildApp({
    db: database.db,
    readDb: countingReads(database.db),
    log,
    checks: { broker: () => ({ up: true }) },
    // People present now and the safety resync out of the way: every read here is a resync.
    options: { live: { peopleEveryMs: 300_000, resyncEveryMs: 3_600_000 } },
    onTransitsChanged: onTransitsChanged(apiClient, prefix, log),
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('no address')
  url = `ws://127.0.0.1:${address.port}/api/v1/live`
})

afterAll(async () => {
  await app?.close()
  await apiClient?.endAsync()
  await ingestClient?.endAsync()
  await broker?.close()
  await database?.close()
})

describe('live feed kept from ingest announcements (v2 deltas)', () => {
  let seq = 1000

  it('pushes an announced commit to a client without reading the database, and repairs a lost announcement by a resync', async () => {
    const c = await connect()
    try {
      // The instance introduces itself (an unknown instance is read again once).
      await ingestClient.publishAsync(
        topic,
        JSON.stringify({ v: 2, instance: 'test-ingest', seq: seq++, zones: [] }),
      )
      await waitFor(
        () => metric('miglio_api_live_resyncs_total', '{reason="unknown_instance"}'),
        (n) => n === 1,
        { what: 'the resync for the new instance' },
      )
      const before = await lastStreetA(c)
      const reads = transitReads
      const resyncs = await metric('miglio_api_live_resyncs_total', '{reason="gap"}')

      // Commit → announcement → client, with no statement in between.
      const one = await commitTransit()
      const published = Date.now()
      await ingestClient.publishAsync(topic, JSON.stringify(announcement(seq++, one)))
      await waitFor(
        () => lastStreetA(c),
        (n) => n === before + 1,
        { what: 'the announced transit on the feed' },
      )
      const latencyMs = Date.now() - published
      // Several more ticks of the feed (once a second), none of which reads the database.
      const polls = await metric('miglio_api_live_polls_total')
      await waitFor(
        () => metric('miglio_api_live_polls_total'),
        (n) => n >= polls + 3,
        { what: 'three more ticks of the feed', timeoutMs: 10_000 },
      )
      expect(transitReads).toBe(reads)
      expect(c.counts.at(-1)?.zones.find((z) => z.zoneId === 'street-a')?.last15m.passersBy).toBe(1)
      console.log(`live feed: announced commit reached the client ${latencyMs} ms after publish`)

      // A commit whose announcement is lost (never published), then one that arrives: the second
      // shows at once, the gap is noticed after the reorder grace and every zone is read again.
      await commitTransit()
      seq++
      const three = await commitTransit()
      await ingestClient.publishAsync(topic, JSON.stringify(announcement(seq++, three)))
      await waitFor(
        () => lastStreetA(c),
        (n) => n === before + 3,
        { what: 'the lost transit repaired by the resync' },
      )
      expect(await metric('miglio_api_live_resyncs_total', '{reason="gap"}')).toBe(resyncs + 1)
      expect(transitReads).toBeGreaterThan(reads)
      // Nothing counted twice: the resync saw the announced commit, which stays counted once.
      const readsAfter = transitReads
      const pollsAfter = await metric('miglio_api_live_polls_total')
      await waitFor(
        () => metric('miglio_api_live_polls_total'),
        (n) => n >= pollsAfter + 2,
        { what: 'two more ticks', timeoutMs: 10_000 },
      )
      expect(await lastStreetA(c)).toBe(before + 3)
      expect(transitReads).toBe(readsAfter)
    } finally {
      c.close()
    }
  })

  it('reads the zones of a v1 announcement (an older ingest) again', async () => {
    const c = await connect()
    try {
      const before = await lastStreetA(c)
      await commitTransit()
      const v1s = await metric('miglio_api_live_resyncs_total', '{reason="v1"}')
      const v1: TransitsChanged = { v: 1, zones: ['street-a'] }
      await ingestClient.publishAsync(topic, JSON.stringify(v1))
      await waitFor(
        () => lastStreetA(c),
        (n) => n === before + 1,
        { what: 'the v1 announcement resynced' },
      )
      expect(await metric('miglio_api_live_resyncs_total', '{reason="v1"}')).toBe(v1s + 1)
    } finally {
      c.close()
    }
  })
})

/**
 * An API of its own on the shared database and broker (its own MQTT client, `options.live` as
 * given), listening, with one WebSocket client and an ingest instance of its own that has introduced
 * itself (and been resynced for); everything closed after `body`, `release` first.
 */
async function withOwnApi(
  name: string,
  setup: Omit<Parameters<typeof buildApp>[0], 'db' | 'log' | 'checks' | 'onTransitsChanged'>,
  release: () => void,
  body: (t: {
    app: FastifyInstance
    client: { counts: Counts[] }
    announce: (t: { xid: string; at: number }) => Promise<void>
    resyncs: (reason: string) => Promise<number>
  }) => Promise<void>,
): Promise<void> {
  const mqttClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-${name}` })
  const own = await buildApp({
    ...setup,
    db: database.db,
    log,
    checks: { broker: () => ({ up: true }) },
    onTransitsChanged: onTransitsChanged(mqttClient, prefix, log),
  })
  const resyncs = async (reason: string) => {
    const res = await own.inject({ method: 'GET', url: '/metrics' })
    const line = res.body
      .split('\n')
      .find((l) => l.startsWith(`miglio_api_live_resyncs_total{reason="${reason}"} `))
    return line ? Number(line.split(' ')[1]) : 0
  }
  try {
    await own.listen({ port: 0, host: '127.0.0.1' })
    const address = own.server.address()
    if (!address || typeof address === 'string') throw new Error('no address')
    const c = await connect(`ws://127.0.0.1:${address.port}/api/v1/live`)
    try {
      const instance = `${name}-${prefix}`
      let seq = 1
      await ingestClient.publishAsync(
        topic,
        JSON.stringify({ v: 2, instance, seq: seq++, zones: [] }),
      )
      await waitFor(
        () => resyncs('unknown_instance'),
        (n) => n >= 1,
        { what: 'the resync for the new instance' },
      )
      const announce = async (t: { xid: string; at: number }) => {
        await ingestClient.publishAsync(
          topic,
          JSON.stringify({ ...announcement(seq++, t), instance }),
        )
      }
      await body({ app: own, client: c, announce, resyncs })
    } finally {
      c.close()
    }
  } finally {
    release()
    await own.close()
    await mqttClient.endAsync()
  }
}

describe('live feed while a database read is slow', () => {
  it('pushes an announced commit without waiting for a people estimate in progress', async () => {
    // The first estimate answers; every later one hangs until released, as a read of 4¼ h of
    // sessions does on a pool busy with ingest's commits.
    let estimates = 0
    let release: () => void = () => undefined
    const hung = new Promise<void>((resolve) => {
      release = resolve
    })
    const setup = {
      options: { live: { peopleEveryMs: 0, resyncEveryMs: 3_600_000 } },
      calibrations: async () => {
        if (estimates++ > 0) await hung
        return new Map()
      },
    }
    await withOwnApi(
      'people',
      setup,
      () => release(),
      async ({ client, announce }) => {
        await waitFor(
          () => Promise.resolve(estimates),
          (n) => n >= 2,
          { what: 'a people estimate in progress' },
        )
        const before = await lastStreetA(client)
        await announce(await commitTransit())
        await waitFor(
          () => lastStreetA(client),
          (n) => n === before + 1,
          { what: 'the announced transit while people present now is being estimated' },
        )
        // Still the same estimate in progress: nothing waited for it.
        expect(estimates).toBe(2)
      },
    )
  })

  it('pushes an announced commit while the safety resync is still reading', async () => {
    // Reads of transits through this pool hang while `held` is set, as a resync does on a pool
    // busy with ingest's commits.
    let held: Promise<void> | null = null
    let release: () => void = () => undefined
    let heldReads = 0
    const slowQueries = new WeakSet<object>()
    const slowDb = database.db.withPlugin({
      transformQuery({ node, queryId }) {
        if (held && /transits|footfall_15m/.test(JSON.stringify(node))) slowQueries.add(queryId)
        return node
      },
      async transformResult({ result, queryId }) {
        if (held && slowQueries.has(queryId)) {
          heldReads++
          await held
        }
        return result
      },
    })
    const setup = {
      readDb: slowDb,
      options: { live: { peopleEveryMs: 300_000, resyncEveryMs: 1_000 } },
    }
    await withOwnApi(
      'resync',
      setup,
      () => release(),
      async ({ client, announce, resyncs }) => {
        const before = await lastStreetA(client)
        // Committed before the resync reads (its snapshot sees it), announced while it reads: the
        // embedded engine has one connection, which the hanging read keeps.
        const one = await commitTransit()
        // From now on the resync hangs; the safety timer (every second) starts one.
        held = new Promise<void>((resolve) => {
          release = resolve
        })
        await waitFor(
          () => Promise.resolve(heldReads),
          (n) => n >= 1,
          { what: 'a resync reading' },
        )
        await announce(one)
        await waitFor(
          () => lastStreetA(client),
          (n) => n === before + 1,
          { what: 'the announced transit while a resync reads' },
        )
        // The resync was still reading (not finished): nothing waited for it.
        expect(heldReads).toBe(1)
        // Once it finishes, the counts stay right: its snapshot saw the commit, counted once.
        release()
        held = null
        await waitFor(
          () => resyncs('timer'),
          (n) => n >= 1,
          { what: 'the timer resync finished' },
        )
        expect(await lastStreetA(client)).toBe(before + 1)
      },
    )
  })
})
