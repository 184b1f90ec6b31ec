import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './database.ts'

export type DbOptions = {
  url: string
  /**
   * Connections in the pool. The embedded TimescaleDB shares one session between all connections,
   * so it must be 1 there (a transaction on one connection would swallow another's statements).
   */
  maxConnections: number
  applicationName?: string
}

export type Db = Kysely<Database>

export function createDb(options: DbOptions): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections,
    application_name: options.applicationName ?? 'miglio',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 0,
  })
  // A pool with no error listener crashes the process when an idle connection drops; so does a
  // connection lost while a client is checked out between two statements (a server restarting
  // ends every session): pg emits 'error' on that client, which has no listener of its own. The
  // loss reaches the caller anyway, as the next statement's error, and is retried there.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool }
}
