import type { Logger } from '../../shared/logger.ts'

/** `{ code, message }` of an error, the first nested one's too: what an operator needs, no stack. */
export function errorSummary(err: unknown): { code?: string; message: string } {
  if (!(err instanceof Error)) return { message: String(err) }
  const code = (err as { code?: unknown }).code
  const nested = (err as { errors?: unknown }).errors
  let message = err.message
  if (!message && Array.isArray(nested) && nested[0] instanceof Error) message = nested[0].message
  return { ...(typeof code === 'string' ? { code } : {}), message: message.slice(0, 300) }
}

/**
 * Logs a database outage at most once per interval while it lasts, with the real error and how
 * many more failures were seen since the last line, instead of a stack trace per request.
 */
export class OutageLog {
  readonly #log: Logger
  readonly #intervalMs: number
  readonly #now: () => number
  #lastAt = -Infinity
  #suppressed = 0
  #down = false

  constructor(log: Logger, o: { intervalMs?: number; now?: () => number } = {}) {
    this.#log = log
    this.#intervalMs = o.intervalMs ?? 30_000
    this.#now = o.now ?? Date.now
  }

  /** A failure to reach the database, seen by `where` (a route, the health check, the live feed). */
  report(err: unknown, where: string): void {
    this.#down = true
    const now = this.#now()
    if (now - this.#lastAt < this.#intervalMs) {
      this.#suppressed++
      return
    }
    this.#log.error(
      { err: errorSummary(err), where, suppressedSinceLast: this.#suppressed },
      `database unreachable; answering 503 (logged at most once per ${Math.round(this.#intervalMs / 1000)} s while it lasts)`,
    )
    this.#lastAt = now
    this.#suppressed = 0
  }

  /** The database answered again. */
  recovered(): void {
    if (!this.#down) return
    this.#down = false
    this.#lastAt = -Infinity
    this.#suppressed = 0
    this.#log.info('database reachable again')
  }
}
