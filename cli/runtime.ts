import { setTimeout as sleep } from 'node:timers/promises'
import mqtt, { type MqttClient } from 'mqtt'
import { sql } from 'kysely'
import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import { createDb, type Db } from '../services/shared/db/create-db.ts'
import {
  startEmbeddedTimescale,
  type EmbeddedTimescale,
} from '../services/shared/db/embedded/embedded-timescale.ts'
import { AppError } from '../services/shared/errors.ts'
import type { IngestConfig } from '../services/ingest/ingest-service.ts'
import type { ApiOptionsInput } from '../services/api/config.ts'
import { loadDeviceList } from './device-list.ts'
import { findDistrictTimeZone } from '../services/shared/registry/district-repository.ts'

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

export type MqttOptions = {
  clientId: string
  clean: boolean
  protocolVersion: 4 | 5
  will?: mqtt.IClientOptions['will']
  /** Broker user (the embedded broker's own users); otherwise whatever the URL carries. */
  auth?: { username: string; password: string }
}

/**
 * An MQTT client that reconnects forever (backoff 1 s doubling to 30 s) and logs every state change.
 * It is created unconnected (`manualConnect`): ingest installs its message handler first, because a
 * persistent session delivers queued messages right after CONNACK. Call `client.connect()` or use
 * `connectMqtt`.
 */
export function createMqttClient(url: string, log: Logger, opts: MqttOptions): MqttClient {
  const client = mqtt.connect(url, {
    manualConnect: true,
    clientId: opts.clientId,
    clean: opts.clean,
    protocolVersion: opts.protocolVersion,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // A refused CONNACK (bad credentials, client id taken) is retried too: an operator fixes the
    // broker, the service comes back by itself; every refusal is logged.
    reconnectOnConnackError: true,
    ...(opts.protocolVersion === 5 && !opts.clean
      ? { properties: { sessionExpiryInterval: 24 * 3600 } }
      : {}),
    ...(opts.will ? { will: opts.will } : {}),
    ...(opts.auth ? { username: opts.auth.username, password: opts.auth.password } : {}),
  })
  const where = (() => {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}:${u.port}`
  })()
  let failures = 0
  client.on('connect', () => {
    failures = 0
    client.options.reconnectPeriod = 1000
    const stream = client.stream as { setNoDelay?: (v: boolean) => void }
    stream.setNoDelay?.(true)
    log.info({ broker: where, clientId: opts.clientId }, 'MQTT connected')
  })
  client.on('error', (err) => log.warn({ broker: where, err: err.message }, 'MQTT error'))
  client.on('offline', () => log.warn({ broker: where }, 'MQTT offline'))
  client.on('reconnect', () => {
    failures++
    client.options.reconnectPeriod = Math.min(30_000, 1000 * 2 ** Math.min(failures, 5))
    if (failures === 1 || failures % 10 === 0)
      log.info({ broker: where, attempt: failures }, 'MQTT reconnecting')
  })
  return client
}

/** Creates the client, connects and resolves on the first CONNACK (retrying meanwhile). */
export async function connectMqtt(
  url: string,
  log: Logger,
  opts: MqttOptions,
): Promise<MqttClient> {
  const client = createMqttClient(url, log, opts)
  const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()))
  client.connect()
  await connected
  return client
}

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
  const { gapMs, idleCloseMs, keyGraceMs, staticAfterMs, deviceListFile } = config.ingest
  return {
    tz: await districtTimeZoneOf(db, config, log),
    gapMs,
    idleCloseMs,
    keyGraceMs,
    staticAfterMs,
    shareGroup: config.mqtt.shareGroup,
    topicPrefix: config.mqtt.topicPrefix,
    ...(deviceListFile ? { deviceList: await loadDeviceList(deviceListFile, log) } : {}),
  }
}

/**
 * The API's options from the process config. The API reads the district's time zone itself (it
 * serves before the database answers); `tz` (MIGLIO_TZ) is only its zone while none is loaded.
 */
export function apiOptionsOf(config: Config): ApiOptionsInput {
  return { tz: config.tz, ...config.api }
}
