import type { Logger } from '../../shared/logger.ts'

/** Node socket errors of a connection that could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
])

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve now: class 08 (connection exception),
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up or in
 * recovery), 53300 too many connections.
 */
const SERVER_CODES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/

/** node-postgres's own errors for a pool or client that has no working connection (they carry no code). */
const DRIVER_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end/i

/**
 * Whether `err` means the database is unreachable (refused, timed out, shut down, connection
 * lost) rather than that a statement failed. Looks into `cause` and AggregateError's `errors`.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SERVER_CODES.test(e.code)))
    return true
  if (typeof e.message === 'string' && DRIVER_MESSAGES.test(e.message)) return true
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1)))
    return true
  return isDatabaseUnavailable(e.cause, depth + 1)
}

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
