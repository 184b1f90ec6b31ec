import type { IngestMetrics } from '../ingest-metrics.ts'
import { countBatchOutcome, countForeign, type Work } from '../intake/work.ts'
import type { Outcome } from './commit-group.ts'

/** Counts what a committed (or refused) message did in the ingest metrics. */
export function countOutcome(metrics: IngestMetrics, w: Work, o: Outcome): void {
  const rejected = (reason: string) => {
    metrics.rejects.inc({ reason })
    metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
  }
  switch (o.kind) {
    case 'batch':
      if (w.kind !== 'batch') break
      if (!o.fresh) {
        metrics.duplicates.inc()
        metrics.messages.inc({ kind: 'sightings', outcome: 'duplicate' })
        break
      }
      metrics.messages.inc({ kind: 'sightings', outcome: 'accepted' })
      metrics.sightings.inc(w.total)
      if (w.belowFloor) metrics.filtered.inc({ reason: 'rssi_floor' }, w.belowFloor)
      if (w.denied) metrics.filtered.inc({ reason: 'deny_list' }, w.denied)
      countBatchOutcome(metrics, o.outcome)
      break
    case 'foreign':
      if (w.kind === 'foreign') countForeign(metrics, w, o.fresh, o.outcome)
      break
    case 'status':
      metrics.messages.inc({ kind: 'status', outcome: 'accepted' })
      break
    case 'dropped':
      if (w.kind !== 'dropped') break
      if (w.reason === 'unknown_gateway')
        metrics.messages.inc({ kind: 'ignored', outcome: 'unknown_gateway' })
      else rejected(w.reason)
      break
    case 'dead':
      if (w.kind === 'dead') rejected(w.reason)
      break
    case 'conflict':
      rejected('conflicting_replay')
      break
    case 'failed':
      rejected('write_failed')
      break
  }
}
