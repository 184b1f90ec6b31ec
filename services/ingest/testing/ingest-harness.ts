import mqtt, { type MqttClient } from 'mqtt'
import type { Db } from '../../shared/db/create-db.ts'
import type { Logger } from '../../shared/logger.ts'
import { counterValue } from '../../shared/testing/helpers.ts'
import type { Clock, IngestConfig } from '../ingest-config.ts'
import { createIngestService, type IngestService } from '../ingest-service.ts'
import { durableSessions } from '../committer/session-cache.ts'
import type { Session } from '../sessionise.ts'

/**
 * The ingest settings the integration tests share: 2 min gap, sessions of a silent gateway closed
 * only after an hour and maintenance hourly (so neither fires on its own during a test), 2 h key
 * grace. Spread it and override what a test needs.
 */
export const TEST_INGEST_CONFIG = {
  tz: 'Europe/Rome',
  gapMs: 120_000,
  idleCloseMs: 3_600_000,
  keyGraceMs: 7_200_000,
  maintenanceIntervalMs: 3_600_000,
} as const satisfies IngestConfig

export type TestIngest = {
  service: IngestService
  client: MqttClient
  /** Stops the service (it finishes the message in hand), then closes its MQTT client. */
  stop(): Promise<void>
}

/**
 * Creates and starts an ingest service on an MQTT client of its own. The client has a persistent
 * session (`clean: false`), so messages published while the service is down are queued at the
 * broker for the same `clientId`, and is created with `manualConnect`: `start()` installs the
 * message handler before it connects, so no queued message arrives unhandled.
 */
export async function startTestIngest(opts: {
  brokerUrl: string
  db: Db
  clientId: string
  config: IngestConfig
  log: Logger
  clock?: Clock
  /** 4 (MQTT 3.1.1) unless given; shared subscriptions need 5. */
  protocolVersion?: 4 | 5
  /** MQTT v5 session expiry; without it the client sends none. */
  sessionExpiryS?: number
  /** The client's reconnect delay; mqtt.js's default (1 s) unless given. */
  reconnectPeriodMs?: number
}): Promise<TestIngest> {
  const client = mqtt.connect(opts.brokerUrl, {
    clientId: opts.clientId,
    clean: false,
    protocolVersion: opts.protocolVersion ?? 4,
    manualConnect: true,
    ...(opts.reconnectPeriodMs !== undefined ? { reconnectPeriod: opts.reconnectPeriodMs } : {}),
    ...(opts.sessionExpiryS !== undefined
      ? { properties: { sessionExpiryInterval: opts.sessionExpiryS } }
      : {}),
  })
  const service = createIngestService({
    config: opts.config,
    db: opts.db,
    mqtt: client,
    log: opts.log,
    ...(opts.clock ? { clock: opts.clock } : {}),
  })
  try {
    await service.start()
  } catch (err) {
    await client.endAsync(true)
    throw err
  }
  return {
    service,
    client,
    async stop() {
      await service.stop()
      await client.endAsync(true)
    },
  }
}

/** Sightings batches the service has accepted (duplicates and rejects not counted). */
export function acceptedBatches(service: Pick<IngestService, 'metrics'>): Promise<number> {
  return counterValue(service.metrics.messages, { kind: 'sightings', outcome: 'accepted' })
}

/**
 * Whether every session is closed: none held in the services' memory (the open-sessions gauge, set
 * after each commit and each maintenance run) and none checkpointed in `open_transits`. The table
 * alone says nothing between checkpoints: open sessions live in memory and are written there only
 * every INGEST_CHECKPOINT_MS, so an empty table right after the last batch meant nothing yet.
 */
export async function allSessionsClosed(
  db: Db,
  services: readonly Pick<IngestService, 'metrics'>[],
): Promise<boolean> {
  for (const s of services)
    if (((await s.metrics.openSessions.get()).values[0]?.value ?? 0) > 0) return false
  return (await db.selectFrom('open_transits').select('pseudonym').limit(1).execute()).length === 0
}

/**
 * A gateway's open sessions as the database holds them (checkpoint + session log replayed) under
 * TEST_INGEST_CONFIG's rules: what survives a crash, whatever the ingest holds in memory.
 */
export async function durableOpenSessions(db: Db, gatewayId: string): Promise<Session[]> {
  const sessions = await durableSessions(db, [gatewayId], {
    gapMs: TEST_INGEST_CONFIG.gapMs,
    staticAfterMs: 4 * 3_600_000,
  })
  return sessions.get(gatewayId) ?? []
}
