import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import {
  cpus,
  freemem,
  loadavg,
  platform,
  release,
  tmpdir,
  totalmem,
  type as osType,
} from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { createDb, type Db } from '../../services/shared/db/create-db.ts'
import { runMigrations } from '../../services/shared/db/migrate.ts'
import {
  startEmbeddedTimescale,
  type EmbeddedTimescale,
} from '../../services/shared/db/embedded/embedded-timescale.ts'
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
} from '../../services/shared/broker/embedded-broker.ts'
import { localMidnightsIn } from '../../services/shared/contracts/local-time.ts'
import { DEFAULT_TIME_ZONE } from '../../services/shared/contracts/district.ts'
import { progress } from './report.ts'

/** The benchmark districts' time zone (`buildBenchDistrict` names MIGLIO_TZ's default). */
export const TZ = DEFAULT_TIME_ZONE

export type Target = {
  /** DATABASE_URL when set: a fresh database is created on that server per stack. */
  databaseUrl: string | undefined
  /** MQTT_URL when set, else the run's embedded Aedes. */
  mqttUrl: string
  brokerKind: 'env' | 'embedded'
  runId: string
  close(): Promise<void>
}

export async function openTarget(env: {
  DATABASE_URL?: string | undefined
  MQTT_URL?: string | undefined
}): Promise<Target> {
  const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase()
  if (env.DATABASE_URL) await checkCanCreateDatabase(env.DATABASE_URL)
  let broker: EmbeddedBroker | null = null
  let mqttUrl = env.MQTT_URL
  if (!mqttUrl) {
    broker = await startEmbeddedBroker()
    mqttUrl = broker.url
  }
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    mqttUrl,
    brokerKind: broker ? 'embedded' : 'env',
    runId,
    async close() {
      await broker?.stop()
    },
  }
}

export class RefusedError extends Error {}

async function checkCanCreateDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  try {
    try {
      await client.connect()
    } catch (err) {
      throw new RefusedError(`cannot connect to DATABASE_URL: ${(err as Error).message}`)
    }
    const r = await client.query<{ ok: boolean }>(
      `SELECT rolcreatedb OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user`,
    )
    if (!r.rows[0]?.ok)
      throw new RefusedError(
        `DATABASE_URL: the role cannot CREATE DATABASE. The benchmarks write millions of rows and never touch an existing database: grant CREATEDB (ALTER ROLE … CREATEDB) or point DATABASE_URL at a server where the role may create databases.`,
      )
    const ext = await client.query(
      `SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`,
    )
    if (ext.rowCount === 0)
      throw new RefusedError('DATABASE_URL: the server has no timescaledb extension available.')
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * One benchmark's database: a fresh embedded TimescaleDB in its own temporary data directory, or a
 * fresh database on the DATABASE_URL server (dropped at close). Migrated; the parent's pool can be
 * closed while a child process owns the single embedded connection.
 */
export type Stack = {
  name: string
  kind: 'embedded' | 'server'
  url: string
  /** Connections a process may open: 1 for the embedded server (one shared session). */
  poolSize: number
  mqttUrl: string
  /** Topic prefix of this stack (MQTT_TOPIC_PREFIX), so runs sharing a broker never meet. */
  topicPrefix: string
  /** The parent's pool, opened on demand. Close it before a child connects to an embedded stack. */
  db(): Db
  closeDb(): Promise<void>
  close(): Promise<void>
}

export async function openStack(target: Target, name: string): Promise<Stack> {
  const t0 = Date.now()
  let url: string
  let cleanup: () => Promise<void>
  let kind: Stack['kind']
  if (target.databaseUrl) {
    kind = 'server'
    const dbName = `miglio_bench_${target.runId}_${name.replace(/[^a-z0-9]/g, '')}`
    const admin = new pg.Client({ connectionString: target.databaseUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${dbName}`)
    await admin.end()
    const u = new URL(target.databaseUrl)
    u.pathname = `/${dbName}`
    url = u.toString()
    cleanup = async () => {
      const c = new pg.Client({ connectionString: target.databaseUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
      await c.end()
    }
  } else {
    kind = 'embedded'
    const dir = mkdtempSync(join(tmpdir(), `miglio-bench-${name}-`))
    let embedded: EmbeddedTimescale
    try {
      embedded = await startEmbeddedTimescale({ dataDir: dir })
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
    url = embedded.url
    cleanup = async () => {
      await embedded.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const poolSize = kind === 'embedded' ? 1 : 10
  let handle: Db | null = null
  const stack: Stack = {
    name,
    kind,
    url,
    poolSize,
    mqttUrl: target.mqttUrl,
    topicPrefix: `miglio-bench-${target.runId}-${name}`,
    db() {
      handle ??= createDb({ url, maxConnections: poolSize, applicationName: 'miglio-bench' }).db
      return handle
    },
    async closeDb() {
      const h = handle
      handle = null
      await h?.destroy()
    },
    async close() {
      await stack.closeDb()
      await cleanup()
    },
  }
  try {
    await runMigrations(stack.db())
  } catch (err) {
    await stack.close()
    throw err
  }
  progress(name, `${kind} database ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return stack
}

export type MachineInfo = {
  cpus: number
  model: string
  memoryMb: number
  freeMemoryMb: number
  node: string
  os: string
  /** 1/5/15-minute load averages when the run started: other work on a shared machine. */
  loadAverage: number[]
}

export function machineInfo(): MachineInfo {
  const c = cpus()
  return {
    cpus: c.length,
    model: c[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    freeMemoryMb: Math.round(freemem() / 2 ** 20),
    node: process.version,
    os: `${osType()} ${release()} (${platform()})`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  }
}

const PACKAGES = [
  '@electric-sql/pglite',
  '@electric-sql/pglite-socket',
  'aedes',
  'kysely',
  'mqtt',
  'pg',
  'prom-client',
  'tsx',
  'zod',
]

/** Declared (package.json) and installed versions of the packages that shape the figures. */
export function packageVersions(
  root: string,
): Record<string, { declared: string; installed: string }> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const out: Record<string, { declared: string; installed: string }> = {}
  for (const name of PACKAGES) {
    let installed = 'unknown'
    try {
      const p = JSON.parse(
        readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'),
      ) as { name: string; version: string }
      installed = p.name === name ? p.version : `${p.name}@${p.version}`
    } catch {
      // not installed
    }
    out[name] = { declared: pkg.dependencies?.[name] ?? '', installed }
  }
  return out
}

export async function serverVersions(db: Db): Promise<{ postgres: string; timescaledb: string }> {
  const r = await sql<{ pg: string; ts: string | null }>`
    SELECT current_setting('server_version') AS pg,
           (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS ts`.execute(db)
  return { postgres: r.rows[0]?.pg ?? 'unknown', timescaledb: r.rows[0]?.ts ?? 'unknown' }
}

/**
 * The longest stretch of [now − maxAge, now − margin] that holds no local midnight of `tz`, so a
 * device's sightings in it all share one daily pseudonymisation key (one pseudonym). At least
 * (maxAge − margin) / 2 long.
 */
export function midnightFreeWindow(
  nowMs: number,
  maxAgeMs: number,
  marginMs: number,
  tz = TZ,
): { fromMs: number; toMs: number } {
  const from = nowMs - maxAgeMs
  const to = nowMs - marginMs
  const cuts = [from, ...localMidnightsIn(from, to, tz), to]
  let best = { fromMs: from, toMs: from }
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i] ?? from
    const b = cuts[i + 1] ?? to
    if (b - a > best.toMs - best.fromMs) best = { fromMs: a, toMs: b }
  }
  return best
}
