import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../services/shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../services/shared/testing/background-jobs.ts'
import { oneDayWindowEnd, randomTopicPrefix } from '../services/shared/testing/helpers.ts'
import {
  TEST_INGEST_CONFIG,
  acceptedBatches,
  allSessionsClosed,
  startTestIngest,
  type TestIngest,
} from '../services/ingest/testing/ingest-harness.ts'
import { createLogger } from '../services/shared/logger.ts'
import { loadDistrict, readDistrictFile } from '../services/shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../services/shared/contracts/district.ts'
import { createApiKey } from '../services/shared/registry/api-key-repository.ts'
import { buildApp } from '../services/api/app.ts'
import { FootfallResponseSchema } from '../services/shared/contracts/api.ts'
import { createSimulation } from '../simulator/simulation.ts'
import { publishSimulation } from '../simulator/publisher.ts'
import { summariseTruth } from '../simulator/ground-truth.ts'
import { SIMPLE_SCENARIO } from '../simulator/street-model.ts'

// simulator → MQTT → ingest → TimescaleDB (transits → continuous aggregates) → API, compared with the
// simulator's ground truth. The 'simple' scenario has no MAC randomisation and no radio noise and
// guarantees clear RSSI/dwell margins, so the pipeline must match the truth exactly.
const MINUTE = 60_000

let database: TestDatabase
let broker: TestBroker
let ingest: TestIngest
let publisher: MqttClient
const topicPrefix = randomTopicPrefix('e2e-')

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  // A server's refresh policy may materialise a 15-minute bucket while its sessions are still open;
  // the transits closed later then wait for the next refresh, and this test reads the footfall at
  // once. Paused, the series is the real-time aggregate of every transit (as on the embedded engine).
  await pauseBackgroundJobs(database.db)
  await loadDistrict(
    database.db,
    await readDistrictFile('simulator/districts/mestre.json', DEFAULT_TIME_ZONE),
  )
  ingest = await startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId: `${topicPrefix}-ingest`,
    // Sessions close 1.5 s after a gateway falls silent, checked every 0.3 s.
    config: { ...TEST_INGEST_CONFIG, idleCloseMs: 1_500, maintenanceIntervalMs: 300, topicPrefix },
    log: createLogger({ level: 'warn' }),
  })
  publisher = await mqtt.connectAsync(broker.url, {
    clientId: `${topicPrefix}-sim`,
    protocolVersion: 4,
  })
})

afterAll(async () => {
  await ingest?.stop()
  await publisher?.endAsync()
  await broker?.close()
  await database?.close()
})

describe('pipeline', () => {
  it('reports exactly the ground truth of a deterministic scenario per zone', async () => {
    const district = await readDistrictFile('simulator/districts/mestre.json', DEFAULT_TIME_ZONE)
    // Inside one local day: a pedestrian crossing local midnight gets a new pseudonym (by design).
    const toMs = Math.floor(oneDayWindowEnd(62 * MINUTE) / MINUTE) * MINUTE - MINUTE
    const fromMs = toMs - 60 * MINUTE
    const simulation = createSimulation({
      district,
      seed: 20261121,
      fromMs,
      toMs,
      scenario: 'simple',
      overrides: { batchIntervalS: 30, arrivalsPerHour: 240 },
    })
    const published = await publishSimulation({
      client: publisher,
      simulation,
      speed: 'max',
      topicPrefix,
    })
    const truth = summariseTruth(
      simulation.truth().filter((e) => e.hasDevice),
      15 * MINUTE,
    )
    expect(truth.totals.reduce((n, t) => n + t.passersBy + t.visitors, 0)).toBeGreaterThan(50)
    expect(truth.totals.some((t) => t.visitors > 0)).toBe(true)

    await waitFor(
      () => acceptedBatches(ingest.service),
      (n) => n === published.messages,
      { timeoutMs: 90_000, what: 'every batch ingested' },
    )
    await waitFor(
      () => allSessionsClosed(database.db, [ingest.service]),
      (closed) => closed,
      { timeoutMs: 30_000, what: 'every session closed' },
    )
    expect(
      (await ingest.service.metrics.rejects.get()).values.reduce((n, v) => n + v.value, 0),
    ).toBe(0)

    const { key } = await createApiKey(database.db, { role: 'analyst', label: 'e2e' })
    const app = await buildApp({
      db: database.db,
      log: createLogger({ level: 'warn' }),
      checks: { broker: () => ({ up: true }) },
    })
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/api/v1/footfall',
        query: {
          from: new Date(fromMs - 15 * MINUTE).toISOString(),
          to: new Date(toMs + 15 * MINUTE).toISOString(),
          bucket: '15m',
        },
        headers: { authorization: `Bearer ${key}` },
      })
      expect(res.statusCode).toBe(200)
      const body = FootfallResponseSchema.parse(res.json())
      // Over the whole run, per zone: exactly the truth.
      const sortById = <T extends { zoneId: string }>(a: T[]) =>
        [...a].sort((x, y) => x.zoneId.localeCompare(y.zoneId))
      expect(sortById(body.totals.filter((t) => t.passersBy + t.visitors > 0))).toEqual(
        sortById(
          truth.totals
            .filter((t) => t.passersBy + t.visitors > 0)
            .map((t) => ({ zoneId: t.zoneId, passersBy: t.passersBy, visitors: t.visitors })),
        ),
      )
      // Per 15-minute bucket the pipeline dates a transit by its first sighting, the truth by the
      // moment the pedestrian came into range: at most one probe interval apart. Every difference
      // must be explained by a true transit that started within that interval before a boundary.
      const probeMs = SIMPLE_SCENARIO.probeIntervalS * 1000
      const bucketMs = 15 * MINUTE
      const events = simulation.truth().filter((e) => e.hasDevice)
      const cell = (zoneId: string, start: number) => `${zoneId}@${start}`
      const apiCells = new Map(
        body.rows.map((r) => [cell(r.zoneId, Date.parse(r.bucketStart)), r.passersBy + r.visitors]),
      )
      const truthCells = new Map(
        truth.buckets.map((b) => [cell(b.zoneId, b.bucketStartMs), b.passersBy + b.visitors]),
      )
      const straddling = new Map<string, number>()
      for (const e of events) {
        const start = Math.floor(e.firstMs / bucketMs) * bucketMs
        if (start + bucketMs - e.firstMs <= probeMs) {
          for (const k of [cell(e.zoneId, start), cell(e.zoneId, start + bucketMs)])
            straddling.set(k, (straddling.get(k) ?? 0) + 1)
        }
      }
      for (const k of new Set([...apiCells.keys(), ...truthCells.keys()])) {
        const diff = Math.abs((apiCells.get(k) ?? 0) - (truthCells.get(k) ?? 0))
        expect(diff, k).toBeLessThanOrEqual(straddling.get(k) ?? 0)
      }
    } finally {
      await app.close()
    }
  })
})
