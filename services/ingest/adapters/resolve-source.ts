import {
  gatewaySourceKey,
  type DistrictFile,
  type GatewaySource,
} from '../../shared/contracts/district.ts'
import type { SourceIdentity } from './common.ts'

/**
 * The canonical key of a decoded source identity, equal to `gatewaySourceKey` of the district
 * declaration that names it (MACs as 12 lowercase hex digits).
 */
export function sourceIdentityKey(identity: SourceIdentity): string {
  switch (identity.format) {
    case 'omg':
      return `omg:${identity.baseTopic}/${identity.name}`
    case 'espresense':
      return `espresense:${identity.room}`
    case 'sniffer':
      return `sniffer:${identity.topic}`
    case 'meraki':
      return `meraki:${identity.networkId}/${identity.apMac}`
    case 'paxcounter':
      return `paxcounter:${identity.deviceId}`
  }
}

export type SourceResolver = {
  /** The gateway id the district maps this source to, or null (an unknown gateway). */
  resolve(identity: SourceIdentity): string | null
  /** The declaration of a gateway (its format options: a Paxcounter's encoding…), or null. */
  sourceOf(gatewayId: string): GatewaySource | null
}

/**
 * Indexes a validated district's gateway sources once (`DistrictFileSchema` has already refused
 * duplicate and ambiguous declarations). Pure.
 */
export function createSourceResolver(district: Pick<DistrictFile, 'gateways'>): SourceResolver {
  const byKey = new Map<string, string>()
  const byGateway = new Map<string, GatewaySource>()
  for (const g of district.gateways) {
    const source: GatewaySource = g.source ?? { format: 'native' }
    byGateway.set(g.id, source)
    const key = gatewaySourceKey(source)
    if (key !== null && !byKey.has(key)) byKey.set(key, g.id)
  }
  return {
    resolve: (identity) => byKey.get(sourceIdentityKey(identity)) ?? null,
    sourceOf: (gatewayId) => byGateway.get(gatewayId) ?? null,
  }
}

/** `(source identity, district) → gateway id | null`, for a single look-up. */
export function resolveGatewayId(
  identity: SourceIdentity,
  district: Pick<DistrictFile, 'gateways'>,
): string | null {
  return createSourceResolver(district).resolve(identity)
}
