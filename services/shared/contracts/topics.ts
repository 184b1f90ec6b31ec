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

/** A deployment prefix such as `district-a` or `tenants/mestre`: levels of letters, digits, `_` and `-`. */
export const TOPIC_PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,7}$/

/**
 * Mounts the protocol's topics under an optional prefix (one broker serving several districts or
 * test runs): `withTopicPrefix('district-a', 'miglio/v1/gw/gw-1/status')` → `district-a/miglio/v1/gw/gw-1/status`.
 */
export function withTopicPrefix(prefix: string | undefined, topic: string): string {
  return prefix ? `${prefix}/${topic}` : topic
}

/** The protocol topic of a prefixed one, or null when it is not under the prefix. */
export function withoutTopicPrefix(prefix: string | undefined, topic: string): string | null {
  if (!prefix) return topic
  return topic.startsWith(`${prefix}/`) ? topic.slice(prefix.length + 1) : null
}

/** Subscription filters for ingest; `shareGroup` turns them into MQTT v5 shared subscriptions. */
export function ingestSubscriptions(shareGroup?: string, prefix?: string): string[] {
  const filters = [`${TOPIC_ROOT}/+/sightings`, `${TOPIC_ROOT}/+/status`].map((f) =>
    withTopicPrefix(prefix, f),
  )
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

/**
 * Ingest → API, after a commit that wrote transits: `{ "v": 1, "zones": ["…"] }` at QoS 0. A hint
 * only — the API polls the database anyway — that lets the live feed show a new transit at once
 * instead of at its next poll. Carries zone ids, never device data.
 */
export const TRANSITS_CHANGED_TOPIC = 'miglio/v1/internal/transits-changed'

/** Meraki network ids as the topic carries them (`L_674976994152158449`): one topic level. */
export const MERAKI_NETWORK_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const MERAKI_TOPIC_ROOT = 'miglio/v1/internal/meraki'

/**
 * API → ingest: a Cisco Meraki Scanning API v3 post, raw (the JSON Meraki sent, its `secret`
 * included, so ingest checks it again), published at QoS 1 by the API's receiver
 * (`POST /api/v1/ingest/meraki`) once per post of at most MAX_PAYLOAD_BYTES; a larger post is
 * published as several complete posts of the same envelope, each with a share of the observations.
 * `buildMerakiTopic('L_674976994152158449')` → `miglio/v1/internal/meraki/L_674976994152158449`.
 */
export function buildMerakiTopic(networkId: string): string {
  return `${MERAKI_TOPIC_ROOT}/${networkId}`
}

/** `parseMerakiTopic('miglio/v1/internal/meraki/L_1')` → `{ networkId: 'L_1' }`; null when not one. */
export function parseMerakiTopic(topic: string): { networkId: string } | null {
  if (!topic.startsWith(`${MERAKI_TOPIC_ROOT}/`)) return null
  const networkId = topic.slice(MERAKI_TOPIC_ROOT.length + 1)
  return MERAKI_NETWORK_ID_PATTERN.test(networkId) ? { networkId } : null
}
