import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { inject } from 'vitest'
import pg from 'pg'
import { createDb, type Db } from '../db/create-db.ts'
import { runMigrations } from '../db/migrate.ts'
import { startEmbeddedTimescale } from '../db/embedded/embedded-timescale.ts'
import { startEmbeddedBroker } from '../broker/embedded-broker.ts'
import { cloneDatabase, databaseUrl } from './template-database.ts'

export type TestDatabase = {
  db: Db
  url: string
  kind: 'env' | 'container' | 'embedded'
  close(): Promise<void>
}

/**
 * A migrated database of this test file's own: on the real server when the global setup found one, a
 * copy of the run's migrated template database (dropped on close); else an in-memory embedded
 * TimescaleDB started from the migrated embedded template. `migrate: false` gives an empty one.
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('databaseAdminUrl')
  const template = inject('databaseTemplate')
  const embeddedTemplate = inject('embeddedTemplate')
  const kind = inject('databaseKind')
  const migrate = opts.migrate !== false
  let url: string
  let cleanup: () => Promise<void>
  let maxConnections = 4
  let migrated = false
  if (adminUrl) {
    const name = `miglio_test_${randomBytes(6).toString('hex')}`
    if (migrate && template) {
      await cloneDatabase(adminUrl, template, name)
      migrated = true
    } else {
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      await admin.end()
    }
    url = databaseUrl(adminUrl, name)
    cleanup = async () => {
      const c = new pg.Client({ connectionString: adminUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  } else {
    // Migrated here when there is no template (a config without test/global-setup.ts).
    const loadDataDir =
      migrate && embeddedTemplate && existsSync(embeddedTemplate) ? embeddedTemplate : null
    const embedded = await startEmbeddedTimescale({ dataDir: null, loadDataDir })
    migrated = loadDataDir !== null
    url = embedded.url
    maxConnections = 1
    cleanup = () => embedded.stop()
  }
  const { db } = createDb({ url, maxConnections })
  if (migrate && !migrated) await runMigrations(db)
  return {
    db,
    url,
    kind,
    async close() {
      await db.destroy()
      await cleanup()
    },
  }
}

export type TestBroker = { url: string; kind: 'env' | 'embedded'; close(): Promise<void> }

/** TEST_MQTT_URL when set (e.g. the Mosquitto CI starts), else an embedded Aedes on a free port. */
export async function createTestBroker(): Promise<TestBroker> {
  const url = inject('mqttUrl')
  if (url) return { url, kind: 'env', close: async () => undefined }
  const broker = await startEmbeddedBroker()
  return { url: broker.url, kind: 'embedded', close: () => broker.stop() }
}

/** Polls `fn` until it returns a value `ok` accepts, or fails with the last value after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  let last: T
  for (;;) {
    last = await fn()
    if (ok(last)) return last
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${opts.what ?? 'condition'}; last value: ${JSON.stringify(last)}`,
      )
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100))
  }
}
