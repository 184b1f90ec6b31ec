import { Command, CommanderError, InvalidArgumentError } from 'commander'
import closeWithGrace from 'close-with-grace'
import { loadConfig, type Config } from '../services/shared/config.ts'
import { createLogger, type Logger } from '../services/shared/logger.ts'
import { AppError } from '../services/shared/errors.ts'
import { ensureWritableDir } from '../services/shared/db/embedded/data-dir-lock.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import { loadDistrict, readDistrictFile } from '../services/shared/registry/district-repository.ts'
import { createApiKey, revokeApiKey } from '../services/shared/registry/api-key-repository.ts'
import { createIngestService } from '../services/ingest/ingest-service.ts'
import { buildApp } from '../services/api/app.ts'
import { onTransitsChanged } from '../services/api/lib/transits-changed.ts'
import { buildDashboards } from '../dashboards/build.ts'
import { apiOptionsOf, createMqttClient, ingestConfigOf, openDatabase } from './runtime.ts'
import { serveMetrics } from './metrics-server.ts'
import { runStart } from './start.ts'
import { registerSimulatorCommands } from './simulator-commands.ts'

function preflight(needsDataDir: boolean): { config: Config; log: Logger } {
  const config = loadConfig(process.env)
  if (needsDataDir && !config.db.url) ensureWritableDir(config.db.dataDir)
  const log = createLogger({ level: config.log.level, name: 'miglio' })
  return { config, log }
}

/**
 * Runs until SIGINT/SIGTERM, then stops what `start` returned within a grace period; or until
 * `failed` rejects (a start-up that failed in the background, already stopped), with its error.
 */
async function untilSignal(
  log: Logger,
  stop: () => Promise<void>,
  failed?: Promise<unknown>,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let stopping = false
    const handlers = closeWithGrace({ delay: 20_000 }, async ({ signal, err }) => {
      stopping = true
      if (err) log.error({ err: String(err) }, 'stopping after an unexpected error')
      else log.info({ signal }, 'stopping')
      await stop()
      resolve()
    })
    failed?.catch((err: unknown) => {
      // A stop during start-up rejects it too: that is not a failure.
      if (stopping) return
      handlers.uninstall()
      reject(err)
    })
  })
}

export function buildCli(): Command {
  const program = new Command()
    .name('miglio')
    .description(
      'Foot-traffic analytics for shopping streets. Configuration comes from the environment (see .env.example).',
    )
    .showHelpAfterError()
    .exitOverride()

  program
    .command('start')
    .description(
      'run the whole pipeline: database, broker, ingest, API + dashboard and the simulator (embedded defaults unless DATABASE_URL / MQTT_URL are set)',
    )
    .action(async () => {
      const { config, log } = preflight(true)
      const running = await runStart(config, log)
      await untilSignal(log, running.stop, running.ready)
    })

  program
    .command('ingest')
    .description('run only the ingest service (needs DATABASE_URL and MQTT_URL)')
    .action(async () => {
      const { config, log } = preflight(false)
      if (!config.mqtt.url)
        throw new AppError(
          'config_invalid',
          'MQTT_URL is required for `miglio ingest` (the embedded broker runs only inside `miglio start`)',
        )
      const database = await openDatabase(config, log, { allowEmbedded: false })
      const client = createMqttClient(config.mqtt.url, log, {
        clientId: config.mqtt.clientId,
        clean: false,
        protocolVersion: config.mqtt.protocolVersion,
      })
      const ingest = createIngestService({
        config: await ingestConfigOf(config, log, database.db),
        db: database.db,
        mqtt: client,
        log,
      })
      await ingest.start()
      const metrics = config.ingest.metricsPort
        ? await serveMetrics(ingest.metrics.registry, config.http.host, config.ingest.metricsPort)
        : null
      if (metrics) log.info({ url: metrics.url }, 'ingest metrics served')
      await untilSignal(log, async () => {
        await metrics?.close()
        await ingest.stop()
        // Forced: the message in hand is finished; a PUBACK lost here only causes a harmless redelivery.
        await client.endAsync(true)
        await database.close()
      })
    })

  program
    .command('api')
    .description(
      'run only the API and dashboard (needs DATABASE_URL; MQTT_URL is reported in /api/v1/health)',
    )
    .action(async () => {
      const { config, log } = preflight(false)
      // Serve at once: an unreachable database or broker is retried in the background and
      // reported by /api/v1/health (503) until it answers.
      const database = await openDatabase(config, log, {
        allowEmbedded: false,
        waitUntilReachable: false,
      })
      const client = config.mqtt.url
        ? createMqttClient(config.mqtt.url, log, {
            clientId: `miglio-api-${process.pid}`,
            clean: true,
            protocolVersion: config.mqtt.protocolVersion,
          })
        : null
      client?.connect()
      const dashboardsDir = `${config.db.dataDir}/dashboards`
      await buildDashboards(dashboardsDir)
      const app = await buildApp({
        db: database.db,
        log,
        dashboardsDir,
        ...(client
          ? { onTransitsChanged: onTransitsChanged(client, config.mqtt.topicPrefix, log) }
          : {}),
        checks: {
          broker: () =>
            client ? { up: client.connected } : { up: false, error: 'MQTT_URL not set' },
        },
        options: apiOptionsOf(config),
      })
      await app.listen({ host: config.http.host, port: config.http.port })
      await untilSignal(log, async () => {
        await app.close()
        await client?.endAsync(true)
        await database.close()
      })
    })

  program
    .command('migrate')
    .description(
      'apply pending migrations (to DATABASE_URL, or the embedded database in MIGLIO_DATA_DIR)',
    )
    .action(async () => {
      const { config, log } = preflight(true)
      const database = await openDatabase(config, log, { allowEmbedded: true })
      try {
        const { applied } = await runMigrations(database.db)
        process.stdout.write(
          applied.length
            ? `applied ${applied.length} migrations: ${applied.join(', ')}\n`
            : 'schema up to date\n',
        )
      } finally {
        await database.close()
      }
    })

  const district = program.command('district').description('manage the district registry')
  district
    .command('load')
    .argument('<file>', 'district JSON file')
    .description('validate a district file and load it (zones, shops, gateways, thresholds)')
    .action(async (file: string) => {
      const { config, log } = preflight(true)
      const parsed = await readDistrictFile(file, config.tz)
      const database = await openDatabase(config, log, { allowEmbedded: true })
      try {
        await runMigrations(database.db)
        const report = await loadDistrict(database.db, parsed)
        process.stdout.write(`loaded ${parsed.id}: ${JSON.stringify(report)}\n`)
      } finally {
        await database.close()
      }
    })

  const keys = program.command('keys').description('manage API keys')
  keys
    .command('create')
    .requiredOption('--role <role>', 'admin | analyst | shopkeeper', (v) => {
      if (v !== 'admin' && v !== 'analyst' && v !== 'shopkeeper')
        throw new InvalidArgumentError('must be admin, analyst or shopkeeper')
      return v
    })
    .option('--shop <id>', 'the shop of a shopkeeper key')
    .option('--label <text>', 'what the key is for', 'cli')
    .description('create an API key; it is printed once and stored hashed')
    .action(
      async (o: { role: 'admin' | 'analyst' | 'shopkeeper'; shop?: string; label: string }) => {
        if ((o.role === 'shopkeeper') !== (o.shop !== undefined)) {
          throw new AppError(
            'bad_request',
            '--shop is required for a shopkeeper key and only for it',
          )
        }
        const { config, log } = preflight(true)
        const database = await openDatabase(config, log, { allowEmbedded: true })
        try {
          await runMigrations(database.db)
          if (
            o.shop &&
            !(await database.db
              .selectFrom('shops')
              .select('id')
              .where('id', '=', o.shop)
              .executeTakeFirst())
          ) {
            throw new AppError('not_found', `shop ${o.shop} does not exist`)
          }
          const k = await createApiKey(database.db, {
            role: o.role,
            shopId: o.shop ?? null,
            label: o.label,
          })
          process.stdout.write(`id  ${k.id}\nkey ${k.key}\n(shown once: store it now)\n`)
        } finally {
          await database.close()
        }
      },
    )
  keys
    .command('revoke')
    .argument('<id>', 'key id')
    .description('revoke an API key')
    .action(async (id: string) => {
      const { config, log } = preflight(true)
      const database = await openDatabase(config, log, { allowEmbedded: true })
      try {
        process.stdout.write(
          (await revokeApiKey(database.db, id)) ? `revoked ${id}\n` : `no active key ${id}\n`,
        )
      } finally {
        await database.close()
      }
    })

  program
    .command('build-dashboards')
    .argument('[outDir]', 'output directory', 'dashboards/dist')
    .description('bundle the dashboards (start and api do this by themselves)')
    .action(async (outDir: string) => {
      const r = await buildDashboards(outDir)
      process.stdout.write(`built ${r.files.length} files into ${r.outDir}\n`)
    })

  registerSimulatorCommands(program)
  return program
}

/** Runs the CLI; returns the exit code. Errors are one clear message, not a stack trace. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    if (err instanceof AppError) {
      process.stderr.write(`miglio: ${err.message}\n`)
      return 1
    }
    process.stderr.write(`miglio: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}
