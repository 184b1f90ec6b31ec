import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
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
import { runStart } from './start.ts'

// `miglio start` in-process (runStart), on the suite's engines: the database URL of a real server
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
      const run1 = await runStart(loadConfig(env), first.log)
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
      const run2 = await runStart(loadConfig(env), second.log)
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
