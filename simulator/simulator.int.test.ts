import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GatewayStatusSchema,
  SightingsBatchSchema,
} from '../services/shared/contracts/gateway-messages.ts'
import { parseGatewayTopic, withoutTopicPrefix } from '../services/shared/contracts/topics.ts'
import { createTestBroker, waitFor, type TestBroker } from '../services/shared/testing/engines.ts'
import { loadDistrictFile, runLoad, runSimulate } from './simulate-run.ts'
import { runReplay } from './replay-run.ts'
import { createSimulation } from './simulation.ts'

// The simulator as a device on a real broker (TEST_MQTT_URL, else an embedded Aedes): what it says
// it published is exactly what a subscriber receives, and every message is valid.
const DISTRICT = 'simulator/districts/mestre.json'
const MINUTE = 60_000
const quiet = { info: () => undefined, warn: () => undefined }

type Received = { topic: string; payload: string; retain: boolean }

let broker: TestBroker
let subscriber: MqttClient
let dir: string
const received = new Map<string, Received[]>()

async function subscribe(prefix: string): Promise<Received[]> {
  const list: Received[] = []
  received.set(prefix, list)
  await subscriber.subscribeAsync(`${prefix}/miglio/v1/gw/+/+`, { qos: 1 })
  return list
}

beforeAll(async () => {
  broker = await createTestBroker()
  dir = await mkdtemp(join(tmpdir(), 'miglio-sim-int-'))
  subscriber = await mqtt.connectAsync(broker.url, {
    clientId: `sim-int-${Math.random().toString(16).slice(2, 10)}`,
    protocolVersion: 4,
  })
  subscriber.on('message', (topic, payload, packet) => {
    const prefix = topic.split('/miglio/')[0] ?? ''
    received.get(prefix)?.push({ topic, payload: payload.toString(), retain: packet.retain })
  })
})

afterAll(async () => {
  await subscriber?.endAsync()
  await broker?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const tag = () => `sim-int-${Math.random().toString(16).slice(2, 10)}`

describe('miglio simulate through a real broker', () => {
  it('delivers exactly the published messages, all valid, with faults and ground truth', async () => {
    const prefix = tag()
    const got = await subscribe(prefix)
    const nowMs = Math.floor(Date.now() / MINUTE) * MINUTE
    const truthOut = join(dir, 'truth.jsonl')
    const input = {
      district: DISTRICT,
      seed: 7,
      speed: 'max' as const,
      from: '-60m',
      to: '-2m',
      scenario: 'simple' as const,
      faults: 'duplicates=0.05,malformed=0.01,reboot:gw-via-carducci@4m',
      truthOut,
      topicPrefix: prefix,
      mqttUrl: broker.url,
    }
    const result = await runSimulate(input, { log: quiet, now: () => nowMs })
    const total = result.messages + result.statusMessages
    await waitFor(
      async () => got.length,
      (n) => n >= total,
      { timeoutMs: 30_000, what: `${total} messages` },
    )
    await new Promise((r) => setTimeout(r, 200))
    expect(got).toHaveLength(total)

    // The same run, regenerated: the subscriber saw its messages, in order per gateway.
    const expected = createSimulation({
      district: await loadDistrictFile(DISTRICT),
      seed: 7,
      fromMs: nowMs - 60 * MINUTE,
      toMs: nowMs - 2 * MINUTE,
      scenario: 'simple',
      faults: input.faults,
      collectTruth: false,
    })
    const streamed = [...expected]
    expect(result.messages).toBe(streamed.filter((m) => m.kind === 'sightings').length)
    const perGateway = (list: Array<{ topic: string; payload: string }>) => {
      const map = new Map<string, string[]>()
      for (const m of list) {
        const topic = withoutTopicPrefix(prefix, m.topic) ?? m.topic
        const key = topic
        map.set(key, [...(map.get(key) ?? []), m.payload])
      }
      return map
    }
    const sightingsGot = got.filter((m) => m.topic.endsWith('/sightings'))
    expect(perGateway(sightingsGot)).toEqual(
      perGateway(streamed.filter((m) => m.kind === 'sightings')),
    )

    let malformed = 0
    for (const m of got) {
      const parsed = parseGatewayTopic(withoutTopicPrefix(prefix, m.topic) ?? '')
      expect(parsed).not.toBeNull()
      let json: unknown
      try {
        json = JSON.parse(m.payload)
      } catch {
        malformed++
        continue
      }
      if (parsed?.kind === 'status') {
        expect(GatewayStatusSchema.parse(json).gatewayId).toBe(parsed.gatewayId)
        continue
      }
      const batch = SightingsBatchSchema.safeParse(json)
      if (!batch.success) {
        malformed++
        continue
      }
      expect(batch.data.gatewayId).toBe(parsed?.gatewayId)
    }
    const faults = (await readFile(result.faultsOut ?? '', 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string })
    expect(malformed).toBe(faults.filter((f) => f.kind === 'malformed').length)
    expect(faults.filter((f) => f.kind === 'reboot')).toHaveLength(1)
    expect(faults.filter((f) => f.kind === 'duplicates').length).toBeGreaterThan(0)
    expect(result.truthEvents).toBeGreaterThan(0)

    // Retained: a late subscriber finds every gateway offline after the run.
    const late = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
    const retained: string[] = []
    late.on('message', (_topic, payload, packet) => {
      if (packet.retain)
        retained.push(GatewayStatusSchema.parse(JSON.parse(payload.toString())).state)
    })
    await late.subscribeAsync(`${prefix}/miglio/v1/gw/+/status`, { qos: 1 })
    await waitFor(
      async () => retained.length,
      (n) => n >= 16,
      { timeoutMs: 10_000, what: 'retained status' },
    )
    await late.endAsync()
    expect(new Set(retained)).toEqual(new Set(['offline']))
  })

  it('fails with a clear error, within the timeout, when the broker is unreachable', async () => {
    const started = Date.now()
    await expect(
      runSimulate(
        {
          district: DISTRICT,
          speed: 'max',
          from: '-10m',
          to: '-5m',
          scenario: 'simple',
          mqttUrl: 'mqtt://127.0.0.1:1',
        },
        { log: quiet, connectTimeoutMs: 3000 },
      ),
    ).rejects.toThrow(/could not connect to the MQTT broker mqtt:\/\/127\.0\.0\.1:1 within 3 s/)
    expect(Date.now() - started).toBeLessThan(6000)
  })

  it('replays a capture and a load run through the broker', async () => {
    const prefix = tag()
    const got = await subscribe(prefix)
    const csv = join(dir, 'capture.csv')
    await writeFile(
      csv,
      [
        'datetime;dst;src;src_vendor;randomized;rssi;idx;seq_num;ch_freq;FCfield;ssid;dot11elt;oui;occupancy',
        '2022-10-18 10:53:42.597864;ff:ff:ff:ff:ff:ff;7e:fd:7a:e4:31:66;;1;-94;0;2187;2417;;SSID_56211587;[0, 1, 50, 3, 45, 127, 255, 221, 221, 221];[6130, 20722, 4120];0.0',
        'not;a;row',
        '2022-10-18 10:53:58.270457;ff:ff:ff:ff:ff:ff;74:eb:80:f3:6f:13;Samsung Electronics Co.,Ltd;0;-92;2;4031;2417;;SSID_04762478;[0, 1, 50, 3, 45, 127, 221];[20722];0.0',
      ].join('\n'),
    )
    const replay = await runReplay(
      { file: csv, gateway: 'gw-lab', speed: 'max', topicPrefix: prefix, mqttUrl: broker.url },
      { log: quiet },
    )
    expect(replay).toMatchObject({ format: 'csv', records: 2, malformed: 1, batches: 4 })
    const load = await runLoad(
      {
        gateways: 5,
        sightingsPerSecond: 200,
        devices: 100,
        durationS: 10,
        speed: 'max',
        topicPrefix: prefix,
        mqttUrl: broker.url,
      },
      { log: quiet },
    )
    expect(load).toMatchObject({ messages: 10, sightings: 2000, published: 10 })
    const total = replay.published + replay.statusMessages + load.published + load.statusMessages
    await waitFor(
      async () => got.length,
      (n) => n >= total,
      { timeoutMs: 20_000, what: 'replay and load' },
    )
    const batches = got
      .filter((m) => m.topic.endsWith('/sightings'))
      .map((m) => SightingsBatchSchema.parse(JSON.parse(m.payload)))
    expect(batches).toHaveLength(14)
    const replayed = batches.filter((b) => b.gatewayId === 'gw-lab')
    expect(replayed.map((b) => b.sightings.length)).toEqual([1, 0, 0, 1])
    // Shifted to the present: the last batch ends about now.
    expect(Math.abs(Date.parse(String(replayed.at(-1)?.sentAt)) - Date.now())).toBeLessThan(60_000)
  })
})

describe('miglio simulate --format through a real broker', () => {
  it('puts every gateway on the wire in the format, Meraki on the internal topic, and writes the district', async () => {
    const nowMs = Math.floor(Date.now() / MINUTE) * MINUTE
    for (const format of ['omg', 'meraki'] as const) {
      const prefix = tag()
      const list: Received[] = []
      subscriber.on('message', (topic, payload, packet) => {
        if (topic.startsWith(`${prefix}/`))
          list.push({ topic, payload: payload.toString(), retain: packet.retain })
      })
      const filter = format === 'omg' ? `${prefix}/home/#` : `${prefix}/miglio/v1/internal/meraki/+`
      await subscriber.subscribeAsync(filter, { qos: 1 })
      const districtOut = join(dir, `district-${format}.json`)
      const result = await runSimulate(
        {
          district: DISTRICT,
          seed: 7,
          speed: 'max',
          from: '-20m',
          to: '-2m',
          scenario: 'realistic',
          format,
          districtOut,
          topicPrefix: prefix,
          mqttUrl: broker.url,
        },
        { log: quiet, now: () => nowMs },
      )
      expect(result.messages, format).toBeGreaterThan(0)
      // OpenMQTTGateway: the sightings and the gateways' LWT; Meraki: the posts only.
      const total = result.messages + (format === 'omg' ? result.statusMessages : 0)
      await waitFor(
        async () => list.length,
        (n) => n >= total,
        { timeoutMs: 30_000, what: `${total} ${format} messages` },
      )
      const written = await loadDistrictFile(districtOut)
      expect(new Set(written.gateways.map((g) => g.source?.format))).toEqual(new Set([format]))
      if (format === 'omg') {
        const names = new Set(written.gateways.map((g) => g.id))
        for (const m of list) {
          const levels = (withoutTopicPrefix(prefix, m.topic) ?? '').split('/')
          expect(levels[0]).toBe('home')
          expect(names.has(levels[1] ?? '')).toBe(true)
        }
      } else
        for (const m of list)
          expect(JSON.parse(m.payload)).toMatchObject({ version: '3.0', type: expect.any(String) })
    }
  })
})
