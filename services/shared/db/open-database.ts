import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import { AppError } from '../errors.ts'
import { createDb, type Db } from './create-db.ts'
import { startEmbeddedTimescale, type EmbeddedTimescale } from './embedded/embedded-timescale.ts'

export type OpenedDatabase = {
  db: Db
  embedded: EmbeddedTimescale | null
  /** Where it is, without credentials: `postgres://db.example:5432/miglio`, or `embedded`. */
  where: string
  /**
   * Resolves once the database has answered (at once for the embedded one, and when openDatabase
   * waited); rejects when the wait is aborted or the database closed first.
   */
  reachable: Promise<void>
  close(): Promise<void>
}

function describeUrl(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.hostname}:${u.port || '(default)'}${u.pathname}`
}

/**
 * Retries `SELECT 1` with capped exponential backoff until the server answers; rejects as soon as
 * `signal` aborts, even in the middle of a backoff.
 */
export async function waitForDatabase(
  db: Db,
  log: Logger,
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`SELECT 1`.execute(db)
      if (attempt > 1) log.info({ database: what }, 'database reachable')
      return
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))
      log.warn(
        { database: what, attempt, retryInMs: delay, err: (err as Error).message },
        'database unreachable; retrying',
      )
      await sleep(delay, undefined, signal ? { signal } : {})
    }
  }
}

/**
 * `DATABASE_URL` when set (a real TimescaleDB, pool of 10), else the embedded TimescaleDB in the data
 * directory (pool of one: the embedded server has a single session).
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  opts: {
    allowEmbedded: boolean
    signal?: AbortSignal
    /** false: return at once and keep retrying in the background (the API serves 503 meanwhile). */
    waitUntilReachable?: boolean
  },
): Promise<OpenedDatabase> {
  if (config.db.url) {
    const { db } = createDb({ url: config.db.url, maxConnections: 10 })
    const where = describeUrl(config.db.url)
    // Closing stops the retries too (a pool that was ended would otherwise be retried forever).
    const closing = new AbortController()
    const signal = opts.signal ? AbortSignal.any([opts.signal, closing.signal]) : closing.signal
    const reachable = waitForDatabase(db, log, where, signal)
    const close = async () => {
      closing.abort(new Error('database closed'))
      await db.destroy()
    }
    if (opts.waitUntilReachable === false) reachable.catch(() => undefined)
    else {
      try {
        await reachable
      } catch (err) {
        await close()
        throw err
      }
    }
    return { db, embedded: null, where, reachable, close }
  }
  if (!opts.allowEmbedded) {
    throw new AppError(
      'config_invalid',
      'DATABASE_URL is required for this command: the embedded TimescaleDB serves one process, so it runs only inside `miglio start`, `migrate`, `district` and `keys`',
    )
  }
  log.info({ dataDir: config.db.dataDir }, 'starting embedded TimescaleDB')
  const embedded = await startEmbeddedTimescale({ dataDir: config.db.dataDir })
  const { db } = createDb({ url: embedded.url, maxConnections: 1 })
  await waitForDatabase(db, log, 'embedded')
  return {
    db,
    embedded,
    where: 'embedded',
    reachable: Promise.resolve(),
    async close() {
      await db.destroy()
      await embedded.stop()
    },
  }
}

/**
 * Opens the database (waiting until it answers), runs `fn` on it and closes it, whatever `fn` did:
 * the short administrative commands (`migrate`, `district load`, `keys`).
 */
export async function withDatabase<T>(
  config: Config,
  log: Logger,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  const database = await openDatabase(config, log, { allowEmbedded: true })
  try {
    return await fn(database.db)
  } finally {
    await database.close()
  }
}
