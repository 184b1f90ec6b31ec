import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { createServer, type Server } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { loadConfig } from '../services/shared/config.ts'
import { createLogger } from '../services/shared/logger.ts'
import { createDb, type Db } from '../services/shared/db/create-db.ts'
import { startEmbeddedTimescale } from '../services/shared/db/embedded/embedded-timescale.ts'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../services/shared/testing/engines.ts'
import { startPipeline } from './pipeline.ts'
import { startDatabaseProxy } from '../services/shared/testing/database-proxy.ts'

// `miglio start` in-process (startPipeline), on the suite's engines: the database URL of a real server
// when there is one, else the embedded database in a data directory; the suite's broker.

type Captured = { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> }

function capturedLogger(): Captured {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { lines, log: createLogger({ level: 'info', destination }) }
}

/** Sum of a Prometheus counter's samples whose labels include `match`. */
async function metric(baseUrl: string, name: string, match: string[] = []): Promise<number> {
  const text = await (await fetch(new URL('metrics', baseUrl))).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!match.every((m) => line.includes(m))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

const adminUrl = inject('databaseAdminUrl')
let dataDir: string
let broker: TestBroker
let server: TestDatabase | null = null

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'miglio-start-'))
  broker = await createTestBroker()
  // A real server: a fresh database of this file's own that start migrates itself.
  if (adminUrl) server = await createTestDatabase({ migrate: false })
})

afterAll(async () => {
  await server?.close()
  await broker?.close()
  await rm(dataDir, { recursive: true, force: true })
})

/** Runs `fn` on the database start uses, while start is not running (the embedded one is locked). */
async function withDatabase<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  if (server) return fn(server.db)
  const embedded = await startEmbeddedTimescale({ dataDir })
  const { db } = createDb({ url: embedded.url, maxConnections: 1 })
  try {
    return await fn(db)
  } finally {
    await db.destroy()
    await embedded.stop()
  }
}

describe('miglio start, restarted', () => {
  it('publishes the demo backfill once per database: a restart adds no past traffic', async () => {
    const prefix = `start-${randomBytes(4).toString('hex')}`
    const env: Record<string, string> = {
      MIGLIO_DATA_DIR: dataDir,
      ...(server ? { DATABASE_URL: server.url } : {}),
      MQTT_URL: broker.url,
      MQTT_TOPIC_PREFIX: prefix,
      MQTT_CLIENT_ID: `${prefix}-ingest`,
      PORT: '0',
      SIM_BACKFILL: '15m',
      SIM_HISTORY: '0',
      SIM_FLAT_DAY: 'true',
      DEMO_KEYS: 'false',
    }
    // Every batch the simulator publishes, with its sentAt and when it was seen.
    const seen: { sentAtMs: number; atMs: number }[] = []
    const observer: MqttClient = await mqtt.connectAsync(broker.url, {
      clientId: `${prefix}-observer`,
      clean: true,
    })
    observer.on('message', (_t, payload) => {
      const batch = JSON.parse(payload.toString()) as { sentAt: string | number }
      seen.push({ sentAtMs: new Date(batch.sentAt).getTime(), atMs: Date.now() })
    })
    await observer.subscribeAsync(`${prefix}/miglio/v1/gw/+/sightings`, { qos: 1 })

    const liveFrom = async (c: Captured) => {
      const line = await waitFor(
        async () => c.lines.find((l) => l.msg === 'simulator phase started' && l.phase === 'live'),
        (l) => l !== undefined,
        { what: 'the live phase', timeoutMs: 90_000 },
      )
      return Date.parse(String(line?.from))
    }
    /** Transits and open sessions first seen before `cutoff`: what past buckets will count. */
    const countedBefore = (cutoff: number) =>
      withDatabase(async (db) => {
        const closed = await db
          .selectFrom('transits')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('first_seen', '<', new Date(cutoff))
          .executeTakeFirstOrThrow()
        const open = await db
          .selectFrom('open_transits')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('first_seen', '<', new Date(cutoff))
          .executeTakeFirstOrThrow()
        return Number(closed.n) + Number(open.n)
      })
    const committed = (url: string) =>
      metric(url, 'miglio_ingest_messages_total', ['kind="sightings"'])

    try {
      // First start: 15 minutes of past traffic, then live.
      const first = capturedLogger()
      const run1 = await startPipeline(loadConfig(env), first.log)
      let live1: number
      try {
        live1 = await liveFrom(first)
        await waitFor(
          async () => seen.filter((m) => m.sentAtMs >= live1).length,
          (n) => n > 0,
          { what: 'live traffic of the first start', timeoutMs: 60_000 },
        )
        const backfilled = seen.filter((m) => m.sentAtMs < live1).length
        expect(backfilled).toBeGreaterThan(50)
        // Ingest takes messages in order: once it has committed as many as the backfill had,
        // nothing of the backfill is left to be redelivered after the restart.
        await waitFor(
          () => committed(run1.url),
          (n) => n >= backfilled,
          { what: 'the backfill committed', timeoutMs: 60_000 },
        )
      } finally {
        await run1.stop()
      }
      const pastBefore = await countedBefore(live1)
      expect(pastBefore).toBeGreaterThan(0)

      // Second start on the same database: live traffic only.
      const restartedAt = Date.now()
      const second = capturedLogger()
      const run2 = await startPipeline(loadConfig(env), second.log)
      try {
        const live2 = await liveFrom(second)
        await waitFor(
          async () => seen.filter((m) => m.sentAtMs >= live2).length,
          (n) => n > 0,
          { what: 'live traffic of the second start', timeoutMs: 60_000 },
        )
        // What this start published, all of it seen by ingest (with the defect, its backfill).
        const since = seen.filter((m) => m.atMs >= restartedAt)
        await waitFor(
          () => committed(run2.url),
          (n) => n >= since.length,
          { what: 'the second start committed', timeoutMs: 60_000 },
        )
        const pastTraffic = since.filter((m) => m.sentAtMs < restartedAt - 60_000)
        expect(pastTraffic.length).toBe(0)
        expect(
          second.lines.find(
            (l) =>
              typeof l.msg === 'string' &&
              l.msg.startsWith('demo backfill already published on ') &&
              l.msg.endsWith('resuming live traffic'),
          ),
        ).toBeDefined()
      } finally {
        await run2.stop()
      }
      expect(await countedBefore(live1)).toBe(pastBefore)
    } finally {
      await observer.endAsync()
    }
  })
})

/** `p`, or a rejection naming `what` when it takes longer than `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

describe('miglio start with an unreachable database server', () => {
  let target: TestDatabase
  beforeAll(async () => {
    // The database behind the proxy: a fresh one on the real server, or an embedded one.
    target = await createTestDatabase({ migrate: false })
  })
  afterAll(async () => {
    await target?.close()
  })

  const envFor = (databaseUrl: string, extra: Record<string, string> = {}) => {
    const prefix = `unreachable-${randomBytes(4).toString('hex')}`
    return {
      MIGLIO_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      MQTT_URL: broker.url,
      MQTT_TOPIC_PREFIX: prefix,
      MQTT_CLIENT_ID: `${prefix}-ingest`,
      PORT: '0',
      SIMULATOR: 'false',
      DEMO_KEYS: 'false',
      LOG_LEVEL: 'silent',
      ...extra,
    }
  }

  it('serves HTTP at once, answers 503 until the database answers, then starts', async () => {
    const proxy = await startDatabaseProxy(target.url, 'refuse')
    const { log, lines } = capturedLogger()
    try {
      const run = await within(
        startPipeline(loadConfig(envFor(proxy.url)), log),
        20_000,
        'HTTP with the database unreachable',
      )
      try {
        const health = await fetch(new URL('api/v1/health', run.url))
        expect(health.status).toBe(503)
        const body = (await health.json()) as {
          status: string
          database: { up: boolean; error?: string }
        }
        expect(body.status).toBe('starting')
        expect(body.database.up).toBe(false)
        expect(body.database.error).toBeTruthy()

        const zones = await fetch(new URL('api/v1/zones', run.url))
        expect(zones.status).toBe(503)
        const error = (await zones.json()) as { error: { code: string; message: string } }
        expect(error.error.code).toBe('starting')
        expect(error.error.message).toMatch(
          /^waiting for the database postgres(ql)?:\/\/127\.0\.0\.1:\d+\//,
        )
        // The URL is named without its credentials.
        expect(error.error.message).not.toContain('@')
        expect(lines.some((l) => l.msg === 'database unreachable; retrying')).toBe(true)

        proxy.set('forward')
        // Start-up goes on by itself; no request meanwhile (the embedded database serves one
        // session: a health check during the migrations' transaction could interleave with it).
        await within(run.ready, 90_000, 'start-up once the database answers')
        await waitFor(
          async () => (await fetch(new URL('api/v1/health', run.url))).status,
          (status) => status === 200,
          { what: 'health 200 once the database answers', timeoutMs: 30_000, intervalMs: 250 },
        )
        // Past the start-up gate: an API route now wants a key.
        expect((await fetch(new URL('api/v1/zones', run.url))).status).toBe(401)
      } finally {
        await run.stop()
      }
    } finally {
      await proxy.close()
    }
  })

  it('still fails fast on a busy port, and stops promptly while waiting', async () => {
    const proxy = await startDatabaseProxy(target.url, 'refuse')
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const address = blocker.address()
    const busy = typeof address === 'object' && address ? address.port : 0
    const { log } = capturedLogger()
    try {
      await expect(
        within(
          startPipeline(loadConfig(envFor(proxy.url, { PORT: String(busy) })), log),
          20_000,
          'the busy port reported',
        ),
      ).rejects.toThrow(`port ${busy} on 127.0.0.1 is already in use`)

      const run = await within(
        startPipeline(loadConfig(envFor(proxy.url)), log),
        20_000,
        'HTTP with the database unreachable',
      )
      await within(run.stop(), 5_000, 'stop while waiting for the database')
      await expect(run.ready).rejects.toThrow()
    } finally {
      blocker.close()
      await proxy.close()
    }
  })
})
