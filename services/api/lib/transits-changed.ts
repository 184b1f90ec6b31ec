import type { MqttClient } from 'mqtt'
import type { Logger } from '../../shared/logger.ts'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../../shared/contracts/topics.ts'
import { TransitsChangedSchema } from '../../shared/contracts/gateway-messages.ts'

/**
 * The API's side of TRANSITS_CHANGED_TOPIC (the contract: contracts/topics.ts and
 * TransitsChangedSchema; ingest announces in services/ingest/transits-changed.ts): calls `listener`
 * whenever ingest announces new transits, so the live feed polls at once. The client must be this
 * process's own (not ingest's: ingest treats every message it receives as gateway traffic). A
 * malformed announcement is logged and ignored — it is a hint, the feed's periodic poll stays the
 * source of truth. Returns the unsubscribe function.
 */
export function onTransitsChanged(
  client: MqttClient,
  topicPrefix: string | undefined,
  log: Logger,
): (listener: () => void) => () => void {
  const topic = withTopicPrefix(topicPrefix, TRANSITS_CHANGED_TOPIC)
  return (listener) => {
    const subscribe = () => {
      client.subscribe(topic, { qos: 0 }, (err) => {
        if (err)
          log.warn(
            { err: err.message, topic },
            'live feed: cannot subscribe to transit announcements',
          )
      })
    }
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return
      let body: unknown
      try {
        body = JSON.parse(payload.toString('utf8'))
      } catch {
        body = null
      }
      const parsed = TransitsChangedSchema.safeParse(body)
      if (!parsed.success) {
        log.warn(
          { topic, bytes: payload.length },
          'live feed: ignored a malformed transit announcement',
        )
        return
      }
      listener()
    }
    // A clean session forgets subscriptions: subscribe on every (re)connect.
    client.on('connect', subscribe)
    client.on('message', onMessage)
    if (client.connected) subscribe()
    return () => {
      client.off('connect', subscribe)
      client.off('message', onMessage)
    }
  }
}
