import mestreJson from './districts/mestre.json' with { type: 'json' }
import {
  DEFAULT_TIME_ZONE,
  districtFileSchema,
  type DistrictFile,
} from '../services/shared/contracts/district.ts'
import {
  SightingsBatchSchema,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import type { OutboundMessage } from './simulation.ts'

/** The Mestre district, parsed like `miglio district load` would. */
export function mestreDistrict(): DistrictFile {
  return districtFileSchema(DEFAULT_TIME_ZONE).parse(mestreJson)
}

export const SATURDAY_9AM_MS = Date.parse('2026-11-21T09:00:00Z')

export function decodeBatch(message: OutboundMessage): SightingsBatch {
  return SightingsBatchSchema.parse(JSON.parse(message.payload))
}
