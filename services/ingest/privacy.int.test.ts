import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { createHmac } from 'node:crypto'
import { sql } from 'kysely'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { sightingsBatch, tinyDistrict } from '../shared/testing/fixtures.ts'
import { MAC_PATTERN, createLogCapture, randomTopicPrefix } from '../shared/testing/helpers.ts'
import {
  TEST_INGEST_CONFIG,
  acceptedBatches,
  startTestIngest,
  type TestIngest,
} from './testing/ingest-harness.ts'
import { loadDistrict, readDistrictFile } from '../shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../shared/contracts/district.ts'
import { buildSightingsTopic, withTopicPrefix } from '../shared/contracts/topics.ts'
import { createJobRunner } from '../shared/db/job-runner.ts'
import { pauseBackgroundJobs, refreshAggregate } from '../shared/testing/background-jobs.ts'
import { createSimulation } from '../../simulator/simulation.ts'
import { publishSimulation } from '../../simulator/publisher.ts'
import type { Clock } from './ingest-config.ts'
import type { IngestService } from './ingest-service.ts'

const HOUR = 3_600_000
const KEY_GRACE_MS = 2 * HOUR

let database: TestDatabase
let broker: TestBroker
let publisher: MqttClient
const logs = createLogCapture('debug')

const clientPrefix = randomTopicPrefix('t')
let clientSeq = 0
/** Every test file talks under its own topic prefix, so files sharing a broker never see each other. */
const topicOf = (topic: string) => withTopicPrefix(clientPrefix, topic)

function startIngest(clock?: Clock): Promise<TestIngest> {
  return startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId: `${clientPrefix}-ingest-${clientSeq++}`,
    config: {
      ...TEST_INGEST_CONFIG,
      keyGraceMs: KEY_GRACE_MS,
      registryRefreshMs: 3_600_000,
      topicPrefix: clientPrefix,
    },
    log: logs.log,
    clock,
    reconnectPeriodMs: 200,
  })
}

async function handled(service: IngestService): Promise<number> {
  return (await service.metrics.messages.get()).values.reduce((s, v) => s + v.value, 0)
}

/** Publishes one message and waits until the service has handled it (accepted or rejected). */
async function deliver(service: IngestService, topic: string, payload: string) {
  const before = await handled(service)
  await publisher.publishAsync(topic, payload, { qos: 1 })
  await waitFor(
    () => handled(service),
    (n) => n === before + 1,
    { what: `message on ${topic} handled` },
  )
}

async function keyDays(): Promise<string[]> {
  const r = await sql<{
    day: string
  }>`SELECT day::text AS day FROM pseudonym_keys ORDER BY day`.execute(database.db)
  return r.rows.map((x) => x.day)
}

async function deadLetterReasons(): Promise<string[]> {
  const rows = await database.db.selectFrom('dead_letters').select('reason').execute()
  return rows.map((r) => r.reason)
}

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi

/**
 * The text of a row for the MAC scan: every key and string value, at any depth. Two things that are
 * not MACs are left out, because TimescaleDB's catalog has them and the bare-digits alternative of
 * the pattern would take them for one: JSON numbers (7 days in µs is 604800000000; a MAC is text or
 * bytes, never a JSON number) and whole UUIDs (`_timescaledb_catalog.metadata` holds the install's
 * uuid, whose last group is 12 hex digits).
 */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value.replace(UUID, '<uuid>')
  if (Array.isArray(value)) return value.map(textOf).join('\n')
  if (value !== null && typeof value === 'object')
    return Object.entries(value)
      .map(([k, v]) => `${k}\n${textOf(v)}`)
      .join('\n')
  return ''
}

/** The pseudonymiser's hash: HMAC-SHA256(key, 6 MAC bytes), first 8 bytes as a signed int64. */
function hmacPseudonym(key: Buffer, mac: string): string {
  const bytes = Buffer.from(mac.replace(/[:-]/g, '').toLowerCase(), 'hex')
  return createHmac('sha256', key).update(bytes).digest().readBigInt64BE(0).toString()
}

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  // The days here are in March (a fake clock); a server's pseudonym-forgetting job (every 15 min,
  // by the real clock) would null their transits' pseudonyms if it ran during the test.
  await pauseBackgroundJobs(database.db)
  await loadDistrict(database.db, tinyDistrict())
  publisher = await mqtt.connectAsync(broker.url, {
    clientId: `${clientPrefix}-pub`,
    protocolVersion: 4,
  })
})

afterAll(async () => {
  await publisher?.endAsync()
  await broker?.close()
  await database?.close()
})

// Day D is the Saturday before the spring DST change in Europe/Rome: D+1 starts at 23:00Z (CET),
// and its 02:00 grace end falls on 01:00Z, the instant clocks jump from 02:00 CET to 03:00 CEST.
const D = '2026-03-28'
const D1 = '2026-03-29'
const NOON_D = Date.parse('2026-03-28T11:00:00Z') // 12:00 local
const MIDNIGHT_D1 = Date.parse('2026-03-28T23:00:00Z') // D+1 00:00 local
const GRACE_END = MIDNIGHT_D1 + KEY_GRACE_MS // destroy_after of D's key
const MAC = '3C:22:FB:7A:10:42'
const GW = 'gw-shop-one'

describe('daily pseudonymisation keys', () => {
  let t = NOON_D
  const clock: Clock = { now: () => t }

  it('destroys the key of day D at D+1 00:00 local + grace, and then rejects sightings of D', async () => {
    const ingest = await startIngest(clock)
    try {
      const topic = topicOf(buildSightingsTopic(GW))
      await deliver(
        ingest.service,
        topic,
        sightingsBatch(
          GW,
          1,
          NOON_D - 60_000,
          [
            { tMs: NOON_D - 5 * 60_000, mac: MAC, rssi: -60 },
            { tMs: NOON_D - 4 * 60_000, mac: MAC, rssi: -58 },
          ],
          'keyrot01',
        ),
      )
      expect(await acceptedBatches(ingest.service)).toBe(1)
      const key = await database.db
        .selectFrom('pseudonym_keys')
        .selectAll()
        .where(sql<boolean>`day = ${D}::date`)
        .executeTakeFirstOrThrow()
      expect(key.destroy_after.getTime()).toBe(GRACE_END)
      expect(key.key).toHaveLength(32)

      t = GRACE_END - 1
      await ingest.service.runMaintenance()
      expect(await keyDays()).toEqual([D])

      t = GRACE_END
      await ingest.service.runMaintenance()
      expect(await keyDays()).toEqual([])
      expect(logs.text()).toContain('destroyed pseudonymisation keys')

      // 2.5 h old for the clock, well inside the 24 h decode window, but its key is gone.
      t = GRACE_END + 60_000
      const lateD = Date.parse('2026-03-28T22:30:00Z') // D 23:30 local
      await deliver(
        ingest.service,
        topic,
        sightingsBatch(GW, 2, t - 30_000, [{ tMs: lateD, mac: MAC, rssi: -61 }], 'keyrot01'),
      )
      expect(await deadLetterReasons()).toEqual(['key_expired'])
      expect(await keyDays()).toEqual([])
      const batches = await database.db
        .selectFrom('ingest_batches')
        .select('seq')
        .where('boot_id', '=', 'keyrot01')
        .execute()
      expect(batches.map((b) => Number(b.seq))).toEqual([1])

      // Day D+1 still works and gets a key of its own.
      const earlyD1 = Date.parse('2026-03-29T00:50:00Z') // D+1 01:50 local (CET)
      await deliver(
        ingest.service,
        topic,
        sightingsBatch(GW, 3, t - 20_000, [{ tMs: earlyD1, mac: MAC, rssi: -62 }], 'keyrot01'),
      )
      expect(await acceptedBatches(ingest.service)).toBe(2)
      expect(await keyDays()).toEqual([D1])
    } finally {
      await ingest.stop()
    }
  })

  it("leaves yesterday's pseudonyms impossible to recompute, even for a fresh ingest process", async () => {
    t = GRACE_END + 5 * 60_000
    const fresh = await startIngest(clock)
    try {
      // A new process has no memory of the destroyed day: the database alone must refuse it.
      await deliver(
        fresh.service,
        topicOf(buildSightingsTopic(GW)),
        sightingsBatch(
          GW,
          1,
          t - 30_000,
          [{ tMs: Date.parse('2026-03-28T22:40:00Z'), mac: MAC, rssi: -60 }],
          'keyrot02',
        ),
      )
      expect(await deadLetterReasons()).toEqual(['key_expired', 'key_expired'])
      expect(await keyDays()).toEqual([D1])
    } finally {
      await fresh.stop()
    }

    const stored = async (table: 'transits' | 'open_transits', from: number, to: number) => {
      const rows = await database.db
        .selectFrom(table)
        .select('pseudonym')
        .where('first_seen', '>=', new Date(from))
        .where('first_seen', '<', new Date(to))
        .execute()
      return rows.map((r) => String(r.pseudonym))
    }
    // The maintenance run at the grace end closed D's session (the gateway had been silent).
    const ofD = [
      ...(await stored('transits', MIDNIGHT_D1 - 24 * HOUR, MIDNIGHT_D1)),
      ...(await stored('open_transits', MIDNIGHT_D1 - 24 * HOUR, MIDNIGHT_D1)),
    ]
    const ofD1 = [
      ...(await stored('transits', MIDNIGHT_D1, MIDNIGHT_D1 + 23 * HOUR)),
      ...(await stored('open_transits', MIDNIGHT_D1, MIDNIGHT_D1 + 23 * HOUR)),
    ]
    expect(ofD).toHaveLength(1)
    expect(ofD1).toHaveLength(1)
    const keys = await database.db.selectFrom('pseudonym_keys').select(['day', 'key']).execute()
    expect(keys).toHaveLength(1)
    // The hash computed here is the pseudonymiser's: today's stored pseudonym is recomputable…
    expect(ofD1).toEqual(keys.map((k) => hmacPseudonym(k.key, MAC)))
    // …and yesterday's is not, under any key left.
    for (const k of keys) expect(ofD).not.toContain(hmacPseudonym(k.key, MAC))
    expect(ofD[0]).not.toBe(ofD1[0])
  })
})

describe('a realistic run', () => {
  it('leaves no MAC anywhere: every table of every schema, the metrics and the logs', async () => {
    const district = await readDistrictFile('simulator/districts/mestre.json', DEFAULT_TIME_ZONE)
    await loadDistrict(database.db, district)
    const ingest = await startIngest()
    const started = performance.now()
    try {
      const now = Date.now()
      const simulation = createSimulation({
        district,
        seed: 42,
        fromMs: now - 25 * 60_000,
        toMs: now - 5 * 60_000,
        scenario: 'demo',
        // A flat day keeps the volume (and the run time) the same at any hour of the day.
        overrides: {
          randomisation: 'wifi-per-scan',
          hourShape: Array.from({ length: 24 }, () => 1),
        },
        collectTruth: false,
      })
      const result = await publishSimulation({
        client: publisher,
        simulation,
        speed: 'max',
        topicPrefix: clientPrefix,
      })
      expect(result.messages).toBeGreaterThan(1000)
      await waitFor(
        () => acceptedBatches(ingest.service),
        (n) => n >= result.messages,
        { timeoutMs: 90_000, intervalMs: 250, what: 'every simulated batch accepted' },
      )
      expect(await acceptedBatches(ingest.service)).toBe(result.messages)
      await ingest.service.runMaintenance()
      // What TimescaleDB derives from the run is scanned too. The embedded database has no
      // background workers, so run every job once (flows, pseudonym retention, compression, …) and
      // refresh each continuous aggregate over all time, in creation order (15 min → hour → day),
      // so that their materialisation tables hold the run whatever the time of day.
      // A real server's own workers would move chunks while the scan reads them: pause them.
      const resumeJobs = await pauseBackgroundJobs(database.db)
      const ranJobs = await createJobRunner(database.db, logs.log).runAllJobs()
      expect(ranJobs).toBeGreaterThan(0)
      const caggs = await sql<{ view: string; schema: string; table: string }>`
        SELECT format('%I.%I', view_schema, view_name) AS view,
               materialization_hypertable_schema AS schema, materialization_hypertable_name AS table
        FROM timescaledb_information.continuous_aggregates
        ORDER BY substring(materialization_hypertable_name FROM '[0-9]+$')::int`.execute(
        database.db,
      )
      expect(caggs.rows.length).toBeGreaterThan(0)
      for (const { view } of caggs.rows) await refreshAggregate(database.db, view)

      const transits = await sql<{ n: string; randomised: string }>`
        SELECT count(*) AS n, count(*) FILTER (WHERE randomised) AS randomised
        FROM transits WHERE first_seen >= ${new Date(now - HOUR)}`.execute(database.db)
      expect(Number(transits.rows[0]?.n)).toBeGreaterThan(50)
      expect(Number(transits.rows[0]?.randomised)).toBeGreaterThan(0)

      // Every table of every schema, row by row as stored (`FROM ONLY`: a hypertable's rows live in
      // its chunks, which are tables of their own here), and then every hypertable as queried, which
      // decompresses compressed chunks.
      const tables = await sql<{ table_schema: string; table_name: string }>`
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY table_schema, table_name`.execute(database.db)
      const hypertables = await sql<{ table_schema: string; table_name: string }>`
        SELECT hypertable_schema AS table_schema, hypertable_name AS table_name
        FROM timescaledb_information.hypertables ORDER BY 1, 2`.execute(database.db)
      const schemas = new Set(tables.rows.map((r) => r.table_schema))
      expect(schemas).toContain('public')
      expect(schemas).toContain('_timescaledb_internal')
      const names = tables.rows.map((r) => r.table_name)
      expect(names.some((n) => n.startsWith('_materialized_hypertable_'))).toBe(true)
      expect(names.some((n) => /^_hyper_\d+_\d+_chunk$/.test(n))).toBe(true)
      expect(hypertables.rows.map((h) => h.table_name)).toContain('transits')
      // The scan sees strings at any depth (a MAC is never hidden by the number/UUID exclusions).
      expect(textOf({ a: [1, { b: 'id 3c22fb7a1042' }] })).toMatch(MAC_PATTERN)
      expect(textOf({ 'AA-BB-CC-DD-EE-FF': 604800000000 })).toMatch(MAC_PATTERN)
      let rows = 0
      let materialised = 0
      const scan = async (schema: string, table: string, only: boolean) => {
        const from = only ? sql`ONLY ${sql.id(schema, table)}` : sql.id(schema, table)
        const dump = await sql<{
          j: string
        }>`SELECT row_to_json(t)::text AS j FROM ${from} t`.execute(database.db)
        for (const r of dump.rows) {
          rows++
          const m = MAC_PATTERN.exec(textOf(JSON.parse(r.j)))
          expect(m?.[0], `${schema}.${table}: ${r.j.slice(0, 300)}`).toBeUndefined()
        }
        return dump.rows.length
      }
      // The parent of a compressed hypertable holds no rows (its chunks, listed above, do), and
      // TimescaleDB 2.28 refuses to read it directly ("chunk … has no dimension slices").
      const compressedParents = await sql<{ name: string }>`
        SELECT table_name AS name FROM _timescaledb_catalog.hypertable
        WHERE compression_state = 2`.execute(database.db)
      const skip = new Set(compressedParents.rows.map((r) => r.name))
      for (const { table_schema, table_name } of tables.rows)
        if (!skip.has(table_name)) await scan(table_schema, table_name, true)
      for (const { table_schema, table_name } of hypertables.rows)
        await scan(table_schema, table_name, false)
      for (const { schema, table } of caggs.rows) materialised += await scan(schema, table, false)
      expect(rows).toBeGreaterThan(1000)
      expect(materialised).toBeGreaterThan(0)

      const metrics = await ingest.service.metrics.registry.metrics()
      expect(metrics).toContain('miglio_ingest_messages_total')
      expect(metrics).not.toMatch(MAC_PATTERN)
      const logText = logs.text()
      expect(logText).toContain('ingest started')
      expect(logText).not.toMatch(MAC_PATTERN)
      await resumeJobs()
      console.log(
        `realistic run: ${result.messages} batches, ${result.sightings} sightings, ${transits.rows[0]?.n} transits, ${ranJobs} jobs, ${tables.rows.length} tables / ${rows} rows (${materialised} materialised) scanned in ${Math.round(performance.now() - started)} ms`,
      )
    } finally {
      await ingest.stop()
    }
  })
})
