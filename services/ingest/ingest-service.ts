import type { MqttClient } from 'mqtt'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { redactMacs } from '../shared/contracts/mac.ts'
import { ingestSubscriptions, withoutTopicPrefix } from '../shared/contracts/topics.ts'
import { decodeMessage, type DecodedBatch, type RejectReason } from './decode-message.ts'
import { createPseudonymiser, type Pseudonymiser } from './pseudonymiser.ts'
import {
  classify,
  isStaticDevice,
  mergeSessions,
  segmentSightings,
  type PseudoSighting,
  type Session,
} from './sessionise.ts'
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.ts'
import {
  advanceGatewayState,
  createDbKeyStore,
  insertDeadLetter,
  insertTransits,
  listSilentGatewaysWithOpenSessions,
  loadGatewayRegistry,
  loadOpenSessions,
  lockGateway,
  loadStaticDevices,
  markStaticDevices,
  forgetStaticDevices,
  recordBatch,
  takeSessionsEndedBefore,
  upsertGatewayStatus,
  upsertOpenSessions,
  type RegisteredGateway,
} from './ingest-repository.ts'

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

const DEAD_LETTER_PAYLOAD_MAX = 4096

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string }
  if (
    typeof e?.code === 'string' &&
    (e.code.startsWith('08') || e.code === '57P01' || e.code.startsWith('E'))
  )
    return true
  return /connect|terminated|timeout|closed|ECONN/i.test(e?.message ?? '')
}

/**
 * The ingest service: MQTT in, transits out. A message is acknowledged (PUBACK) only after its whole
 * effect — batch record, session updates, closed transits, gateway state — is committed in one
 * transaction. MQTT.js hands over the next message only after the previous one's callback, so a
 * database outage holds intake (backpressure) while the broker keeps the rest in our persistent session.
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
  const pseudonymiser: Pseudonymiser = createPseudonymiser({
    store: createDbKeyStore(db),
    tz: config.tz,
    graceMs: config.keyGraceMs,
  })
  let registry = new Map<string, RegisteredGateway>()
  let registryLoadedAt = 0
  let lastMessageAt = 0
  let lastLatenessMs = 0
  let inHand = false
  let running = false
  let current: Promise<void> = Promise.resolve()
  const timers: NodeJS.Timeout[] = []

  async function withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let attempt = 0
    for (;;) {
      try {
        return await fn()
      } catch (err) {
        attempt++
        if (!isConnectionError(err) && attempt >= 3) throw err
        if (!running && attempt >= 3) throw err
        metrics.dbRetries.inc()
        const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7))
        log.warn(
          { what, attempt, delayMs: delay, err: redactMacs(String(err)) },
          'database write failed; retrying',
        )
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  async function deadLetter(
    topic: string,
    payload: Buffer,
    reason: RejectReason,
    detail: string,
    gatewayId: string | null,
  ) {
    metrics.rejects.inc({ reason })
    metrics.messages.inc({ kind: 'any', outcome: 'rejected' })
    log.warn({ topic: redactMacs(topic), reason, detail: redactMacs(detail) }, 'message rejected')
    // Redact before cutting, so no partial MAC survives; Postgres text cannot hold NUL bytes.
    const storable = (text: string) => redactMacs(text).replaceAll('\u0000', '\ufffd')
    const redacted = storable(payload.toString('utf8')).slice(0, DEAD_LETTER_PAYLOAD_MAX)
    await withRetry('dead letter', () =>
      insertDeadLetter(db, {
        topic: storable(topic),
        // A gateway id may look like a MAC (some firmwares name gateways after their own address).
        gatewayId: gatewayId === null ? null : storable(gatewayId),
        reason,
        detail: storable(detail),
        payloadBytes: payload.length,
        payloadRedacted: redacted,
      }),
    )
  }

  async function commitBatch(
    batch: DecodedBatch,
    gateway: RegisteredGateway,
    sightings: PseudoSighting[],
    exempt: ReadonlySet<string>,
  ) {
    const segments = segmentSightings(sightings, config.gapMs)
    const staticAfterMs = config.staticAfterMs ?? 4 * 3_600_000
    const receivedAt = new Date(clock.now())
    return db.transaction().execute(async (trx) => {
      await lockGateway(trx, gateway.id)
      const fresh = await recordBatch(trx, {
        gatewayId: batch.gatewayId,
        bootId: batch.bootId,
        seq: batch.seq,
        sentAt: new Date(batch.sentAtMs),
        sightingsCount: batch.sightings.length,
      })
      if (!fresh) {
        return {
          duplicate: true,
          written: [] as ReturnType<typeof classify>[],
          staticSightings: 0,
          learned: 0,
        }
      }
      const pseudonyms = [...segments.keys()]
      const open = await loadOpenSessions(trx, gateway.id, pseudonyms)
      const known = await loadStaticDevices(trx, gateway.id, pseudonyms)
      const upserts: Session[] = []
      const closed: Session[] = []
      const learned: string[] = []
      let staticSightings = 0
      for (const [pseudonym, segs] of segments) {
        if (known.has(pseudonym)) {
          for (const s of segs) staticSightings += s.samples
          continue
        }
        const merged = mergeSessions(open.get(pseudonym), segs, config.gapMs)
        closed.push(...merged.closed)
        if (!exempt.has(pseudonym) && isStaticDevice(merged.open, staticAfterMs)) {
          learned.push(pseudonym)
          staticSightings += merged.open.samples
        } else upserts.push(merged.open)
      }
      await upsertOpenSessions(trx, gateway.id, upserts)
      await markStaticDevices(trx, gateway.id, learned)
      const watermark = await advanceGatewayState(trx, {
        gatewayId: batch.gatewayId,
        bootId: batch.bootId,
        seq: batch.seq,
        sentAt: new Date(batch.sentAtMs),
        receivedAt,
        clockSkewMs: batch.clockSkewMs,
      })
      closed.push(
        ...(await takeSessionsEndedBefore(
          trx,
          gateway.id,
          new Date(watermark.getTime() - config.gapMs),
        )),
      )
      const written = closed.map((s) => classify(s, gateway.thresholds, gateway.shopId !== null))
      await insertTransits(trx, gateway, written)
      return { duplicate: false, written, staticSightings, learned: learned.length }
    })
  }

  async function handleSightings(
    topic: string,
    payload: Buffer,
    batch: DecodedBatch,
    gateway: RegisteredGateway,
  ) {
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
    const sightings: PseudoSighting[] = []
    const exempt = new Set<string>()
    let belowFloor = 0
    let denied = 0
    const list = config.deviceList
    for (const s of batch.sightings) {
      if (s.rssi < gateway.rssiFloor) {
        belowFloor++
        continue
      }
      if (list?.deny.has(s.mac)) {
        denied++
        continue
      }
      const pseudonym = pseudonymiser.pseudonymise(s.mac, s.tMs)
      if (list?.allow.has(s.mac)) exempt.add(pseudonym)
      sightings.push({
        pseudonym,
        tMs: s.tMs,
        rssi: s.rssi,
        radio: s.radio,
        randomised: s.randomised,
      })
    }
    lastLatenessMs = Math.max(0, clock.now() - batch.sentAtMs)
    const end = metrics.commitSeconds.startTimer()
    const result = await withRetry('batch', () => commitBatch(batch, gateway, sightings, exempt))
    end()
    if (result.duplicate) {
      metrics.duplicates.inc()
      metrics.messages.inc({ kind: 'sightings', outcome: 'duplicate' })
      return
    }
    metrics.messages.inc({ kind: 'sightings', outcome: 'accepted' })
    metrics.sightings.inc(batch.sightings.length)
    if (belowFloor) metrics.filtered.inc({ reason: 'rssi_floor' }, belowFloor)
    if (denied) metrics.filtered.inc({ reason: 'deny_list' }, denied)
    if (result.staticSightings)
      metrics.filtered.inc({ reason: 'static_device' }, result.staticSightings)
    if (result.learned) {
      metrics.staticDevices.inc(result.learned)
      log.info({ gatewayId: gateway.id, devices: result.learned }, 'learned static devices')
    }
    for (const t of result.written)
      metrics.transits.inc({ class: t.visitor ? 'visitor' : 'passer_by' })
  }

  /** A gateway added by a district load a moment ago: reload the registry (at most every 5 s). */
  async function reloadRegistryFor(gatewayId: string): Promise<RegisteredGateway | undefined> {
    if (clock.now() - registryLoadedAt < 5_000) return undefined
    registry = await withRetry('registry', () => loadGatewayRegistry(db))
    registryLoadedAt = clock.now()
    return registry.get(gatewayId)
  }

  async function handle(topic: string, payload: Buffer): Promise<void> {
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
    if (decoded.kind === 'status') {
      await withRetry('status', () =>
        upsertGatewayStatus(db, decoded.gatewayId, decoded.status, new Date(clock.now())),
      )
      metrics.messages.inc({ kind: 'status', outcome: 'accepted' })
      return
    }
    return handleSightings(topic, payload, decoded.batch, gateway)
  }

  /**
   * A gateway whose last batch arrived more than the idle time ago (wall clock) has its sessions
   * closed — but only while ingest is live: nothing in hand, and the newest batch it took was sent
   * less than the idle time before it arrived (or nothing has arrived for the idle time). While
   * ingest works through a backlog (after a database or broker outage, or a backfill), a gateway's
   * next batch may simply be waiting in the queue behind the others, and closing would split its
   * sessions; its own watermark closes them instead.
   */
  async function closeSilentGateways() {
    const now = clock.now()
    const live =
      !inHand && (now - lastMessageAt >= config.idleCloseMs || lastLatenessMs < config.idleCloseMs)
    if (!live) return
    const silent = await listSilentGatewaysWithOpenSessions(db, new Date(now - config.idleCloseMs))
    for (const gatewayId of silent) {
      const gateway = registry.get(gatewayId)
      if (!gateway) continue
      const written = await db.transaction().execute(async (trx) => {
        await lockGateway(trx, gatewayId)
        // Everything still open was heard before the gateway went quiet: all of it is final.
        const sessions = await takeSessionsEndedBefore(trx, gatewayId, new Date(8.64e15))
        const transits = sessions.map((s) =>
          classify(s, gateway.thresholds, gateway.shopId !== null),
        )
        await insertTransits(trx, gateway, transits)
        return transits
      })
      for (const t of written) metrics.transits.inc({ class: t.visitor ? 'visitor' : 'passer_by' })
      if (written.length)
        log.info({ gatewayId, transits: written.length }, 'closed sessions of a silent gateway')
    }
  }

  async function runMaintenance() {
    await closeSilentGateways()
    await forgetStaticDevices(db, new Date(clock.now() - 48 * 3_600_000))
    const destroyed = await pseudonymiser.rotate(clock.now())
    if (destroyed.length) log.info({ days: destroyed }, 'destroyed pseudonymisation keys')
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
        lastMessageAt = clock.now()
        inHand = true
        const payload = Buffer.isBuffer(packet.payload)
          ? packet.payload
          : Buffer.from(packet.payload)
        metrics.inFlight.inc()
        current = handle(packet.topic, payload)
          .then(() => done())
          .catch(async (err: unknown) => {
            if (!running) {
              // Stopping: not acknowledged, so the broker redelivers it to our next session.
              log.info({ topic: redactMacs(packet.topic) }, 'message left unacknowledged at stop')
              return
            }
            // Not a connection problem (those are retried without end): keep it as a dead letter
            // so it is counted and visible, then acknowledge so one bad message cannot stall intake.
            log.error(
              { err: redactMacs(String(err)), topic: redactMacs(packet.topic) },
              'message could not be written',
            )
            try {
              await deadLetter(packet.topic, payload, 'write_failed', String(err), null)
            } catch (deadLetterErr) {
              log.error(
                { err: redactMacs(String(deadLetterErr)) },
                'dead letter could not be stored either; message acknowledged and counted as write_failed',
              )
            }
            done()
          })
          .finally(() => {
            inHand = false
            metrics.inFlight.dec()
          })
      }
      // The handler is in place before CONNACK: a persistent session delivers its queue at once.
      if (!mqtt.connected) {
        const connected = new Promise<void>((resolve) => mqtt.once('connect', () => resolve()))
        if (!mqtt.reconnecting) mqtt.connect()
        await connected
      }
      await mqtt.subscribeAsync(ingestSubscriptions(config.shareGroup, config.topicPrefix), {
        qos: 1,
      })
      every(config.registryRefreshMs ?? 30_000, 'registry refresh', async () => {
        registry = await loadGatewayRegistry(db)
        registryLoadedAt = clock.now()
      })
      every(config.maintenanceIntervalMs ?? 5_000, 'maintenance', runMaintenance)
      log.info(
        {
          subscriptions: ingestSubscriptions(config.shareGroup, config.topicPrefix),
          gateways: registry.size,
        },
        'ingest started',
      )
    },
    async stop() {
      // No unsubscribe: the persistent session keeps our subscriptions, so the broker queues what
      // arrives while we are down. A message in hand is finished (or left unacknowledged).
      running = false
      for (const t of timers) clearInterval(t)
      await current.catch(() => undefined)
    },
  }
}
