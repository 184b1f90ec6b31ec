import { resolve } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import type { Db } from '../services/shared/db/create-db.ts'
import type { DistrictFile } from '../services/shared/contracts/district.ts'
import { AppError } from '../services/shared/errors.ts'
import {
  MAX_PACKET_REMAINING_LENGTH,
  startEmbeddedBroker,
} from '../services/shared/broker/embedded-broker.ts'
import { loadBrokerCredentials } from '../services/shared/broker/broker-credentials.ts'
import { SERVICE_USERS, type ServiceUser } from '../services/shared/broker/broker-acl.ts'
import { openDatabase, type OpenedDatabase } from '../services/shared/db/open-database.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import { publishFlowsK } from '../services/shared/db/settings.ts'
import { createJobRunner } from '../services/shared/db/job-runner.ts'
import {
  countDistricts,
  firstShopId,
  loadDistrict,
  readDistrictFile,
} from '../services/shared/registry/district-repository.ts'
import {
  claimDemoBackfill,
  finishDemoBackfill,
} from '../services/shared/registry/demo-backfill-repository.ts'
import { createIngestService } from '../services/ingest/ingest-service.ts'
import { createIngestMetrics, type IngestMetrics } from '../services/ingest/ingest-metrics.ts'
import { createIngestMqttClient, ingestConfigOf } from '../services/ingest/main.ts'
import { buildApiApp, createApiMqttClient } from '../services/api/main.ts'
import { buildDashboards } from '../dashboards/build.ts'
import { ensureDemoKeys } from './demo-keys.ts'
import { earliestLiveTime, startSimulatorLoop, type BackfillLedger } from './simulator-loop.ts'
import { startHistoryWriter } from './history-writer.ts'

export type Running = {
  /** The dashboard's URL; HTTP serves from the moment startPipeline resolves. */
  url: string
  /**
   * Resolves once everything runs (database reachable, migrations, district, ingest, jobs,
   * simulator); rejects when start-up failed, after stopping what had started.
   */
  ready: Promise<void>
  stop(): Promise<void>
}

/** Steps taken so far, undone in reverse on stop or on a failed start. */
class Stack {
  private readonly steps: { what: string; undo: () => Promise<void> | void }[] = []
  push(what: string, undo: () => Promise<void> | void) {
    this.steps.push({ what, undo })
  }
  async unwind(log: Logger) {
    while (this.steps.length) {
      const step = this.steps.pop()
      if (!step) break
      try {
        await step.undo()
        log.info(`stopped ${step.what}`)
      } catch (err) {
        log.error({ err: String(err) }, `failed to stop ${step.what}`)
      }
    }
  }
}

type BrokerUser = (user: ServiceUser) => { username: string; password: string } | undefined

/**
 * The broker: MQTT_URL (whatever credentials the URL carries), else the embedded Aedes with users
 * whose random passwords are kept in the data directory, and the ACL of infra/mosquitto.
 */
type Broker = {
  url: string
  user: BrokerUser
  /** Set for the embedded broker: where its users' passwords are. */
  embedded: { credentialsPath: string } | null
}

async function startBroker(config: Config, log: Logger, stack: Stack): Promise<Broker> {
  if (config.mqtt.url) return { url: config.mqtt.url, user: () => undefined, embedded: null }
  const credentials = await loadBrokerCredentials(config.db.dataDir)
  const embedded = await startEmbeddedBroker({
    auth: { accounts: credentials.accounts, topicPrefix: config.mqtt.topicPrefix },
    maxPacketRemainingLength: MAX_PACKET_REMAINING_LENGTH,
    log: log.child({ service: 'broker' }),
  })
  stack.push('embedded MQTT broker', () => embedded.stop())
  log.info(
    { url: embedded.url, users: credentials.path, created: credentials.created },
    'embedded MQTT broker (Aedes) listening',
  )
  const services = credentials.accounts.services
  return {
    url: embedded.url,
    user: (user) => ({ username: user, password: services[user] }),
    embedded: { credentialsPath: credentials.path },
  }
}

/** What the first phase started: HTTP serves, ingest's client waits for the second phase. */
type Serving = {
  url: string
  broker: Broker
  database: OpenedDatabase
  ingestMqtt: MqttClient
}

/**
 * Phase one, awaited by startPipeline: dashboards, broker, database (opened, not yet waited for),
 * the MQTT clients, and the API listening — so a busy port fails at once.
 */
async function serve(
  config: Config,
  log: Logger,
  stack: Stack,
  o: { signal: AbortSignal; starting: () => string | null; ingestMetrics: IngestMetrics },
): Promise<Serving> {
  const dashboardsDir = resolve(config.db.dataDir, 'dashboards')
  await buildDashboards(dashboardsDir)
  const broker = await startBroker(config, log, stack)

  // The embedded database is started here (seconds); a server is retried in the background.
  const database = await openDatabase(config, log, {
    allowEmbedded: true,
    waitUntilReachable: false,
    signal: o.signal,
  })
  stack.push(database.embedded ? 'embedded TimescaleDB' : 'database pool', () => database.close())

  // Created unconnected: ingest connects it once it can write (health reports it meanwhile).
  const ingestMqtt = createIngestMqttClient(
    config,
    broker.url,
    log,
    broker.user(SERVICE_USERS.ingest),
  )
  // The API's own connection (clean session): ingest's treats every message as gateway traffic.
  const apiMqtt = createApiMqttClient(config, broker.url, log, broker.user(SERVICE_USERS.api))
  const app = await buildApiApp({
    config,
    db: database.db,
    readDb: database.readDb,
    log: log.child({ service: 'api' }),
    mqtt: apiMqtt,
    checks: {
      broker: () => ({
        up: ingestMqtt.connected,
        ...(ingestMqtt.connected ? {} : { error: 'not connected' }),
      }),
    },
    starting: o.starting,
    dashboardsDir,
    metricsRegistries: [o.ingestMetrics.registry],
  })
  try {
    await app.listen({ host: config.http.host, port: config.http.port })
  } catch (err) {
    await app.close()
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AppError(
        'port_in_use',
        `port ${config.http.port} on ${config.http.host} is already in use; set PORT to another port`,
      )
    }
    throw err
  }
  stack.push('HTTP server', () => app.close())
  // Connected once the API serves: a client still connecting when a failed start unwinds would
  // go on reconnecting after endAsync.
  apiMqtt.connect()
  stack.push('API MQTT connection', () => apiMqtt.endAsync(true))
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host
  return { url: `http://${host}:${port}/`, broker, database, ingestMqtt }
}

/** The demo backfill recorded in the database, so that it is published once per database. */
function demoBackfillLedger(db: Db, districtId: string): BackfillLedger {
  return {
    async claim({ fromMs, toMs }) {
      const c = await claimDemoBackfill(db, {
        districtId,
        from: new Date(fromMs),
        to: new Date(toMs),
      })
      return c.claimed
        ? c
        : { claimed: false, claimedAt: c.previous.claimedAt, finishedAt: c.previous.finishedAt }
    },
    finished: () => finishDemoBackfill(db, districtId),
  }
}

/** Resolves with `p`, or rejects as soon as `signal` aborts (p is left to settle on its own). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

/**
 * Phase two, in the background: waits for the database, migrates, loads the district, then starts
 * the jobs (embedded database), ingest and the simulator, and prints the running lines. `status`
 * says what start-up waits for (the API's 503 `starting`), null once the API can answer.
 */
async function bringUp(
  config: Config,
  log: Logger,
  stack: Stack,
  s: Serving,
  o: { signal: AbortSignal; status: (what: string | null) => void; ingestMetrics: IngestMetrics },
): Promise<void> {
  const { database } = s
  const { signal } = o
  if (!database.embedded) {
    o.status(`waiting for the database ${database.where}`)
    log.info(
      { url: s.url, database: database.where },
      'HTTP serving; /api/v1 answers 503 until the database answers and is migrated',
    )
  }
  await unlessAborted(database.reachable, signal)
  o.status('applying database migrations')
  const { applied } = await runMigrations(database.db)
  log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date')
  await publishFlowsK(database.db, config.api.flowsK)
  signal.throwIfAborted()

  // Read at most once: to load an empty database and to drive the simulator.
  let districtFile: Promise<DistrictFile> | undefined
  const readDistrict = () => (districtFile ??= readDistrictFile(config.districtFile, config.tz))
  o.status('loading the district')
  if ((await countDistricts(database.db)) === 0) {
    const report = await loadDistrict(database.db, await readDistrict())
    log.info({ file: config.districtFile, ...report }, 'district loaded')
  }
  signal.throwIfAborted()
  // The API can answer from here on; /health stays 503 until ingest is connected.
  o.status(null)

  const embeddedJobs =
    config.jobs.mode === 'embedded' || (config.jobs.mode === 'auto' && database.embedded !== null)
  if (embeddedJobs) {
    const runner = createJobRunner(database.db, log)
    runner.start(10_000)
    stack.push('TimescaleDB job runner', () => runner.stop())
  }

  stack.push('ingest MQTT connection', () => s.ingestMqtt.endAsync(true))
  // The loaded district's zone: the daily keys, and the backfill that must stay within them.
  const ingestConfig = await ingestConfigOf(config, log, database.db)
  const ingest = createIngestService({
    config: ingestConfig,
    db: database.db,
    mqtt: s.ingestMqtt,
    log: log.child({ service: 'ingest' }),
    metrics: o.ingestMetrics,
  })
  stack.push('ingest intake', () => ingest.stop())
  // Waits for the broker; a stop meanwhile must not wait with it.
  await unlessAborted(ingest.start(), signal)

  if (config.simulator.enabled) {
    const district = await readDistrict()
    // The history ends where the live backfill (SIM_BACKFILL, through MQTT) begins.
    const history = startHistoryWriter({
      config,
      district,
      db: database.db,
      tz: ingestConfig.tz,
      endMs: earliestLiveTime(Date.now(), {
        tz: ingestConfig.tz,
        keyGraceMs: config.ingest.keyGraceMs,
        backfillMs: config.simulator.backfillMs,
      }),
      log: log.child({ service: 'history' }),
    })
    stack.push('demo history', () => history.stop())
    const loop = startSimulatorLoop({
      config,
      district,
      mqttUrl: s.broker.url,
      auth: s.broker.user(SERVICE_USERS.simulator),
      backfill: demoBackfillLedger(database.db, district.id),
      timeZone: ingestConfig.tz,
      log: log.child({ service: 'simulator' }),
    })
    stack.push('simulator', () => loop.stop())
  }
  await printRunning(config, database.db, s)
}

/** The lines `miglio start` prints once it runs: the URL, the embedded broker, the demo keys. */
async function printRunning(config: Config, db: Db, s: Serving): Promise<void> {
  const brokerLine = s.broker.embedded
    ? `Embedded MQTT broker: ${s.broker.url} (users and passwords in ${s.broker.embedded.credentialsPath})\n`
    : ''
  if (config.demoKeys) {
    const { keys, path } = await ensureDemoKeys(db, config.db.dataDir, await firstShopId(db))
    const lines = keys.map(
      (k) => `  ${k.role.padEnd(10)} ${k.key}${k.shopId ? `  (shop ${k.shopId})` : ''}`,
    )
    process.stdout.write(
      `\nMiglio is running: ${s.url}\n${brokerLine}Demo API keys (also in ${path}):\n${lines.join('\n')}\nPress Ctrl-C to stop.\n\n`,
    )
  } else {
    process.stdout.write(`\nMiglio is running: ${s.url}\n${brokerLine}Press Ctrl-C to stop.\n\n`)
  }
}

/**
 * The whole pipeline in one process, composed of the services' parts (services/ingest/main.ts,
 * services/api/main.ts) and the simulator: database (embedded unless DATABASE_URL), broker
 * (embedded unless MQTT_URL), migrations, district, ingest, TimescaleDB jobs (embedded only),
 * API + dashboard, and the simulator.
 *
 * HTTP listens as soon as the database is opened — for DATABASE_URL before it answers — so a busy
 * port fails at once and `/api/v1/health` reports what start-up waits for: until the database
 * answers and the migrations ran, every `/api/v1` route answers 503 `starting`. Resolves once HTTP
 * listens; the rest continues in the background (`ready`). Shutdown order: simulator, ingest intake,
 * ingest MQTT, jobs, API MQTT, HTTP, database, broker.
 */
export async function startPipeline(config: Config, log: Logger): Promise<Running> {
  const stack = new Stack()
  const abort = new AbortController()
  const signal = abort.signal
  let starting: string | null = 'starting'
  const ingestMetrics = createIngestMetrics()
  let serving: Serving
  try {
    serving = await serve(config, log, stack, { signal, starting: () => starting, ingestMetrics })
  } catch (err) {
    await stack.unwind(log)
    throw err
  }
  const status = (what: string | null) => {
    starting = what
  }
  const ready = bringUp(config, log, stack, serving, { signal, status, ingestMetrics }).catch(
    async (err: unknown) => {
      if (!signal.aborted) log.error({ err: String(err) }, 'start-up failed; stopping')
      await stack.unwind(log)
      throw err
    },
  )
  // Observed by whoever awaits `ready`; a stop during start-up rejects it on purpose.
  ready.catch(() => undefined)
  return {
    url: serving.url,
    ready,
    async stop() {
      abort.abort(new Error('stopped during start-up'))
      await ready.catch(() => undefined)
      await stack.unwind(log)
    },
  }
}
