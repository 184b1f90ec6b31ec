import { createHash } from 'node:crypto'
import { gatewaySourceKey, type GatewaySource } from '../contracts/district.ts'

/**
 * How the registry stores a gateway's source (the district file's `source`): as the file states it,
 * except a Meraki access point's MAC, replaced by `apMacDigest` — an AP address is configuration,
 * not personal data, but no table holds anything MAC-shaped (and so no dump, log or API answer can
 * show one). The digest is the first 16 hex digits of a SHA-256 of the 12 lowercase hex digits of
 * the address: not a secret (the address space is small enough to search), only a shape no MAC
 * detector matches and no operator mistakes for an address. Ingest digests the AP address of each
 * decoded post the same way before it looks the source up (`storedSourceKeyOf`).
 */
export type StoredGatewaySource =
  | Exclude<GatewaySource, { format: 'meraki' }>
  | { format: 'meraki'; networkId: string; apMacDigest: string }

/** `apMacDigest('a8469d275663')` → 16 lowercase hex digits; any MAC spelling gives the same. */
export function apMacDigest(mac: string): string {
  const normalised = mac.replace(/[^0-9A-Fa-f]/g, '').toLowerCase()
  return createHash('sha256').update(normalised).digest('hex').slice(0, 16)
}

/** The source as the registry stores it (gateways.source). */
export function storedSourceOf(source: GatewaySource | undefined): StoredGatewaySource {
  if (!source) return { format: 'native' }
  if (source.format !== 'meraki') return source
  return {
    format: 'meraki',
    networkId: source.networkId,
    apMacDigest: apMacDigest(source.apMac),
  }
}

/**
 * gateways.source_key: `gatewaySourceKey` of the source, with the Meraki AP's digest in place of its
 * address (`meraki:L_123/3f9a…`); null for native gateways. Unique among active gateways.
 */
export function storedSourceKey(source: StoredGatewaySource): string | null {
  if (source.format === 'meraki') return `meraki:${source.networkId}/${source.apMacDigest}`
  return gatewaySourceKey(source)
}
