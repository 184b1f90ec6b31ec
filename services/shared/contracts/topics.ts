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
 * API → ingest: a Cisco Meraki Scanning API post, the raw JSON body as the Meraki cloud sent it, at
 * QoS 1 on `miglio/v1/internal/meraki/<networkId>` (under MQTT_TOPIC_PREFIX). The API publishes it
 * only after checking the post's shared secret, and answers Meraki only after the broker's PUBACK,
 * so an answered post is durable in the broker; ingest decodes it with the Meraki adapter without
 * checking the secret again (the ACL lets only the API write here, only ingest read).
 */
export const MERAKI_INTERNAL_ROOT = 'miglio/v1/internal/meraki'

/** A Meraki network id as it may appear in the internal topic: `L_674976994152158449`. */
export const MERAKI_NETWORK_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** `buildMerakiInternalTopic('L_123')` → `miglio/v1/internal/meraki/L_123`; throws on a bad id. */
export function buildMerakiInternalTopic(networkId: string): string {
  if (!MERAKI_NETWORK_ID_PATTERN.test(networkId))
    throw new Error('a Meraki network id is 1–64 of A–Z a–z 0–9 _ -')
  return `${MERAKI_INTERNAL_ROOT}/${networkId}`
}

/** The network id of an (unprefixed) internal Meraki topic, or null when it is not one. */
export function parseMerakiInternalTopic(topic: string): { networkId: string } | null {
  if (!topic.startsWith(`${MERAKI_INTERNAL_ROOT}/`)) return null
  const networkId = topic.slice(MERAKI_INTERNAL_ROOT.length + 1)
  return MERAKI_NETWORK_ID_PATTERN.test(networkId) ? { networkId } : null
}

/** Ingest's subscription to the internal Meraki topic (`$share/<group>/…` with a share group). */
export function merakiInternalSubscription(shareGroup?: string, prefix?: string): string {
  const filter = withTopicPrefix(prefix, `${MERAKI_INTERNAL_ROOT}/+`)
  return shareGroup ? `$share/${shareGroup}/${filter}` : filter
}

/**
 * Ingest → API, after a commit that wrote transits, at QoS 0 (TransitsChangedSchema): v2
 * `{ "v": 2, "instance", "seq", "xid", "zones": [{ "id", "b": [[bucketMs, passersBy, visitors]] }] }`
 * — what the commit stored, per zone and live bucket, which the API adds to its live counts — or,
 * from an older ingest, v1 `{ "v": 1, "zones": ["…"] }` (read these zones again). Messages can be
 * lost or reordered: the API reads the database again on a gap in an instance's `seq`. Carries
 * zone ids and counts, never device data.
 */
export const TRANSITS_CHANGED_TOPIC = 'miglio/v1/internal/transits-changed'
