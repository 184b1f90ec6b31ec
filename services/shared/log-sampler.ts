import type { Logger } from './logger.ts'

export type LogSampler = {
  /** Logs the first line of `key` in each interval; counts the others and reports their number. */
  warn(key: string, fields: Record<string, unknown>, message: string): void
  /** Reports the lines held back for keys whose interval has passed (call it on a timer). */
  flush(): void
}

/**
 * Keeps a flood of alike lines (a gateway sending thousands of bad messages) from drowning the log:
 * per key, one line per interval, the next one saying how many were held back meanwhile. Nothing
 * is lost from the counts: the metrics count every event; the log only samples them.
 */
export function createLogSampler(
  log: Pick<Logger, 'warn'>,
  opts: { intervalMs: number; now?: () => number },
): LogSampler {
  const now = opts.now ?? Date.now
  const keys = new Map<string, { loggedAt: number; held: number; message: string }>()
  return {
    warn(key, fields, message) {
      const t = now()
      const k = keys.get(key)
      if (k && t - k.loggedAt < opts.intervalMs) {
        k.held++
        return
      }
      keys.set(key, { loggedAt: t, held: 0, message })
      log.warn(k?.held ? { ...fields, heldBack: k.held } : fields, message)
    },
    flush() {
      const t = now()
      for (const [key, k] of keys) {
        if (t - k.loggedAt < opts.intervalMs) continue
        if (k.held) log.warn({ key, heldBack: k.held }, `${k.message} (more of the same)`)
        keys.delete(key)
      }
    },
  }
}
