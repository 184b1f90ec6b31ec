import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import mqtt, { type MqttClient } from 'mqtt'
import { sql } from 'kysely'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../services/shared/testing/engines.ts'
import { sightingsBatch, tinyDistrict } from '../services/shared/testing/fixtures.ts'
import { createLogCapture, randomTopicPrefix } from '../services/shared/testing/helpers.ts'
import { acceptedBatches, startTestIngest } from '../services/ingest/testing/ingest-harness.ts'
import { loadDistrict, readDistrictFile } from '../services/shared/registry/district-repository.ts'
import { createApiKey } from '../services/shared/registry/api-key-repository.ts'
import { loadConfig } from '../services/shared/config.ts'
import { DEFAULT_TIME_ZONE } from '../services/shared/contracts/district.ts'
import { buildSightingsTopic, withTopicPrefix } from '../services/shared/contracts/topics.ts'
import { HeatmapResponseSchema, ShopSummarySchema } from '../services/shared/contracts/api.ts'
import {
  addDays,
  HOUR_MS,
  localDateOf,
  startOfLocalDate,
} from '../services/shared/contracts/local-time.ts'
import { createPseudonymiser } from '../services/ingest/pseudonymiser.ts'
import { createDbKeyStore } from '../services/ingest/ingest-repository.ts'
import { buildApp } from '../services/api/app.ts'
import { insertTransits } from '../services/api/api-test-helpers.ts'
import { ingestConfigOf } from '../services/ingest/main.ts'

// A district file that says America/New_York, in a process whose MIGLIO_TZ is the default (Rome,
// six hours ahead): ingest's daily keys and the API's local days follow New York.
const NEW_YORK = 'America/New_York'
const logs = createLogCapture('warn')
/** MIGLIO_TZ unset: its default, which the district's zone overrides. */
const config = loadConfig({})
let database: TestDatabase
let broker: TestBroker
let dir: string

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  dir = await mkdtemp(join(tmpdir(), 'miglio-tz-'))
  const file = join(dir, 'new-york.json')
  await writeFile(file, JSON.stringify({ ...tinyDistrict(), timezone: NEW_YORK }))
  await loadDistrict(database.db, await readDistrictFile(file, config.tz))
})

afterAll(async () => {
  await broker?.close()
  await database?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('a district in America/New_York, with MIGLIO_TZ at its default', () => {
  it('keeps the default away from the district: the two zones differ', () => {
    expect(config.tz).toBe(DEFAULT_TIME_ZONE)
    expect(config.tz).not.toBe(NEW_YORK)
  })

  it("gives ingest New York's daily key boundaries", async () => {
    const ingestConfig = await ingestConfigOf(config, logs.log, database.db)
    expect(ingestConfig.tz).toBe(NEW_YORK)
    // The pseudonymiser as ingest builds it, on the database's key store. New York's midnight of
    // 1 November 2026 is 04:00 UTC (EDT); in Rome both instants are on 1 November.
    const sut = createPseudonymiser({
      store: createDbKeyStore(database.db),
      tz: ingestConfig.tz,
      graceMs: ingestConfig.keyGraceMs,
    })
    const before = Date.parse('2026-11-01T03:59:59.999Z')
    const after = Date.parse('2026-11-01T04:00:00.000Z')
    expect(await sut.prepare([before, after], Date.parse('2026-10-31T12:00:00Z'))).toEqual(
      new Set(),
    )
    expect([sut.dayOf(before), sut.dayOf(after)]).toEqual(['2026-10-31', '2026-11-01'])
    const mac = '3c22fb112233'
    expect(sut.pseudonymise(mac, before)).not.toBe(sut.pseudonymise(mac, after))
    expect(sut.pseudonymise(mac, after)).toBe(sut.pseudonymise(mac, after + 20 * HOUR_MS))
    const keys = await sql<{ day: string; destroy_after: Date }>`
      SELECT day::text AS day, destroy_after FROM pseudonym_keys
      WHERE day IN ('2026-10-31', '2026-11-01') ORDER BY day`.execute(database.db)
    // Each key lives until New York's next midnight plus the grace (1 November is 25 hours long).
    expect(keys.rows.map((k) => [k.day, new Date(k.destroy_after).toISOString()])).toEqual([
      ['2026-10-31', new Date(after + ingestConfig.keyGraceMs).toISOString()],
      [
        '2026-11-01',
        new Date(Date.parse('2026-11-02T05:00:00Z') + ingestConfig.keyGraceMs).toISOString(),
      ],
    ])
  })

  it("keys live sightings by New York's local day", async () => {
    const prefix = randomTopicPrefix('tz')
    const ingest = await startTestIngest({
      brokerUrl: broker.url,
      db: database.db,
      clientId: `${prefix}-ingest`,
      config: {
        ...(await ingestConfigOf(config, logs.log, database.db)),
        topicPrefix: prefix,
        maintenanceIntervalMs: 3_600_000,
      },
      log: logs.log,
    })
    let publisher: MqttClient | undefined
    try {
      publisher = await mqtt.connectAsync(broker.url, {
        clientId: `${prefix}-pub`,
        protocolVersion: 4,
      })
      const t = Date.now() - 60_000
      await publisher.publishAsync(
        withTopicPrefix(prefix, buildSightingsTopic('gw-street-a')),
        sightingsBatch('gw-street-a', 1, t + 5_000, [
          { tMs: t, mac: '3C:22:FB:44:55:66', rssi: -60 },
        ]),
        { qos: 1 },
      )
      await waitFor(
        () => acceptedBatches(ingest.service),
        (n) => n === 1,
        { what: 'the batch accepted' },
      )
      const day = localDateOf(t, NEW_YORK)
      const key = await sql<{ destroy_after: Date }>`
        SELECT destroy_after FROM pseudonym_keys WHERE day = ${day}::date`.execute(database.db)
      // Rome's next midnight is always six hours (five or seven around DST changes) earlier.
      expect(key.rows.map((k) => new Date(k.destroy_after).getTime())).toEqual([
        startOfLocalDate(addDays(day, 1), NEW_YORK) + config.ingest.keyGraceMs,
      ])
    } finally {
      await publisher?.endAsync()
      await ingest.stop()
    }
  })

  describe('the API', () => {
    // Sunday 1 November 2026, 22:30 in New York; Monday 04:30 in Rome.
    const NOW = Date.parse('2026-11-02T03:30:00Z')
    let app: FastifyInstance
    let analystKey: string

    beforeAll(async () => {
      analystKey = (await createApiKey(database.db, { role: 'analyst', label: 'tz' })).key
      await insertTransits(database.db, [
        // Sunday 22:10 in New York (Monday 04:10 in Rome).
        { gateway: 'gw-street-a', at: '2026-11-02T03:10:00Z' },
        // Sunday 01:30 EDT, the first of New York's two 01:00 hours.
        { gateway: 'gw-street-a', at: '2026-11-01T05:30:00Z' },
        { gateway: 'gw-shop-one', at: '2026-11-01T15:00:00Z', visitor: true },
      ])
      app = await buildApp({
        db: database.db,
        log: logs.log,
        checks: { broker: () => ({ up: true }) },
        now: () => NOW,
        options: { tz: config.tz, rateLimit: { enabled: false } },
      })
    })

    afterAll(async () => {
      await app?.close()
    })

    async function get(url: string): Promise<unknown> {
      const res = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${analystKey}` },
      })
      expect(res.statusCode, res.body).toBe(200)
      return res.json()
    }

    it("answers today as New York's local day", async () => {
      const body = ShopSummarySchema.parse(await get('/api/v1/shops/shop-one/summary'))
      expect(body).toMatchObject({
        timezone: NEW_YORK,
        day: '2026-11-01',
        from: '2026-11-01T04:00:00.000Z',
      })
      expect(body.today.visitors).toBe(1)
    })

    it("puts the heatmap in New York's weekdays and hours", async () => {
      const q = new URLSearchParams({
        from: '2026-11-01T04:00:00Z',
        to: '2026-11-02T05:00:00Z',
        zone: 'street-a',
      })
      const body = HeatmapResponseSchema.parse(await get(`/api/v1/footfall/heatmap?${q}`))
      expect(body.timezone).toBe(NEW_YORK)
      const cells = body.cells.filter((c) => c.passersBy > 0)
      expect(cells.map((c) => [c.weekday, c.hour, c.passersBy])).toEqual([
        [7, 1, 1],
        [7, 22, 1],
      ])
      // The range is New York's Sunday 1 November, 25 UTC hours: each local hour of it once (01:00,
      // which happened twice, too), and no other day's hour.
      expect(
        body.cells.filter((c) => c.hours > 0).every((c) => c.weekday === 7 && c.hours === 1),
      ).toBe(true)
      expect(body.cells.reduce((a, c) => a + c.hours, 0)).toBe(24)
    })
  })
})
