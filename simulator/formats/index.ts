import type { GatewaySource } from '../../services/shared/contracts/district.ts'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import type { FormatMessage } from './common.ts'
import { encodeEspresenseBatch } from './espresense.ts'
import { encodeMerakiBatch } from './meraki.ts'
import { encodeOmgBatch } from './omg.ts'
import { encodePaxcounterBatch } from './paxcounter.ts'
import { encodeSnifferBatch } from './sniffer.ts'

export type { FormatMessage } from './common.ts'
export { encodeOmgBatch, encodeOmgStatus } from './omg.ts'
export { encodeEspresenseBatch, encodeEspresenseStatus } from './espresense.ts'
export { encodeSnifferBatch, SNIFFER_HEADER } from './sniffer.ts'
export { encodeMerakiBatch } from './meraki.ts'
export { encodePaxcounterBatch } from './paxcounter.ts'

export type EncodeOptions = {
  /** The district's time zone (sniffer timestamps are local time). */
  timeZone: string
  /** The Meraki receiver's shared secret. */
  merakiSecret?: string
}

/**
 * A simulated gateway's native batch in the format its district entry declares (`source`), or
 * null for native gateways (publish the batch as it is). Pure.
 */
export function encodeBatchForSource(
  batch: SightingsBatch,
  source: GatewaySource | undefined,
  options: EncodeOptions,
): FormatMessage[] | null {
  if (!source) return null
  switch (source.format) {
    case 'native':
      return null
    case 'omg':
      return encodeOmgBatch(batch, source)
    case 'espresense':
      return encodeEspresenseBatch(batch, source)
    case 'sniffer':
      return encodeSnifferBatch(batch, source, { timeZone: options.timeZone })
    case 'meraki':
      return encodeMerakiBatch(batch, source, { secret: options.merakiSecret ?? '' })
    case 'paxcounter':
      return encodePaxcounterBatch(batch, source)
  }
}
