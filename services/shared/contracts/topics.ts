/** Gateway ids as they appear in topics and payloads, e.g. `gw-corte-legrenzi-1`. */
export const GATEWAY_ID_PATTERN = /^[a-z0-9-]{1,64}$/

export const TOPIC_ROOT = 'miglio/v1/gw'

export type GatewayTopicKind = 'sightings' | 'status'

/** `miglio/v1/gw/gw-corte-legrenzi-1/sightings` */
export function buildSightingsTopic(gatewayId: string): string {
  return `${TOPIC_ROOT}/${gatewayId}/sightings`
}

/** `miglio/v1/gw/gw-corte-legrenzi-1/status` (retained; also the gateway's last will) */
export function buildStatusTopic(gatewayId: string): string {
  return `${TOPIC_ROOT}/${gatewayId}/status`
}

/** Subscription filters for ingest; `shareGroup` turns them into MQTT v5 shared subscriptions. */
export function ingestSubscriptions(shareGroup?: string): string[] {
  const filters = [`${TOPIC_ROOT}/+/sightings`, `${TOPIC_ROOT}/+/status`]
  return shareGroup ? filters.map((f) => `$share/${shareGroup}/${f}`) : filters
}

export type ParsedGatewayTopic = { gatewayId: string; kind: GatewayTopicKind }

/** `parseGatewayTopic('miglio/v1/gw/gw-1/status')` → `{ gatewayId: 'gw-1', kind: 'status' }`; null when not ours. */
export function parseGatewayTopic(topic: string): ParsedGatewayTopic | null {
  const parts = topic.split('/')
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT) return null
  const gatewayId = parts[3] ?? ''
  const kind = parts[4]
  if (!GATEWAY_ID_PATTERN.test(gatewayId)) return null
  if (kind !== 'sightings' && kind !== 'status') return null
  return { gatewayId, kind }
}
