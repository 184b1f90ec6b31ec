import type { FastifyInstance } from 'fastify'
import type { MqttClient } from 'mqtt'
import type { Registry } from 'prom-client'
import type { Config } from '../shared/config.ts'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { openDatabase } from '../shared/db/open-database.ts'
import { publishFlowsK } from '../shared/db/settings.ts'
import { createMqttClient } from '../shared/mqtt/client.ts'
import { untilSignal } from '../shared/process/until-signal.ts'
// The one import of the dashboards: the API process bundles the pages it serves.
import { buildDashboards } from '../../dashboards/build.ts'
import { buildApp } from './app.ts'
import type { ApiOptionsInput } from './config.ts'
import type { HealthChecks } from './routes/health/index.ts'
import { onTransitsChanged } from './lib/transits-changed.ts'
import { createDurablePublisher } from './lib/mqtt-publisher.ts'

/** How long the Meraki receiver waits for the broker's PUBACK before it answers 503. */
const MERAKI_ACK_TIMEOUT_MS = 3000

/**
 * The API's options from the process config. The API reads the district's time zone itself (it
 * serves before the database answers); `tz` (MIGLIO_TZ) is only its zone while none is loaded.
 */
export function apiOptionsOf(config: Config): ApiOptionsInput {
  return { tz: config.tz, ...config.api, ...(config.meraki ? { meraki: config.meraki } : {}) }
}

/**
 * The API's own MQTT connection (a clean session: ingest's treats every message as gateway
 * traffic), on which the live feed hears ingest's announcements. Created unconnected.
 */
export function createApiMqttClient(
  config: Config,
  url: string,
  log: Logger,
  auth?: { username: string; password: string },
): MqttClient {
  return createMqttClient(url, log, {
    clientId: `miglio-api-${process.pid}`,
    clean: true,
    protocolVersion: config.mqtt.protocolVersion,
    ...(auth ? { auth } : {}),
  })
}

/**
 * The API and dashboard of a process, not yet listening: options from the config, the live feed
 * pushed by ingest's announcements when there is a broker connection (`mqtt`).
 */
export function buildApiApp(deps: {
  config: Config
  db: Db
  /** A read replica's pool for analytics reads (DATABASE_READ_URL); absent: `db`. */
  readDb?: Db
  log: Logger
  mqtt: MqttClient | null
  checks: HealthChecks
  dashboardsDir: string
  starting?: () => string | null
  metricsRegistries?: Registry[]
}): Promise<FastifyInstance> {
  const { config, mqtt, log } = deps
  return buildApp({
    db: deps.db,
    ...(deps.readDb ? { readDb: deps.readDb } : {}),
    log,
    dashboardsDir: deps.dashboardsDir,
    ...(mqtt ? { onTransitsChanged: onTransitsChanged(mqtt, config.mqtt.topicPrefix, log) } : {}),
    // The Meraki receiver publishes on the same connection (its posts for ingest).
    ...(mqtt && config.meraki
      ? { publisher: createDurablePublisher(mqtt, { ackTimeoutMs: MERAKI_ACK_TIMEOUT_MS }) }
      : {}),
    topicPrefix: config.mqtt.topicPrefix,
    // Alerts on the broker (ALERTS_MQTT): QoS 1 on the same connection, best effort.
    ...(mqtt && config.api.alerts.mqtt
      ? {
          alertPublish: async (topic: string, payload: Buffer) => {
            await mqtt.publishAsync(topic, payload, { qos: 1 })
          },
        }
      : {}),
    checks: deps.checks,
    ...(deps.starting ? { starting: deps.starting } : {}),
    ...(deps.metricsRegistries ? { metricsRegistries: deps.metricsRegistries } : {}),
    options: apiOptionsOf(config),
  })
}

/**
 * `miglio api`: the API and dashboard alone against a real database (DATABASE_URL), until
 * SIGINT/SIGTERM. It serves at once: an unreachable database or broker (MQTT_URL, optional) is
 * retried in the background and reported by /api/v1/health (503) until it answers.
 */
export async function runApi(config: Config, log: Logger): Promise<void> {
  const database = await openDatabase(config, log, {
    allowEmbedded: false,
    waitUntilReachable: false,
  })
  // The SQL views suppress the cells the API suppresses: they read the k published here.
  database.reachable
    .then(() => publishFlowsK(database.db, config.api.flowsK))
    .catch((err: unknown) => log.warn({ err: String(err) }, 'could not publish API_FLOWS_K'))
  const client = config.mqtt.url ? createApiMqttClient(config, config.mqtt.url, log) : null
  if (config.meraki && !client)
    log.warn('MERAKI_VALIDATOR and MERAKI_SECRET are set but MQTT_URL is not: Meraki posts get 503')
  client?.connect()
  const dashboardsDir = `${config.db.dataDir}/dashboards`
  await buildDashboards(dashboardsDir)
  const app = await buildApiApp({
    config,
    db: database.db,
    readDb: database.readDb,
    log,
    mqtt: client,
    dashboardsDir,
    checks: {
      broker: () => (client ? { up: client.connected } : { up: false, error: 'MQTT_URL not set' }),
    },
  })
  await app.listen({ host: config.http.host, port: config.http.port })
  await untilSignal(log, async () => {
    await app.close()
    await client?.endAsync(true)
    await database.close()
  })
}
