import type { MqttClient } from 'mqtt'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { redactMacs } from '../shared/contracts/mac.ts'
import { createTransitsAnnouncer } from './transits-changed.ts'
import { createPseudonymiser } from './pseudonymiser.ts'
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import { createDbKeyStore } from './ingest-repository.ts'
import { createOrderedAcks } from './ordered-acks.ts'
import { createRetry } from './retry.ts'
import { createRegistryView } from './registry-view.ts'
import { createMaintenance } from './maintenance.ts'
import { createTimers } from './timers.ts'
import { systemClock, withDefaults, type Clock, type IngestConfig } from './ingest-config.ts'
import { createCommitter } from './committer/committer.ts'
import { createSessionCache } from './committer/session-cache.ts'
import { createDeadLetters } from './intake/dead-letter.ts'
import { createNativeIntake, createPseudonymise } from './intake/native-intake.ts'
import { createFloodControl } from './intake/flood-control.ts'
import { createForeignIntake } from './intake/foreign-intake.ts'
import { createIngestSubscriptions } from './intake/subscriptions.ts'
import { createMessageHandler } from './intake/message-handler.ts'

export type IngestService = {
  start(): Promise<void>
  /** Stops intake, finishes the message in hand, stops timers. The caller then closes MQTT and DB. */
  stop(): Promise<void>
  /** Closes sessions of silent gateways and destroys expired keys now (also runs on a timer). */
  runMaintenance(): Promise<void>
  metrics: IngestMetrics
}

/**
 * The ingest service, wired: MQTT in → the message handler (intake/message-handler.ts) → an
 * intake per message kind (native v1, or a gateway format: decoded, checked against the registry
 * and flood control, pseudonymised at once) → the committer (groups in one transaction, PUBACK in
 * arrival order once durable) → TimescaleDB; maintenance (idle close, static devices, keys) on a
 * timer. Settings and defaults: ingest-config.ts. The walk of one sighting: docs/architecture.md.
 */
export function createIngestService(deps: {
  config: IngestConfig
  db: Db
  /** Created with `manualConnect: true`; start() installs the handler, then connects. */
  mqtt: MqttClient
  log: Logger
  clock?: Clock
  metrics?: IngestMetrics
}): IngestService {
  const { db, mqtt, log } = deps
  const config = withDefaults(deps.config)
  const { topicPrefix, shareGroup } = config
  const now = () => (deps.clock ?? systemClock).now()
  const metrics = deps.metrics ?? createIngestMetrics()
  let running = false
  let lastMessageAt = 0
  const timers = createTimers(log)
  const withRetry = createRetry({ log, metrics, running: () => running })

  // What every intake shares: the registry, flood control, dead letters, pseudonymisation.
  const registry = createRegistryView({
    db,
    withRetry,
    now,
    // The format subscriptions follow the formats the district uses.
    onChange: () => {
      if (running) subscriptions.resync()
    },
  })
  const flood = createFloodControl(config.flood)
  const { deadLetter, flush } = createDeadLetters({ log, now })
  const store = createDbKeyStore(db)
  const pseudonymiser = createPseudonymiser({ store, tz: config.tz, graceMs: config.keyGraceMs })
  const deviceList = config.deviceList
  const pseudonymise = createPseudonymise({ pseudonymiser, withRetry, deviceList })

  // The committer: lanes of queued work, each group in one transaction, then the PUBACKs.
  // One announcer per process: its instance id and sequence number number every announcement.
  const { announce } = createTransitsAnnouncer(mqtt, topicPrefix)
  const rules = { gapMs: config.gapMs, staticAfterMs: config.staticAfterMs }
  const sessions = createSessionCache({ checkpointMs: config.checkpointMs, rules })
  const committer = createCommitter({
    db,
    sessions,
    now,
    deadLetter,
    log,
    metrics,
    withRetry,
    announce,
    rebuilt: (n) => metrics.sessionRebuilds.inc(n),
    running: () => running,
    lanes: config.commitLanes,
  })

  // An intake per message kind, and the handler that routes each MQTT message to one.
  const native = createNativeIntake({ topicPrefix, now, registry, flood, pseudonymise, deadLetter })
  const foreign = createForeignIntake({
    tz: config.tz,
    log,
    microBatch: config.microBatch,
    flood,
    pseudonymise,
    deadLetter,
    sources: () => registry.sources(),
    reloadRegistry: () => registry.reload(),
    enqueue: (w) => committer.enqueue(w),
    countDropped: (reason, n) => metrics.filtered.inc({ reason }, n),
  })
  const subscriptions = createIngestSubscriptions({
    mqtt,
    log,
    shareGroup,
    topicPrefix,
    formatFilters: () => registry.sources().filters(),
  })
  const handler = createMessageHandler({
    topicPrefix,
    now,
    native,
    foreign,
    deadLetter,
    committer,
    metrics,
    log,
    running: () => running,
    arrived: (atMs) => (lastMessageAt = atMs),
    acks: createOrderedAcks(mqtt),
  })

  // Maintenance: silent gateways' sessions closed, static devices forgotten, expired keys destroyed.
  const maintenance = createMaintenance({
    db,
    log,
    metrics,
    now,
    registry,
    pseudonymiser,
    sessions,
    announce,
    idleCloseMs: config.idleCloseMs,
    // Live: nothing queued, held or committing, and the newest batch taken was sent less than the
    // idle time before it arrived (or nothing has arrived for the idle time) — not a backlog.
    live: (nowMs) =>
      committer.idle() &&
      foreign.batcher.held() === 0 &&
      (nowMs - lastMessageAt >= config.idleCloseMs || native.latenessMs() < config.idleCloseMs),
    flushLog: flush,
  })

  return {
    metrics,
    runMaintenance: () => maintenance.run(),
    async start() {
      await registry.load()
      // A restart is not silence: give queued messages the idle time to arrive.
      lastMessageAt = now()
      if (registry.size() === 0)
        log.warn(
          'no gateways registered: every message will be rejected until a district is loaded',
        )
      running = true
      mqtt.handleMessage = handler.handle
      // The handler is in place before CONNACK: a persistent session delivers its queue at once.
      if (!mqtt.connected) {
        const connected = new Promise<void>((resolve) => mqtt.once('connect', () => resolve()))
        if (!mqtt.reconnecting) mqtt.connect()
        await connected
      }
      await subscriptions.subscribe()
      timers.every(config.registryRefreshMs, 'registry refresh', () => registry.refresh())
      timers.every(config.maintenanceIntervalMs, 'maintenance', () => maintenance.run())
      const subscribed = subscriptions.current().map((f) => redactMacs(f))
      log.info({ subscriptions: subscribed, gateways: registry.size() }, 'ingest started')
    },
    async stop() {
      // No unsubscribe: the persistent session keeps our subscriptions, so the broker queues what
      // arrives while we are down. The group being committed is finished (or left unacknowledged);
      // what is still queued is left unacknowledged and redelivered to our next session.
      running = false
      timers.clear()
      // Held micro-batches are left unacknowledged: the broker redelivers them to our next session.
      foreign.batcher.stop()
      await committer.stop()
      await handler.settled()
      await committer.stop()
      // The next owner of these gateways starts from a checkpoint instead of replaying the log.
      try {
        const n = await maintenance.checkpointHeld()
        if (n) log.info({ gateways: n }, 'checkpointed open sessions at stop')
      } catch (err) {
        log.warn(
          { err: redactMacs(String(err)) },
          'open sessions not checkpointed at stop; the next owner replays the session log',
        )
      }
    },
  }
}
