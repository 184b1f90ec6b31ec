import type { IPublishPacket, MqttClient } from 'mqtt'

/**
 * Acknowledging QoS 1 messages after their effect is durable, for many messages at once.
 *
 * MQTT.js has no manual-acknowledgement API (mqttjs/MQTT.js#691): it sends PUBACK when the
 * `handleMessage` callback returns without error, and reads the next packet only then. That makes a
 * consumer commit one message per transaction. Passing an error to the callback makes MQTT.js move on
 * to the next packet *without* a PUBACK (handlers/publish.js in mqtt 5.16.0, pinned in
 * package.json); the PUBACK is then sent here, by the client's own packet writer, once the message's
 * transaction has committed. `ordered-acks.int.test.ts` pins this behaviour against a real broker:
 * a message left unacknowledged is redelivered after a reconnect, an acknowledged one is not.
 *
 * Acknowledgements go out in the order the messages arrived (MQTT 3.1.1 §4.6), and only on the
 * connection that delivered them: after a reconnect the broker redelivers whatever was not
 * acknowledged, and the redelivery is acknowledged in its turn (the ingest recognises the batch).
 */
export const DEFERRED_ACK = new Error('acknowledged by the ingest once committed')

type PacketWriter = {
  _sendPacket(
    packet: { cmd: 'puback'; messageId: number; reasonCode?: number },
    cb: () => void,
  ): void
}

export type OrderedAcks = {
  /** Registers a delivered message; the returned function acknowledges it (idempotent). */
  track(packet: Pick<IPublishPacket, 'qos' | 'messageId'>): () => void
  /** Messages delivered on this connection and not yet acknowledged. */
  pending(): number
}

export function createOrderedAcks(client: MqttClient): OrderedAcks {
  type Entry = { messageId: number | undefined; done: boolean }
  let queue: Entry[] = []
  const writer = client as unknown as PacketWriter
  if (typeof writer._sendPacket !== 'function')
    throw new Error(
      'this MQTT.js version has no _sendPacket: ordered acknowledgements need mqtt 5.16',
    )
  // A new connection: the broker redelivers what this one left unacknowledged.
  client.on('connect', () => {
    queue = []
  })

  function flush() {
    while (queue.length > 0 && queue[0]?.done) {
      const entry = queue.shift()
      if (entry?.messageId !== undefined && client.connected)
        writer._sendPacket({ cmd: 'puback', messageId: entry.messageId, reasonCode: 0 }, () => {})
    }
  }

  return {
    track(packet) {
      const entry: Entry = {
        messageId: packet.qos > 0 ? packet.messageId : undefined,
        done: false,
      }
      const mine = queue
      mine.push(entry)
      return () => {
        if (entry.done) return
        entry.done = true
        if (mine === queue) flush()
      }
    },
    pending: () => queue.length,
  }
}
