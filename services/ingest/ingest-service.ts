import type { MqttClient } from 'mqtt'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { redactMacs } from '../shared/contracts/mac.ts'
import {
  ingestSubscriptions,
  merakiInternalSubscription,
  withoutTopicPrefix,
} from '../shared/contracts/topics.ts'
import { createTransitsAnnouncer } from './transits-changed.ts'
import { createPseudonymiser } from './pseudonymiser.ts'
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import { createDbKeyStore } from './ingest-repository.ts'
import type { DeviceList } from './model.ts'
import { createOrderedAcks, DEFERRED_ACK } from './ordered-acks.ts'
import { createRetry } from './retry.ts'
import { createRegistryView } from './registry-view.ts'
import { createMaintenance } from './maintenance.ts'
import { createCommitter } from './committer/committer.ts'
import { createSessionCache } from './committer/session-cache.ts'
import { createDeadLetters } from './intake/dead-letter.ts'
import { createNativeIntake, createPseudonymise } from './intake/native-intake.ts'
import { createFloodControl, type FloodLimits } from './intake/flood-control.ts'
import { subscriptionFilters } from './intake/foreign-sources.ts'
import { createForeignIntake, type MicroBatchConfig } from './intake/foreign-intake.ts'
import { createFormatSubscriptions } from './intake/subscriptions.ts'
import type { Work } from './intake/work.ts'

export type { DeviceList } from './model.ts'

export type IngestConfig = {
  tz: string
  gapMs: number
  /** A gateway silent (wall clock) this long has its open sessions closed. */
  idleCloseMs: number
  keyGraceMs: number
  /** `$share/<group>/…` subscriptions (MQTT v5, real broker) when set. */
  shareGroup?: string | undefined
  /** Topics live under `<prefix>/miglio/v1/gw/…` when set (MQTT_TOPIC_PREFIX). */
  topicPrefix?: string | undefined
  /** A device heard without a break this long at one gateway is static (0: rule off). Default 4 h. */
  staticAfterMs?: number
  deviceList?: DeviceList
  registryRefreshMs?: number
  maintenanceIntervalMs?: number
  /** Micro-batching of one-message-per-device formats (intake/micro-batcher.ts). */
  microBatch?: Partial<MicroBatchConfig>
  /** Messages and sightings per second per gateway (intake/flood-control.ts); off when absent. */
  flood?: FloodLimits
  /** Transactions committing at once, each for a fixed share of the gateways (default 4). */
  commitLanes?: number
  /**
   * How often a gateway's open sessions held in memory are written to open_transits as a
   * checkpoint (with a commit of its batches; default 10 s). 0: with every commit.
   */
  checkpointMs?: number
}

/** Micro-batching defaults: 1 s, 500 sightings of a gateway, 64 held messages in all. */
export const DEFAULT_MICRO_BATCH: MicroBatchConfig = {
  windowMs: 1_000,
  maxSightings: 500,
  maxHeldMessages: 64,
}

/** Checkpoints of open sessions (INGEST_CHECKPOINT_MS): bounds a rebuild's replay and open_transits' age. */
export const DEFAULT_CHECKPOINT_MS = 10_000

/** Commit lanes (INGEST_COMMIT_LANES): measured 8.8 k → 11.4 k sightings/s from 1 to 4 (docs/scaling.md). */
export const DEFAULT_COMMIT_LANES = 4

export type Clock = { now(): number }
export const systemClock: Clock = { now: () => Date.now() }

export type IngestService = {
  start(): Promise<void>
  /** Stops intake, finishes the message in hand, stops timers. The caller then closes MQTT and DB. */
  stop(): Promise<void>
  /** Closes sessions of silent gateways and destroys expired keys now (also runs on a timer). */
  runMaintenance(): Promise<void>
  metrics: IngestMetrics
}

/**
 * The ingest service, wired: MQTT in → intake (native v1, or a gateway format: decoded, checked
 * against the registry and flood control, pseudonymised at once) → the committer (groups in one
 * transaction, PUBACK in arrival order after it is durable) → TimescaleDB; maintenance on a timer.
 * The walk of one sighting is in docs/architecture.md.
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
  const { config, db, mqtt, log } = deps
  const now = () => (deps.clock ?? systemClock).now()
  const metrics = deps.metrics ?? createIngestMetrics()
  let running = false
  let lastMessageAt = 0
  let intake: Promise<void> = Promise.resolve()
  const timers: NodeJS.Timeout[] = []
  const withRetry = createRetry({ log, metrics, running: () => running })
  const pseudonymiser = createPseudonymiser({
    store: createDbKeyStore(db),
    tz: config.tz,
    graceMs: config.keyGraceMs,
  })
  const acks = createOrderedAcks(mqtt)
  const formatSubscriptions = createFormatSubscriptions(mqtt, log)
  const formatFilters = () =>
    subscriptionFilters(registry.sources().filters(), config.topicPrefix, config.shareGroup)
  const registry = createRegistryView({
    db,
    withRetry,
    now,
    onChange: () => {
      if (!running) return
      formatSubscriptions
        .sync(formatFilters())
        .catch((err: unknown) =>
          log.warn(
            { err: redactMacs(String(err)) },
            'gateway format subscriptions failed; will retry',
          ),
        )
    },
  })
  const flood = createFloodControl(config.flood ?? { messagesPerS: 0, sightingsPerS: 0 })
  const { deadLetter, flush } = createDeadLetters({ log, now })
  // One announcer per process: its instance id and sequence number number every announcement.
  const { announce } = createTransitsAnnouncer(mqtt, config.topicPrefix)
  const sessions = createSessionCache({
    checkpointMs: config.checkpointMs ?? DEFAULT_CHECKPOINT_MS,
    rules: { gapMs: config.gapMs, staticAfterMs: config.staticAfterMs ?? 4 * 3_600_000 },
  })
  const committer = createCommitter({
    db,
    sessions,
    rebuilt: (n) => metrics.sessionRebuilds.inc(n),
    now,
    deadLetter,
    log,
    metrics,
    withRetry,
    running: () => running,
    announce,
    lanes: config.commitLanes ?? DEFAULT_COMMIT_LANES,
  })
  const pseudonymise = createPseudonymise({
    pseudonymiser,
    withRetry,
    deviceList: config.deviceList,
  })
  const native = createNativeIntake({
    topicPrefix: config.topicPrefix,
    now,
    registry,
    flood,
    pseudonymise,
    deadLetter,
  })
  const foreign = createForeignIntake({
    tz: config.tz,
    log,
    microBatch: { ...DEFAULT_MICRO_BATCH, ...config.microBatch },
    flood,
    sources: () => registry.sources(),
    reloadRegistry: () => registry.reload(),
    pseudonymise,
    deadLetter,
    enqueue: (w) => committer.enqueue(w),
    countDropped: (reason, n) => metrics.filtered.inc({ reason }, n),
  })
  const maintenance = createMaintenance({
    db,
    log,
    metrics,
    now,
    registry,
    pseudonymiser,
    sessions,
    idleCloseMs: config.idleCloseMs,
    // Live: nothing queued, held or committing, and the newest batch taken was sent less than the
    // idle time before it arrived (or nothing has arrived for the idle time) — not a backlog.
    live: (nowMs) =>
      committer.idle() &&
      foreign.batcher.held() === 0 &&
      (nowMs - lastMessageAt >= config.idleCloseMs || native.latenessMs() < config.idleCloseMs),
    announce,
    flushLog: flush,
  })

  /** One MQTT message: taken in by its format's intake, queued; PUBACK once it is committed. */
  const handleMessage: MqttClient['handleMessage'] = (packet, done) => {
    if (!running) return // left unacknowledged: the broker redelivers it to the next session
    // The arrival time, stamped before any queue: the time of formats that carry none.
    const receivedAtMs = now()
    lastMessageAt = receivedAtMs
    // A redelivery (DUP, or a resent packet id at the start of a new connection: not every broker
    // sets DUP) of a gateway format's message is checked against the committed digests.
    const dup = acks.mayBeRedelivery(packet) || packet.dup === true
    const tracked = acks.track(packet)
    let acknowledged = false
    const ack = () => {
      if (acknowledged) return
      acknowledged = true
      tracked()
      metrics.inFlight.dec()
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    metrics.inFlight.inc()
    metrics.received.inc()
    const topic = withoutTopicPrefix(config.topicPrefix, packet.topic) ?? ''
    const route = foreign.route(topic)
    const taking: Promise<Work[]> =
      route && route.format !== 'native'
        ? foreign.take({ topic, rawTopic: packet.topic, payload, dup, receivedAtMs, ack })
        : native
            .take(packet.topic, payload)
            .then((t) => [{ ...t, topic: packet.topic, payload, ack }])
    intake = taking
      .catch((err: unknown): Work[] => {
        // The daily key could not be read or made (not a connection problem: those are retried
        // without end): keep the message as a dead letter rather than stall intake.
        log.error(
          { err: redactMacs(String(err)), topic: redactMacs(packet.topic) },
          'message could not be taken in',
        )
        const letter = deadLetter(packet.topic, payload, 'write_failed', String(err), null)
        return [{ ...letter, topic: packet.topic, payload, ack }]
      })
      .then(async (works) => {
        // Stopping: not acknowledged, so the broker redelivers it to our next session.
        if (!running) return
        for (const w of works) committer.enqueue(w)
        await committer.room()
        if (running) done(DEFERRED_ACK)
      })
  }

  function every(ms: number, what: string, fn: () => Promise<unknown>) {
    let busy = false
    const t = setInterval(() => {
      if (busy) return
      busy = true
      fn()
        .catch((err: unknown) =>
          log.warn({ err: redactMacs(String(err)) }, `${what} failed; will retry`),
        )
        .finally(() => {
          busy = false
        })
    }, ms)
    t.unref()
    timers.push(t)
  }

  const subscriptions = () => [
    ...ingestSubscriptions(config.shareGroup, config.topicPrefix),
    merakiInternalSubscription(config.shareGroup, config.topicPrefix),
  ]

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
      mqtt.handleMessage = handleMessage
      // The handler is in place before CONNACK: a persistent session delivers its queue at once.
      if (!mqtt.connected) {
        const connected = new Promise<void>((resolve) => mqtt.once('connect', () => resolve()))
        if (!mqtt.reconnecting) mqtt.connect()
        await connected
      }
      await mqtt.subscribeAsync(subscriptions(), { qos: 1 })
      await formatSubscriptions.sync(formatFilters())
      every(config.registryRefreshMs ?? 30_000, 'registry refresh', () => registry.refresh())
      every(config.maintenanceIntervalMs ?? 5_000, 'maintenance', () => maintenance.run())
      log.info(
        {
          subscriptions: [...subscriptions(), ...formatSubscriptions.current()].map((f) =>
            redactMacs(f),
          ),
          gateways: registry.size(),
        },
        'ingest started',
      )
    },
    async stop() {
      // No unsubscribe: the persistent session keeps our subscriptions, so the broker queues what
      // arrives while we are down. The group being committed is finished (or left unacknowledged);
      // what is still queued is left unacknowledged and redelivered to our next session.
      running = false
      for (const t of timers) clearInterval(t)
      // Held micro-batches are left unacknowledged: the broker redelivers them to our next session.
      foreign.batcher.stop()
      await committer.stop()
      await intake.catch(() => undefined)
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
