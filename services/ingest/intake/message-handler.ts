import type { MqttClient } from 'mqtt'
import { redactMacs } from '../../shared/contracts/mac.ts'
import { withoutTopicPrefix } from '../../shared/contracts/topics.ts'
import type { Logger } from '../../shared/logger.ts'
import type { Committer } from '../committer/committer.ts'
import type { IngestMetrics } from '../ingest-metrics.ts'
import { DEFERRED_ACK, type OrderedAcks } from '../ordered-acks.ts'
import type { DeadLetterFn } from './dead-letter.ts'
import type { ForeignIntake } from './foreign-intake.ts'
import type { NativeIntake } from './native-intake.ts'
import type { Work } from './work.ts'

export type MessageHandlerDeps = {
  /** MQTT_TOPIC_PREFIX: stripped before a topic is routed to a gateway format. */
  topicPrefix: string | undefined
  now: () => number
  /** False once ingest is stopping: a message is then left unacknowledged. */
  running: () => boolean
  /** Told the arrival time of every message taken (maintenance's "live" reads it). */
  arrived: (atMs: number) => void
  acks: Pick<OrderedAcks, 'track' | 'mayBeRedelivery'>
  native: Pick<NativeIntake, 'take'>
  foreign: Pick<ForeignIntake, 'route' | 'take'>
  deadLetter: DeadLetterFn
  committer: Pick<Committer, 'enqueue' | 'room'>
  metrics: Pick<IngestMetrics, 'inFlight' | 'received'>
  log: Logger
}

export type MessageHandler = {
  /** MQTT.js's `handleMessage`: called with the next message only once `done` was called. */
  handle: MqttClient['handleMessage']
  /** Settles (never rejects) once the message in hand is queued or left: stop waits for it. */
  settled(): Promise<void>
}

/**
 * One MQTT message at a time: taken in by its format's intake (native v1 or a gateway format),
 * queued for the committer; PUBACK once it is committed (ordered-acks.ts), not before. MQTT.js is
 * told `done` only when the committer has room, so a full queue stops it reading (backpressure).
 * A message that arrives, or finishes being taken in, while ingest stops is left unacknowledged:
 * the broker redelivers it to the next session.
 */
export function createMessageHandler(deps: MessageHandlerDeps): MessageHandler {
  const { acks, native, foreign, committer, metrics, log } = deps
  let intake: Promise<void> = Promise.resolve()

  const handle: MqttClient['handleMessage'] = (packet, done) => {
    if (!deps.running()) return // left unacknowledged: the broker redelivers it to the next session
    // The arrival time, stamped before any queue: the time of formats that carry none.
    const receivedAtMs = deps.now()
    deps.arrived(receivedAtMs)
    // A redelivery (DUP, or a resent packet id at the start of a new connection: not every broker
    // sets DUP) of a gateway format's message is checked against the committed digests.
    const dup = acks.mayBeRedelivery(packet) || packet.dup === true
    const tracked = acks.track(packet)
    let acknowledged = false
    const ack = () => {
      if (acknowledged) return
      acknowledged = true
      tracked()
      metrics.inFlight.dec()
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    metrics.inFlight.inc()
    metrics.received.inc()
    const topic = withoutTopicPrefix(deps.topicPrefix, packet.topic) ?? ''
    const route = foreign.route(topic)
    const taking: Promise<Work[]> =
      route && route.format !== 'native'
        ? foreign.take({ topic, rawTopic: packet.topic, payload, dup, receivedAtMs, ack })
        : native
            .take(packet.topic, payload)
            .then((t) => [{ ...t, topic: packet.topic, payload, ack }])
    intake = taking
      .catch((err: unknown): Work[] => {
        // The daily key could not be read or made (not a connection problem: those are retried
        // without end): keep the message as a dead letter rather than stall intake.
        log.error(
          { err: redactMacs(String(err)), topic: redactMacs(packet.topic) },
          'message could not be taken in',
        )
        const letter = deps.deadLetter(packet.topic, payload, 'write_failed', String(err), null)
        return [{ ...letter, topic: packet.topic, payload, ack }]
      })
      .then(async (works) => {
        // Stopping: not acknowledged, so the broker redelivers it to our next session.
        if (!deps.running()) return
        for (const w of works) committer.enqueue(w)
        await committer.room()
        if (deps.running()) done(DEFERRED_ACK)
      })
  }

  return { handle, settled: () => intake.catch(() => undefined) }
}
