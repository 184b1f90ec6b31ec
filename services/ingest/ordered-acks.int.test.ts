import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import { createTestBroker, waitFor, type TestBroker } from '../shared/testing/engines.ts'
import { randomTopicPrefix } from '../shared/testing/helpers.ts'
import { createOrderedAcks, DEFERRED_ACK } from './ordered-acks.ts'

// Pins the MQTT.js behaviour the ingest's group commit relies on (see ordered-acks.ts), against the
// broker the suite runs on (embedded Aedes, or Mosquitto in CI): messages keep arriving while earlier
// ones are unacknowledged, and what was not acknowledged — in arrival order — is redelivered.

let broker: TestBroker
let publisher: MqttClient
const topic = `${randomTopicPrefix('acks')}/t`

beforeAll(async () => {
  broker = await createTestBroker()
  publisher = await mqtt.connectAsync(broker.url, { clientId: `${topic}-pub` })
})

afterAll(async () => {
  await publisher?.endAsync()
  await broker?.close()
})

/** A persistent-session subscriber whose acknowledgements the test gives by hand. */
async function subscriber(clientId: string) {
  const client = mqtt.connect(broker.url, { clientId, clean: false, manualConnect: true })
  const acks = createOrderedAcks(client)
  const received: { body: string; dup: boolean; ack: () => void }[] = []
  client.handleMessage = (packet: IPublishPacket, done) => {
    received.push({ body: packet.payload.toString(), dup: packet.dup, ack: acks.track(packet) })
    done(DEFERRED_ACK)
  }
  const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()))
  client.connect()
  await connected
  await client.subscribeAsync(topic, { qos: 1 })
  return { client, acks, received }
}

describe('ordered acknowledgements on MQTT.js', () => {
  it('delivers past unacknowledged messages and redelivers, in order, what was not acknowledged', async () => {
    const clientId = `${topic}-sub`
    const first = await subscriber(clientId)
    for (const body of ['m1', 'm2', 'm3']) await publisher.publishAsync(topic, body, { qos: 1 })
    // All three arrive though none is acknowledged: MQTT.js does not wait for us.
    await waitFor(
      () => Promise.resolve(first.received.length),
      (n) => n === 3,
      { what: 'three deliveries without acknowledgement' },
    )
    expect(first.received.map((r) => r.body)).toEqual(['m1', 'm2', 'm3'])
    expect(first.acks.pending()).toBe(3)
    first.received[0]?.ack()
    // m3 is done before m2: its PUBACK waits for m2's, which never comes.
    first.received[2]?.ack()
    expect(first.acks.pending()).toBe(2)
    await new Promise((r) => setTimeout(r, 200))
    await first.client.endAsync()

    const second = await subscriber(clientId)
    await waitFor(
      () => Promise.resolve(second.received.length),
      (n) => n >= 2,
      { what: 'the unacknowledged messages redelivered' },
    )
    await new Promise((r) => setTimeout(r, 300))
    expect(second.received.map((r) => r.body)).toEqual(['m2', 'm3'])
    for (const r of second.received) r.ack()
    expect(second.acks.pending()).toBe(0)
    await new Promise((r) => setTimeout(r, 200))
    await second.client.endAsync()

    const third = await subscriber(clientId)
    await publisher.publishAsync(topic, 'm4', { qos: 1 })
    await waitFor(
      () => Promise.resolve(third.received.length),
      (n) => n >= 1,
      { what: 'a new message after everything was acknowledged' },
    )
    await new Promise((r) => setTimeout(r, 300))
    expect(third.received.map((r) => r.body)).toEqual(['m4'])
    third.received[0]?.ack()
    await third.client.endAsync()
  })
})

describe('redelivery after a reconnect (what ingest relies on for the gateway formats)', () => {
  it('comes first on the new connection, with DUP set by Mosquitto and not by Aedes', async () => {
    const clientId = `${topic}-dup`
    const first = await subscriber(clientId)
    await publisher.publishAsync(topic, 'd1', { qos: 1 })
    await waitFor(
      () => Promise.resolve(first.received.length),
      (n) => n === 1,
      { what: 'the first delivery' },
    )
    expect(first.received[0]?.dup).toBe(false)
    // Not acknowledged: the connection ends with the message in flight.
    await first.client.endAsync(true)

    const second = await subscriber(clientId)
    await waitFor(
      () => Promise.resolve(second.received.filter((r) => r.body === 'd1').length),
      (n) => n === 1,
      { what: 'the redelivery' },
    )
    // Mosquitto sets DUP on a redelivery; Aedes 1.2 does not, so ingest also takes the first
    // deliveries of a new connection, as many as the last one left unacknowledged, as possible
    // redeliveries (OrderedAcks.mayBeRedelivery).
    expect(second.received.find((r) => r.body === 'd1')?.dup).toBe(broker.kind === 'env')
    expect(second.received[0]?.body).toBe('d1')
    for (const r of second.received) r.ack()
    await waitFor(
      () => Promise.resolve(second.acks.pending()),
      (n) => n === 0,
      { what: 'the redelivery acknowledged' },
    )
    await second.client.endAsync()
  })
})
