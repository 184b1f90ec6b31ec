import { redactMacs } from '../shared/contracts/mac.ts'
import type { Logger } from '../shared/logger.ts'

export type Timers = {
  /**
   * Runs `fn` every `ms` (unref'd: a timer never keeps the process alive); a tick while the last
   * run is still busy is skipped, and a failure is logged and retried at the next tick.
   */
  every(ms: number, what: string, fn: () => Promise<unknown>): void
  /** Stops every timer started here. */
  clear(): void
}

/** Ingest's periodic tasks (registry refresh, maintenance). */
export function createTimers(log: Logger): Timers {
  const timers: NodeJS.Timeout[] = []
  return {
    every(ms, what, fn) {
      let busy = false
      const t = setInterval(() => {
        if (busy) return
        busy = true
        fn()
          .catch((err: unknown) =>
            log.warn({ err: redactMacs(String(err)) }, `${what} failed; will retry`),
          )
          .finally(() => {
            busy = false
          })
      }, ms)
      t.unref()
      timers.push(t)
    },
    clear() {
      for (const t of timers) clearInterval(t)
      timers.length = 0
    },
  }
}
