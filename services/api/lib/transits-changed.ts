import type { MqttClient } from 'mqtt'
import type { Logger } from '../../shared/logger.ts'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../../shared/contracts/topics.ts'
import {
  TransitsChangedSchema,
  type TransitsChanged,
} from '../../shared/contracts/gateway-messages.ts'

/** What the live feed hears: an announcement, or the subscription (re)granted by the broker. */
export type TransitsEvent =
  { kind: 'announcement'; message: TransitsChanged } | { kind: 'subscribed' }

/**
 * The API's side of TRANSITS_CHANGED_TOPIC (the contract: contracts/topics.ts and
 * TransitsChangedSchema; ingest announces in services/ingest/transits-changed.ts): hands `listener`
 * every valid announcement (v2: what a commit stored; v1 from an older ingest: zones to read
 * again), and `subscribed` whenever the broker grants the subscription (on every (re)connect:
 * announcements may have been missed meanwhile, so the live feed reads the database again). The
 * client must be this process's own (not ingest's: ingest treats every message it receives as
 * gateway traffic). A malformed announcement is logged and ignored. Returns the unsubscribe function.
 */
export function onTransitsChanged(
  client: MqttClient,
  topicPrefix: string | undefined,
  log: Logger,
): (listener: (e: TransitsEvent) => void) => () => void {
  const topic = withTopicPrefix(topicPrefix, TRANSITS_CHANGED_TOPIC)
  return (listener) => {
    const subscribe = () => {
      client.subscribe(topic, { qos: 0 }, (err) => {
        if (err)
          log.warn(
            { err: err.message, topic },
            'live feed: cannot subscribe to transit announcements',
          )
        else listener({ kind: 'subscribed' })
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
      listener({ kind: 'announcement', message: parsed.data })
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
