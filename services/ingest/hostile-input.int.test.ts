import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import { sql } from 'kysely'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { sightingsBatch, tinyDistrict } from '../shared/testing/fixtures.ts'
import {
  counterValue,
  createLogCapture,
  oneDayWindowEnd,
  randomTopicPrefix,
} from '../shared/testing/helpers.ts'
import { TEST_INGEST_CONFIG, startTestIngest, type TestIngest } from './testing/ingest-harness.ts'
import { createMacScanner } from '../shared/testing/mac-scan.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import {
  buildSightingsTopic,
  buildStatusTopic,
  withTopicPrefix,
} from '../shared/contracts/topics.ts'

/**
 * What an attacker or a broken firmware sends: replays with altered content, MACs in fields that
 * are not `mac`, payloads that hide a MAC from a naive redactor, floods of bad messages.
 */
let database: TestDatabase
let broker: TestBroker
let publisher: MqttClient
let ingest: TestIngest
const logs = createLogCapture('info')
const prefix = randomTopicPrefix('h')
const topicOf = (topic: string) => withTopicPrefix(prefix, topic)
const base = oneDayWindowEnd(60 * 60_000)

async function transitsOf(gatewayId: string) {
  return database.db
    .selectFrom('transits')
    .select(['first_seen', 'last_seen', 'samples', 'visitor'])
    .where('gateway_id', '=', gatewayId)
    .orderBy('first_seen')
    .execute()
}

async function deadLetters(reason: string) {
  return database.db.selectFrom('dead_letters').selectAll().where('reason', '=', reason).execute()
}

async function storedTransitsMetric(): Promise<number> {
  const m = ingest.service.metrics.transits
  return (
    (await counterValue(m, { class: 'visitor' })) + (await counterValue(m, { class: 'passer_by' }))
  )
}

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  await loadDistrict(database.db, tinyDistrict())
  publisher = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-pub`, protocolVersion: 4 })
  ingest = await startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId: `${prefix}-ingest`,
    config: { ...TEST_INGEST_CONFIG, topicPrefix: prefix },
    log: logs.log,
  })
})

afterAll(async () => {
  await ingest?.stop()
  await publisher?.endAsync()
  await broker?.close()
  await database?.close()
})

describe('ingest under hostile input', () => {
  it('counts a batch once however a replay alters it: other content is a conflicting_replay dead letter', async () => {
    const gw = 'gw-shop-one'
    const topic = topicOf(buildSightingsTopic(gw))
    const t0 = base - 50 * 60_000
    const mac = '3c:22:fb:77:00:01'
    const first = (sentAtMs: number, rssi = -60) =>
      sightingsBatch(
        gw,
        1,
        sentAtMs,
        [
          { tMs: t0, mac, rssi },
          { tMs: t0 + 70_000, mac, rssi: -58 },
        ],
        'replay01',
      )
    const closing = (sentAtMs: number) => sightingsBatch(gw, 2, sentAtMs, [], 'replay01')
    await publisher.publishAsync(topic, first(t0 + 75_000), { qos: 1 })
    await publisher.publishAsync(topic, closing(t0 + 400_000), { qos: 1 })
    await waitFor(
      () => transitsOf(gw),
      (r) => r.length === 1,
      { what: 'the transit' },
    )
    const before = await transitsOf(gw)

    // The adversarial run's replay: the same gateway, boot id and seq with sentAt moved by 1 ms.
    await publisher.publishAsync(topic, first(t0 + 75_001), { qos: 1 })
    await publisher.publishAsync(topic, first(t0 + 75_000, -40), { qos: 1 })
    await publisher.publishAsync(topic, closing(t0 + 400_001), { qos: 1 })
    // A redelivery of the very same bytes stays a harmless duplicate.
    await publisher.publishAsync(topic, closing(t0 + 400_000), { qos: 1 })
    await waitFor(
      () => counterValue(ingest.service.metrics.rejects, { reason: 'conflicting_replay' }),
      (n) => n === 3,
      { what: 'three conflicting replays' },
    )
    await waitFor(
      () => counterValue(ingest.service.metrics.duplicates),
      (n) => n === 1,
      { what: 'one duplicate' },
    )
    expect(await transitsOf(gw)).toEqual(before)
    const letters = await deadLetters('conflicting_replay')
    expect(letters).toHaveLength(3)
    expect(letters[0]).toMatchObject({ gateway_id: gw })
    expect(letters[0]?.detail).toContain('batch 1 of boot replay01')
    expect(createMacScanner([mac]).scan(JSON.stringify(letters), 'test')).toEqual([])
    const batches = await database.db
      .selectFrom('ingest_batches')
      .select(['seq', 'sent_at', 'content_digest'])
      .where('gateway_id', '=', gw)
      .where('boot_id', '=', 'replay01')
      .orderBy('seq')
      .execute()
    expect(batches.map((b) => [Number(b.seq), b.sent_at.getTime()])).toEqual([
      [1, t0 + 75_000],
      [2, t0 + 400_000],
    ])
    expect(batches.every((b) => b.content_digest !== null)).toBe(true)
    // The metric counts what was stored, nothing the database kept out.
    const stored = await database.db
      .selectFrom('transits')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    expect(await storedTransitsMetric()).toBe(Number(stored.n))
  })

  it('rejects a MAC in a boot id or a firmware version, in whatever notation', async () => {
    const gw = 'gw-street-a'
    const now = Date.now()
    const macs = [
      '7e:fd:7a:e4:31:66',
      'c4:9a:02:11:22:33',
      '24:4b:03:d7:27:80',
      '3c:22:fb:7a:10:42',
    ]
    const sent: [string, string][] = [
      [buildSightingsTopic(gw), sightingsBatch(gw, 1, now, [], '7efd7ae43166')],
      [buildSightingsTopic(gw), sightingsBatch(gw, 2, now, [], 'C4.9A.02.11.22.33')],
      [buildSightingsTopic(gw), sightingsBatch(gw, 3, now, [], '244b.03d7.2780')],
      [
        buildSightingsTopic(gw),
        sightingsBatch(gw, 4, now, [], 'x').replace(
          '"bootId":"x"',
          '"bootId":"3c\\u0032\\u0032fb7a1042"',
        ),
      ],
      [
        buildStatusTopic(gw),
        JSON.stringify({ v: 1, gatewayId: gw, state: 'online', fw: '7E-FD-7A-E4-31-66' }),
      ],
      [
        buildStatusTopic(gw),
        JSON.stringify({ v: 1, gatewayId: gw, state: 'online', fw: 'c49a.0211.2233' }),
      ],
    ]
    const rejectedBefore = await counterValue(ingest.service.metrics.rejects, { reason: 'schema' })
    for (const [topic, payload] of sent)
      await publisher.publishAsync(topicOf(topic), payload, { qos: 1 })
    await waitFor(
      () => counterValue(ingest.service.metrics.rejects, { reason: 'schema' }),
      (n) => n === rejectedBefore + sent.length,
      { what: 'every one rejected' },
    )
    const letters = await deadLetters('schema')
    expect(letters.map((l) => l.detail).join(' ')).toMatch(/bootId: reads as a device address/)
    expect(letters.map((l) => l.detail).join(' ')).toMatch(/fw: reads as a device address/)
    const batches = await database.db.selectFrom('ingest_batches').select('boot_id').execute()
    const state = await database.db.selectFrom('gateway_state').select(['boot_id', 'fw']).execute()
    expect(createMacScanner(macs).scan(JSON.stringify([batches, state, letters]), 'test')).toEqual(
      [],
    )
  })

  it('stores dead letters as redacted renderings: escaped, UTF-16 and binary payloads included', async () => {
    const gw = 'gw-street-a'
    const mac = '7e:fd:7a:e4:31:99'
    const json = `{"v":1,"gatewayId":"${gw}","sightings":[{"mac":"7\\u0065:fd-7a:e4:31:99"}],`
    const payloads = [
      Buffer.from(json),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`{"mac":"${mac}"}`, 'utf16le')]),
      Buffer.from(`{"mac":"${mac}"}`, 'utf16le').swap16(),
      Buffer.concat([Buffer.from([0x01, 0x02, 0xc0]), Buffer.from('7efd7ae43199', 'hex')]),
      Buffer.from(`{"v":1,"gatewayId":"${gw}","note":"${'x'.repeat(5000)} ${mac}"}`),
    ]
    const malformedBefore = await counterValue(ingest.service.metrics.rejects, {
      reason: 'malformed_json',
    })
    const schemaBefore = await counterValue(ingest.service.metrics.rejects, { reason: 'schema' })
    for (const p of payloads)
      await publisher.publishAsync(topicOf(buildSightingsTopic(gw)), p, { qos: 1 })
    await waitFor(
      async () =>
        (await counterValue(ingest.service.metrics.rejects, { reason: 'malformed_json' })) -
        malformedBefore +
        (await counterValue(ingest.service.metrics.rejects, { reason: 'schema' })) -
        schemaBefore,
      (n) => n === payloads.length,
      { what: 'every payload rejected' },
    )
    const letters = await database.db
      .selectFrom('dead_letters')
      .select(['payload_redacted', 'payload_bytes'])
      .where(
        'payload_bytes',
        'in',
        payloads.map((p) => p.length),
      )
      .execute()
    expect(letters).toHaveLength(payloads.length)
    expect(letters.every((l) => l.payload_redacted.length <= 4096)).toBe(true)
    expect(letters.map((l) => l.payload_redacted)).toContain(
      '(binary payload of 9 bytes: not shown)',
    )
    expect(letters.filter((l) => l.payload_redacted.includes('xx:xx:xx:xx:xx:xx'))).toHaveLength(3)
    const dump = await sql<{
      j: string
    }>`SELECT row_to_json(d)::text AS j FROM dead_letters d`.execute(database.db)
    expect(createMacScanner([mac]).scan(dump.rows.map((r) => r.j).join('\n'), 'test')).toEqual([])
    expect(createMacScanner([mac]).scan(logs.text(), 'test')).toEqual([])
  })

  it('logs a flood of rejects as a few lines, while counting every one', async () => {
    const gw = 'gw-street-a'
    const before = await counterValue(ingest.service.metrics.rejects, { reason: 'malformed_json' })
    const linesBefore = logs.text().split('message rejected').length
    for (let i = 0; i < 300; i++)
      await publisher.publishAsync(topicOf(buildSightingsTopic(gw)), `{"flood":${i}`, { qos: 1 })
    await waitFor(
      () => counterValue(ingest.service.metrics.rejects, { reason: 'malformed_json' }),
      (n) => n === before + 300,
      { what: 'every flooded message counted' },
    )
    const lines = logs.text().split('message rejected').length - linesBefore
    expect(lines).toBeLessThanOrEqual(2)
  })
})
