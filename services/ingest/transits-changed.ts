import type { MqttClient } from 'mqtt'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../shared/contracts/topics.ts'
import type { TransitsChanged } from '../shared/contracts/gateway-messages.ts'

/**
 * Ingest's side of TRANSITS_CHANGED_TOPIC (the contract: contracts/topics.ts and
 * TransitsChangedSchema): announces that these zones' transits changed, so the API's live feed
 * polls at once (QoS 0, fire and forget; a lost announcement only delays the live feed to its next
 * poll). The API listens in services/api/lib/transits-changed.ts.
 */
export function announceTransitsChanged(
  client: MqttClient,
  topicPrefix: string | undefined,
  zones: ReadonlySet<string>,
): void {
  if (zones.size === 0 || !client.connected) return
  const body: TransitsChanged = { v: 1, zones: [...zones] }
  client.publish(
    withTopicPrefix(topicPrefix, TRANSITS_CHANGED_TOPIC),
    JSON.stringify(body),
    { qos: 0 },
    () => undefined,
  )
}
