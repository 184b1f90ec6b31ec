import type { MqttClient, OnPacketCallback } from 'mqtt'

/** The broker cannot take a message now: not connected, or no PUBACK in time. */
export class BrokerUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BrokerUnavailableError'
  }
}

/** Publishes at QoS 1 and resolves on the broker's PUBACK (the message is then the broker's). */
export type DurablePublisher = {
  publish(topic: string, payload: Buffer): Promise<void>
}

/**
 * QoS 1 publishes on the API's own MQTT connection that resolve only once the broker acknowledged
 * them. Never queues: a client that is not connected rejects at once (MQTT.js would otherwise hold
 * the message until it reconnects), and a message not acknowledged within `ackTimeoutMs` rejects
 * and is taken out of the client's outgoing store, so it is not sent again on the next connection
 * (the caller has answered "not taken": a resend would be a duplicate the sender does not expect,
 * and a message the broker refuses would close every new connection). Whether a timed-out message
 * reached the broker is unknown: at least once, like any QoS 1 publish.
 */
export function createDurablePublisher(
  client: MqttClient,
  opts: { ackTimeoutMs: number },
): DurablePublisher {
  // The packet id of each message in flight, learned when MQTT.js writes the packet (the payload
  // buffer is ours, so its identity names the message).
  const inFlight = new Map<Buffer, { id: number | null }>()
  const onSend: OnPacketCallback = (packet) => {
    if (packet.cmd !== 'publish') return
    const entry = Buffer.isBuffer(packet.payload) ? inFlight.get(packet.payload) : undefined
    if (entry && packet.messageId !== undefined) entry.id = packet.messageId
  }
  client.on('packetsend', onSend)
  return {
    publish(topic, payload) {
      if (!client.connected) return Promise.reject(new BrokerUnavailableError('not connected'))
      // One entry per publish, even if the same buffer were published twice at once.
      const own = Buffer.from(payload.buffer, payload.byteOffset, payload.length)
      const entry = { id: null as number | null }
      inFlight.set(own, entry)
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          inFlight.delete(own)
          if (entry.id !== null) client.removeOutgoingMessage(entry.id)
          reject(new BrokerUnavailableError(`no PUBACK within ${opts.ackTimeoutMs} ms`))
        }, opts.ackTimeoutMs)
        client.publish(topic, own, { qos: 1 }, (err) => {
          clearTimeout(timer)
          inFlight.delete(own)
          if (err) reject(new BrokerUnavailableError(err.message))
          else resolve()
        })
      })
    },
  }
}
