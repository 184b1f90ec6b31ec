import type { MqttClient } from 'mqtt'
import type { Config } from '../shared/config.ts'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { AppError } from '../shared/errors.ts'
import { openDatabase } from '../shared/db/open-database.ts'
import { createMqttClient } from '../shared/mqtt/client.ts'
import { untilSignal } from '../shared/process/until-signal.ts'
import { findDistrictTimeZone } from '../shared/registry/district-repository.ts'
import { createIngestService } from './ingest-service.ts'
import type { IngestConfig } from './ingest-config.ts'
import { loadDeviceList } from './device-list.ts'
import { serveMetrics } from './metrics-server.ts'

/**
 * The time zone of the loaded district (its daily keys and local days); MIGLIO_TZ while the
 * database holds no district yet (logged: loading one later takes effect when ingest restarts).
 */
export async function districtTimeZoneOf(db: Db, config: Config, log: Logger): Promise<string> {
  const tz = await findDistrictTimeZone(db)
  if (tz) return tz
  log.warn(
    { tz: config.tz },
    'no district loaded yet: local days follow MIGLIO_TZ until ingest restarts with a district',
  )
  return config.tz
}

/**
 * The ingest service's config from the process config and the loaded district's time zone, with
 * the device list file loaded.
 */
export async function ingestConfigOf(config: Config, log: Logger, db: Db): Promise<IngestConfig> {
  const {
    gapMs,
    idleCloseMs,
    keyGraceMs,
    staticAfterMs,
    deviceListFile,
    microBatch,
    flood,
    commitLanes,
    checkpointMs,
  } = config.ingest
  if (config.mqtt.shareGroup)
    log.warn(
      { shareGroup: config.mqtt.shareGroup },
      "shared subscription: each gateway must stay with one replica (EMQX hash_topic). A round-robin broker (Mosquitto's $share) commits a gateway's batches out of order and splits passes when a replica falls behind; miglio_ingest_late_batches_total counts them (docs/scaling.md)",
    )
  return {
    tz: await districtTimeZoneOf(db, config, log),
    gapMs,
    idleCloseMs,
    keyGraceMs,
    staticAfterMs,
    microBatch,
    flood,
    commitLanes,
    checkpointMs,
    shareGroup: config.mqtt.shareGroup,
    topicPrefix: config.mqtt.topicPrefix,
    ...(deviceListFile ? { deviceList: await loadDeviceList(deviceListFile, log) } : {}),
  }
}

/**
 * Ingest's MQTT connection: a persistent session (`clean: false`) under MQTT_CLIENT_ID, created
 * unconnected — the service installs its message handler, then connects it (`start()`).
 */
export function createIngestMqttClient(
  config: Config,
  url: string,
  log: Logger,
  auth?: { username: string; password: string },
): MqttClient {
  return createMqttClient(url, log, {
    clientId: config.mqtt.clientId,
    clean: false,
    protocolVersion: config.mqtt.protocolVersion,
    ...(auth ? { auth } : {}),
  })
}

/**
 * `miglio ingest`: ingest alone against real servers (DATABASE_URL, MQTT_URL), its metrics on
 * INGEST_METRICS_PORT, until SIGINT/SIGTERM. Stops in order: metrics, intake (the message in hand
 * is finished), MQTT, database.
 */
export async function runIngest(config: Config, log: Logger): Promise<void> {
  if (!config.mqtt.url)
    throw new AppError(
      'config_invalid',
      'MQTT_URL is required for `miglio ingest` (the embedded broker runs only inside `miglio start`)',
    )
  const database = await openDatabase(config, log, { allowEmbedded: false })
  const client = createIngestMqttClient(config, config.mqtt.url, log)
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
}
