import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { randomTopicPrefix } from '../shared/testing/helpers.ts'
import {
  TEST_INGEST_CONFIG,
  acceptedBatches,
  allSessionsClosed,
  startTestIngest,
  type TestIngest,
} from './testing/ingest-harness.ts'
import type { Db } from '../shared/db/create-db.ts'
import { createLogger } from '../shared/logger.ts'
import { loadDistrict, readDistrictFile } from '../shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../shared/contracts/district.ts'
import type { IngestService } from './ingest-service.ts'
import { createSimulation } from '../../simulator/simulation.ts'
import { publishSimulation } from '../../simulator/publisher.ts'

// Scale-out: N ingest replicas on one MQTT v5 shared subscription ($share/<group>/…) produce exactly
// the transits one process produces, because every change to a gateway's sessions happens under that
// gateway's advisory lock whichever replica got the message (docs/architecture.md, Ingest).
// Aedes accepts `$share/…` but delivers nothing, so this needs a real broker (TEST_MQTT_URL).
const MINUTE = 60_000
const DISTRICT_FILE = 'simulator/districts/mestre.json'
const SHARE_GROUP = 'ingest'
const SKIP_NOTE =
  'needs a real MQTT v5 broker with shared subscriptions: set TEST_MQTT_URL (CI starts Mosquitto)'

type RunResult = {
  acceptedPerReplica: number[]
  duplicates: number
  published: number
  transits: string[]
}

let broker: TestBroker
const databases: TestDatabase[] = []

beforeAll(async () => {
  broker = await createTestBroker()
})

afterAll(async () => {
  for (const d of databases) await d.close()
  await broker?.close()
})

async function rejectedMessages(service: IngestService): Promise<number> {
  return (await service.metrics.rejects.get()).values.reduce((n, v) => n + v.value, 0)
}

/** Transits as comparable rows: everything but the pseudonym (each database has its own daily key). */
async function transitRows(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('transits')
    .select([
      'gateway_id',
      'zone_id',
      'first_seen',
      'last_seen',
      'samples',
      'peak_rssi',
      'visitor',
      'dwell_s',
    ])
    .execute()
  return rows
    .map((r) =>
      JSON.stringify([
        r.gateway_id,
        r.zone_id,
        new Date(r.first_seen).toISOString(),
        new Date(r.last_seen).toISOString(),
        r.samples,
        r.peak_rssi,
        r.visitor,
        r.dwell_s,
      ]),
    )
    .sort()
}

/**
 * Starts `replicas` ingest services (MQTT v5 persistent sessions, one shared subscription) on `db`,
 * publishes the deterministic scenario under `prefix`, and waits until every batch is accepted and
 * every session is closed.
 */
async function run(opts: {
  db: Db
  replicas: number
  prefix: string
  window: { fromMs: number; toMs: number }
}): Promise<RunResult> {
  const { db, replicas, prefix, window } = opts
  const district = await readDistrictFile(DISTRICT_FILE, DEFAULT_TIME_ZONE)
  const log = createLogger({ level: 'warn' })
  const replicaIngests: TestIngest[] = []
  let publisher: MqttClient | undefined
  try {
    for (let i = 0; i < replicas; i++) {
      replicaIngests.push(
        await startTestIngest({
          brokerUrl: broker.url,
          db,
          clientId: `${prefix}-ingest-${i}`,
          // Sessions close 1.5 s after a gateway falls silent, checked every 0.3 s.
          config: {
            ...TEST_INGEST_CONFIG,
            idleCloseMs: 1_500,
            maintenanceIntervalMs: 300,
            shareGroup: SHARE_GROUP,
            topicPrefix: prefix,
          },
          log,
          protocolVersion: 5,
          sessionExpiryS: 3600,
        }),
      )
    }
    const services = replicaIngests.map((r) => r.service)
    publisher = await mqtt.connectAsync(broker.url, {
      clientId: `${prefix}-sim`,
      protocolVersion: 5,
    })
    const simulation = createSimulation({
      district,
      seed: 20261121,
      fromMs: window.fromMs,
      toMs: window.toMs,
      scenario: 'simple',
      overrides: { batchIntervalS: 30, arrivalsPerHour: 240 },
    })
    const published = await publishSimulation({
      client: publisher,
      simulation,
      speed: 'max',
      topicPrefix: prefix,
    })
    await waitFor(
      async () => (await Promise.all(services.map(acceptedBatches))).reduce((a, b) => a + b, 0),
      (n) => n === published.messages,
      { timeoutMs: 90_000, what: `every batch ingested (${published.messages}) under ${prefix}` },
    )
    await waitFor(
      () => allSessionsClosed(db, services),
      (closed) => closed,
      { timeoutMs: 30_000, what: `every session closed under ${prefix}` },
    )
    for (const s of services) expect(await rejectedMessages(s)).toBe(0)
    return {
      acceptedPerReplica: await Promise.all(services.map(acceptedBatches)),
      duplicates: (await Promise.all(services.map((s) => s.metrics.duplicates.get())))
        .flatMap((m) => m.values)
        .reduce((n, v) => n + v.value, 0),
      published: published.messages,
      transits: await transitRows(db),
    }
  } finally {
    for (const r of replicaIngests) await r.stop()
    await publisher?.endAsync()
  }
}

describe('ingest scale-out', () => {
  it('two replicas on a shared subscription write exactly the transits of one', async (ctx) => {
    if (broker.kind !== 'env') {
      process.stderr.write(`ingest scale-out skipped: ${SKIP_NOTE}\n`)
      ctx.skip(SKIP_NOTE)
    }
    const district = await readDistrictFile(DISTRICT_FILE, DEFAULT_TIME_ZONE)
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()])
    databases.push(a, b)
    await Promise.all([loadDistrict(a.db, district), loadDistrict(b.db, district)])

    const toMs = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * MINUTE
    const window = { fromMs: toMs - 60 * MINUTE, toMs }
    const tag = randomTopicPrefix('scale-')

    const single = await run({ db: a.db, replicas: 1, prefix: `${tag}-p1`, window })
    const scaled = await run({ db: b.db, replicas: 2, prefix: `${tag}-p2`, window })

    expect(scaled.published).toBe(single.published)
    expect(single.acceptedPerReplica).toEqual([single.published])
    // The broker dealt the batches to both replicas (Mosquitto: round-robin).
    expect(scaled.acceptedPerReplica).toHaveLength(2)
    for (const n of scaled.acceptedPerReplica) expect(n).toBeGreaterThan(0)
    expect(scaled.acceptedPerReplica.reduce((x, y) => x + y, 0)).toBe(scaled.published)
    // Each batch went to exactly one replica: a shared subscription, not two ordinary ones (which
    // would deliver everything twice and let the batch ledger hide it as duplicates).
    expect(scaled.duplicates).toBe(0)
    expect(single.duplicates).toBe(0)

    expect(single.transits.length).toBeGreaterThan(50)
    expect(scaled.transits.length).toBe(single.transits.length)
    expect(scaled.transits).toEqual(single.transits)
  })
})
