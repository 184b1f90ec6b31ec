import { resolve } from 'node:path'
import type { MqttClient } from 'mqtt'
import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import { startEmbeddedBroker } from '../services/shared/broker/embedded-broker.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import { createJobRunner } from '../services/shared/db/job-runner.ts'
import {
  countDistricts,
  loadDistrict,
  readDistrictFile,
} from '../services/shared/registry/district-repository.ts'
import { createIngestService, type IngestService } from '../services/ingest/ingest-service.ts'
import { buildApp } from '../services/api/app.ts'
import { onTransitsChanged } from '../services/shared/transits-changed.ts'
import { buildDashboards } from '../dashboards/build.ts'
import { AppError } from '../services/shared/errors.ts'
import {
  apiOptionsOf,
  createMqttClient,
  ingestConfigOf,
  openDatabase,
  type OpenedDatabase,
} from './runtime.ts'
import {
  claimDemoBackfill,
  finishDemoBackfill,
} from '../services/shared/registry/demo-backfill-repository.ts'
import { ensureDemoKeys } from './demo-keys.ts'
import { startSimulatorLoop, type BackfillLedger } from './simulator-loop.ts'
import type { DistrictFile } from '../services/shared/contracts/district.ts'
import type { Db } from '../services/shared/db/create-db.ts'

export type Running = { url: string; stop(): Promise<void> }

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

/**
 * The whole pipeline in one process: database (embedded unless DATABASE_URL), broker (embedded
 * unless MQTT_URL), migrations, district, ingest, TimescaleDB jobs (embedded only), API + dashboard,
 * and the simulator. Shutdown order: simulator, intake, ingest MQTT, API, jobs, database, broker.
 */
export async function runStart(config: Config, log: Logger): Promise<Running> {
  const stack = new Stack()
  try {
    const dashboardsDir = resolve(config.db.dataDir, 'dashboards')
    await buildDashboards(dashboardsDir)

    let mqttUrl = config.mqtt.url
    if (!mqttUrl) {
      const embedded = await startEmbeddedBroker()
      mqttUrl = embedded.url
      stack.push('embedded MQTT broker', () => embedded.stop())
      log.info({ url: mqttUrl }, 'embedded MQTT broker (Aedes) listening')
    }

    const database: OpenedDatabase = await openDatabase(config, log, { allowEmbedded: true })
    stack.push(database.embedded ? 'embedded TimescaleDB' : 'database pool', () => database.close())
    const { applied } = await runMigrations(database.db)
    log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date')

    // Read at most once: to load an empty database and to drive the simulator.
    let districtFile: Promise<DistrictFile> | undefined
    const readDistrict = () => (districtFile ??= readDistrictFile(config.districtFile))
    if ((await countDistricts(database.db)) === 0) {
      const report = await loadDistrict(database.db, await readDistrict())
      log.info({ file: config.districtFile, ...report }, 'district loaded')
    }

    const embeddedJobs =
      config.jobs.mode === 'embedded' || (config.jobs.mode === 'auto' && database.embedded !== null)
    if (embeddedJobs) {
      const runner = createJobRunner(database.db, log)
      runner.start(10_000)
      stack.push('TimescaleDB job runner', () => runner.stop())
    }

    const ingestMqtt: MqttClient = createMqttClient(mqttUrl, log, {
      clientId: config.mqtt.clientId,
      clean: false,
      protocolVersion: config.mqtt.protocolVersion,
    })
    stack.push('ingest MQTT connection', () => ingestMqtt.endAsync(true))
    const ingest: IngestService = createIngestService({
      config: await ingestConfigOf(config, log),
      db: database.db,
      mqtt: ingestMqtt,
      log: log.child({ service: 'ingest' }),
    })
    await ingest.start()
    stack.push('ingest intake', () => ingest.stop())

    // The API's own connection (clean session): ingest's treats every message as gateway traffic.
    const apiMqtt: MqttClient = createMqttClient(mqttUrl, log, {
      clientId: `miglio-api-${process.pid}`,
      clean: true,
      protocolVersion: config.mqtt.protocolVersion,
    })
    const app = await buildApp({
      db: database.db,
      log: log.child({ service: 'api' }),
      onTransitsChanged: onTransitsChanged(apiMqtt, config.mqtt.topicPrefix, log),
      checks: {
        broker: () => ({
          up: ingestMqtt.connected,
          ...(ingestMqtt.connected ? {} : { error: 'not connected' }),
        }),
      },
      dashboardsDir,
      metricsRegistries: [ingest.metrics.registry],
      options: apiOptionsOf(config),
    })
    try {
      await app.listen({ host: config.http.host, port: config.http.port })
    } catch (err) {
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
    const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}/`

    if (config.simulator.enabled) {
      const district = await readDistrict()
      const loop = await startSimulatorLoop({
        config,
        district,
        mqttUrl,
        backfill: demoBackfillLedger(database.db, district.id),
        log: log.child({ service: 'simulator' }),
      })
      stack.push('simulator', () => loop.stop())
    }

    if (config.demoKeys) {
      const shop = await database.db
        .selectFrom('shops')
        .select('id')
        .orderBy('street_offset_m')
        .executeTakeFirst()
      const { keys, path } = await ensureDemoKeys(database.db, config.db.dataDir, shop?.id ?? null)
      const lines = keys.map(
        (k) => `  ${k.role.padEnd(10)} ${k.key}${k.shopId ? `  (shop ${k.shopId})` : ''}`,
      )
      process.stdout.write(
        `\nMiglio is running: ${url}\nDemo API keys (also in ${path}):\n${lines.join('\n')}\nPress Ctrl-C to stop.\n\n`,
      )
    } else {
      process.stdout.write(`\nMiglio is running: ${url}\nPress Ctrl-C to stop.\n\n`)
    }
    return { url, stop: () => stack.unwind(log) }
  } catch (err) {
    await stack.unwind(log)
    throw err
  }
}
