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
  /**
   * Whether this delivery may be the broker sending again a message of the previous connection
   * whose PUBACK it did not get (never sent, or sent and lost with the connection). A broker resends
   * those first on the new connection (MQTT 3.1.1 §4.4) with their packet ids, so: a delivery at
   * the start of a new connection whose packet id is among the last RECENT_IDS the previous one
   * delivered, up to the first that is not. MQTT's DUP flag says the same, but not every broker sets
   * it: Mosquitto does, Aedes 1.2 does not (ordered-acks.int.test.ts pins both).
   */
  mayBeRedelivery(packet: Pick<IPublishPacket, 'qos' | 'messageId'>): boolean
}

/** Packet ids of a connection's latest deliveries kept to recognise redeliveries on the next one. */
const RECENT_IDS = 4096

export function createOrderedAcks(client: MqttClient): OrderedAcks {
  type Entry = { messageId: number | undefined; done: boolean }
  let queue: Entry[] = []
  /** Packet ids delivered on this connection, the newest RECENT_IDS. */
  let recent: number[] = []
  /** The previous connection's, while the new one is still redelivering. */
  let resent: Set<number> | null = null
  const writer = client as unknown as PacketWriter
  if (typeof writer._sendPacket !== 'function')
    throw new Error(
      'this MQTT.js version has no _sendPacket: ordered acknowledgements need mqtt 5.16',
    )
  // A new connection: the broker redelivers what this one left unacknowledged.
  client.on('connect', () => {
    queue = []
    resent = recent.length > 0 ? new Set(recent) : null
    recent = []
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
      if (packet.qos > 0 && packet.messageId !== undefined) {
        recent.push(packet.messageId)
        if (recent.length > RECENT_IDS * 2) recent = recent.slice(-RECENT_IDS)
      }
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
    mayBeRedelivery(packet) {
      if (resent === null) return false
      if (packet.qos > 0 && packet.messageId !== undefined && resent.delete(packet.messageId))
        return true
      resent = null
      return false
    },
  }
}
