import { seededRandom } from '../shared/contracts/seeded-random.ts'
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
import { createMacScanner } from '../shared/testing/mac-scan.ts'
import { dumpDatabase } from '../shared/testing/database-dump.ts'
import {
  MAC_PATTERN,
  counterValue,
  createLogCapture,
  randomTopicPrefix,
} from '../shared/testing/helpers.ts'
import { TEST_INGEST_CONFIG, startTestIngest, type TestIngest } from './testing/ingest-harness.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import {
  buildSightingsTopic,
  buildStatusTopic,
  withTopicPrefix,
} from '../shared/contracts/topics.ts'
import { MAX_PAYLOAD_BYTES } from '../shared/contracts/gateway-messages.ts'
import type { IngestService } from './ingest-service.ts'
import type { RejectReason } from './decode-message.ts'
import type { GatewaySource } from '../shared/contracts/district.ts'
import { buildMerakiInternalTopic } from '../shared/contracts/topics.ts'
import { encodeBatchForSource } from '../../simulator/formats/index.ts'
import { sourceForFormat } from '../../simulator/formats/stream.ts'

const SEED = 20_241_121
const MESSAGES = 3000
const REDELIVERIES = 100

let database: TestDatabase
let broker: TestBroker
let publisher: MqttClient
const logs = createLogCapture('debug')

const clientPrefix = randomTopicPrefix('t')
/** Every test file talks under its own topic prefix, so files sharing a broker never see each other. */
const topicOf = (topic: string) => withTopicPrefix(clientPrefix, topic)

/** mulberry32: a small seeded generator, so every run sends the same mix of messages. */
function createRng(seed: number) {
  const next = seededRandom(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!
  const hex = (n: number) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('')
  return { next, int, pick, hex }
}
type Rng = ReturnType<typeof createRng>

type Expectation =
  | { kind: 'accepted'; key: string }
  /** The same bytes as an accepted batch, delivered again. */
  | { kind: 'duplicate'; key: string }
  | { kind: 'status' }
  | { kind: 'rejected'; reason: RejectReason }
  /** Does not match ingest's subscription filters: the broker never delivers it. */
  | { kind: 'undelivered' }

type Planned = { topic: string; payload: Buffer; expect: Expectation }

type WireSighting = { t: string | number; mac: string; rssi: number; radio: 'wifi' | 'ble' }
type WireBatch = {
  v: number
  gatewayId: string
  bootId: string
  seq: number
  sentAt: string | number
  sightings: WireSighting[]
}

const GATEWAYS = ['gw-street-a', 'gw-shop-one'] as const

/** 12 lower-case hex digits of a MAC in any notation. */
const macDigits = (mac: string) => mac.toLowerCase().replace(/[^0-9a-f]/g, '')

/** Every MAC the mix uses, normalised: the database and the logs must hold none of them. */
const usedMacs = new Set<string>()

/** A MAC written the ways gateways write them: `aa:bb:…`, `AA-BB-…`, 12 bare digits. */
function randomMac(rng: Rng): string {
  const digits = rng.hex(12)
  usedMacs.add(digits)
  const pairs = digits.match(/../g)!
  switch (rng.int(0, 3)) {
    case 0:
      return pairs.join(':')
    case 1:
      return pairs.join('-').toUpperCase()
    case 2:
      return digits
    default:
      return pairs.join(':').toUpperCase()
  }
}

function timestamp(rng: Rng, ms: number): string | number {
  return rng.next() < 0.8 ? new Date(ms).toISOString() : ms
}

/** Generates the whole mix; `now` anchors the time bounds (decode allows 24 h back, 5 min ahead). */
function generate(now: number) {
  const rng = createRng(SEED)
  const macPool = Array.from({ length: 200 }, () => randomMac(rng))
  const boots = new Map<string, { bootId: string; seq: number }[]>(
    GATEWAYS.map((g) => [g, Array.from({ length: 3 }, () => ({ bootId: rng.hex(8), seq: 0 }))]),
  )
  const plan: Planned[] = []
  const goodBatches = new Map<string, { batch: WireBatch; payload: Buffer; topic: string }>()

  const sighting = (tMs: number): WireSighting => ({
    t: timestamp(rng, tMs),
    mac: rng.next() < 0.7 ? rng.pick(macPool) : randomMac(rng),
    rssi: rng.int(-97, -30),
    radio: rng.pick(['wifi', 'ble'] as const),
  })
  /** A valid batch: unique (boot id, seq), a few sightings in the last hour. */
  const validBatch = (gatewayId: string): WireBatch => {
    const boot = rng.pick(boots.get(gatewayId) ?? [{ bootId: 'ffffffff', seq: 0 }])
    boot.seq += rng.int(1, 2)
    const base = now - rng.int(5 * 60_000, 55 * 60_000)
    const sightings = Array.from({ length: rng.int(0, 6) }, () =>
      sighting(base + rng.int(0, 30_000)),
    )
    return {
      v: 1,
      gatewayId,
      bootId: boot.bootId,
      seq: boot.seq,
      sentAt: timestamp(rng, base + 30_000 + rng.int(0, 5_000)),
      sightings,
    }
  }
  const json = (v: unknown) => Buffer.from(JSON.stringify(v))
  const sightingsTopic = (gw: string) => topicOf(buildSightingsTopic(gw))
  const statusTopic = (gw: string) => topicOf(buildStatusTopic(gw))
  const reject = (topic: string, payload: Buffer | string, reason: RejectReason) =>
    plan.push({
      topic,
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      expect: { kind: 'rejected', reason },
    })
  /** A valid batch with one thing wrong. */
  const broken = (mutate: (b: WireBatch) => void) => {
    const gw = rng.pick(GATEWAYS)
    const b = validBatch(gw)
    if (b.sightings.length === 0) b.sightings.push(sighting(now - 60_000))
    mutate(b)
    return { gw, b }
  }
  const status = (gatewayId: string) => ({
    v: 1,
    gatewayId,
    state: rng.pick(['online', 'offline'] as const),
    fw: `1.${rng.int(0, 9)}.${rng.int(0, 9)}`,
    uptimeS: rng.int(0, 1e6),
    queue: rng.int(0, 100),
  })

  const kinds: [number, () => void][] = [
    [
      40,
      () => {
        const gw = rng.pick(GATEWAYS)
        const batch = validBatch(gw)
        const key = `${gw}/${batch.bootId}/${batch.seq}`
        const payload = json(batch)
        goodBatches.set(key, { batch, payload, topic: sightingsTopic(gw) })
        plan.push({ topic: sightingsTopic(gw), payload, expect: { kind: 'accepted', key } })
      },
    ],
    [
      2,
      () => {
        const gw = rng.pick(GATEWAYS)
        plan.push({ topic: statusTopic(gw), payload: json(status(gw)), expect: { kind: 'status' } })
      },
    ],
    [
      4,
      () => {
        // Truncated JSON: any strict prefix of an object is invalid.
        const text = JSON.stringify(validBatch(rng.pick(GATEWAYS)))
        const gw = rng.pick(GATEWAYS)
        reject(sightingsTopic(gw), text.slice(0, rng.int(1, text.length - 1)), 'malformed_json')
      },
    ],
    [
      3,
      () => {
        const text = rng.pick([
          `mac=${randomMac(rng)} rssi=-${rng.int(30, 90)}`,
          `<xml><mac>${randomMac(rng)}</mac></xml>`,
          `{'gatewayId': 'gw-street-a', 'mac': '${randomMac(rng)}'}`,
          `{"v":1,"sightings":[{"mac":"${randomMac(rng)}",}]}`,
          'undefined',
          '',
          'NaN',
          '{"v":1}}',
        ])
        reject(sightingsTopic(rng.pick(GATEWAYS)), text, 'malformed_json')
      },
    ],
    [
      3,
      () => {
        // Random bytes, never valid JSON (0xff cannot start one). No NUL byte: see the report of
        // this suite (a NUL in a payload cannot be stored as a dead letter and stalls intake).
        const bytes = Buffer.from(Array.from({ length: rng.int(1, 2000) }, () => rng.int(1, 255)))
        bytes[0] = 0xff
        const topic =
          rng.next() < 0.5 ? sightingsTopic(rng.pick(GATEWAYS)) : statusTopic(rng.pick(GATEWAYS))
        reject(topic, bytes, 'malformed_json')
      },
    ],
    [
      3,
      () => {
        const value = rng.pick<unknown>([
          [],
          null,
          42,
          'sightings',
          true,
          {},
          [{ mac: randomMac(rng) }],
        ])
        reject(sightingsTopic(rng.pick(GATEWAYS)), json(value), 'schema')
      },
    ],
    [
      5,
      () => {
        // Wrong types.
        const { gw, b } = broken((b) => {
          const s = b.sightings[0] as unknown as Record<string, unknown>
          const r = b as unknown as Record<string, unknown>
          switch (rng.int(0, 8)) {
            case 0:
              r.seq = String(b.seq)
              break
            case 1:
              s.rssi = String(s.rssi)
              break
            case 2:
              r.sightings = { 0: b.sightings[0] }
              break
            case 3:
              r.v = 2
              break
            case 4:
              s.radio = 'zigbee'
              break
            case 5:
              s.t = 'yesterday'
              break
            case 6:
              r.seq = -1
              break
            case 7:
              s.mac = 0x001122334455
              break
            default:
              r.gatewayId = 'GW STREET A'
          }
        })
        reject(sightingsTopic(gw), json(b), 'schema')
      },
    ],
    [
      5,
      () => {
        // Missing fields, in the batch or in a sighting.
        const without = (o: object, field: string) =>
          Object.fromEntries(Object.entries(o).filter(([k]) => k !== field))
        const { gw, b } = broken(() => undefined)
        const payload =
          rng.next() < 0.5
            ? without(b, rng.pick(['v', 'gatewayId', 'bootId', 'seq', 'sentAt', 'sightings']))
            : {
                ...b,
                sightings: [
                  without(b.sightings[0]!, rng.pick(['t', 'mac', 'rssi', 'radio'])),
                  ...b.sightings.slice(1),
                ],
              }
        reject(sightingsTopic(gw), json(payload), 'schema')
      },
    ],
    [
      4,
      () => {
        const { gw, b } = broken((b) => {
          b.sightings[rng.int(0, b.sightings.length - 1)]!.rssi = rng.pick([
            1, 12, 127, -128, -300, -50.5,
          ])
        })
        reject(sightingsTopic(gw), json(b), 'schema')
      },
    ],
    [
      1,
      () => {
        // A MAC string longer than 17 characters fails the schema.
        const { gw, b } = broken((b) => {
          b.sightings[0]!.mac = `${randomMac(rng)}:00:11:22`
        })
        reject(sightingsTopic(gw), json(b), 'schema')
      },
    ],
    [
      4,
      () => {
        const { gw, b } = broken((b) => {
          b.sightings[rng.int(0, b.sightings.length - 1)]!.mac = rng.pick([
            'gg:hh:ii:jj:kk:ll',
            'aa:bb-cc:dd:ee:ff',
            'aa:bb:cc:dd:ee',
            '0123456789a',
            'aabbccddeeff0',
            'aa.bb.cc.dd.ee.ff',
            '',
            'not a mac',
          ])
        })
        reject(sightingsTopic(gw), json(b), 'bad_mac')
      },
    ],
    [
      0.7,
      () => {
        // 5001 sightings, compact enough to stay under the size limit (epoch-ms times, bare
        // MACs, no radio: the count is checked before the schema).
        const gw = rng.pick(GATEWAYS)
        const b = validBatch(gw)
        const t = now - 60_000
        const payload = json({
          ...b,
          sightings: Array.from({ length: 5001 }, () => ({ t, mac: rng.hex(12), rssi: -60 })),
        })
        expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
        reject(sightingsTopic(gw), payload, 'too_many_sightings')
      },
    ],
    [
      0.7,
      () => {
        // Over 256 KiB: a well-formed batch with long `ie` fields, or padding.
        const gw = rng.pick(GATEWAYS)
        let payload: Buffer
        if (rng.next() < 0.5) {
          const b = validBatch(gw)
          b.sightings = Array.from({ length: 700 }, () => ({
            ...sighting(now - 60_000),
            ie: rng.hex(400),
          }))
          payload = json(b)
        } else {
          payload = Buffer.from(
            `{"v":1,"gatewayId":"${gw}","mac":"${randomMac(rng)}","pad":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`,
          )
        }
        expect(payload.length).toBeGreaterThan(MAX_PAYLOAD_BYTES)
        reject(sightingsTopic(gw), payload, 'oversized')
      },
    ],
    [
      4,
      () => {
        // Spoofing: the payload names another gateway than the topic.
        const gw = rng.pick(GATEWAYS)
        const other = rng.pick([...GATEWAYS.filter((g) => g !== gw), 'gw-ghost-1'])
        const b = validBatch(other)
        reject(sightingsTopic(gw), json(b), 'gateway_mismatch')
      },
    ],
    [
      1,
      () => {
        const gw = rng.pick(GATEWAYS)
        const other = GATEWAYS.find((g) => g !== gw)!
        reject(statusTopic(gw), json(status(other)), 'gateway_mismatch')
      },
    ],
    [
      3,
      () => {
        const ghost = `gw-ghost-${rng.int(1, 20)}`
        const b = validBatch(ghost)
        if (b.sightings.length === 0) b.sightings.push(sighting(now - 60_000))
        reject(sightingsTopic(ghost), json(b), 'unknown_gateway')
      },
    ],
    [
      1,
      () => {
        const ghost = `gw-ghost-${rng.int(1, 20)}`
        reject(statusTopic(ghost), json(status(ghost)), 'unknown_gateway')
      },
    ],
    [
      3,
      () => {
        const { gw, b } = broken((b) => {
          b.sightings[rng.int(0, b.sightings.length - 1)]!.t = timestamp(rng, now - 25 * 3_600_000)
        })
        reject(sightingsTopic(gw), json(b), 'stale_timestamp')
      },
    ],
    [
      3,
      () => {
        const { gw, b } = broken((b) => {
          b.sightings[rng.int(0, b.sightings.length - 1)]!.t = timestamp(rng, now + 10 * 60_000)
        })
        reject(sightingsTopic(gw), json(b), 'future_timestamp')
      },
    ],
    [
      2,
      () => {
        const gw = rng.pick(GATEWAYS)
        const s: Record<string, unknown> = status(gw)
        if (rng.next() < 0.7) s.state = rng.pick(['rebooting', 'ONLINE', '', 1, null])
        else delete s.state
        reject(statusTopic(gw), json(s), 'schema')
      },
    ],
    [
      2,
      () => {
        // Matches the subscription filters, but the gateway level is not a gateway id.
        const level = rng.pick([
          'GW-STREET-A',
          'gw_street_a',
          'gw.street.a',
          'g'.repeat(65),
          randomMac(rng).toUpperCase().replace(/-/g, ':'),
        ])
        const kind = rng.pick(['sightings', 'status'] as const)
        const topic = topicOf(`miglio/v1/gw/${level}/${kind}`)
        const b = validBatch('gw-street-a')
        reject(topic, json(b), 'unknown_topic')
      },
    ],
    [
      1,
      () => {
        // A MAC hidden from a naive redactor: JSON escapes, separators mixed, in broken JSON.
        const pairs = macDigits(randomMac(rng)).match(/../g)!
        const escaped = pairs
          .join(rng.pick([':', '-', '.']))
          .replace(/[0-9a-f]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)
        const mixed = pairs.map((p, i) => (i ? rng.pick([':', '-', '.', '_']) : '') + p).join('')
        reject(
          sightingsTopic(rng.pick(GATEWAYS)),
          `{"v":1,"sightings":[{"mac":"${escaped}","alias":"${mixed}"`,
          'malformed_json',
        )
      },
    ],
    [
      1,
      () => {
        // A valid batch as UTF-16 (LE or BE, with or without a byte-order mark): not UTF-8 JSON.
        const gw = rng.pick(GATEWAYS)
        const b = validBatch(gw)
        b.sightings.push(sighting(now - 60_000))
        let bytes = Buffer.from(JSON.stringify(b), 'utf16le')
        if (rng.next() < 0.5) bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), bytes])
        if (rng.next() < 0.5) bytes = Buffer.from(bytes).swap16()
        reject(sightingsTopic(gw), bytes, 'malformed_json')
      },
    ],
    [
      1,
      () => {
        // A MAC as six raw bytes inside binary noise (NUL bytes included).
        const raw = Buffer.from(macDigits(randomMac(rng)), 'hex')
        const noise = () =>
          Buffer.from(Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 255)))
        reject(
          sightingsTopic(rng.pick(GATEWAYS)),
          Buffer.concat([Buffer.from([0xff]), noise(), raw, noise()]),
          'malformed_json',
        )
      },
    ],
    [
      1.5,
      () => {
        // A MAC where only an id belongs: a boot id, or a status's firmware version.
        const d = macDigits(randomMac(rng))
        const asId = rng.pick([
          d,
          d.toUpperCase(),
          d.match(/../g)!.join('.'),
          `${d.slice(0, 4)}.${d.slice(4, 8)}.${d.slice(8)}`,
          d.match(/../g)!.join('_'),
        ])
        const gw = rng.pick(GATEWAYS)
        if (rng.next() < 0.6) {
          const b = validBatch(gw)
          reject(sightingsTopic(gw), json({ ...b, bootId: asId }), 'schema')
        } else reject(statusTopic(gw), json({ ...status(gw), fw: asId }), 'schema')
      },
    ],
    [
      2,
      () => {
        // Outside the subscription filters: never delivered to ingest.
        const topic = topicOf(
          rng.pick([
            'miglio/v1/gw/gw-street-a/other',
            'miglio/v1/gw/gw-street-a/sightings/extra',
            'miglio/v2/gw/gw-street-a/sightings',
            'miglio/v1/gw/gw-street-a',
            'miglio/v1/gateways/gw-street-a/sightings',
          ]),
        )
        plan.push({
          topic,
          payload: json(validBatch('gw-street-a')),
          expect: { kind: 'undelivered' },
        })
      },
    ],
  ]
  const total = kinds.reduce((s, [w]) => s + w, 0)
  while (plan.length < MESSAGES) {
    let r = rng.next() * total
    for (const [w, make] of kinds) {
      r -= w
      if (r < 0) {
        make()
        break
      }
    }
  }
  // Redeliveries: the same bytes again, later in the stream than the original.
  const originals = plan.map((p, i) => ({ p, i })).filter(({ p }) => p.expect.kind === 'accepted')
  const chosen = new Set<number>()
  while (chosen.size < REDELIVERIES) chosen.add(rng.int(0, originals.length - 1))
  for (const c of [...chosen].sort((a, b) => b - a)) {
    const { p, i } = originals[c]!
    if (p.expect.kind !== 'accepted') continue
    const again: Planned = {
      topic: p.topic,
      payload: p.payload,
      expect: { kind: 'duplicate', key: p.expect.key },
    }
    plan.splice(rng.int(i + 1, plan.length), 0, again)
  }
  return { plan, goodBatches }
}

function startIngest(): Promise<TestIngest> {
  return startTestIngest({
    brokerUrl: broker.url,
    db: database.db,
    clientId: `${clientPrefix}-ingest`,
    config: { ...TEST_INGEST_CONFIG, topicPrefix: clientPrefix },
    log: logs.log,
    reconnectPeriodMs: 200,
  })
}

async function counts(service: IngestService) {
  const messages = (await service.metrics.messages.get()).values
  const byOutcome = (kind: string, outcome: string) =>
    messages
      .filter((v) => v.labels.kind === kind && v.labels.outcome === outcome)
      .reduce((s, v) => s + v.value, 0)
  const rejects: Record<string, number> = {}
  for (const v of (await service.metrics.rejects.get()).values)
    if (v.value > 0) rejects[String(v.labels.reason)] = v.value
  return {
    total: messages.reduce((s, v) => s + v.value, 0),
    accepted: byOutcome('sightings', 'accepted'),
    duplicateMessages: byOutcome('sightings', 'duplicate'),
    status: byOutcome('status', 'accepted'),
    rejected: byOutcome('any', 'rejected'),
    duplicates: await counterValue(service.metrics.duplicates),
    sightings: await counterValue(service.metrics.sightings),
    rejects,
  }
}

/** Publishes in order with a bounded number of QoS 1 publishes awaiting PUBACK. */
async function publishAll(messages: { topic: string; payload: Buffer }[]) {
  const inFlight: Promise<unknown>[] = []
  for (const m of messages) {
    inFlight.push(publisher.publishAsync(m.topic, m.payload, { qos: 1 }))
    if (inFlight.length >= 32) await inFlight.shift()
  }
  await Promise.all(inFlight)
}

beforeAll(async () => {
  ;[database, broker] = await Promise.all([createTestDatabase(), createTestBroker()])
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

describe('ingest under a seeded mix of good and bad messages', () => {
  it('accounts for every delivered message, dead-letters each bad one once and keeps running', async () => {
    const now = Date.now()
    const { plan, goodBatches } = generate(now)
    const redeliveries = plan.filter((p) => p.expect.kind === 'duplicate').length
    const delivered = plan.filter((p) => p.expect.kind !== 'undelivered')
    const expectedRejects: Record<string, number> = {}
    for (const p of plan)
      if (p.expect.kind === 'rejected')
        expectedRejects[p.expect.reason] = (expectedRejects[p.expect.reason] ?? 0) + 1
    const statuses = plan.filter((p) => p.expect.kind === 'status').length
    const rejectsTotal = Object.values(expectedRejects).reduce((s, n) => s + n, 0)
    const goodSightings = [...goodBatches.values()].reduce(
      (s, g) => s + g.batch.sightings.length,
      0,
    )

    // The mix is what the brief asks for: every reason ingest can decide on its own, ~40 % good.
    expect(plan.length).toBe(MESSAGES + REDELIVERIES)
    expect(redeliveries).toBe(REDELIVERIES)
    expect(goodBatches.size / MESSAGES).toBeGreaterThan(0.35)
    expect(Object.keys(expectedRejects).sort()).toEqual(
      [
        'bad_mac',
        'future_timestamp',
        'gateway_mismatch',
        'malformed_json',
        'oversized',
        'schema',
        'stale_timestamp',
        'too_many_sightings',
        'unknown_gateway',
        'unknown_topic',
      ].sort(),
    )

    const ingest = await startIngest()
    const { service } = ingest
    try {
      const started = performance.now()
      await publishAll(plan)
      const final = await waitFor(
        () => counts(service),
        (c) => c.total >= delivered.length,
        { timeoutMs: 150_000, intervalMs: 250, what: 'every delivered message handled' },
      )
      const elapsedMs = performance.now() - started

      // Still processing: one more good batch is recorded, and nothing else arrived meanwhile
      // (the undeliverable topics were published before it, in the same stream).
      const lastBoot = 'feedf00d'
      const lastBatch: WireBatch = {
        v: 1,
        gatewayId: 'gw-shop-one',
        bootId: lastBoot,
        seq: 1,
        sentAt: new Date(Date.now()).toISOString(),
        sightings: [{ t: Date.now() - 1_000, mac: '0c:1d:2e:3f:4a:5b', rssi: -60, radio: 'wifi' }],
      }
      await publisher.publishAsync(
        topicOf(buildSightingsTopic('gw-shop-one')),
        JSON.stringify(lastBatch),
        { qos: 1 },
      )
      const after = await waitFor(
        () => counts(service),
        (c) => c.accepted === goodBatches.size + 1,
        { timeoutMs: 30_000, what: 'the batch published after the mix' },
      )

      expect(final.total, `handled in ${Math.round(elapsedMs)} ms`).toBe(delivered.length)
      expect(after.total).toBe(delivered.length + 1)
      expect(after.accepted).toBe(goodBatches.size + 1)
      expect(after.duplicates).toBe(REDELIVERIES)
      expect(after.duplicateMessages).toBe(REDELIVERIES)
      expect(after.status).toBe(statuses)
      expect(after.rejected).toBe(rejectsTotal)
      expect(after.rejects).toEqual(expectedRejects)
      expect(after.sightings).toBe(goodSightings + 1)
      expect(await counterValue(service.metrics.inFlight)).toBe(0)

      // Dead letters: one per reject, with its reason, and no raw MAC.
      const letters = await database.db
        .selectFrom('dead_letters')
        .select(['reason', 'topic', 'gateway_id', 'detail', 'payload_bytes', 'payload_redacted'])
        .execute()
      expect(letters).toHaveLength(rejectsTotal)
      const letterReasons: Record<string, number> = {}
      for (const l of letters) letterReasons[l.reason] = (letterReasons[l.reason] ?? 0) + 1
      expect(letterReasons).toEqual(expectedRejects)
      for (const l of letters) {
        expect(JSON.stringify(l)).not.toMatch(MAC_PATTERN)
        expect(l.payload_redacted.length).toBeLessThanOrEqual(4096)
      }

      // ingest_batches: exactly the unique good batches (and the last one).
      const rows = await database.db
        .selectFrom('ingest_batches')
        .select(['gateway_id', 'boot_id', 'seq', 'sightings_count'])
        .execute()
      const recorded = rows.map((r) => `${r.gateway_id}/${r.boot_id}/${r.seq}`).sort()
      expect(recorded).toEqual([...goodBatches.keys(), `gw-shop-one/${lastBoot}/1`].sort())
      for (const r of rows) {
        const key = `${r.gateway_id}/${r.boot_id}/${r.seq}`
        expect(r.sightings_count).toBe(goodBatches.get(key)?.batch.sightings.length ?? 1)
      }
      const statusRows = await sql<{ n: string }>`
        SELECT count(*) AS n FROM gateway_state WHERE status_at IS NOT NULL`.execute(database.db)
      expect(Number(statusRows.rows[0]?.n)).toBe(
        new Set(plan.filter((p) => p.expect.kind === 'status').map((p) => p.topic)).size,
      )

      const logText = logs.text()
      expect(logText).toContain('message rejected')
      expect(logText).not.toMatch(MAC_PATTERN)
      expect(await service.metrics.registry.metrics()).not.toMatch(MAC_PATTERN)

      // The whole database (pg_dump on a real server) and the log, searched for every MAC the mix
      // used in every encoding: colons, dashes, bare, mixed, dotted, JSON-escaped, UTF-16, raw bytes.
      const macs = [...usedMacs]
      expect(macs.length).toBeGreaterThan(500)
      const dump = await dumpDatabase(database)
      expect(dump.bytes.length).toBeGreaterThan(100_000)
      const scanner = createMacScanner(macs)
      expect(scanner.scan(dump.bytes, `database (${dump.how})`)).toEqual([])
      expect(scanner.scan(logText, 'log')).toEqual([])
    } finally {
      await ingest.stop()
    }
  })
})

/**
 * The gateway formats under a seeded mix: good messages from the simulator's encoders, and bad
 * ones of every kind each format's adapter refuses — each must be its format's reason (or a shared
 * one), dead-lettered once with no MAC, counted in the metrics; nothing MAC-shaped is stored or
 * logged, the Meraki secret included.
 */
const FORMAT_FUZZ_MESSAGES = 600
const formatPrefix = randomTopicPrefix('tf')
const FORMAT_GATEWAYS = {
  omg: sourceForFormat('gw-fz-omg', 'omg'),
  espresense: sourceForFormat('gw-fz-esp', 'espresense'),
  sniffer: sourceForFormat('gw-fz-sniffer', 'sniffer'),
  meraki: sourceForFormat('gw-fz-meraki', 'meraki'),
  paxcounter: sourceForFormat('gw-fz-pax', 'paxcounter'),
} as const
const MERAKI_SECRET = 'fuzz-shared-secret-0451'

type FormatPlanned = {
  topic: string
  payload: Buffer
  format: keyof typeof FORMAT_GATEWAYS
  expect: { kind: 'accepted' } | { kind: 'rejected'; reason: RejectReason }
}

function generateFormats(now: number): FormatPlanned[] {
  const rng = createRng(SEED + 14)
  const plan: FormatPlanned[] = []
  const t = (topic: string) => withTopicPrefix(formatPrefix, topic)
  const batchOf = (n: number, radio?: 'wifi' | 'ble') => ({
    v: 1 as const,
    gatewayId: 'x',
    bootId: 'b00710d1',
    seq: 1,
    sentAt: new Date(now - 1_000).toISOString(),
    sightings: Array.from({ length: n }, () => ({
      t: new Date(now - rng.int(2_000, 60_000)).toISOString(),
      mac: macDigits(randomMac(rng)).replace(/(..)(?!$)/g, '$1:'),
      rssi: rng.int(-90, -40),
      radio: radio ?? rng.pick(['wifi', 'ble'] as const),
    })),
  })
  const good = (format: keyof typeof FORMAT_GATEWAYS) => {
    const source = FORMAT_GATEWAYS[format] as GatewaySource
    const radio =
      format === 'omg' || format === 'espresense'
        ? 'ble'
        : format === 'sniffer'
          ? 'wifi'
          : undefined
    const messages =
      encodeBatchForSource(batchOf(rng.int(1, 3), radio), source, {
        timeZone: 'Europe/Rome',
        merakiSecret: MERAKI_SECRET,
      }) ?? []
    for (const m of messages)
      plan.push({
        format,
        topic: t(m.transport === 'mqtt' ? m.topic : buildMerakiInternalTopic('L_miglio_simulated')),
        payload: Buffer.from(m.transport === 'mqtt' ? m.payload : m.body),
        expect: { kind: 'accepted' },
      })
  }
  const bad = (
    format: keyof typeof FORMAT_GATEWAYS,
    topic: string,
    payload: string | Buffer,
    reason: RejectReason,
  ) =>
    plan.push({
      format,
      topic: t(topic),
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      expect: { kind: 'rejected', reason },
    })
  const mac = () => randomMac(rng)
  const BAD: Array<() => void> = [
    () =>
      bad(
        'omg',
        `home/gw-fz-omg/BTtoMQTT/${macDigits(mac())}`,
        `{"id":"${mac()}","rssi":"loud"}`,
        'bad_omg_payload',
      ),
    () =>
      bad(
        'omg',
        `home/gw-fz-omg/BTtoMQTT/${macDigits(mac())}`,
        `{"id":"${mac()}","rssi":-50`,
        'bad_omg_payload',
      ),
    () =>
      bad(
        'omg',
        `home/gw-fz-omg/BTtoMQTT/${macDigits(mac())}`,
        `{"id":"${mac()}","rssi":12}`,
        'bad_omg_payload',
      ),
    () => bad('omg', 'home/gw-fz-omg/BTtoMQTT/abcdef', `{"id":"nope","rssi":-50}`, 'bad_mac'),
    () => bad('omg', 'home/gw-fz-omg/LWT', 'maybe', 'bad_omg_payload'),
    () =>
      bad(
        'omg',
        `home/gw-fz-unknown/BTtoMQTT/${macDigits(mac())}`,
        `{"id":"${mac()}","rssi":-50}`,
        'unknown_gateway',
      ),
    () =>
      bad(
        'omg',
        `home/gw-fz-omg/BTtoMQTT/${macDigits(mac())}`,
        Buffer.alloc(MAX_PAYLOAD_BYTES + 10, `{"id":"${mac()}"}`),
        'oversized',
      ),
    () =>
      bad(
        'espresense',
        `espresense/devices/${macDigits(mac())}/gw-fz-esp`,
        `{"mac":"${macDigits(mac())}","rssi":5}`,
        'bad_espresense_payload',
      ),
    () =>
      bad(
        'espresense',
        `espresense/devices/${macDigits(mac())}/gw-fz-esp`,
        `[${JSON.stringify(mac())}]`,
        'bad_espresense_payload',
      ),
    () =>
      bad(
        'espresense',
        'espresense/devices/phone/gw-fz-esp',
        `{"mac":"zz${macDigits(mac())}","rssi":-60}`,
        'bad_mac',
      ),
    () =>
      bad(
        'espresense',
        `espresense/devices/${macDigits(mac())}/gw-fz-elsewhere`,
        `{"mac":"${macDigits(mac())}","rssi":-60}`,
        'unknown_gateway',
      ),
    () =>
      bad('espresense', 'espresense/rooms/gw-fz-esp/status', 'asleep', 'bad_espresense_payload'),
    () =>
      bad(
        'sniffer',
        'sniffers/gw-fz-sniffer',
        `2022-10-18 10:53:42;ff:ff:ff:ff:ff:ff;${mac()};x`,
        'bad_sniffer_line',
      ),
    () => bad('sniffer', 'sniffers/gw-fz-sniffer', 'datetime;dst\n1;2', 'bad_sniffer_line'),
    () =>
      bad(
        'meraki',
        buildMerakiInternalTopic('L_miglio_simulated'),
        `{"version":"2.0","secret":"${MERAKI_SECRET}","type":"WiFi","data":{"networkId":"L_miglio_simulated","observations":[{"clientMac":"${mac()}"}]}}`,
        'bad_meraki_post',
      ),
    () =>
      bad(
        'meraki',
        buildMerakiInternalTopic('L_miglio_simulated'),
        `{"version":"3.0","secret":"${MERAKI_SECRET}","type":"WiFi","data":{"networkId":"L_miglio_simulated","observations":[{"clientMac":"not-a-mac-${macDigits(mac())}","latestRecord":{"time":"${new Date(now).toISOString()}","nearestApMac":"${mac()}","nearestApRssi":-60}}]}}`,
        'bad_mac',
      ),
    () =>
      bad(
        'meraki',
        buildMerakiInternalTopic('L_miglio_simulated'),
        `{"secret":"${MERAKI_SECRET}","version":"3.0",`,
        'bad_meraki_post',
      ),
    () =>
      bad(
        'meraki',
        buildMerakiInternalTopic('L_other_network'),
        `{"version":"3.0","secret":"${MERAKI_SECRET}","type":"WiFi","data":{"networkId":"L_miglio_simulated","observations":[]}}`,
        'bad_meraki_post',
      ),
    () =>
      bad(
        'meraki',
        buildMerakiInternalTopic('L_miglio_simulated'),
        `{"version":"3.0","secret":"${MERAKI_SECRET}","type":"Bluetooth","data":{"networkId":"L_miglio_simulated","observations":[{"clientMac":"${mac()}","latestRecord":{"time":"${new Date(now - 5_000).toISOString()}","nearestApMac":"${mac()}","nearestApRssi":-60}}]}}`,
        'unknown_gateway',
      ),
    () => bad('paxcounter', 'gw-fz-pax/1', '!!not base64!!', 'bad_paxcounter_payload'),
    () =>
      bad(
        'paxcounter',
        'gw-fz-pax/1',
        Buffer.from([1, 2, 3]).toString('base64'),
        'bad_paxcounter_payload',
      ),
    () =>
      bad(
        'paxcounter',
        'gw-fz-pax/2',
        Buffer.alloc(7).toString('base64'),
        'bad_paxcounter_payload',
      ),
    () =>
      bad('paxcounter', 'gw-fz-pax/1', `{"wifi":-1,"mac":"${mac()}"}`, 'bad_paxcounter_payload'),
  ]
  const formats = Object.keys(FORMAT_GATEWAYS) as (keyof typeof FORMAT_GATEWAYS)[]
  while (plan.length < FORMAT_FUZZ_MESSAGES) {
    if (rng.next() < 0.5) good(rng.pick(formats))
    else rng.pick(BAD)()
  }
  return plan
}

describe('every gateway format under a seeded mix of good and bad messages', () => {
  it('gives each bad message its format’s reason, dead-lettered once with no MAC, and counts the good', async () => {
    const template = tinyDistrict()
    const first = template.gateways[0]
    if (!first) throw new Error('no gateway in the fixture')
    await loadDistrict(database.db, {
      ...template,
      gateways: [
        ...template.gateways,
        ...Object.entries(FORMAT_GATEWAYS).map(([, source]) => ({
          ...first,
          id:
            source?.format === 'omg'
              ? 'gw-fz-omg'
              : source?.format === 'espresense'
                ? 'gw-fz-esp'
                : source?.format === 'sniffer'
                  ? 'gw-fz-sniffer'
                  : source?.format === 'meraki'
                    ? 'gw-fz-meraki'
                    : 'gw-fz-pax',
          ...(source ? { source } : {}),
        })),
      ],
    })
    const plan = generateFormats(Date.now())
    const expected: Record<string, number> = {}
    for (const p of plan)
      if (p.expect.kind === 'rejected')
        expected[p.expect.reason] = (expected[p.expect.reason] ?? 0) + 1
    const accepted: Record<string, number> = {}
    for (const p of plan)
      if (p.expect.kind === 'accepted') accepted[p.format] = (accepted[p.format] ?? 0) + 1
    // Every format's own reasons and the shared ones appear in the mix.
    expect(Object.keys(expected).sort()).toEqual(
      [
        'bad_espresense_payload',
        'bad_mac',
        'bad_meraki_post',
        'bad_omg_payload',
        'bad_paxcounter_payload',
        'bad_sniffer_line',
        'oversized',
        'unknown_gateway',
      ].sort(),
    )
    expect(Object.keys(accepted).sort()).toEqual(Object.keys(FORMAT_GATEWAYS).sort())

    const ingest = await startTestIngest({
      brokerUrl: broker.url,
      db: database.db,
      clientId: `${formatPrefix}-ingest`,
      config: { ...TEST_INGEST_CONFIG, topicPrefix: formatPrefix, microBatch: { windowMs: 100 } },
      log: logs.log,
      reconnectPeriodMs: 200,
    })
    const { service } = ingest
    try {
      await publishAll(plan)
      await waitFor(
        () => counterValue(service.metrics.received),
        (n) => n >= plan.length,
        { timeoutMs: 120_000, what: 'every message received' },
      )
      await waitFor(
        () => counterValue(service.metrics.inFlight),
        (n) => n === 0,
        { timeoutMs: 60_000, what: 'every message committed' },
      )
      const rejects: Record<string, number> = {}
      for (const v of (await service.metrics.rejects.get()).values)
        if (v.value > 0) rejects[String(v.labels.reason)] = v.value
      expect(rejects).toEqual(expected)
      for (const [format, n] of Object.entries(accepted))
        expect(
          await counterValue(service.metrics.formatMessages, { format, outcome: 'accepted' }),
          format,
        ).toBe(n)

      const letters = await database.db
        .selectFrom('dead_letters')
        .select(['reason', 'topic', 'gateway_id', 'detail', 'payload_redacted'])
        .where('topic', 'like', `${formatPrefix}/%`)
        .execute()
      const letterReasons: Record<string, number> = {}
      for (const l of letters) letterReasons[l.reason] = (letterReasons[l.reason] ?? 0) + 1
      expect(letterReasons).toEqual(expected)
      for (const l of letters) {
        expect(JSON.stringify(l)).not.toMatch(MAC_PATTERN)
        expect(l.payload_redacted).not.toContain(MERAKI_SECRET)
      }
      const logText = logs.text()
      expect(logText).not.toMatch(MAC_PATTERN)
      expect(logText).not.toContain(MERAKI_SECRET)
      expect(await service.metrics.registry.metrics()).not.toMatch(MAC_PATTERN)
      const dump = await dumpDatabase(database)
      expect(createMacScanner([...usedMacs]).scan(dump.bytes, `database (${dump.how})`)).toEqual([])
      expect(dump.bytes.toString('latin1')).not.toContain(MERAKI_SECRET)
    } finally {
      await ingest.stop()
    }
  })
})
