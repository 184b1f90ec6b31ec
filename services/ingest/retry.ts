import type { Logger } from '../shared/logger.ts'
import { redactMacs } from '../shared/contracts/mac.ts'
import { isTransientDatabaseError } from '../shared/db/database-errors.ts'
import type { IngestMetrics } from './ingest-metrics.ts'

export type WithRetry = <T>(what: string, fn: () => Promise<T>) => Promise<T>

/**
 * Runs `fn` until it succeeds. While the database cannot be reached — refused, shutting down,
 * starting up again (57P03), connection lost — or a transaction loses a race (class 40), it retries
 * without end, every 5 s at most: those failures never count against the limit, so an outage of any
 * length ends with the write done. A statement that fails for another reason is tried three times in
 * all, then thrown. While stopping (`running()` false), it gives up after three attempts (the
 * messages stay unacknowledged and are redelivered).
 */
export function createRetry(deps: {
  log: Logger
  metrics: IngestMetrics
  running: () => boolean
}): WithRetry {
  const { log, metrics, running } = deps
  return async function withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let attempt = 0
    let failures = 0
    for (;;) {
      try {
        return await fn()
      } catch (err) {
        attempt++
        const transient = isTransientDatabaseError(err)
        if (!transient && ++failures >= 3) throw err
        if (!running() && attempt >= 3) throw err
        metrics.dbRetries.inc()
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))
        log.warn(
          { what, attempt, transient, delayMs: delay, err: redactMacs(String(err)) },
          'database write failed; retrying',
        )
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }
}
