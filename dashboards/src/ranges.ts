import type { FootfallRequest } from './api-client.ts'
import type { RangeKind } from './i18n.ts'

export const rangeKinds: readonly RangeKind[] = ['last-hour', 'today', 'last-7-days']

const HOUR_MS = 3_600_000

// "Today" starts at the browser's local midnight: the people reading it stand on the street it measures.
export function footfallRequestFor(kind: RangeKind, now: Date): FootfallRequest {
  const to = now.toISOString()
  switch (kind) {
    case 'last-hour':
      return { from: new Date(now.getTime() - HOUR_MS).toISOString(), to, bucket: '15m' }
    case 'today': {
      const midnight = new Date(now)
      midnight.setHours(0, 0, 0, 0)
      return { from: midnight.toISOString(), to, bucket: '1h' }
    }
    case 'last-7-days':
      return { from: new Date(now.getTime() - 7 * 24 * HOUR_MS).toISOString(), to, bucket: '1d' }
  }
}
