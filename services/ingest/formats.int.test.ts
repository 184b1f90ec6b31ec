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
import { tinyDistrict } from '../shared/testing/fixtures.ts'
import {
  MAC_PATTERN,
  counterValue,
  createLogCapture,
  oneDayWindowEnd,
  randomTopicPrefix,
} from '../shared/testing/helpers.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import type { DistrictFile, GatewaySource } from '../shared/contracts/district.ts'
import { toEpochMs, type SightingsBatch } from '../shared/contracts/gateway-messages.ts'
import { isRandomisedMac } from '../shared/contracts/mac.ts'
import {
  buildSightingsTopic,
  buildStatusTopic,
  withTopicPrefix,
} from '../shared/contracts/topics.ts'
import { formatStream, sourceForFormat } from '../../simulator/formats/stream.ts'
import { encodeBatchForSource } from '../../simulator/formats/index.ts'
import type { OutboundMessage } from '../../simulator/simulation.ts'
import {
  TEST_INGEST_CONFIG,
  durableOpenSessions,
  startTestIngest,
  type TestIngest,
} from './testing/ingest-harness.ts'
import type { IngestConfig } from './ingest-config.ts'

/**
 * Every gateway format end to end: the simulator's encoders → a real broker → ingest → the
 * database. The same simple scenario goes through a native gateway and through one gateway per
 * format; each format's transits equal native's wherever the format carries the information, and
 * what it cannot carry is asserted lost. Ingest runs on a test clock set to each message's time as
 * it is published (one message at a time), so a format without timestamps is stamped with the time
 * its sighting was heard, as a gateway publishing at once would be.
 */
const FORMATS = ['omg', 'espresense', 'sniffer', 'meraki', 'paxcounter'] as const

let database: TestDatabase
let broker: TestBroker
let publisher: MqttClient
const logs = createLogCapture('debug')
const prefix = randomTopicPrefix('fmt')
let simNow = 0
const clock = { now: () => simNow }
const MINUTE = 60_000
const base = oneDayWindowEnd(90 * MINUTE)
const from = base - 80 * MINUTE

/** Gateways of the file: the scenario's native one, one per format, and one per other test. */
const EXTRA = {
  dup: sourceForFormat('gw-omg-dup', 'omg'),
  restart: sourceForFormat('gw-esp-restart', 'espresense'),
  flood: sourceForFormat('gw-omg-flood', 'omg'),
  calm: sourceForFormat('gw-omg-calm', 'omg'),
} as const

function district(): DistrictFile {
  const d = tinyDistrict()
  const template = d.gateways[0]
  if (!template) throw new Error('no gateway in the fixture')
  const gateway = (id: string, source: GatewaySource | undefined) => ({
    ...template,
    id,
    ...(source ? { source } : {}),
  })
  d.gateways = [
    gateway('gw-native', undefined),
    ...FORMATS.map((f) => gateway(`gw-${f}`, sourceForFormat(`gw-${f}`, f))),
    gateway('gw-omg-dup', EXTRA.dup),
    gateway('gw-esp-restart', EXTRA.restart),
    gateway('gw-omg-flood', EXTRA.flood),
    gateway('gw-omg-calm', EXTRA.calm),
  ]
  return d
}

function startIngest(clientId: string, extra: Partial<IngestConfig> = {}): Promise<TestIngest> {
  return startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId: `${prefix}-${clientId}`,
    config: { ...TEST_INGEST_CONFIG, topicPrefix: prefix, registryRefreshMs: 3_600_000, ...extra },
    log: logs.log,
    clock,
    reconnectPeriodMs: 200,
  })
}

beforeAll(async () => {
  database = await createTestDatabase()
  broker = await createTestBroker()
  await loadDistrict(database.db, district())
  publisher = await mqtt.connectAsync(broker.url, {
    clientId: `${prefix}-publisher`,
    protocolVersion: 4,
  })
})

afterAll(async () => {
  await publisher?.endAsync()
  await database?.close()
  await broker?.close()
})

type Device = { mac: string; radio: 'wifi' | 'ble'; from: number; to: number; rssi: number }

/**
 * The simple scenario: devices heard every 10 s between their minutes, BLE and Wi-Fi, static and
 * randomised addresses, one device heard twice with a silence longer than the gap between.
 */
const DEVICES: Device[] = [
  { mac: '3c:22:fb:10:00:01', radio: 'ble', from: 0, to: 4, rssi: -60 },
  { mac: '7a:11:22:33:44:55', radio: 'ble', from: 1, to: 2, rssi: -75 },
  { mac: '3c:22:fb:10:00:03', radio: 'ble', from: 0, to: 1, rssi: -70 },
  { mac: '3c:22:fb:10:00:03', radio: 'ble', from: 5, to: 6, rssi: -65 },
  { mac: 'a4:83:e7:20:00:01', radio: 'wifi', from: 0, to: 3, rssi: -62 },
  { mac: 'da:a1:19:00:00:02', radio: 'wifi', from: 2, to: 5, rssi: -80 },
]

/** Native batches of the scenario for one gateway: one every 5 s, `sentAt` at the interval's end. */
function scenarioBatches(gatewayId: string, startMs: number): SightingsBatch[] {
  const batches: SightingsBatch[] = []
  for (let seq = 1; seq <= 7 * 12; seq++) {
    const endMs = startMs + seq * 5_000
    const sightings = DEVICES.flatMap((d, i) => {
      const out = []
      for (let k = d.from * 6; k <= d.to * 6; k++) {
        const t = startMs + k * 10_000
        if (t > endMs - 5_000 && t <= endMs)
          out.push({
            t: new Date(t - 1_000 + i * 37).toISOString(),
            mac: d.mac,
            rssi: d.rssi - (k % 4),
            radio: d.radio,
          })
      }
      return out
    })
    sightings.sort((a, b) => toEpochMs(a.t) - toEpochMs(b.t))
    batches.push({
      v: 1,
      gatewayId,
      bootId: 'b00710d1',
      seq,
      sentAt: new Date(endMs).toISOString(),
      sightings,
    })
  }
  return batches
}

function nativeMessages(batches: SightingsBatch[]): OutboundMessage[] {
  return batches.map((b) => ({
    topic: buildSightingsTopic(b.gatewayId),
    payload: JSON.stringify(b),
    simTimeMs: toEpochMs(b.sentAt),
    gatewayId: b.gatewayId,
    kind: 'sightings',
    sightings: b.sightings.length,
  }))
}

function onlineStatus(gatewayId: string, atMs: number): OutboundMessage {
  return {
    topic: buildStatusTopic(gatewayId),
    payload: JSON.stringify({ v: 1, gatewayId, state: 'online', fw: '1.0.0' }),
    simTimeMs: atMs,
    gatewayId,
    kind: 'status',
    sightings: 0,
  }
}

/** The wire messages of these gateways, in time order, as the simulator puts them on the wire. */
function wire(gatewayIds: string[], startMs: number): OutboundMessage[] {
  const sources = new Map(
    district().gateways.flatMap((g): [string, GatewaySource][] =>
      g.source ? [[g.id, g.source]] : [],
    ),
  )
  const native = gatewayIds
    .flatMap((id) => [onlineStatus(id, startMs), ...nativeMessages(scenarioBatches(id, startMs))])
    .sort((a, b) => a.simTimeMs - b.simTimeMs)
  return [
    ...formatStream(native, sources, {
      timeZone: 'Europe/Rome',
      merakiSecret: 'simulated',
      lagMs: 5_000,
    }),
  ]
}

/**
 * Publishes one message at a time, the test clock at its time, each received by ingest before the
 * next (so a format without timestamps is stamped with its own time).
 */
async function publishInTime(ingest: TestIngest, messages: OutboundMessage[], dup = false) {
  let received = await counterValue(ingest.service.metrics.received)
  for (const m of messages) {
    simNow = Math.max(simNow, m.simTimeMs)
    await publisher.publishAsync(withTopicPrefix(prefix, m.topic), m.payload, {
      qos: 1,
      retain: false,
      ...(dup ? { dup: true } : {}),
    })
    received++
    await waitFor(
      () => counterValue(ingest.service.metrics.received),
      (n) => n >= received,
      { what: 'ingest to receive the message', intervalMs: 2 },
    )
  }
}

async function drained(ingest: TestIngest) {
  await waitFor(
    () => counterValue(ingest.service.metrics.inFlight),
    (n) => n === 0,
    { what: 'every message committed and acknowledged' },
  )
}

type TransitView = {
  pseudonym: string | null
  first: number
  last: number
  peak: number
  samples: number
  radio: string
  randomised: boolean
  visitor: boolean
}

async function transitsOf(gatewayId: string): Promise<TransitView[]> {
  const rows = await database.db
    .selectFrom('transits')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .orderBy('first_seen')
    .orderBy('pseudonym')
    .execute()
  return rows.map((r) => ({
    pseudonym: r.pseudonym,
    first: r.first_seen.getTime(),
    last: r.last_seen.getTime(),
    peak: r.peak_rssi,
    samples: r.samples,
    radio: r.radio,
    randomised: r.randomised,
    visitor: r.visitor,
  }))
}

async function rejects(reason: string, ingest: TestIngest) {
  return counterValue(ingest.service.metrics.rejects, { reason })
}

describe('every gateway format end to end', () => {
  let ingest: TestIngest
  const gatewayIds = ['gw-native', ...FORMATS.map((f) => `gw-${f}`)]

  beforeAll(async () => {
    simNow = from
    ingest = await startIngest('e2e')
    await publishInTime(ingest, wire(gatewayIds, from))
    await drained(ingest)
    // Everything heard is final once every gateway is silent for the idle time.
    simNow += TEST_INGEST_CONFIG.idleCloseMs + 10 * MINUTE
    await ingest.service.runMaintenance()
  }, 180_000)

  afterAll(async () => {
    await ingest?.stop()
  })

  it('native gives the scenario’s transits (the reference)', async () => {
    const native = await transitsOf('gw-native')
    // 5 devices, one of them twice (a silence longer than the gap), on two radios.
    expect(native).toHaveLength(6)
    expect(new Set(native.map((t) => t.radio))).toEqual(new Set(['ble', 'wifi']))
  })

  it.each([
    ['omg', 'ble'],
    ['espresense', 'ble'],
    ['sniffer', 'wifi'],
    ['meraki', 'both'],
  ] as const)(
    '%s gives native’s transits of the radio it carries (%s) and loses the others',
    async (format, radio) => {
      const native = await transitsOf('gw-native')
      const expected = native.filter((t) => radio === 'both' || t.radio === radio)
      expect(expected.length).toBeGreaterThan(0)
      expect(await transitsOf(`gw-${format}`)).toEqual(expected)
    },
  )

  it('paxcounter writes device counts per send cycle and never a transit', async () => {
    expect(await transitsOf('gw-paxcounter')).toEqual([])
    const rows = await database.db
      .selectFrom('device_counts')
      .select(['at', 'wifi', 'ble'])
      .where('gateway_id', '=', 'gw-paxcounter')
      .orderBy('at')
      .execute()
    const batches = scenarioBatches('gw-paxcounter', from)
    expect(rows).toHaveLength(batches.length)
    const distinct = (b: SightingsBatch, radio: string) =>
      new Set(b.sightings.filter((s) => s.radio === radio).map((s) => s.mac)).size
    expect(rows.map((r) => [r.at.getTime(), r.wifi, r.ble])).toEqual(
      batches.map((b) => [toEpochMs(b.sentAt), distinct(b, 'wifi'), distinct(b, 'ble')]),
    )
  })

  it('records every gateway’s last message, and the health of the formats that report it', async () => {
    const states = await database.db
      .selectFrom('gateway_state')
      .select(['gateway_id', 'state', 'last_message_at', 'watermark', 'boot_id', 'last_seq'])
      .where('gateway_id', 'in', gatewayIds)
      .execute()
    const of = (id: string) => states.find((s) => s.gateway_id === id)
    for (const id of gatewayIds) expect(of(id)?.last_message_at, id).toBeInstanceOf(Date)
    // OpenMQTTGateway and ESPresense have a last will (LWT, rooms/<room>/status): online.
    expect(of('gw-omg')?.state).toBe('online')
    expect(of('gw-espresense')?.state).toBe('online')
    // A format's batches move only the watermark: no boot id, no sequence number.
    expect(of('gw-omg')?.boot_id).toBeNull()
    expect(of('gw-omg')?.last_seq).toBeNull()
    expect(of('gw-omg')?.watermark).toBeInstanceOf(Date)
    expect(of('gw-native')?.boot_id).toBe('b00710d1')
    const batches = await database.db
      .selectFrom('ingest_batches')
      .select('gateway_id')
      .distinct()
      .execute()
    expect(batches.map((b) => b.gateway_id)).toEqual(['gw-native'])
  })

  it('accepted every message, rejected none, and counted each format', async () => {
    const m = ingest.service.metrics
    expect((await m.rejects.get()).values.filter((v) => v.value > 0)).toEqual([])
    for (const format of FORMATS)
      expect(
        await counterValue(m.formatMessages, { format, outcome: 'accepted' }),
        format,
      ).toBeGreaterThan(0)
  })

  it('stores the Meraki access point as a digest and nothing MAC-shaped anywhere', async () => {
    const rows = await database.db
      .selectFrom('gateways')
      .select(['id', 'format', 'source', 'source_key'])
      .execute()
    const meraki = rows.find((r) => r.id === 'gw-meraki')
    expect(meraki?.format).toBe('meraki')
    expect(meraki?.source).toMatchObject({ apMacDigest: expect.stringMatching(/^[0-9a-f]{16}$/) })
    expect(JSON.stringify(rows)).not.toMatch(MAC_PATTERN)
    const letters = await sql<{
      t: string
    }>`SELECT dead_letters::text AS t FROM dead_letters`.execute(database.db)
    expect(letters.rows.map((r) => r.t).join('\n')).not.toMatch(MAC_PATTERN)
    expect(logs.text()).not.toMatch(MAC_PATTERN)
  })

  it('carries randomised addresses as native does', async () => {
    expect(DEVICES.filter((d) => isRandomisedMac(d.mac.replaceAll(':', ''))).length).toBe(2)
    expect((await transitsOf('gw-omg')).filter((t) => t.randomised)).toHaveLength(1)
  })
})

/** `n` one-sighting messages of a gateway (OpenMQTTGateway or ESPresense), distinct devices, at `atMs`. */
function perDeviceMessages(
  gatewayId: string,
  source: GatewaySource | undefined,
  n: number,
  atMs: number,
) {
  const batch: SightingsBatch = {
    v: 1,
    gatewayId,
    bootId: 'b00710d1',
    seq: 1,
    sentAt: new Date(atMs).toISOString(),
    sightings: Array.from({ length: n }, (_, i) => ({
      t: new Date(atMs).toISOString(),
      mac: `3c:22:fb:20:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      rssi: -60,
      radio: 'ble' as const,
    })),
  }
  return (encodeBatchForSource(batch, source, { timeZone: 'Europe/Rome' }) ?? []).map(
    (f): OutboundMessage => ({
      topic: f.transport === 'mqtt' ? f.topic : '',
      payload: f.transport === 'mqtt' ? f.payload : f.body,
      simTimeMs: atMs,
      gatewayId,
      kind: 'sightings',
      sightings: 1,
    }),
  )
}

async function openSamples(gatewayId: string): Promise<number> {
  const open = await durableOpenSessions(database.db, gatewayId)
  return open.reduce((n, s) => n + s.samples, 0)
}

async function digestsOf(gatewayId: string): Promise<number> {
  const r = await database.db
    .selectFrom('message_digests')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('gateway_id', '=', gatewayId)
    .executeTakeFirstOrThrow()
  return Number(r.n)
}

describe('redelivery of a gateway format’s messages', () => {
  it('does not count twice a message committed whose PUBACK was lost (redelivered after a reconnect)', async () => {
    simNow = from + 20 * MINUTE
    const ingest = await startIngest('dup', { microBatch: { windowMs: 50 } })
    // The commits happen, their PUBACKs never reach the broker.
    const writer = ingest.client as unknown as {
      _sendPacket: (p: { cmd: string }, cb: () => void) => void
    }
    const send = writer._sendPacket.bind(ingest.client)
    let dropAcks = true
    writer._sendPacket = (packet, cb) =>
      dropAcks && packet.cmd === 'puback' ? cb() : send(packet, cb)
    try {
      const messages = perDeviceMessages('gw-omg-dup', EXTRA.dup, 12, simNow)
      await publishInTime(ingest, messages)
      await drained(ingest)
      expect(await openSamples('gw-omg-dup')).toBe(12)
      expect(await digestsOf('gw-omg-dup')).toBe(12)
      // The connection drops: the broker sends the 12 unacknowledged messages again.
      dropAcks = false
      ingest.client.stream.destroy()
      await waitFor(
        () => counterValue(ingest.service.metrics.received),
        (n) => n >= 24,
        { what: 'the redeliveries' },
      )
      await drained(ingest)
      const m = ingest.service.metrics
      expect(await counterValue(m.formatMessages, { format: 'omg', outcome: 'duplicate' })).toBe(12)
      expect(await counterValue(m.formatMessages, { format: 'omg', outcome: 'accepted' })).toBe(12)
      expect(await openSamples('gw-omg-dup')).toBe(12)
      expect(await digestsOf('gw-omg-dup')).toBe(12)
    } finally {
      await ingest.stop()
    }
  })

  it('loses nothing of a micro-batch held when ingest stops, and counts it once', async () => {
    simNow = from + 25 * MINUTE
    const held = await startIngest('restart', {
      microBatch: { windowMs: 600_000, maxSightings: 10_000 },
    })
    const messages = perDeviceMessages('gw-esp-restart', EXTRA.restart, 9, simNow)
    try {
      await publishInTime(held, messages)
      // Held in the micro-batch: received, not committed, not acknowledged.
      expect(await counterValue(held.service.metrics.inFlight)).toBe(9)
      expect(await counterValue(held.service.metrics.sightings)).toBe(0)
    } finally {
      await held.stop()
    }
    expect(await openSamples('gw-esp-restart')).toBe(0)
    const next = await startIngest('restart', { microBatch: { windowMs: 50 } })
    try {
      await waitFor(
        () => counterValue(next.service.metrics.sightings),
        (n) => n >= 9,
        { what: 'the held messages redelivered and committed' },
      )
      await drained(next)
      expect(await counterValue(next.service.metrics.sightings)).toBe(9)
      expect(await openSamples('gw-esp-restart')).toBe(9)
      expect(await digestsOf('gw-esp-restart')).toBe(9)
    } finally {
      await next.stop()
    }
  })
})

describe('flood control', () => {
  it('refuses a gateway’s excess, dead-letters it once, and lets the other gateways through', async () => {
    simNow = from + 30 * MINUTE
    const ingest = await startIngest('flood', {
      // 2 messages/s with 10 s of burst: 20 messages at one instant, no more.
      flood: { messagesPerS: 2, sightingsPerS: 1000 },
      microBatch: { windowMs: 50 },
    })
    try {
      const flood = perDeviceMessages('gw-omg-flood', EXTRA.flood, 60, simNow)
      const calm = perDeviceMessages('gw-omg-calm', EXTRA.calm, 10, simNow)
      // The calm gateway's messages interleaved with the flood (the clock stands still).
      const mixed = flood.flatMap((m, i) =>
        i % 6 === 0 && calm[i / 6] ? [m, calm[i / 6] as OutboundMessage] : [m],
      )
      await publishInTime(ingest, mixed)
      await drained(ingest)
      const m = ingest.service.metrics
      expect(await rejects('flood', ingest)).toBe(40)
      expect(await counterValue(m.formatMessages, { format: 'omg', outcome: 'accepted' })).toBe(30)
      expect(await openSamples('gw-omg-flood')).toBe(20)
      expect(await openSamples('gw-omg-calm')).toBe(10)
      const letters = await database.db
        .selectFrom('dead_letters')
        .select(['gateway_id', 'detail'])
        .where('reason', '=', 'flood')
        .execute()
      expect(letters.map((l) => l.gateway_id)).toEqual(['gw-omg-flood'])
      // A second later the bucket holds two more messages.
      simNow += 1_000
      await publishInTime(ingest, perDeviceMessages('gw-omg-flood', EXTRA.flood, 3, simNow))
      await drained(ingest)
      expect(await openSamples('gw-omg-flood')).toBe(22)
      expect(await rejects('flood', ingest)).toBe(41)
    } finally {
      await ingest.stop()
    }
  })
})

describe('subscriptions follow the registry', () => {
  it('subscribes to a format’s topics when a district load adds its gateway, and drops them after', async () => {
    simNow = from + 40 * MINUTE
    const ingest = await startIngest('refresh', { registryRefreshMs: 200 })
    try {
      const late = sourceForFormat('pax-late', 'paxcounter')
      const withLate = district()
      const template = withLate.gateways[0]
      if (!template || !late) throw new Error('fixture')
      withLate.gateways.push({ ...template, id: 'pax-late', source: late })
      await loadDistrict(database.db, withLate)
      const count = Buffer.from([3, 0, 1, 0]).toString('base64')
      // Published until the refreshed subscription takes it (before, the broker has no subscriber).
      await waitFor(
        async () => {
          await publisher.publishAsync(withTopicPrefix(prefix, 'pax-late/1'), count, { qos: 1 })
          const r = await database.db
            .selectFrom('device_counts')
            .select(['wifi', 'ble'])
            .where('gateway_id', '=', 'pax-late')
            .execute()
          return r
        },
        (r) => r.length > 0,
        { what: 'the new gateway’s counts', intervalMs: 100 },
      )
      await loadDistrict(database.db, district())
      await waitFor(
        () => Promise.resolve(logs.text()),
        (text) => /"unsubscribed":\[[^\]]*pax-late\/1/.test(text),
        { what: 'the gateway’s topics unsubscribed' },
      )
    } finally {
      await ingest.stop()
    }
  })
})
