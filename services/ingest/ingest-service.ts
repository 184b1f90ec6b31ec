import type { MqttClient } from 'mqtt'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { redactMacs } from '../shared/contracts/mac.ts'
import { isTransientDatabaseError } from '../shared/db/database-errors.ts'
import { createLogSampler } from '../shared/log-sampler.ts'
import {
  ingestSubscriptions,
  merakiInternalSubscription,
  withoutTopicPrefix,
} from '../shared/contracts/topics.ts'
import { announceTransitsChanged } from './transits-changed.ts'
import {
  decodeMessage,
  type DecodedBatch,
  type DecodedSighting,
  type RejectReason,
} from './decode-message.ts'
import { createPseudonymiser, type Pseudonymiser } from './pseudonymiser.ts'
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import { batchDigest } from './batch-digest.ts'
import { renderPayload } from './render-payload.ts'
import {
  createDbKeyStore,
  deleteOpenSessions,
  forgetStaticDevices,
  insertDeadLetters,
  insertStaticDevices,
  insertTransits,
  listSilentGatewaysWithOpenSessions,
  loadChainCandidates,
  loadGatewayProgress,
  loadGatewayRegistry,
  loadOpenSessions,
  loadStaticDevices,
  lockGateways,
  recordBatches,
  saveGatewayProgress,
  takeSessionsEndedBeforeCutoffs,
  upsertGatewayStatuses,
  upsertOpenSessions,
  type GatewayTransit,
  type RegisteredGateway,
  type StoredTransits,
} from './ingest-repository.ts'
import {
  devicesOf,
  earliestProbeOf,
  fingerprintsOf,
  gatewaysOf,
  planGroup,
  transitOf,
  type BatchOutcome,
  type BatchWork,
} from './plan-group.ts'
import { createOrderedAcks, DEFERRED_ACK } from './ordered-acks.ts'
import { filterAndPseudonymise } from './intake/pseudonymise-sightings.ts'
import { createFloodControl, floodDetail, type FloodLimits } from './intake/flood-control.ts'
import {
  indexForeignSources,
  subscriptionFilters,
  type ForeignSources,
} from './intake/foreign-sources.ts'
import { createForeignIntake, type MicroBatchConfig } from './intake/foreign-intake.ts'
import { createFormatSubscriptions } from './intake/subscriptions.ts'
import { commitForeign } from './intake/commit-foreign.ts'
import { touchGateways } from './intake/foreign-repository.ts'
import { countForeign, type Taken, type Work } from './intake/work.ts'

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
  /** Normalised MACs: `deny` are dropped before pseudonymisation, `allow` are never learned as static. */
  deviceList?: DeviceList
  registryRefreshMs?: number
  maintenanceIntervalMs?: number
  /** Micro-batching of one-message-per-device formats (intake/micro-batcher.ts). */
  microBatch?: Partial<MicroBatchConfig>
  /** Messages and sightings per second per gateway (intake/flood-control.ts); off when absent. */
  flood?: FloodLimits
}

/** Micro-batching defaults: 1 s, 500 sightings of a gateway, 64 held messages in all. */
export const DEFAULT_MICRO_BATCH: MicroBatchConfig = {
  windowMs: 1_000,
  maxSightings: 500,
  maxHeldMessages: 64,
}

export type DeviceList = { deny: ReadonlySet<string>; allow: ReadonlySet<string> }

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

/** Messages committed in one transaction at most; more wait for the next one. */
const MAX_GROUP_MESSAGES = 250
/** Sightings committed in one transaction at most (a group closes early when it reaches this). */
const MAX_GROUP_SIGHTINGS = 20_000
/** Messages taken from MQTT and not yet committed at most; beyond it MQTT.js stops reading. */
const MAX_QUEUED_MESSAGES = 500

type Outcome =
  | { kind: 'batch'; fresh: boolean; outcome: BatchOutcome | null }
  | { kind: 'foreign'; fresh: boolean[]; outcome: BatchOutcome | null }
  | { kind: 'conflict' }
  | { kind: 'status' }
  | { kind: 'dead' }
  | { kind: 'dropped' }
  | { kind: 'failed' }

/**
 * The ingest service: MQTT in, transits out. Messages are taken in order (decoded, checked against
 * the registry, pseudonymised, filtered) and queued; a committer writes everything queued — batch
 * records, session updates, closed transits, gateway state, statuses, dead letters — in one
 * transaction, then acknowledges those messages (PUBACK, in arrival order). Under load a transaction
 * carries up to 250 messages; idle, a message is committed alone at once. Nothing is acknowledged
 * before it is durable, so a crash loses nothing: the broker redelivers, and a redelivered batch is
 * recognised by (gateway, boot, seq). A database outage fills the queue, then holds intake
 * (backpressure) while the broker keeps the rest in our persistent session.
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
  const clock = deps.clock ?? systemClock
  const metrics = deps.metrics ?? createIngestMetrics()
  const staticAfterMs = config.staticAfterMs ?? 4 * 3_600_000
  const pseudonymiser: Pseudonymiser = createPseudonymiser({
    store: createDbKeyStore(db),
    tz: config.tz,
    graceMs: config.keyGraceMs,
  })
  const acks = createOrderedAcks(mqtt)
  let registry = new Map<string, RegisteredGateway>()
  let sources: ForeignSources = indexForeignSources(registry)
  let registryLoadedAt = 0
  const formatSubscriptions = createFormatSubscriptions(mqtt, log)
  const flood = createFloodControl(config.flood ?? { messagesPerS: 0, sightingsPerS: 0 })
  let lastMessageAt = 0
  let lastLatenessMs = 0
  let running = false
  let intake: Promise<void> = Promise.resolve()
  let committing: Promise<void> | null = null
  const queue: Work[] = []
  let roomWaiters: (() => void)[] = []
  const timers: NodeJS.Timeout[] = []

  /**
   * Runs `fn` until it succeeds. While the database cannot be reached — refused, shutting down,
   * starting up again (57P03), connection lost — or a transaction loses a race (class 40), it
   * retries without end, every 5 s at most: those failures never count against the limit, so an
   * outage of any length ends with the write done. A statement that fails for another reason is
   * tried three times in all, then thrown. While stopping, it gives up after three attempts (the
   * messages stay unacknowledged and are redelivered).
   */
  async function withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let attempt = 0
    let failures = 0
    for (;;) {
      try {
        return await fn()
      } catch (err) {
        attempt++
        const transient = isTransientDatabaseError(err)
        if (!transient && ++failures >= 3) throw err
        if (!running && attempt >= 3) throw err
        metrics.dbRetries.inc()
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))
        log.warn(
          { what, attempt, transient, delayMs: delay, err: redactMacs(String(err)) },
          'database write failed; retrying',
        )
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  // One warn line per reason and 10 s: a gateway sending thousands of bad messages must not drown
  // the log (every rejection is still counted in miglio_ingest_rejects_total and dead-lettered).
  const rejectLog = createLogSampler(log, { intervalMs: 10_000, now: () => clock.now() })

  /**
   * A rejected message as a dead letter: every text redacted before it is stored or logged, and
   * the payload stored as a redacted rendering (render-payload.ts), never as the bytes that came.
   */
  function deadLetter(
    topic: string,
    payload: Buffer,
    reason: RejectReason,
    detail: string,
    gatewayId: string | null,
    /** The payload as an operator may see it, when it is not the bytes (a Meraki post's secret). */
    shown: Buffer = payload,
  ): Extract<Taken, { kind: 'dead' }> {
    // Postgres text cannot hold NUL characters.
    const storable = (text: string) => redactMacs(text).replaceAll('\u0000', '\ufffd')
    rejectLog.warn(
      reason,
      { topic: storable(topic), reason, detail: storable(detail) },
      'message rejected',
    )
    return {
      kind: 'dead',
      reason,
      letter: {
        topic: storable(topic),
        // A gateway id may look like a MAC (some firmwares name gateways after their own address).
        gatewayId: gatewayId === null ? null : storable(gatewayId),
        reason,
        detail: storable(detail),
        payloadBytes: payload.length,
        payloadRedacted: renderPayload(shown),
      },
    }
  }

  async function takeSightings(
    topic: string,
    payload: Buffer,
    batch: DecodedBatch,
    gateway: RegisteredGateway,
  ): Promise<Taken> {
    const nowMs = clock.now()
    const gone = await withRetry('daily key', () =>
      pseudonymiser.prepare(
        batch.sightings.map((s) => s.tMs),
        nowMs,
      ),
    )
    if (gone.size > 0) {
      return deadLetter(
        topic,
        payload,
        'key_expired',
        `the pseudonymisation key of ${[...gone].join(', ')} is destroyed`,
        batch.gatewayId,
      )
    }
    const { sightings, exempt, belowFloor, denied, pseudonyms } = filterAndPseudonymise(
      pseudonymiser,
      batch.sightings,
      gateway,
      config.deviceList,
    )
    const receivedAtMs = clock.now()
    lastLatenessMs = Math.max(0, receivedAtMs - batch.sentAtMs)
    return {
      kind: 'batch',
      total: batch.sightings.length,
      belowFloor,
      denied,
      digest: batchDigest({
        sentAtMs: batch.sentAtMs,
        sightings: batch.sightings.map((s, i) => ({ ...s, pseudonym: pseudonyms[i] ?? null })),
      }),
      work: {
        gateway,
        bootId: batch.bootId,
        seq: batch.seq,
        sentAtMs: batch.sentAtMs,
        clockSkewMs: batch.clockSkewMs,
        receivedAtMs,
        sightings,
        sightingsCount: batch.sightings.length,
        exempt,
      },
    }
  }

  /**
   * A new registry: the sources of the gateway formats are indexed again and the subscriptions
   * follow the formats the district now uses (subscribed under the prefix, shared like native).
   */
  function setRegistry(next: Map<string, RegisteredGateway>) {
    registry = next
    sources = indexForeignSources(next)
    registryLoadedAt = clock.now()
    formatSubscriptions
      .sync(subscriptionFilters(sources.filters(), config.topicPrefix, config.shareGroup))
      .catch((err: unknown) =>
        log.warn(
          { err: redactMacs(String(err)) },
          'gateway format subscriptions failed; will retry',
        ),
      )
  }

  /** A gateway added by a district load a moment ago: reload the registry (at most every 5 s). */
  async function reloadRegistry(): Promise<void> {
    if (clock.now() - registryLoadedAt < 5_000) return
    setRegistry(await withRetry('registry', () => loadGatewayRegistry(db)))
  }

  async function reloadRegistryFor(gatewayId: string): Promise<RegisteredGateway | undefined> {
    if (clock.now() - registryLoadedAt < 5_000) return undefined
    await reloadRegistry()
    return registry.get(gatewayId)
  }

  /** Flood control's refusal of a native message, or null when it is admitted. */
  function floodRefusal(
    topic: string,
    payload: Buffer,
    gatewayId: string,
    sightings: number,
    atMs: number,
  ): Taken | null {
    const verdict = flood.admit(gatewayId, sightings, atMs)
    if (verdict.admitted) return null
    if (!verdict.deadLetter) return { kind: 'dropped', reason: 'flood' }
    const detail = floodDetail(gatewayId, verdict.refusedSinceLastLetter)
    return deadLetter(topic, payload, 'flood', detail, gatewayId)
  }

  const foreign = createForeignIntake({
    tz: config.tz,
    log,
    microBatch: { ...DEFAULT_MICRO_BATCH, ...config.microBatch },
    flood,
    sources: () => sources,
    reloadRegistry,
    async pseudonymise(decoded: readonly DecodedSighting[], gateway, nowMs) {
      const gone = await withRetry('daily key', () =>
        pseudonymiser.prepare(
          decoded.map((s) => s.tMs),
          nowMs,
        ),
      )
      if (gone.size > 0) return { gone: [...gone] }
      return filterAndPseudonymise(pseudonymiser, decoded, gateway, config.deviceList)
    },
    deadLetter,
    enqueue,
    countDropped: (reason, n) => metrics.filtered.inc({ reason }, n),
  })

  async function take(topic: string, payload: Buffer): Promise<Taken> {
    const decoded = decodeMessage(
      withoutTopicPrefix(config.topicPrefix, topic) ?? '',
      payload,
      clock.now(),
    )
    if (!decoded.ok)
      return deadLetter(topic, payload, decoded.reason, decoded.detail, decoded.gatewayId)
    const gatewayId = decoded.kind === 'status' ? decoded.gatewayId : decoded.batch.gatewayId
    const gateway = registry.get(gatewayId) ?? (await reloadRegistryFor(gatewayId))
    if (!gateway) {
      const detail = `gateway ${gatewayId} is not in the district registry`
      return deadLetter(topic, payload, 'unknown_gateway', detail, gatewayId)
    }
    const refusal =
      decoded.kind === 'status'
        ? floodRefusal(topic, payload, gatewayId, 0, clock.now())
        : floodRefusal(
            topic,
            payload,
            gatewayId,
            decoded.batch.sightings.length,
            decoded.batch.sentAtMs,
          )
    if (refusal) return refusal
    if (decoded.kind === 'status') {
      return {
        kind: 'status',
        write: { gatewayId, status: decoded.status, at: new Date(clock.now()) },
      }
    }
    return takeSightings(topic, payload, decoded.batch, gateway)
  }

  /** Writes a group in one transaction; the outcome of each message, in order. */
  async function commitGroup(group: readonly Work[]): Promise<Outcome[]> {
    const batchWorks = group.flatMap((w) => (w.kind === 'batch' ? [w] : []))
    const foreignWorks = group.flatMap((w) => (w.kind === 'foreign' ? [w] : []))
    const statuses = group.flatMap((w) => (w.kind === 'status' ? [w.write] : []))
    const letters = group.flatMap((w) => (w.kind === 'dead' ? [w.letter] : []))
    // Every message of a known gateway, whatever it carries, is its last message (gateway health).
    const touched = [
      ...batchWorks.map((w) => ({
        gatewayId: w.work.gateway.id,
        at: new Date(w.work.receivedAtMs),
      })),
      ...statuses.map((s) => ({ gatewayId: s.gatewayId, at: s.at })),
      ...foreignWorks.flatMap((w) =>
        w.parts.map((p) => ({ gatewayId: w.gateway.id, at: new Date(p.receivedAtMs) })),
      ),
    ]
    return db.transaction().execute(async (trx) => {
      // Every gateway this group writes is locked first, in one order, before any row is touched.
      await lockGateways(trx, [...new Set(touched.map((t) => t.gatewayId))])
      const foreignCommit = await commitForeign(trx, foreignWorks, clock.now())
      await upsertGatewayStatuses(trx, [...statuses, ...foreignCommit.statuses])
      await touchGateways(trx, touched)
      const verdicts = await recordBatches(
        trx,
        batchWorks.map(({ work: b, digest }) => ({
          gatewayId: b.gateway.id,
          // Native batches always have both (null only in a gateway format's batches).
          bootId: b.bootId ?? '',
          seq: b.seq ?? 0,
          sentAt: new Date(b.sentAtMs),
          sightingsCount: b.sightingsCount,
          digest,
        })),
      )
      const verdictOf = new Map(batchWorks.map((w, i) => [w, verdicts[i] ?? 'duplicate']))
      const fresh = [
        ...batchWorks.filter((w) => verdictOf.get(w) === 'fresh').map((w) => w.work),
        ...foreignCommit.batches.values(),
      ]
      // A replay with other content is never counted: it is kept as a dead letter instead.
      for (const w of batchWorks) {
        if (verdictOf.get(w) !== 'conflict') continue
        const { gateway, bootId, seq } = w.work
        const detail = `batch ${seq} of boot ${bootId} was recorded before with other content; this replay is not counted`
        letters.push(
          deadLetter(w.topic, w.payload, 'conflicting_replay', detail, gateway.id).letter,
        )
      }
      await insertDeadLetters(trx, letters)
      const outcomes = new Map<BatchWork, BatchOutcome>()
      if (fresh.length > 0) {
        const devices = devicesOf(fresh)
        const open = await loadOpenSessions(trx, devices)
        for (const [key, session] of await loadChainCandidates(
          trx,
          fingerprintsOf(fresh),
          new Date(earliestProbeOf(fresh) - config.gapMs),
        ))
          open.set(key, session)
        const statics = await loadStaticDevices(trx, devices)
        const gateways = gatewaysOf(fresh)
        const progress = await loadGatewayProgress(trx, [...gateways.keys()])
        const plan = planGroup(
          fresh,
          { open, statics, progress },
          { gapMs: config.gapMs, staticAfterMs },
        )
        await upsertOpenSessions(trx, plan.upserts)
        await deleteOpenSessions(trx, plan.deletes)
        await insertStaticDevices(trx, plan.learned)
        await saveGatewayProgress(trx, plan.progress)
        const ended = await takeSessionsEndedBeforeCutoffs(trx, plan.cutoffs)
        const transits: GatewayTransit[] = [...plan.transits]
        for (const e of ended) {
          const gateway = gateways.get(e.gatewayId)
          if (gateway) transits.push(transitOf(gateway, e.session))
        }
        countTransits(await insertTransits(trx, transits))
        fresh.forEach((b, i) =>
          outcomes.set(b, plan.outcomes[i] ?? { staticSightings: 0, learned: 0 }),
        )
        logLearned(plan.learned.map((l) => l.gatewayId))
      }
      return group.map((w): Outcome => {
        if (w.kind === 'foreign') {
          const batch = foreignCommit.batches.get(w)
          return {
            kind: 'foreign',
            fresh: foreignCommit.fresh.get(w) ?? [],
            outcome: (batch && outcomes.get(batch)) ?? null,
          }
        }
        if (w.kind !== 'batch') return { kind: w.kind }
        if (verdictOf.get(w) === 'conflict') return { kind: 'conflict' }
        const outcome = outcomes.get(w.work) ?? null
        return { kind: 'batch', fresh: outcome !== null, outcome }
      })
    })
  }

  // Transit and learning counts are kept aside until their transaction commits.
  let pendingTransits = { visitor: 0, passerBy: 0 }
  let pendingZones = new Set<string>()
  let pendingLearned = new Map<string, number>()
  /** Counts what was stored: a transit the `transits_once` guard kept out is not counted. */
  function countTransits(stored: StoredTransits) {
    pendingTransits.visitor += stored.visitors
    pendingTransits.passerBy += stored.passersBy
    for (const zone of stored.zones) pendingZones.add(zone)
  }
  function logLearned(gatewayIds: readonly string[]) {
    for (const id of gatewayIds) pendingLearned.set(id, (pendingLearned.get(id) ?? 0) + 1)
  }
  function resetPending() {
    pendingTransits = { visitor: 0, passerBy: 0 }
    pendingZones = new Set()
    pendingLearned = new Map()
  }
  function publishPending() {
    if (pendingTransits.visitor) metrics.transits.inc({ class: 'visitor' }, pendingTransits.visitor)
    if (pendingTransits.passerBy)
      metrics.transits.inc({ class: 'passer_by' }, pendingTransits.passerBy)
    for (const [gatewayId, devices] of pendingLearned)
      log.info({ gatewayId, devices }, 'learned static devices')
    announce(pendingZones)
    resetPending()
  }

  /** Tells API processes that these zones' transits changed (a QoS 0 hint; see topics.ts). */
  function announce(zones: ReadonlySet<string>) {
    announceTransitsChanged(mqtt, config.topicPrefix, zones)
  }

  /**
   * Commits a group, retrying while the database is away. A group that fails for another reason
   * is split and committed message by message, so one poisonous message cannot hold the others:
   * that one is kept as a `write_failed` dead letter (counted and visible) and acknowledged.
   */
  async function commitWithFallback(group: readonly Work[]): Promise<Outcome[]> {
    try {
      resetPending()
      const outcomes = await withRetry('batch', () => {
        resetPending()
        return commitGroup(group)
      })
      publishPending()
      return outcomes
    } catch (err) {
      resetPending()
      if (!running) throw err
      if (group.length > 1) {
        const outcomes: Outcome[] = []
        for (const w of group) outcomes.push(...(await commitWithFallback([w])))
        return outcomes
      }
      const w = group[0]
      if (!w) return []
      log.error({ err: redactMacs(String(err)) }, 'message could not be written')
      const letter = deadLetter(
        w.topic,
        w.payload,
        'write_failed',
        String(err),
        w.kind === 'batch'
          ? w.work.gateway.id
          : w.kind === 'status'
            ? w.write.gatewayId
            : w.kind === 'foreign'
              ? w.gateway.id
              : null,
      )
      try {
        await withRetry('dead letter', () => commitGroup([{ ...w, ...letter }]))
      } catch {
        // Not an outage (that is retried without end): the rendering itself is refused. Keep the
        // facts without it; only if even that is refused is the message acknowledged unrecorded,
        // so that one message cannot stall the district.
        const bare = { ...letter.letter, payloadRedacted: '(not stored: the write was refused)' }
        try {
          await withRetry('dead letter', () => commitGroup([{ ...w, ...letter, letter: bare }]))
        } catch (deadLetterErr) {
          log.error(
            { err: redactMacs(String(deadLetterErr)) },
            'dead letter could not be stored either; message acknowledged and counted as write_failed',
          )
        }
      }
      return [{ kind: 'failed' }]
    }
  }

  function settle(w: Work, o: Outcome) {
    switch (o.kind) {
      case 'batch':
        if (w.kind !== 'batch') break
        if (!o.fresh) {
          metrics.duplicates.inc()
          metrics.messages.inc({ kind: 'sightings', outcome: 'duplicate' })
          break
        }
        metrics.messages.inc({ kind: 'sightings', outcome: 'accepted' })
        metrics.sightings.inc(w.total)
        if (w.belowFloor) metrics.filtered.inc({ reason: 'rssi_floor' }, w.belowFloor)
        if (w.denied) metrics.filtered.inc({ reason: 'deny_list' }, w.denied)
        if (o.outcome?.staticSightings)
          metrics.filtered.inc({ reason: 'static_device' }, o.outcome.staticSightings)
        if (o.outcome?.learned) metrics.staticDevices.inc(o.outcome.learned)
        break
      case 'foreign':
        if (w.kind === 'foreign') countForeign(metrics, w, o.fresh, o.outcome)
        break
      case 'status':
        metrics.messages.inc({ kind: 'status', outcome: 'accepted' })
        break
      case 'dropped':
        if (w.kind !== 'dropped') break
        if (w.reason === 'unknown_gateway')
          metrics.messages.inc({ kind: 'ignored', outcome: 'unknown_gateway' })
        else {
          metrics.rejects.inc({ reason: w.reason })
          metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
        }
        break
      case 'dead':
        if (w.kind !== 'dead') break
        metrics.rejects.inc({ reason: w.reason })
        metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
        break
      case 'conflict':
        metrics.rejects.inc({ reason: 'conflicting_replay' })
        metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
        break
      case 'failed':
        metrics.rejects.inc({ reason: 'write_failed' })
        metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
        break
    }
    w.ack()
  }

  /** The next group: the queue's head, up to the message and sighting limits. */
  function nextGroup(): Work[] {
    let n = 0
    let sightings = 0
    while (n < queue.length && n < MAX_GROUP_MESSAGES) {
      const w = queue[n]
      const size =
        w?.kind === 'batch'
          ? w.work.sightings.length
          : w?.kind === 'foreign'
            ? w.parts.reduce((n, p) => n + (p.effect.kind === 'sightings' ? p.effect.total : 0), 0)
            : 0
      if (n > 0 && sightings + size > MAX_GROUP_SIGHTINGS) break
      sightings += size
      n++
    }
    return queue.slice(0, n)
  }

  async function drain() {
    while (running && queue.length > 0) {
      const group = nextGroup()
      const end = metrics.commitSeconds.startTimer()
      metrics.groupMessages.observe(group.length)
      const outcomes = await commitWithFallback(group)
      end()
      queue.splice(0, group.length)
      group.forEach((w, i) => settle(w, outcomes[i] ?? { kind: 'failed' }))
      if (queue.length < MAX_QUEUED_MESSAGES) {
        const waiters = roomWaiters
        roomWaiters = []
        for (const wake of waiters) wake()
      }
    }
  }

  function kick() {
    if (committing || !running) return
    committing = drain()
      .catch((err: unknown) => {
        // Only when stopping: what is still queued stays unacknowledged and is redelivered.
        log.info({ err: redactMacs(String(err)) }, 'commit abandoned at stop')
      })
      .finally(() => {
        committing = null
        if (running && queue.length > 0) kick()
      })
  }

  /**
   * Queues a work for the committer; a message refused without a dead letter (flood control past
   * its first one) is settled at once, so it waits for nothing (its PUBACK still goes out in order).
   */
  function enqueue(work: Work) {
    if (!running) return // left unacknowledged: the broker redelivers it to the next session
    if (work.kind === 'dropped') {
      settle(work, { kind: 'dropped' })
      return
    }
    queue.push(work)
    kick()
  }

  async function room(): Promise<void> {
    if (queue.length < MAX_QUEUED_MESSAGES) return
    await new Promise<void>((resolve) => roomWaiters.push(resolve))
  }

  /**
   * A gateway whose last batch arrived more than the idle time ago (wall clock) has its sessions
   * closed — but only while ingest is live: nothing queued or being committed, and the newest batch
   * it took was sent less than the idle time before it arrived (or nothing has arrived for the idle
   * time). While ingest works through a backlog (after a database or broker outage, or a backfill),
   * a gateway's next batch may simply be waiting in the queue behind the others, and closing would
   * split its sessions; its own watermark closes them instead.
   */
  async function closeSilentGateways() {
    const now = clock.now()
    const idle = queue.length === 0 && committing === null && foreign.batcher.held() === 0
    const live =
      idle && (now - lastMessageAt >= config.idleCloseMs || lastLatenessMs < config.idleCloseMs)
    if (!live) return
    const silent = await listSilentGatewaysWithOpenSessions(db, new Date(now - config.idleCloseMs))
    for (const gatewayId of silent) {
      const gateway = registry.get(gatewayId)
      if (!gateway) continue
      const written = await db.transaction().execute(async (trx) => {
        await lockGateways(trx, [gatewayId])
        // Everything still open was heard before the gateway went quiet: all of it is final.
        const ended = await takeSessionsEndedBeforeCutoffs(trx, [
          { gatewayId, before: new Date(8.64e15) },
        ])
        return insertTransits(
          trx,
          ended.map((e) => transitOf(gateway, e.session)),
        )
      })
      if (written.visitors) metrics.transits.inc({ class: 'visitor' }, written.visitors)
      if (written.passersBy) metrics.transits.inc({ class: 'passer_by' }, written.passersBy)
      announce(written.zones)
      const n = written.visitors + written.passersBy
      if (n) log.info({ gatewayId, transits: n }, 'closed sessions of a silent gateway')
    }
  }

  async function runMaintenance() {
    rejectLog.flush()
    await closeSilentGateways()
    await forgetStaticDevices(db, new Date(clock.now() - 48 * 3_600_000))
    const destroyed = await pseudonymiser.rotate(clock.now())
    if (destroyed.length) log.info({ days: destroyed }, 'destroyed pseudonymisation keys')
    metrics.memoEntries.set(pseudonymiser.memoEntries())
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

  return {
    metrics,
    runMaintenance,
    async start() {
      registry = await withRetry('registry', () => loadGatewayRegistry(db))
      sources = indexForeignSources(registry)
      registryLoadedAt = clock.now()
      // A restart is not silence: give queued messages the idle time to arrive.
      lastMessageAt = clock.now()
      if (registry.size === 0)
        log.warn(
          'no gateways registered: every message will be rejected until a district is loaded',
        )
      running = true
      mqtt.handleMessage = (packet, done) => {
        if (!running) return // left unacknowledged: the broker redelivers it to the next session
        // The arrival time, stamped before any queue: the time of formats that carry none.
        const receivedAtMs = clock.now()
        lastMessageAt = receivedAtMs
        // A redelivery (DUP, or a resent packet id at the start of a new connection: not every
        // broker sets DUP) of a gateway format's message is checked against the committed digests.
        const dup = acks.mayBeRedelivery(packet) || packet.dup === true
        const tracked = acks.track(packet)
        let acknowledged = false
        const ack = () => {
          if (acknowledged) return
          acknowledged = true
          tracked()
          metrics.inFlight.dec()
        }
        const payload = Buffer.isBuffer(packet.payload)
          ? packet.payload
          : Buffer.from(packet.payload)
        metrics.inFlight.inc()
        metrics.received.inc()
        const topic = withoutTopicPrefix(config.topicPrefix, packet.topic) ?? ''
        const route = foreign.route(topic)
        const taking: Promise<Work[]> =
          route && route.format !== 'native'
            ? foreign.take({
                topic,
                rawTopic: packet.topic,
                payload,
                dup,
                receivedAtMs,
                ack,
              })
            : take(packet.topic, payload).then((t) => [{ ...t, topic: packet.topic, payload, ack }])
        intake = taking
          .catch((err: unknown): Work[] => {
            // The daily key could not be read or made (not a connection problem: those are
            // retried without end): keep the message as a dead letter rather than stall intake.
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
            for (const w of works) enqueue(w)
            await room()
            if (running) done(DEFERRED_ACK)
          })
      }
      // The handler is in place before CONNACK: a persistent session delivers its queue at once.
      if (!mqtt.connected) {
        const connected = new Promise<void>((resolve) => mqtt.once('connect', () => resolve()))
        if (!mqtt.reconnecting) mqtt.connect()
        await connected
      }
      await mqtt.subscribeAsync(
        [
          ...ingestSubscriptions(config.shareGroup, config.topicPrefix),
          merakiInternalSubscription(config.shareGroup, config.topicPrefix),
        ],
        { qos: 1 },
      )
      await formatSubscriptions.sync(
        subscriptionFilters(sources.filters(), config.topicPrefix, config.shareGroup),
      )
      every(config.registryRefreshMs ?? 30_000, 'registry refresh', async () => {
        setRegistry(await loadGatewayRegistry(db))
      })
      every(config.maintenanceIntervalMs ?? 5_000, 'maintenance', runMaintenance)
      log.info(
        {
          subscriptions: [
            ...ingestSubscriptions(config.shareGroup, config.topicPrefix),
            merakiInternalSubscription(config.shareGroup, config.topicPrefix),
            ...formatSubscriptions.current(),
          ].map((f) => redactMacs(f)),
          gateways: registry.size,
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
      const waiters = roomWaiters
      roomWaiters = []
      for (const wake of waiters) wake()
      await intake.catch(() => undefined)
      await committing?.catch(() => undefined)
    },
  }
}
