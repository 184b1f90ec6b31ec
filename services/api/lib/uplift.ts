import type { UpliftRow } from '../../shared/contracts/api.ts'
import type { ZoneSums } from '../queries/footfall-queries.ts'
import { spreadOf } from './measures.ts'

export const UPLIFT_METRICS = ['passersBy', 'visitors', 'estimatedPeople'] as const

function valueOf(sums: ZoneSums[], zoneId: string | null, metric: (typeof UPLIFT_METRICS)[number]) {
  return sums
    .filter((s) => zoneId === null || s.zoneId === zoneId)
    .reduce((a, s) => a + s[metric], 0)
}

/**
 * Uplift rows for each zone of the event and for all of them together (zoneId null): the event's
 * value against the mean of the baseline windows, as a difference and a ratio, with the spread.
 */
export function upliftRows(
  zones: string[],
  event: ZoneSums[],
  baselines: ZoneSums[][],
): UpliftRow[] {
  const rows: UpliftRow[] = []
  for (const zoneId of [...zones, null]) {
    for (const metric of UPLIFT_METRICS) {
      const value = valueOf(event, zoneId, metric)
      const spread = spreadOf(baselines.map((b) => valueOf(b, zoneId, metric)))
      rows.push({
        zoneId,
        metric,
        event: value,
        baselineMean: spread?.mean ?? null,
        difference: spread ? value - spread.mean : null,
        ratio: spread && spread.mean !== 0 ? value / spread.mean : null,
        baselineMin: spread?.min ?? null,
        baselineMax: spread?.max ?? null,
        baselineStddev: spread?.stddev ?? null,
        baselineWeeks: baselines.length,
      })
    }
  }
  return rows
}
