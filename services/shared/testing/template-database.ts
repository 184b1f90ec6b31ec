import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createDb } from '../db/create-db.ts'
import { MIGRATIONS_DIR, runMigrations } from '../db/migrate.ts'
import { startEmbeddedTimescale } from '../db/embedded/embedded-timescale.ts'

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return u.toString()
}

async function adminQuery(adminUrl: string, text: string, values: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  try {
    await c.query(text, values)
  } finally {
    await c.end()
  }
}

export type TemplateDatabase = { name: string; drop(): Promise<void> }

/**
 * A database migrated once per test run, which every test file's database is cloned from
 * (`CREATE DATABASE … TEMPLATE`), instead of each file migrating its own from scratch.
 *
 * PostgreSQL clones only a database nobody is connected to ("source database … is being accessed
 * by other users"), and TimescaleDB's launcher connects a background-worker scheduler to every
 * database where the extension was created. So once migrated, the template is closed to connections
 * (`ALLOW_CONNECTIONS false`) and its scheduler terminated: a new scheduler cannot connect to it
 * (on TimescaleDB 2.28.3 the launcher started none in the next 90 s) — only the template's own
 * backends are touched. `_timescaledb_functions.stop_background_workers()` would stop the schedulers
 * of every database on the server, other runs' too, so it is not used. Clones allow connections
 * again; the launcher finds them within `timescaledb.bgw_launcher_poll_time` (60 s) and schedules
 * their jobs (a fresh database got its scheduler at CREATE EXTENSION).
 */
export async function createTemplateDatabase(adminUrl: string): Promise<TemplateDatabase> {
  const name = `miglio_template_${randomBytes(6).toString('hex')}`
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  const drop = () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  try {
    const { db } = createDb({ url: databaseUrl(adminUrl, name), maxConnections: 1 })
    try {
      await runMigrations(db)
    } finally {
      await db.destroy()
    }
    await adminQuery(adminUrl, `ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`)
    await adminQuery(
      adminUrl,
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [name],
    )
  } catch (err) {
    await drop()
    throw err
  }
  return { name, drop }
}

/**
 * Creates database `name` as a copy of `template`. A backend of the template that was just
 * terminated may take a moment to go ("source database … is being accessed by other users").
 */
export async function cloneDatabase(
  adminUrl: string,
  template: string,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`)
      return
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

const NODE_MODULES = fileURLToPath(new URL('../../../node_modules/', import.meta.url))

/**
 * What a migrated embedded data directory depends on: the migration files, PGlite (with its
 * TimescaleDB) and kysely (its migration table).
 */
async function embeddedTemplateKey(): Promise<string> {
  const hash = createHash('sha256')
  for (const file of (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort())
    hash.update(file).update(await readFile(join(MIGRATIONS_DIR, file)))
  for (const pkg of ['@electric-sql/pglite', 'kysely']) {
    const { version } = JSON.parse(
      await readFile(join(NODE_MODULES, pkg, 'package.json'), 'utf8'),
    ) as { version: string }
    hash.update(`${pkg}@${version}`)
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * The embedded counterpart of the template database: a migrated PGlite data directory as a
 * tarball, which each test file's in-memory embedded TimescaleDB starts from (`loadDataDir`) —
 * 1.7–1.9 s instead of 2.9–3.2 s to start one and migrate it (measured here, loaded machine).
 * Making it costs ~3.5 s, more than one file saves, so it is kept between runs in the system temp
 * directory, named by a hash of what it depends on, and written atomically (runs in other
 * worktrees may share it). Each use marks it used; templates unused for a day (older migrations)
 * are deleted when a new one is made. Returns its path.
 */
export async function embeddedTemplate(): Promise<string> {
  const dir = join(tmpdir(), 'miglio-test-templates')
  const path = join(dir, `embedded-${await embeddedTemplateKey()}.tar`)
  const now = new Date()
  if (existsSync(path)) {
    await utimes(path, now, now)
    return path
  }
  await mkdir(dir, { recursive: true })
  for (const old of await readdir(dir)) {
    const file = join(dir, old)
    const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: now.getTime() }))
    if (now.getTime() - mtimeMs > 24 * 3_600_000) await rm(file, { force: true })
  }
  const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`
  const embedded = await startEmbeddedTimescale({ dataDir: null })
  try {
    const { db } = createDb({ url: embedded.url, maxConnections: 1 })
    try {
      await runMigrations(db)
    } finally {
      await db.destroy()
    }
    await embedded.dumpDataDir(partial)
    await rename(partial, path)
  } finally {
    await embedded.stop()
    await rm(partial, { force: true })
  }
  return path
}
