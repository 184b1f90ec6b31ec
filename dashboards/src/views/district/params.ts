import type { ZoneDto } from '../../../../services/shared/contracts/api.ts'
import type { FootfallRequest } from '../../api-client.ts'
import type { CompareMode, RangeKind, SeriesPeriod } from '../../i18n.ts'
import { footfallRequestFor } from '../../ranges.ts'
import type { PanelState, Params } from '../panel.ts'

/** What the district page's panels load for: the reader's choices. */
export interface DistrictParams {
  range: RangeKind
  period: SeriesPeriod
  mode: CompareMode
  /** The dead letters' page an administrator is on. */
  deadLetterPage: number
}

export const initialDistrictParams: DistrictParams = {
  range: 'today',
  period: 'day',
  mode: 'wow',
  deadLetterPage: 1,
}

export type DistrictState<D, U = object> = PanelState<DistrictParams, D, U>

/** The footfall request of the chosen range, in the district's local time. */
export function rangeRequest(params: Params<DistrictParams>): FootfallRequest {
  return footfallRequestFor(params.range, params.now, params.timeZone)
}

/** Zones in street order. */
export function orderedZones(zones: readonly ZoneDto[]): ZoneDto[] {
  return [...zones].sort((a, b) => a.streetFromM - b.streetFromM || a.name.localeCompare(b.name))
}
