import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  startEmbeddedTimescale,
  type EmbeddedTimescale,
} from '../shared/db/embedded/embedded-timescale.ts'
import { createDb, type Db } from '../shared/db/create-db.ts'
import { runMigrations } from '../shared/db/migrate.ts'
import { createTestBroker, waitFor, type TestBroker } from '../shared/testing/engines.ts'
import { sightingsBatch, tinyDistrict } from '../shared/testing/fixtures.ts'
import { counterValue, randomTopicPrefix } from '../shared/testing/helpers.ts'
import {
  TEST_INGEST_CONFIG,
  durableOpenSessions,
  startTestIngest,
  type TestIngest,
} from './testing/ingest-harness.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { buildSightingsTopic, withTopicPrefix } from '../shared/contracts/topics.ts'
import { createLogger } from '../shared/logger.ts'

// The database goes away while gateways keep publishing: ingest must hold the message in hand
// (unacknowledged, retried with backoff) and lose nothing once the database is back. The embedded
// database is restarted on its data directory and port, so the same pool reconnects.
let dir: string
let engine: EmbeddedTimescale
let db: Db
let broker: TestBroker
let ingest: TestIngest
let publisher: MqttClient
const prefix = randomTopicPrefix('outage')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miglio-outage-'))
  engine = await startEmbeddedTimescale({ dataDir: dir })
  ;({ db } = createDb({ url: engine.url, maxConnections: 1 }))
  await runMigrations(db)
  await loadDistrict(db, tinyDistrict())
  broker = await createTestBroker()
  ingest = await startTestIngest({
    brokerUrl: broker.url,
    db,
    clientId: `${prefix}-ingest`,
    config: { ...TEST_INGEST_CONFIG, topicPrefix: prefix },
    log: createLogger({ level: 'silent' }),
  })
  publisher = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-pub`, protocolVersion: 4 })
})

afterAll(async () => {
  await ingest?.stop()
  await publisher?.endAsync()
  await broker?.close()
  await db?.destroy()
  await engine?.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('ingest during a database outage', () => {
  it('holds intake without acknowledging, then writes every batch once the database is back', async () => {
    const topic = withTopicPrefix(prefix, buildSightingsTopic('gw-street-a'))
    const t0 = Date.now() - 30 * 60_000
    const batch = (seq: number, macByte: number) =>
      sightingsBatch(
        'gw-street-a',
        seq,
        t0 + seq * 10_000,
        [
          {
            tMs: t0 + seq * 10_000 - 500,
            mac: `00:00:00:00:00:${macByte.toString(16).padStart(2, '0')}`,
            rssi: -70,
          },
        ],
        'outage01',
      )
    await publisher.publishAsync(topic, batch(1, 1), { qos: 1 })
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('ingest_batches')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    await waitFor(count, (n) => n === 1, { what: 'the first batch' })

    const port = engine.port
    await engine.stop()
    for (let seq = 2; seq <= 6; seq++)
      await publisher.publishAsync(topic, batch(seq, seq), { qos: 1 })
    await waitFor(
      () => counterValue(ingest.service.metrics.dbRetries),
      (n) => n >= 2,
      { what: 'retries while the database is down' },
    )
    // All five are taken in and queued for one transaction; none is acknowledged before it commits.
    await waitFor(
      () => counterValue(ingest.service.metrics.inFlight),
      (n) => n === 5,
      { what: 'five messages held unacknowledged' },
    )

    engine = await startEmbeddedTimescale({ dataDir: dir, port })
    await waitFor(count, (n) => n === 6, {
      timeoutMs: 60_000,
      what: 'all six batches after the outage',
    })
    expect(await durableOpenSessions(db, 'gw-street-a')).toHaveLength(6)
    expect(await counterValue(ingest.service.metrics.duplicates)).toBe(0)
    expect(await counterValue(ingest.service.metrics.inFlight)).toBe(0)
  })
})
