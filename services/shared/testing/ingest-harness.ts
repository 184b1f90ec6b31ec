import { Writable } from 'node:stream'
import mqtt, { type MqttClient } from 'mqtt'
import type { Db } from '../db/create-db.ts'
import { startOfLocalDay } from '../contracts/local-time.ts'
import { createLogger, type Logger } from '../logger.ts'
import {
  createIngestService,
  type Clock,
  type IngestConfig,
  type IngestService,
} from '../../ingest/ingest-service.ts'

/**
 * A MAC as text, the ways gateways write one: `aa:bb:cc:dd:ee:ff`, `AA-BB-…` (one separator
 * throughout, hence the back-reference) or 12 bare hex digits.
 *
 * This is the tests' own detector, written independently of the product's redactor
 * (`redactMacs` in contracts/mac.ts) on purpose: a test that reused the redactor's pattern would
 * share its blind spots and could never catch a MAC the redactor misses.
 */
export const MAC_PATTERN = /[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|\b[0-9a-f]{12}\b/i

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

/**
 * `tag` followed by 6 random hex digits. Every test file (and every run of it) talks under a topic
 * prefix of its own, so files sharing a broker never see each other's messages.
 */
export function randomTopicPrefix(tag: string): string {
  return `${tag}${Math.random().toString(16).slice(2, 8)}`
}

/**
 * A logger whose lines are kept in memory; `text()` is everything logged so far. The lines pass
 * through the product's logger (and so its MAC redaction), as they would in production.
 */
export function createLogCapture(level: string): { log: Logger; text(): string } {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString())
      cb()
    },
  })
  return { log: createLogger({ level, destination }), text: () => lines.join('') }
}

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

type MetricSnapshot = {
  get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }>
}

/**
 * The current value of a prom-client counter (or gauge): of the series with all of `labels` when
 * given, else of its first series; 0 when there is none yet.
 */
export async function counterValue(
  metric: MetricSnapshot,
  labels: Record<string, string> = {},
): Promise<number> {
  const wanted = Object.entries(labels)
  const series = (await metric.get()).values.find((v) =>
    wanted.every(([name, value]) => v.labels[name] === value),
  )
  return series?.value ?? 0
}

/** Sightings batches the service has accepted (duplicates and rejects not counted). */
export function acceptedBatches(service: Pick<IngestService, 'metrics'>): Promise<number> {
  return counterValue(service.metrics.messages, { kind: 'sightings', outcome: 'accepted' })
}

/**
 * An instant at least a minute before `nowMs` such that the `spanMs` before it fall within one local
 * day of `tz`. Daily pseudonymisation keys give a device a new pseudonym at local midnight, so a test
 * window that straddles midnight sees one device as two (by design); tests that count transits must
 * not depend on the hour they run at. Right after midnight the window moves to the end of the
 * previous day, whose key lives on for the grace period.
 */
export function oneDayWindowEnd(spanMs: number, tz = 'Europe/Rome', nowMs = Date.now()): number {
  const end = nowMs - 60_000
  const dayStart = startOfLocalDay(end, tz)
  return end - spanMs >= dayStart ? end : dayStart - 60_000
}
