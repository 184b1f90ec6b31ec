import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import { sql } from 'kysely'
import { buildApp } from './app.ts'
import { insertTransits, threeShopDistrict } from './api-test-helpers.ts'
import { createDb, type Db } from '../shared/db/create-db.ts'
import { createTestDatabase, waitFor, type TestDatabase } from '../shared/testing/engines.ts'
import { startStandby, standbyUnavailable, type Standby } from '../shared/testing/standby.ts'
import { createLogCapture } from '../shared/testing/helpers.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { LiveServerMessageSchema, type LiveServerMessage } from '../shared/contracts/api.ts'
import { startOfLocalDay } from '../shared/contracts/local-time.ts'
import mqtt from 'mqtt'
import { createTestBroker } from '../shared/testing/engines.ts'
import { randomTopicPrefix } from '../shared/testing/helpers.ts'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../shared/contracts/topics.ts'
import { liveBucketOf, type TransitsChanged } from '../shared/contracts/gateway-messages.ts'
import { onTransitsChanged } from './lib/transits-changed.ts'

// DATABASE_READ_URL: the API reads analytics from a streaming hot standby of the primary, keeps
// keys on the primary, and says on the live feed how far behind the standby is. Needs the native
// server (a standby of the embedded database does not exist); CI runs it in the native pass.
type Counts = Extract<LiveServerMessage, { type: 'counts' }>

let database: TestDatabase
let standby: Standby | null = null
let replica: Db | null = null
let sut: FastifyInstance | null = null
let skipped: string | null = null
const logs = createLogCapture('warn')

const transitsOn = async (db: Db) =>
  Number(
    (
      await db
        .selectFrom('transits')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  )

beforeAll(async () => {
  database = await createTestDatabase()
  const adminUrl = inject('databaseAdminUrl')
  skipped =
    database.kind === 'embedded' || !adminUrl
      ? 'needs a real server (TEST_DATABASE_URL); CI runs it on the native TimescaleDB'
      : standbyUnavailable()
  if (skipped || !adminUrl) return
  await loadDistrict(database.db, threeShopDistrict())
  standby = await startStandby(adminUrl)
  replica = createDb({ url: standby.urlOf(database.url), maxConnections: 2 }).db
  sut = await buildApp({
    db: database.db,
    readDb: replica,
    log: logs.log,
    checks: { broker: () => ({ up: true }) },
    options: { rateLimit: { enabled: false } },
  })
  await sut.listen({ port: 0, host: '127.0.0.1' })
}, 180_000)

afterAll(async () => {
  await sut?.close()
  await replica?.destroy()
  await standby?.stop()
  await database?.close()
})

describe('the API on a read replica (DATABASE_READ_URL)', () => {
  it('serves live counts from the standby, and says how far behind it is', async (ctx) => {
    if (skipped || !sut || !replica || !standby) {
      process.stderr.write(`read replica test skipped: ${skipped}\n`)
      return ctx.skip(skipped ?? 'no standby')
    }
    const replicaDb = replica
    // A moment a few seconds ago, never before today's local midnight (the feed's "today").
    const recent = () => Math.max(Date.now() - 2000, startOfLocalDay(Date.now(), 'Europe/Rome'))
    await insertTransits(database.db, [
      { gateway: 'gw-street-a', at: recent() },
      { gateway: 'gw-street-a', at: recent() },
    ])
    await waitFor(
      () => transitsOn(replicaDb),
      (n) => n === 2,
      { what: 'the standby replays' },
    )
    // The key is written on the primary and read there: it works at once, replica or not.
    const { key } = await createApiKey(database.db, { role: 'analyst', label: 'replica' })
    const address = sut.server.address()
    if (!address || typeof address === 'string') throw new Error('no address')
    const ws = new WebSocket(`ws://127.0.0.1:${address.port}/api/v1/live`, ['miglio.v1'])
    const counts: Counts[] = []
    ws.on('message', (data) => {
      const m = LiveServerMessageSchema.parse(JSON.parse(String(data)))
      if (m.type === 'counts') counts.push(m)
    })
    ws.on('error', () => undefined)
    await once(ws, 'open')
    ws.send(JSON.stringify({ type: 'auth', key }))
    const streetA = (m: Counts) => m.zones.find((z) => z.zoneId === 'street-a')?.today.passersBy
    const latest = () => Promise.resolve(counts.at(-1))
    try {
      const caughtUp = await waitFor(latest, (m) => m !== undefined && streetA(m) === 2, {
        what: 'counts read from the standby',
      })
      expect(caughtUp?.readLagMs).toBe(0)

      // Replay paused: the primary moves on, the standby (and so the feed) does not, and the feed
      // says it is behind.
      await standby.pauseReplay()
      await insertTransits(database.db, [{ gateway: 'gw-street-a', at: recent() }])
      await sql`SELECT pg_switch_wal()`.execute(database.db).catch(() => undefined)
      expect(await transitsOn(database.db)).toBe(3)
      const behind = await waitFor(latest, (m) => m !== undefined && (m.readLagMs ?? 0) > 0, {
        what: 'a lag on the feed',
        timeoutMs: 20_000,
      })
      expect(streetA(behind!)).toBe(2)
      expect(await transitsOn(replicaDb)).toBe(2)

      await standby.resumeReplay()
      const after = await waitFor(
        latest,
        (m) => m !== undefined && streetA(m) === 3 && m.readLagMs === 0,
        { what: 'the standby caught up', timeoutMs: 20_000 },
      )
      expect(after?.readLagMs).toBe(0)
    } finally {
      ws.terminate()
    }
  })

  it("keeps an announced commit on the feed while the standby is behind, and counts it once when it catches up (ingest's deltas)", async (ctx) => {
    if (skipped || !replica || !standby) {
      process.stderr.write(`read replica test skipped: ${skipped}\n`)
      return ctx.skip(skipped ?? 'no standby')
    }
    const replicaDb = replica
    const standbyNow = standby
    const broker = await createTestBroker()
    const prefix = randomTopicPrefix('replica-deltas')
    const topic = withTopicPrefix(prefix, TRANSITS_CHANGED_TOPIC)
    const apiClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-api` })
    const ingestClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-ingest` })
    const app = await buildApp({
      db: database.db,
      readDb: replicaDb,
      log: logs.log,
      checks: { broker: () => ({ up: true }) },
      options: {
        rateLimit: { enabled: false },
        live: { peopleEveryMs: 300_000, resyncEveryMs: 3_600_000 },
      },
      onTransitsChanged: onTransitsChanged(apiClient, prefix, logs.log),
    })
    const metric = async (name: string) => {
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body
      const line = body.split('\n').find((l) => l.startsWith(`${name} `))
      return line ? Number(line.split(' ')[1]) : 0
    }
    const publish = (m: TransitsChanged) => ingestClient.publishAsync(topic, JSON.stringify(m))
    const counts: Counts[] = []
    let ws: WebSocket | null = null
    try {
      await waitFor(
        async () => [await transitsOn(database.db), await transitsOn(replicaDb)],
        ([p, r]) => p === r,
        { what: 'the standby caught up before the test' },
      )
      const { key } = await createApiKey(database.db, { role: 'analyst', label: 'deltas' })
      const address = await app.listen({ port: 0, host: '127.0.0.1' })
      ws = new WebSocket(`${address.replace(/^http/, 'ws')}/api/v1/live`, ['miglio.v1'])
      ws.on('message', (data) => {
        const m = LiveServerMessageSchema.parse(JSON.parse(String(data)))
        if (m.type === 'counts') counts.push(m)
      })
      ws.on('error', () => undefined)
      await once(ws, 'open')
      ws.send(JSON.stringify({ type: 'auth', key }))
      let seq = 7
      await publish({ v: 2, instance: 'replica-test', seq: seq++, zones: [] })
      await waitFor(
        () => metric('miglio_api_live_resyncs_total{reason="unknown_instance"}'),
        (n) => n === 1,
        { what: 'the resync for the new instance' },
      )
      const streetA = (m: Counts | undefined) =>
        m?.zones.find((z) => z.zoneId === 'street-a')?.today.passersBy ?? -1
      const latest = () => Promise.resolve(streetA(counts.at(-1)))
      const before = await latest()
      expect(before).toBe(await transitsOn(database.db))

      // Replay paused: a commit on the primary, announced. The feed shows it from the announcement.
      await standbyNow.pauseReplay()
      const at = Math.max(Date.now() - 2000, startOfLocalDay(Date.now(), 'Europe/Rome'))
      const xid = await database.db.transaction().execute(async (trx) => {
        await insertTransits(trx, [{ gateway: 'gw-street-a', at }])
        return (await sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`.execute(trx))
          .rows[0]?.xid
      })
      await sql`SELECT pg_switch_wal()`.execute(database.db).catch(() => undefined)
      const delta: TransitsChanged = {
        v: 2,
        instance: 'replica-test',
        seq: seq++,
        ...(xid ? { xid } : {}),
        zones: [{ id: 'street-a', b: [[liveBucketOf(at), 1, 0]] }],
      }
      await publish(delta)
      await waitFor(latest, (n) => n === before + 1, { what: 'the announced commit on the feed' })

      // A resync from the standby that has not replayed it: its snapshot does not see the
      // commit, so the announced transit stays counted.
      const v1: TransitsChanged = { v: 1, zones: ['street-a'] }
      const afterResync = async (n: number) => {
        await waitFor(
          () => metric('miglio_api_live_resyncs_total{reason="v1"}'),
          (r) => r === n,
          { what: `resync ${n} from the standby` },
        )
        const polls = await metric('miglio_api_live_polls_total')
        await waitFor(
          () => metric('miglio_api_live_polls_total'),
          (p) => p >= polls + 2,
          { what: 'two more ticks of the feed', timeoutMs: 10_000 },
        )
      }
      await publish(v1)
      await afterResync(1)
      expect(await transitsOn(replicaDb)).toBe(before)
      expect(await latest()).toBe(before + 1)

      // Replayed: a resync now sees the commit, and the announcement is not added on top of it.
      await standbyNow.resumeReplay()
      await waitFor(
        () => transitsOn(replicaDb),
        (n) => n === before + 1,
        { what: 'the standby replays', timeoutMs: 20_000 },
      )
      await publish(v1)
      await afterResync(2)
      expect(await latest()).toBe(before + 1)
    } finally {
      ws?.terminate()
      await standbyNow.resumeReplay().catch(() => undefined)
      await app.close()
      await apiClient.endAsync()
      await ingestClient.endAsync()
      await broker.close()
    }
  })
})
