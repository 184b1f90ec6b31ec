import { withTopicPrefix } from '../../shared/contracts/topics.ts'
import { apMacDigest } from '../../shared/registry/gateway-source-key.ts'
import type { AdapterFormat, SourceIdentity } from '../adapters/common.ts'
import type { RegisteredGateway } from '../ingest-repository.ts'

/**
 * The registry's gateway sources indexed for intake: which topics to subscribe to, which adapter a
 * topic goes to, and which gateway a decoded source identity is. Built from the registry each time
 * it is (re)loaded. Pure.
 */
export type ForeignSources = {
  /** The registered gateway of a decoded source identity, or undefined (an unknown gateway). */
  resolve(identity: SourceIdentity): RegisteredGateway | undefined
  /** The gateway whose sniffer topic this (unprefixed) topic is. */
  snifferTopic(topic: string): RegisteredGateway | undefined
  /** A declared Paxcounter out-topic (its device id). */
  isPaxcounter(deviceId: string): boolean
  /** A declared OpenMQTTGateway / Theengs base topic. */
  isOmgBase(baseTopic: string): boolean
  /** Whether any gateway speaks this format. */
  uses(format: AdapterFormat): boolean
  /** Subscription filters of the formats in use (unprefixed, without a share group). */
  filters(): string[]
}

/**
 * The key a decoded identity is stored under (gateways.source_key): `sourceIdentityKey` with a
 * Meraki AP's address as its digest (gateway-source-key.ts), so the lookup never needs the address.
 */
export function storedIdentityKey(identity: SourceIdentity): string {
  switch (identity.format) {
    case 'omg':
      return `omg:${identity.baseTopic}/${identity.name}`
    case 'espresense':
      return `espresense:${identity.room}`
    case 'sniffer':
      return `sniffer:${identity.topic}`
    case 'meraki':
      return `meraki:${identity.networkId}/${apMacDigest(identity.apMac)}`
    case 'paxcounter':
      return `paxcounter:${identity.deviceId}`
  }
}

export function indexForeignSources(
  registry: ReadonlyMap<string, RegisteredGateway>,
): ForeignSources {
  const byKey = new Map<string, RegisteredGateway>()
  const sniffers = new Map<string, RegisteredGateway>()
  const paxcounters = new Set<string>()
  const omgBases = new Set<string>()
  const formats = new Set<AdapterFormat>()
  for (const g of registry.values()) {
    const s = g.source
    if (s.format === 'native') continue
    formats.add(s.format)
    if (g.sourceKey !== null) byKey.set(g.sourceKey, g)
    if (s.format === 'sniffer') sniffers.set(s.topic, g)
    if (s.format === 'paxcounter') paxcounters.add(s.deviceId)
    if (s.format === 'omg') omgBases.add(s.baseTopic)
  }
  return {
    resolve: (identity) => byKey.get(storedIdentityKey(identity)),
    snifferTopic: (topic) => sniffers.get(topic),
    isPaxcounter: (deviceId) => paxcounters.has(deviceId),
    isOmgBase: (base) => omgBases.has(base),
    uses: (format) => formats.has(format),
    filters() {
      const out: string[] = []
      // Per base topic with a wildcard gateway name: a gateway the district does not declare is an
      // `unknown_gateway` dead letter an operator can see, rather than silence.
      for (const base of [...omgBases].sort())
        out.push(
          `${base}/+/BTtoMQTT/+`,
          `${base}/+/BTtoMQTT`,
          `${base}/+/SYStoMQTT`,
          `${base}/+/LWT`,
          `${base}/+/presence`,
          `${base}/presence/+`,
        )
      if (formats.has('espresense'))
        out.push(
          'espresense/devices/+/+',
          'espresense/rooms/+/status',
          'espresense/rooms/+/telemetry',
        )
      for (const topic of [...sniffers.keys()].sort()) out.push(topic)
      for (const id of [...paxcounters].sort()) out.push(id, `${id}/1`, `${id}/2`)
      return out
    },
  }
}

/** Filters as subscribed: under the topic prefix, and `$share/<group>/…` with a share group. */
export function subscriptionFilters(
  filters: readonly string[],
  prefix: string | undefined,
  shareGroup: string | undefined,
): string[] {
  return filters.map((f) => {
    const full = withTopicPrefix(prefix, f)
    return shareGroup ? `$share/${shareGroup}/${full}` : full
  })
}
