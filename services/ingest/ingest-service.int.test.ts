import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type MqttClient } from 'mqtt'
import {
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '../shared/testing/engines.ts'
import { sightingsBatch, tinyDistrict } from '../shared/testing/fixtures.ts'
import {
  MAC_PATTERN,
  counterValue,
  createLogCapture,
  oneDayWindowEnd,
  randomTopicPrefix,
} from '../shared/testing/helpers.ts'
import {
  TEST_INGEST_CONFIG,
  acceptedBatches,
  startTestIngest,
  type TestIngest,
} from './testing/ingest-harness.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import {
  buildSightingsTopic,
  TRANSITS_CHANGED_TOPIC,
  buildStatusTopic,
  withTopicPrefix,
} from '../shared/contracts/topics.ts'
import { TransitsChangedSchema, liveBucketOf } from '../shared/contracts/gateway-messages.ts'
import { createIngestService } from './ingest-service.ts'
import type { IngestConfig } from './ingest-config.ts'
import { sql } from 'kysely'

let database: TestDatabase
let broker: TestBroker
let publisher: MqttClient
const logs = createLogCapture('debug')
/**
 * Every window of this file lies in the hour before `base`, inside one local day: a device gets a
 * new pseudonym at local midnight, which would split the sessions these tests count.
 */
const base = oneDayWindowEnd(60 * 60_000)

const clientPrefix = randomTopicPrefix('t')
let clientSeq = 0
/** Every test file talks under its own topic prefix, so files sharing a broker never see each other. */
const topicOf = (topic: string) => withTopicPrefix(clientPrefix, topic)

function startIngest(
  clientId = `${clientPrefix}-ingest`,
  extra: Partial<IngestConfig> = {},
): Promise<TestIngest> {
  return startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId,
    config: { ...TEST_INGEST_CONFIG, topicPrefix: clientPrefix, ...extra },
    log: logs.log,
    reconnectPeriodMs: 200,
  })
}

async function transits(gatewayId: string) {
  return database.db
    .selectFrom('transits')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .orderBy('first_seen')
    .execute()
}

async function batchesOf(gatewayId: string) {
  const r = await database.db
    .selectFrom('ingest_batches')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('gateway_id', '=', gatewayId)
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
  await loadDistrict(database.db, tinyDistrict())
  publisher = await mqtt.connectAsync(broker.url, {
    clientId: `${clientPrefix}-pub-${clientSeq++}`,
    protocolVersion: 4,
  })
})

afterAll(async () => {
  await publisher?.endAsync()
  await broker?.close()
  await database?.close()
})

describe(createIngestService.name, () => {
  it('turns a device heard across batches into one transit once the watermark passes the gap', async () => {
    const ingest = await startIngest()
    // The API's side of the announcement of what a commit stored (zone ids and counts per live
    // bucket, nothing of the device).
    const announcements: unknown[] = []
    const listener = await mqtt.connectAsync(broker.url, {
      clientId: `${clientPrefix}-listener`,
      protocolVersion: 4,
    })
    listener.on('message', (_t, payload) => announcements.push(JSON.parse(payload.toString())))
    await listener.subscribeAsync(topicOf(TRANSITS_CHANGED_TOPIC))
    try {
      const t0 = base - 20 * 60_000
      const mac = '3C:22:FB:11:22:33'
      const topic = topicOf(buildSightingsTopic('gw-shop-one'))
      await publisher.publishAsync(
        topic,
        sightingsBatch('gw-shop-one', 1, t0 + 5_000, [
          { tMs: t0, mac, rssi: -60 },
          { tMs: t0 + 4_000, mac, rssi: -55 },
        ]),
        { qos: 1 },
      )
      await publisher.publishAsync(
        topic,
        sightingsBatch('gw-shop-one', 2, t0 + 95_000, [
          { tMs: t0 + 90_000, mac: '3c-22-fb-11-22-33', rssi: -58 },
        ]),
        { qos: 1 },
      )
      // An empty batch far enough later closes the session (watermark - gap > last seen).
      await publisher.publishAsync(topic, sightingsBatch('gw-shop-one', 3, t0 + 300_000, []), {
        qos: 1,
      })
      const rows = await waitFor(
        () => transits('gw-shop-one'),
        (r) => r.length === 1,
        { what: 'one transit' },
      )
      expect(rows[0]).toMatchObject({
        samples: 3,
        peak_rssi: -55,
        visitor: true,
        zone_id: 'shop-one',
        shop_id: 'shop-one',
        threshold_version: 1,
      })
      expect(rows[0]!.dwell_s).toBeCloseTo(90, 3)
      await waitFor(
        () => Promise.resolve(announcements),
        (a) => a.length > 0,
        { what: 'the announcement of the new transit' },
      )
      expect(announcements).toEqual([
        {
          v: 2,
          instance: expect.stringMatching(/^[0-9a-f]{16}$/),
          seq: expect.any(Number),
          xid: expect.stringMatching(/^[0-9]+$/),
          // The transit (a visitor) counts in the live bucket of its first sighting.
          zones: [{ id: 'shop-one', b: [[liveBucketOf(t0), 0, 1]] }],
        },
      ])
      expect(TransitsChangedSchema.parse(announcements[0])).toEqual(announcements[0])
      // The transaction that stored it, as the API compares it with a snapshot of the database.
      const { xid } = announcements[0] as { xid: string }
      const seen = await sql<{ seen: boolean }>`
        SELECT pg_visible_in_snapshot(${xid}::xid8, pg_current_snapshot()) AS seen`.execute(
        database.db,
      )
      expect(seen.rows[0]?.seen).toBe(true)
    } finally {
      await listener.endAsync()
      await ingest.stop()
    }
  })

  it('changes nothing when a batch is delivered again with the same boot id and seq', async () => {
    const ingest = await startIngest()
    try {
      const t0 = base - 40 * 60_000
      const topic = topicOf(buildSightingsTopic('gw-street-a'))
      const batch = sightingsBatch(
        'gw-street-a',
        10,
        t0 + 5_000,
        [{ tMs: t0, mac: '00:1a:2b:3c:4d:5e', rssi: -80 }],
        'dup00001',
      )
      await publisher.publishAsync(topic, batch, { qos: 1 })
      await publisher.publishAsync(topic, batch, { qos: 1 })
      await publisher.publishAsync(
        topic,
        sightingsBatch('gw-street-a', 11, t0 + 400_000, [], 'dup00001'),
        { qos: 1 },
      )
      await waitFor(
        () => transits('gw-street-a'),
        (r) => r.length >= 1,
        { what: 'transit' },
      )
      await waitFor(
        () => counterValue(ingest.service.metrics.duplicates),
        (n) => n === 1,
        { what: 'duplicate counted' },
      )
      const rows = await transits('gw-street-a')
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ samples: 1, visitor: false })
      expect(await batchesOf('gw-street-a')).toBe(2)
    } finally {
      await ingest.stop()
    }
  })

  it('keeps an open session across a restart of the ingest process and writes it once', async () => {
    const gw = 'gw-street-a'
    const topic = topicOf(buildSightingsTopic(gw))
    // Later than the previous test's watermark on this gateway, so nothing is closed as late data.
    const t0 = base - 11 * 60_000
    const mac = '00:aa:bb:cc:dd:01'
    const first = await startIngest(`${clientPrefix}-restart`)
    try {
      await publisher.publishAsync(
        topic,
        sightingsBatch(gw, 1, t0 + 5_000, [{ tMs: t0, mac, rssi: -70 }], 'restart1'),
        { qos: 1 },
      )
      await waitFor(
        () => acceptedBatches(first.service),
        (n) => n === 1,
        { what: 'the first batch' },
      )
    } finally {
      await first.stop()
    }
    // A clean stop leaves the open session checkpointed in open_transits.
    const open = await database.db
      .selectFrom('open_transits')
      .select('pseudonym')
      .where('gateway_id', '=', gw)
      .execute()
    expect(open).toHaveLength(1)
    // Published while ingest is down: the persistent session queues it at the broker.
    await publisher.publishAsync(
      topic,
      sightingsBatch(gw, 2, t0 + 65_000, [{ tMs: t0 + 60_000, mac, rssi: -72 }], 'restart1'),
      { qos: 1 },
    )
    const second = await startIngest(`${clientPrefix}-restart`)
    try {
      // The queued batch first: a broker need not interleave a reconnecting session's queue with
      // new messages in publish order, and a later watermark arriving first would close the session.
      await waitFor(
        () => acceptedBatches(second.service),
        (n) => n === 1,
        { what: 'the queued batch' },
      )
      await publisher.publishAsync(topic, sightingsBatch(gw, 3, t0 + 600_000, [], 'restart1'), {
        qos: 1,
      })
      const rows = await waitFor(
        async () => (await transits(gw)).filter((r) => r.first_seen.getTime() === t0),
        (r) => r.length === 1,
        { what: 'the restarted session closed' },
      )
      expect(rows[0]).toMatchObject({ samples: 2 })
      expect(rows[0]!.dwell_s).toBeCloseTo(60, 3)
    } finally {
      await second.stop()
    }
  })

  it('dead-letters bad messages with a reason, keeps no raw MAC and keeps running', async () => {
    const ingest = await startIngest()
    try {
      const now = Date.now()
      const mac = 'DE:AD:BE:EF:00:01'
      const bad: [string, string, string][] = [
        [
          topicOf(buildSightingsTopic('gw-shop-one')),
          `{"v":1,"gatewayId":"gw-shop-one","mac":"${mac}"`,
          'malformed_json',
        ],
        [
          topicOf(buildSightingsTopic('gw-shop-one')),
          sightingsBatch('gw-street-a', 1, now, [{ tMs: now, mac, rssi: -50 }]),
          'gateway_mismatch',
        ],
        [
          topicOf(buildSightingsTopic('gw-ghost')),
          sightingsBatch('gw-ghost', 1, now, [{ tMs: now, mac, rssi: -50 }]),
          'unknown_gateway',
        ],
        [
          topicOf(buildSightingsTopic('gw-shop-one')),
          sightingsBatch('gw-shop-one', 99, now, [{ tMs: now - 25 * 3_600_000, mac, rssi: -50 }]),
          'stale_timestamp',
        ],
        [
          topicOf(buildSightingsTopic('gw-shop-one')),
          sightingsBatch('gw-shop-one', 98, now, [{ tMs: now, mac, rssi: 12 }]),
          'schema',
        ],
        // A NUL byte cannot be stored in Postgres text: the dead letter must still be written.
        [topicOf(buildSightingsTopic('gw-shop-one')), `{"mac":"${mac}"\u0000`, 'malformed_json'],
        // A gateway id that looks like a MAC is redacted in the dead letter too.
        [
          topicOf(buildSightingsTopic('0a1b2c3d4e5f')),
          sightingsBatch('0a1b2c3d4e5f', 1, now, [{ tMs: now, mac, rssi: -50 }]),
          'unknown_gateway',
        ],
      ]
      for (const [topic, payload] of bad) await publisher.publishAsync(topic, payload, { qos: 1 })
      await publisher.publishAsync(
        topicOf(buildStatusTopic('gw-shop-one')),
        JSON.stringify({
          v: 1,
          gatewayId: 'gw-shop-one',
          state: 'online',
          fw: '1.4.2',
          uptimeS: 10,
          queue: 0,
        }),
        { qos: 1 },
      )
      const letters = await waitFor(
        () => database.db.selectFrom('dead_letters').selectAll().execute(),
        (r) => r.length >= bad.length,
        { what: 'dead letters' },
      )
      expect(letters.map((l) => l.reason).sort()).toEqual(bad.map((b) => b[2]).sort())
      for (const l of letters) {
        expect(JSON.stringify(l)).not.toMatch(MAC_PATTERN)
        expect(l.payload_redacted).toContain('xx:xx:xx:xx:xx:xx')
      }
      const state = await waitFor(
        () =>
          database.db
            .selectFrom('gateway_state')
            .selectAll()
            .where('gateway_id', '=', 'gw-shop-one')
            .executeTakeFirst(),
        (s) => s?.state === 'online',
        { what: 'gateway online' },
      )
      expect(state?.fw).toBe('1.4.2')
      expect(logs.text()).not.toMatch(MAC_PATTERN)
      expect(logs.text()).toContain('message rejected')
    } finally {
      await ingest.stop()
    }
  })

  it('learns a device heard without a break as static, drops it, and honours deny and allow lists', async () => {
    const district = tinyDistrict()
    const staticDistrict = {
      ...district,
      id: 'static-district',
      zones: district.zones
        .filter((z) => z.id === 'street-a')
        .map((z) => ({ ...z, id: 'static-zone' })),
      shops: [],
      gateways: [{ ...district.gateways[0]!, id: 'gw-static', zoneId: 'static-zone' }],
    }
    await loadDistrict(database.db, staticDistrict)
    const shopPc = '00:11:22:33:44:01'
    const walker = '00:11:22:33:44:02'
    const staff = '00:11:22:33:44:03'
    const kiosk = '00:11:22:33:44:04'
    const ingest = await startIngest(`${clientPrefix}-static`, {
      staticAfterMs: 30 * 60_000,
      deviceList: { deny: new Set(['001122334403']), allow: new Set(['001122334404']) },
    })
    try {
      const topic = topicOf(buildSightingsTopic('gw-static'))
      const t0 = base - 50 * 60_000
      // Every minute for 40 min: the PC, the staff phone and the kiosk are always there; the walker
      // passes once in minute 5.
      for (let m = 0; m <= 40; m++) {
        const t = t0 + m * 60_000
        const heard = [
          { tMs: t, mac: shopPc, rssi: -60 },
          { tMs: t, mac: staff, rssi: -60 },
          { tMs: t, mac: kiosk, rssi: -60 },
          ...(m === 5 ? [{ tMs: t, mac: walker, rssi: -75 }] : []),
        ]
        await publisher.publishAsync(
          topic,
          sightingsBatch('gw-static', m, t + 1000, heard, 'static01'),
          { qos: 1 },
        )
      }
      await publisher.publishAsync(
        topic,
        sightingsBatch('gw-static', 41, t0 + 48 * 60_000, [], 'static01'),
        {
          qos: 1,
        },
      )
      await waitFor(
        () => acceptedBatches(ingest.service),
        (n) => n === 42,
        { what: 'all 42 batches' },
      )
      // The walker and the allow-listed kiosk (closed by the last batch's watermark) are transits;
      // the PC (static) and the staff phone (denied) are not.
      const rows = await transits('gw-static')
      expect(rows.map((r) => r.samples).sort((a, b) => a - b)).toEqual([1, 41])
      const filtered = (reason: string) => counterValue(ingest.service.metrics.filtered, { reason })
      expect(await filtered('deny_list')).toBe(41)
      // Learned after 31 min of sightings (minutes 0–30 are dropped with it), the rest dropped on arrival.
      expect(await filtered('static_device')).toBe(41)
      expect(await counterValue(ingest.service.metrics.staticDevices)).toBe(1)
      const statics = await database.db
        .selectFrom('static_devices')
        .selectAll()
        .where('gateway_id', '=', 'gw-static')
        .execute()
      expect(statics).toHaveLength(1)
    } finally {
      await ingest.stop()
    }
  })

  it('tracks gaps in seq within a boot, a reboot, clock skew and the last will', async () => {
    const ingest = await startIngest(`${clientPrefix}-health`)
    try {
      const topic = topicOf(buildSightingsTopic('gw-shop-one'))
      const now = Date.now()
      // seq 100, 101, 105 on one boot (3 lost), then a reboot starting again at 0.
      for (const [seq, boot] of [
        [100, 'health01'],
        [101, 'health01'],
        [105, 'health01'],
        [0, 'health02'],
      ] as const) {
        await publisher.publishAsync(
          topic,
          sightingsBatch('gw-shop-one', seq, now - 90_000, [], boot),
          { qos: 1 },
        )
      }
      await publisher.publishAsync(
        topicOf(buildStatusTopic('gw-shop-one')),
        JSON.stringify({ v: 1, gatewayId: 'gw-shop-one', state: 'offline' }),
        { qos: 1 },
      )
      const state = await waitFor(
        () =>
          database.db
            .selectFrom('gateway_state')
            .selectAll()
            .where('gateway_id', '=', 'gw-shop-one')
            .executeTakeFirst(),
        (s) => s?.boot_id === 'health02' && s.state === 'offline',
        { what: 'gateway state after reboot and last will' },
      )
      expect(Number(state?.seq_gaps)).toBe(3)
      expect(Number(state?.last_seq)).toBe(0)
      // sentAt was 90 s behind our clock: the gateway's clock is about 90 s slow.
      expect(state?.clock_skew_ms).toBeLessThan(-85_000)
      expect(state?.clock_skew_ms).toBeGreaterThan(-100_000)
    } finally {
      await ingest.stop()
    }
  })

  it('does not split a session while other gateways keep ingest busy past the idle time', async () => {
    const district = tinyDistrict()
    const street = district.zones.find((z) => z.id === 'street-a')!
    await loadDistrict(database.db, {
      ...district,
      id: 'backlog-district',
      zones: [{ ...street, id: 'backlog-zone' }],
      shops: [],
      gateways: ['gw-bl-a', 'gw-bl-b'].map((id) => ({
        ...district.gateways[0]!,
        id,
        zoneId: 'backlog-zone',
      })),
    })
    const ingest = await startIngest(`${clientPrefix}-backlog`, {
      idleCloseMs: 500,
      maintenanceIntervalMs: 100,
    })
    try {
      const a = topicOf(buildSightingsTopic('gw-bl-a'))
      const b = topicOf(buildSightingsTopic('gw-bl-b'))
      const t0 = base - 30 * 60_000
      const device = '00:aa:00:bb:00:01'
      await publisher.publishAsync(
        a,
        sightingsBatch('gw-bl-a', 1, t0 + 5_000, [{ tMs: t0, mac: device, rssi: -70 }], 'bl'),
        { qos: 1 },
      )
      // Gateway B keeps ingest busy for 2 s of wall time (4× the idle time) while gateway A's next
      // batch is still to come: A is quiet on the wall clock, not in event time.
      for (let i = 1; i <= 40; i++) {
        await publisher.publishAsync(
          b,
          sightingsBatch('gw-bl-b', i, t0 + 5_000 + i * 1_000, [], 'bl'),
          { qos: 1 },
        )
        await new Promise((r) => setTimeout(r, 50))
      }
      await publisher.publishAsync(
        a,
        sightingsBatch(
          'gw-bl-a',
          2,
          t0 + 70_000,
          [{ tMs: t0 + 65_000, mac: device, rssi: -72 }],
          'bl',
        ),
        { qos: 1 },
      )
      await publisher.publishAsync(a, sightingsBatch('gw-bl-a', 3, t0 + 400_000, [], 'bl'), {
        qos: 1,
      })
      await waitFor(
        () => acceptedBatches(ingest.service),
        (n) => n === 43,
        {
          what: 'all 43 batches',
        },
      )
      const rows = await waitFor(
        () => transits('gw-bl-a'),
        (r) => r.length >= 1,
        {
          what: 'the transit',
        },
      )
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ samples: 2 })
    } finally {
      await ingest.stop()
    }
  })

  it('commits the rest of a group when one message cannot be written, and dead-letters that one', async () => {
    // A database that refuses to record one batch (as a constraint or a bug would): not a
    // connection problem, so it is not retried without end.
    const refusing = database.db.withPlugin({
      transformQuery({ node }) {
        const text = JSON.stringify(node)
        if (text.includes('ingest_batches') && text.includes('poison-boot'))
          throw new Error('refused for the test')
        return node
      },
      async transformResult({ result }) {
        return result
      },
    })
    const ingest = await startTestIngest({
      brokerUrl: broker.url,
      db: refusing,
      clientId: `${clientPrefix}-poison`,
      config: { ...TEST_INGEST_CONFIG, topicPrefix: clientPrefix },
      log: logs.log,
    })
    try {
      const t0 = base - 10 * 60_000
      const mac = 'AA:BB:CC:00:11:22'
      const publish = (gw: string, seq: number, bootId: string) =>
        publisher.publishAsync(
          topicOf(buildSightingsTopic(gw)),
          sightingsBatch(gw, seq, t0 + seq * 1000, [{ tMs: t0, mac, rssi: -60 }], bootId),
          { qos: 1 },
        )
      await Promise.all([
        publish('gw-shop-one', 1, 'good-boot'),
        publish('gw-shop-one', 2, 'poison-boot'),
        publish('gw-street-a', 1, 'good-boot'),
      ])
      const letters = await waitFor(
        () =>
          database.db
            .selectFrom('dead_letters')
            .selectAll()
            .where('reason', '=', 'write_failed')
            .execute(),
        (r) => r.length === 1,
        { what: 'the unwritable message as a dead letter', timeoutMs: 30_000 },
      )
      expect(letters[0]).toMatchObject({ gateway_id: 'gw-shop-one' })
      expect(letters[0]!.payload_redacted).toContain('poison-boot')
      expect(JSON.stringify(letters[0])).not.toMatch(MAC_PATTERN)
      // The split group commits message by message: the other good one may come after the letter.
      const good = await waitFor(
        () =>
          database.db
            .selectFrom('ingest_batches')
            .select(['gateway_id', 'boot_id'])
            .where('boot_id', 'in', ['good-boot', 'poison-boot'])
            .orderBy('gateway_id')
            .execute(),
        (r) => r.length >= 2,
        { what: 'both good batches recorded' },
      )
      expect(good).toEqual([
        { gateway_id: 'gw-shop-one', boot_id: 'good-boot' },
        { gateway_id: 'gw-street-a', boot_id: 'good-boot' },
      ])
      expect(await counterValue(ingest.service.metrics.rejects, { reason: 'write_failed' })).toBe(1)
      // Every message is acknowledged: none is left in hand.
      await waitFor(
        () => counterValue(ingest.service.metrics.inFlight),
        (n) => n === 0,
        { what: 'nothing left unacknowledged' },
      )
    } finally {
      await ingest.stop()
    }
  })

  it('stores no raw MAC anywhere in the database', async () => {
    const tables = await sql<{ table_name: string }>`
      SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(database.db)
    expect(tables.rows.length).toBeGreaterThan(5)
    for (const { table_name } of tables.rows) {
      const rows = await sql<{
        j: string
      }>`SELECT row_to_json(t)::text AS j FROM ${sql.table(table_name)} t`.execute(database.db)
      for (const r of rows.rows) expect(r.j, table_name).not.toMatch(MAC_PATTERN)
    }
  })
})
