/**
 * How a database error should be handled: the database cannot be reached (refused, timed out,
 * shutting down, starting up, connection lost) — wait and retry, answer 503 — or a statement
 * failed. One home for the rule, used by ingest (retry without giving up) and the API (503).
 */
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
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (the server is starting up
 * or in recovery — a restart answers it for a while), 57P04/05 and any later 57P code,
 * 53300 too many connections.
 */
const SERVER_CODES = /^(08[0-9A-Z]{3}|57P[0-9A-Z]{2}|53300)$/

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

/**
 * Whether retrying the same transaction may succeed: the database is unavailable, or the
 * transaction lost a race (class 40: serialisation failure, deadlock detected).
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return isDatabaseUnavailable(err) || (typeof code === 'string' && code.startsWith('40'))
}
