import { describe, expect, it, vi } from 'vitest'
import type { IPublishPacket, MqttClient } from 'mqtt'
import { counterValue, createLogCapture, MAC_PATTERN } from '../../shared/testing/helpers.ts'
import { createIngestMetrics } from '../ingest-metrics.ts'
import { createOrderedAcks, DEFERRED_ACK } from '../ordered-acks.ts'
import { createDeadLetters } from './dead-letter.ts'
import type { ForeignIntake } from './foreign-intake.ts'
import { createMessageHandler } from './message-handler.ts'
import type { NativeIntake } from './native-intake.ts'
import type { Route } from './route-topic.ts'
import type { Taken, Work } from './work.ts'

const NATIVE_TOPIC = 'miglio/v1/gw/gw-1/sightings'
const OMG_TOPIC = 'home/gw-omg/BTtoMQTT/aabbccddeeff'

/** A promise and its resolver, to hold a step of the handler until the test lets it go. */
function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * The handler over the real ordered acknowledgements (on a client that records the PUBACKs it
 * would send), real dead letters and metrics, and stand-ins for the intakes and the committer.
 */
function setup(o: { topicPrefix?: string; native?: NativeIntake['take'] } = {}) {
  const pubacks: number[] = []
  const client = {
    connected: true,
    on: () => client,
    _sendPacket: (packet: { messageId: number }, cb: () => void) => {
      pubacks.push(packet.messageId)
      cb()
    },
  } as unknown as MqttClient
  const logs = createLogCapture('info')
  const metrics = createIngestMetrics()
  let running = true
  const arrivals: number[] = []
  const queued: Work[] = []
  let room: Promise<void> = Promise.resolve()
  const native = {
    take: vi.fn<NativeIntake['take']>(
      o.native ?? (async (): Promise<Taken> => ({ kind: 'dropped', reason: 'flood' })),
    ),
  }
  const foreign = {
    route: (topic: string): Route | null =>
      topic.startsWith('home/')
        ? { format: 'omg' }
        : topic.startsWith('miglio/')
          ? { format: 'native' }
          : null,
    take: vi.fn<ForeignIntake['take']>(async (m) => [
      { kind: 'dropped', reason: 'flood', topic: m.rawTopic, payload: m.payload, ack: m.ack },
    ]),
  }
  const handler = createMessageHandler({
    topicPrefix: o.topicPrefix,
    now: () => 1_000,
    running: () => running,
    arrived: (atMs) => arrivals.push(atMs),
    acks: createOrderedAcks(client),
    native,
    foreign,
    deadLetter: createDeadLetters({ log: logs.log, now: () => 1_000 }).deadLetter,
    committer: {
      enqueue: (w) => queued.push(w),
      room: () => room,
    },
    metrics,
    log: logs.log,
  })
  const done = vi.fn()
  let nextId = 1
  const deliver = (topic: string, extra: Partial<IPublishPacket> = {}) => {
    const packet = {
      cmd: 'publish',
      topic,
      payload: Buffer.from('{"batch":1}'),
      qos: 1,
      dup: false,
      retain: false,
      messageId: nextId++,
      ...extra,
    } as IPublishPacket
    handler.handle(packet, done)
    return packet
  }
  return {
    handler,
    deliver,
    done,
    pubacks,
    queued,
    native,
    foreign,
    metrics,
    logs,
    arrivals,
    stop: () => (running = false),
    holdRoom: (p: Promise<void>) => (room = p),
  }
}

describe(createMessageHandler.name, () => {
  it('queues a native message, reads on once the committer has room, and sends PUBACK only once it is committed', async () => {
    const t = setup()
    const room = deferred<undefined>()
    t.holdRoom(room.promise)
    const packet = t.deliver(NATIVE_TOPIC)
    await vi.waitFor(() => expect(t.queued).toHaveLength(1))
    expect(t.native.take).toHaveBeenCalledWith(NATIVE_TOPIC, packet.payload)
    expect(t.queued[0]).toMatchObject({
      kind: 'dropped',
      topic: NATIVE_TOPIC,
      payload: packet.payload,
    })
    expect(t.arrivals).toEqual([1_000])
    // The queue is full: MQTT.js is not told to read the next message yet.
    expect(t.done).not.toHaveBeenCalled()
    room.resolve(undefined)
    await t.handler.settled()
    expect(t.done).toHaveBeenCalledExactlyOnceWith(DEFERRED_ACK)
    // Told to read on, but not acknowledged: the PUBACK waits for the commit.
    expect(t.pubacks).toEqual([])
    expect(await counterValue(t.metrics.inFlight)).toBe(1)
    t.queued[0]!.ack()
    t.queued[0]!.ack()
    expect(t.pubacks).toEqual([packet.messageId])
    expect(await counterValue(t.metrics.inFlight)).toBe(0)
  })

  it("hands a gateway format's message to its intake, unprefixed, with a redelivery flagged", async () => {
    const t = setup({ topicPrefix: 'district-a' })
    const packet = t.deliver(`district-a/${OMG_TOPIC}`, { dup: true })
    await t.handler.settled()
    expect(t.native.take).not.toHaveBeenCalled()
    expect(t.foreign.take).toHaveBeenCalledWith(
      expect.objectContaining({
        topic: OMG_TOPIC,
        rawTopic: `district-a/${OMG_TOPIC}`,
        dup: true,
        receivedAtMs: 1_000,
        payload: packet.payload,
      }),
    )
    expect(t.queued).toHaveLength(1)
    expect(t.done).toHaveBeenCalledExactlyOnceWith(DEFERRED_ACK)
    // A topic no format claims is the native intake's to reject.
    t.deliver('district-a/somewhere/else')
    await t.handler.settled()
    expect(t.native.take).toHaveBeenCalledWith('district-a/somewhere/else', expect.any(Buffer))
  })

  it('keeps a message that could not be taken in as a write_failed dead letter, acknowledged once committed', async () => {
    const t = setup({
      native: async () => {
        throw new Error('daily key unreadable while reading AA:BB:CC:DD:EE:FF')
      },
    })
    const packet = t.deliver(NATIVE_TOPIC)
    await t.handler.settled()
    expect(t.queued).toHaveLength(1)
    const letter = t.queued[0]!
    expect(letter).toMatchObject({
      kind: 'dead',
      reason: 'write_failed',
      topic: NATIVE_TOPIC,
      payload: packet.payload,
      letter: { topic: NATIVE_TOPIC, gatewayId: null, reason: 'write_failed' },
    })
    if (letter.kind !== 'dead') throw new Error('not a dead letter')
    expect(letter.letter.detail).toContain('daily key unreadable')
    expect(letter.letter.detail).not.toMatch(MAC_PATTERN)
    expect(t.logs.text()).toContain('message could not be taken in')
    expect(t.logs.text()).not.toMatch(MAC_PATTERN)
    // Intake goes on, and the message is acknowledged once its dead letter is committed.
    expect(t.done).toHaveBeenCalledExactlyOnceWith(DEFERRED_ACK)
    expect(t.pubacks).toEqual([])
    letter.ack()
    expect(t.pubacks).toEqual([packet.messageId])
  })

  it('leaves a message that arrives while ingest stops unacknowledged, untouched', async () => {
    const t = setup()
    t.stop()
    t.deliver(NATIVE_TOPIC)
    await t.handler.settled()
    expect(t.native.take).not.toHaveBeenCalled()
    expect(t.queued).toEqual([])
    expect(t.done).not.toHaveBeenCalled()
    expect(t.pubacks).toEqual([])
    expect(await counterValue(t.metrics.received)).toBe(0)
  })

  it('leaves a message unacknowledged when ingest stops while it is taken in, or waits for room', async () => {
    const taking = deferred<Taken>()
    const t = setup({ native: () => taking.promise })
    t.deliver(NATIVE_TOPIC)
    t.stop()
    taking.resolve({ kind: 'dropped', reason: 'flood' })
    await t.handler.settled()
    expect(t.queued).toEqual([])
    expect(t.done).not.toHaveBeenCalled()

    const waiting = setup()
    const room = deferred<undefined>()
    waiting.holdRoom(room.promise)
    waiting.deliver(NATIVE_TOPIC)
    await vi.waitFor(() => expect(waiting.queued).toHaveLength(1))
    waiting.stop()
    room.resolve(undefined)
    await waiting.handler.settled()
    // Queued before the stop: the committer decides (it does not commit once stopped), but MQTT.js
    // is not told to read on.
    expect(waiting.done).not.toHaveBeenCalled()
    expect(waiting.pubacks).toEqual([])
  })
})
