import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { waitFor } from '../testing/engines.ts'
import {
  MAX_PACKET_REMAINING_LENGTH,
  startEmbeddedBroker,
  type EmbeddedBroker,
} from './embedded-broker.ts'
import { loadBrokerCredentials } from './broker-credentials.ts'
import { SERVICE_USERS, type BrokerAccounts } from './broker-acl.ts'

// The embedded broker of `miglio start` with credentials: who may connect, publish and read what, and
// how large a packet may be. These tests always run against the embedded Aedes: it is what they test.

const PREFIX = 'district-a'
const topic = (gw: string, kind: 'sightings' | 'status' = 'sightings') =>
  `${PREFIX}/miglio/v1/gw/${gw}/${kind}`

let dataDir: string
let accounts: BrokerAccounts
let broker: EmbeddedBroker
const clients: MqttClient[] = []

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'miglio-broker-'))
  const loaded = await loadBrokerCredentials(dataDir)
  accounts = {
    ...loaded.accounts,
    gateways: { 'gw-a': 'password-of-gateway-a', 'gw-b': 'password-of-gateway-b' },
  }
  broker = await startEmbeddedBroker({
    auth: { accounts, topicPrefix: PREFIX },
    maxPacketRemainingLength: MAX_PACKET_REMAINING_LENGTH,
  })
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)))
  await broker.stop()
  await rm(dataDir, { recursive: true, force: true })
})

async function connect(
  username: string | undefined,
  password: string | undefined,
  extra: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...extra,
  })
  client.on('error', () => undefined)
  clients.push(client)
  return client
}

const as = (user: keyof BrokerAccounts['services'] | 'gw-a' | 'gw-b') =>
  connect(
    user,
    accounts.services[user as keyof BrokerAccounts['services']] ?? accounts.gateways[user],
  )

function collect(client: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = []
  client.on('message', (t, p) => got.push({ topic: t, payload: p.toString() }))
  return got
}

/** The QoS the broker granted a filter: 128 when it refused it. */
async function granted(client: MqttClient, filter: string, qos: 0 | 1 = 1): Promise<number> {
  try {
    const [g] = await client.subscribeAsync(filter, { qos })
    return g?.qos ?? -1
  } catch (err) {
    // mqtt.js rejects a SUBACK carrying 0x80, with the packet attached.
    const refused = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet
    const g = refused?.granted?.[0]
    return typeof g === 'number' ? g : (g?.qos ?? -1)
  }
}

/** Whether the broker closes the client's connection within a few seconds. */
function closed(client: MqttClient, withinMs = 5000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), withinMs)
    client.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

describe('embedded broker credentials file', () => {
  it('is created private and reused on the next start', async () => {
    const path = join(dataDir, 'broker-credentials.json')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const first = JSON.parse(await readFile(path, 'utf8')) as { services: Record<string, string> }
    expect(Object.keys(first.services).sort()).toEqual(
      [SERVICE_USERS.api, SERVICE_USERS.ingest, SERVICE_USERS.simulator].sort(),
    )
    const again = await loadBrokerCredentials(dataDir)
    expect(again.created).toBe(false)
    expect(again.accounts.services).toEqual(first.services)
  })

  it('refuses a broken file, naming the fields and never a password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'miglio-broker-bad-'))
    try {
      const { accounts: generated } = await loadBrokerCredentials(dir)
      const path = join(dir, 'broker-credentials.json')
      await writeFile(
        path,
        JSON.stringify({
          services: { ...generated.services, 'miglio-api': 'short' },
          gateways: { 'miglio-ingest': 'a-long-enough-password', 'GW 1': 'another-long-password' },
        }),
      )
      const err = (await loadBrokerCredentials(dir).catch((e: unknown) => e)) as Error
      expect(err.message).toContain('services.miglio-api')
      expect(err.message).toContain('gateways.miglio-ingest')
      expect(err.message).toContain('gateways.GW 1')
      for (const secret of ['short', 'a-long-enough-password', generated.services['miglio-ingest']])
        expect(err.message).not.toContain(secret)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('embedded broker with credentials', () => {
  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(connect(undefined, undefined)).rejects.toMatchObject({ code: 5 })
    await expect(connect(SERVICE_USERS.ingest, 'not-the-password-at-all')).rejects.toMatchObject({
      code: 4,
    })
    await expect(connect('gw-unknown', 'password-of-gateway-a')).rejects.toMatchObject({
      code: 4,
    })
    // The right password gets in.
    expect((await as('miglio-ingest')).connected).toBe(true)
  })

  it('delivers gateway messages to ingest, and to nobody else', async () => {
    const ingest = await as('miglio-ingest')
    const simulator = await as('miglio-simulator')
    const api = await as('miglio-api')
    const ingestGot = collect(ingest)
    const simGot = collect(simulator)
    const apiGot = collect(api)

    expect(await granted(ingest, topic('+'))).toBe(1)
    expect(await granted(ingest, topic('+', 'status'))).toBe(1)
    // Shared subscriptions are allowed as their filter is (Aedes accepts them, delivers nothing).
    expect(await granted(ingest, `$share/ingest/${topic('+')}`)).toBe(1)

    for (const [client, filters] of [
      [simulator, ['#', `${PREFIX}/#`, topic('+'), topic('gw-a'), '$SYS/#']],
      [api, ['#', topic('+'), `${PREFIX}/miglio/v1/gw/#`]],
      // The prefix is part of the rules: the unprefixed gateway topics are nobody's.
      [ingest, ['#', 'miglio/v1/gw/+/sightings']],
    ] as const) {
      for (const filter of filters) {
        expect({ filter, qos: await granted(client, filter) }).toEqual({ filter, qos: 128 })
      }
    }
    // The API may listen for ingest's announcements, which only ingest may send.
    const announcements = `${PREFIX}/miglio/v1/internal/transits-changed`
    expect(await granted(api, announcements, 0)).toBe(0)

    const gwA = await as('gw-a')
    await gwA.publishAsync(topic('gw-a'), 'batch from a', { qos: 1 })
    await gwA.publishAsync(topic('gw-a', 'status'), 'status of a', { qos: 1, retain: true })
    await ingest.publishAsync(announcements, '{"v":1,"zones":["z"]}', { qos: 1 })
    await simulator.publishAsync(topic('gw-b'), 'simulated b', { qos: 1 })

    await waitFor(
      async () => ingestGot.length,
      (n) => n >= 3,
      { what: 'gateway messages at ingest' },
    )
    await waitFor(
      async () => apiGot.length,
      (n) => n >= 1,
      { what: 'the announcement at the API' },
    )
    expect(ingestGot.map((m) => m.payload).sort()).toEqual(
      ['batch from a', 'simulated b', 'status of a'].sort(),
    )
    expect(apiGot.map((m) => m.topic)).toEqual([announcements])
    expect(simGot).toEqual([])
  })

  it('does not let a gateway publish as another gateway, or a service as what it is not', async () => {
    const ingest = await as('miglio-ingest')
    const got = collect(ingest)
    await ingest.subscribeAsync(topic('+'), { qos: 1 })

    const spoofing = await as('gw-a')
    const gone = closed(spoofing)
    spoofing.publish(topic('gw-b'), 'a pretending to be b', { qos: 1 })
    expect(await gone).toBe(true)

    for (const [user, t] of [
      ['miglio-api', topic('gw-a')],
      ['miglio-api', `${PREFIX}/miglio/v1/internal/transits-changed`],
      ['miglio-simulator', `${PREFIX}/miglio/v1/internal/transits-changed`],
      ['gw-b', 'miglio/v1/gw/gw-b/sightings'],
    ] as const) {
      const c = await as(user)
      const refused = closed(c)
      c.publish(t, `${user} to ${t}`, { qos: 1 })
      expect(await refused).toBe(true)
    }

    // A message that gets through afterwards shows the refused ones were not merely slow.
    const honest = await as('gw-b')
    await honest.publishAsync(topic('gw-b'), 'b as itself', { qos: 1 })
    await waitFor(
      async () => got.length,
      (n) => n >= 1,
      { what: 'the honest batch' },
    )
    expect(got.map((m) => m.payload)).toEqual(['b as itself'])
  })
})

describe('embedded broker packet size limit', () => {
  it('closes a connection announcing a 20 MiB publish before buffering it', async () => {
    const gw = await as('gw-a')
    const ingest = await as('miglio-ingest')
    const got = collect(ingest)
    await ingest.subscribeAsync(topic('+'), { qos: 0 })
    const socket = gw.stream as import('node:net').Socket
    const payloadBytes = 20 * 1024 * 1024
    const topicBytes = Buffer.from(topic('gw-a'))
    const remaining = 2 + topicBytes.length + payloadBytes
    const length: number[] = []
    for (let n = remaining; ;) {
      const byte = n % 128
      n = Math.floor(n / 128)
      length.push(n > 0 ? byte | 0x80 : byte)
      if (n === 0) break
    }
    const header = Buffer.concat([
      Buffer.from([0x30, ...length, topicBytes.length >> 8, topicBytes.length & 0xff]),
      topicBytes,
    ])
    const rssBefore = process.memoryUsage().rss
    let open = true
    gw.once('close', () => (open = false))
    // One 64 KiB chunk written again and again: the sender holds next to nothing itself.
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    const drained = () =>
      Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined)
    if (!socket.write(header)) await drained()
    while (open && sent < payloadBytes) {
      sent += chunk.length
      if (!socket.write(chunk)) await drained()
    }
    const wasClosed = await closed(gw)
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20
    expect(grownMiB).toBeLessThan(8)
    expect(wasClosed).toBe(true)
    expect(got).toEqual([])

    // The broker still serves everyone else.
    const next = await as('gw-b')
    await next.publishAsync(topic('gw-b'), 'still here', { qos: 1 })
    await waitFor(
      async () => got.length,
      (n) => n >= 1,
    )
  })

  it('still passes a payload a little over the protocol limit, for ingest to dead-letter it', async () => {
    const ingest = await as('miglio-ingest')
    const got = collect(ingest)
    await ingest.subscribeAsync(topic('+'), { qos: 1 })
    const gw = await as('gw-a')
    await gw.publishAsync(topic('gw-a'), Buffer.alloc(256 * 1024 + 1024, 0x62), { qos: 1 })
    await waitFor(
      async () => got.length,
      (n) => n >= 1,
    )
    expect(got[0]?.payload.length).toBe(256 * 1024 + 1024)
  })
})

describe('embedded broker without credentials (the test suites broker)', () => {
  it('accepts anonymous clients', async () => {
    const open = await startEmbeddedBroker()
    try {
      const c = await mqtt.connectAsync(open.url, { reconnectPeriod: 0 })
      const got = collect(c)
      await c.subscribeAsync('#', { qos: 1 })
      await c.publishAsync('miglio/v1/gw/gw-x/sightings', 'anyone', { qos: 1 })
      await waitFor(
        async () => got.length,
        (n) => n >= 1,
      )
      await c.endAsync()
    } finally {
      await open.stop()
    }
  })
})
