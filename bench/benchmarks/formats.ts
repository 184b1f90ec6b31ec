import mqtt from 'mqtt'
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import { createLogger } from '../../services/shared/logger.ts'
import type { GatewaySource } from '../../services/shared/contracts/district.ts'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, withTopicPrefix } from '../../services/shared/contracts/topics.ts'
import { createIngestService } from '../../services/ingest/ingest-service.ts'
import {
  formatStream,
  sourceForFormat,
  type SimulateFormat,
} from '../../simulator/formats/stream.ts'
import type { OutboundMessage } from '../../simulator/simulation.ts'
import { buildBenchDistrict } from '../lib/district.ts'
import { fmt, printNote, printTable, progress, sleep } from '../lib/report.ts'
import { openStack, serverVersions, TZ } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

/**
 * Sightings per second through each gateway format's adapter, end to end: the simulator's encoders
 * put the same native batches on the wire in each format (one message per sighting for
 * OpenMQTTGateway and ESPresense), published as fast as the broker takes them, and ingest (in this
 * process, with its default micro-batching and no flood ceiling) decodes, pseudonymises and commits
 * them. The figure is sightings committed per wall-clock second from the first publish to the last
 * commit; Paxcounter carries counts, not sightings, so its row counts messages.
 */
const WHAT = 'formats'
const FORMATS: SimulateFormat[] = ['native', 'omg', 'espresense', 'sniffer', 'meraki', 'paxcounter']
const GATEWAYS = 10
const SIGHTINGS_PER_BATCH = 50
const BATCH_INTERVAL_MS = 5_000
const DEVICES = 2_000

export type FormatFigures = {
  format: SimulateFormat
  messages: number
  sightings: number
  seconds: number
  sightingsPerS: number
  messagesPerS: number
  transactions: number
}

const gatewayId = (format: SimulateFormat, i: number) =>
  `gw-f-${format}-${String(i + 1).padStart(2, '0')}`

/** Native batches of every gateway of a format, `batches` each, in time order. */
function nativeBatches(format: SimulateFormat, batches: number, fromMs: number): OutboundMessage[] {
  const radioOf = (n: number): 'wifi' | 'ble' =>
    format === 'omg' || format === 'espresense'
      ? 'ble'
      : format === 'sniffer'
        ? 'wifi'
        : n % 2
          ? 'ble'
          : 'wifi'
  const out: OutboundMessage[] = []
  for (let b = 1; b <= batches; b++) {
    const sentAtMs = fromMs + b * BATCH_INTERVAL_MS
    for (let g = 0; g < GATEWAYS; g++) {
      const id = gatewayId(format, g)
      const sightings = Array.from({ length: SIGHTINGS_PER_BATCH }, (_, k) => {
        const device = (b * 7 + g * 131 + k * 17) % DEVICES
        const mac = `3c:22:fb:${(device >> 8).toString(16).padStart(2, '0')}:${(device & 255).toString(16).padStart(2, '0')}:${g.toString(16).padStart(2, '0')}`
        return {
          t: new Date(
            sentAtMs - BATCH_INTERVAL_MS + (k * BATCH_INTERVAL_MS) / SIGHTINGS_PER_BATCH + 1,
          ).toISOString(),
          mac,
          rssi: -50 - ((device + k) % 40),
          radio: radioOf(device),
        }
      })
      const batch: SightingsBatch = {
        v: 1,
        gatewayId: id,
        bootId: 'bench0001',
        seq: b,
        sentAt: new Date(sentAtMs).toISOString(),
        sightings,
      }
      out.push({
        topic: buildSightingsTopic(id),
        payload: JSON.stringify(batch),
        simTimeMs: sentAtMs,
        gatewayId: id,
        kind: 'sightings',
        sightings: sightings.length,
      })
    }
  }
  return out
}

export async function runFormats(ctx: BenchContext): Promise<BenchResult> {
  const sightingsPerFormat = ctx.quick ? 20_000 : 100_000
  const batches = Math.ceil(sightingsPerFormat / (GATEWAYS * SIGHTINGS_PER_BATCH))
  const stack = await openStack(ctx.target, 'formats')
  const notes: string[] = []
  const figures: FormatFigures[] = []
  try {
    const db = stack.db()
    Object.assign(ctx.versions, await serverVersions(db))
    const district = buildBenchDistrict({ zones: GATEWAYS * FORMATS.length, shopEvery: 0 })
    const sources = new Map<string, GatewaySource>()
    district.gateways = district.gateways.map((g, i) => {
      const format = FORMATS[Math.floor(i / GATEWAYS)] ?? 'native'
      const id = gatewayId(format, i % GATEWAYS)
      const source = sourceForFormat(id, format)
      if (source) sources.set(id, source)
      return { ...g, id, ...(source ? { source } : {}) }
    })
    await loadDistrict(db, district)
    const log = createLogger({ level: 'warn' })
    for (const format of FORMATS) {
      // The last minutes (a day's key lives 24 h past its day here, so a run across midnight works).
      const fromMs = Date.now() - 5 * 60_000 - batches * BATCH_INTERVAL_MS
      const wire = [
        ...formatStream(nativeBatches(format, batches, fromMs), sources, {
          timeZone: TZ,
          merakiSecret: 'bench',
          lagMs: BATCH_INTERVAL_MS,
        }),
      ]
      const sightings = wire.reduce((n, m) => n + m.sightings, 0)
      const client = mqtt.connect(stack.mqttUrl, {
        clientId: `${stack.topicPrefix}-${format}`,
        clean: true,
        manualConnect: true,
        protocolVersion: 4,
      })
      const ingest = createIngestService({
        config: {
          tz: TZ,
          gapMs: 120_000,
          idleCloseMs: 3_600_000,
          keyGraceMs: 24 * 3_600_000,
          maintenanceIntervalMs: 3_600_000,
          registryRefreshMs: 3_600_000,
          topicPrefix: stack.topicPrefix,
        },
        db,
        mqtt: client,
        log,
      })
      await ingest.start()
      const publisher = await mqtt.connectAsync(stack.mqttUrl, {
        clientId: `${stack.topicPrefix}-${format}-pub`,
        protocolVersion: 4,
      })
      const m = ingest.metrics
      const value = async (metric: { get(): Promise<{ values: { value: number }[] }> }) =>
        (await metric.get()).values.reduce((s, v) => s + v.value, 0)
      const done = async () =>
        format === 'paxcounter'
          ? (await m.formatMessages.get()).values.reduce((s, v) => s + v.value, 0)
          : await value(m.sightings)
      const target = format === 'paxcounter' ? wire.length : sightings
      const commitsBefore = (await m.commitSeconds.get()).values.find((v) =>
        v.metricName?.endsWith('_count'),
      )?.value
      const started = performance.now()
      const inFlight: Promise<unknown>[] = []
      for (const msg of wire) {
        inFlight.push(
          publisher.publishAsync(withTopicPrefix(stack.topicPrefix, msg.topic), msg.payload, {
            qos: 1,
          }),
        )
        if (inFlight.length >= 256) await inFlight.shift()
      }
      await Promise.all(inFlight)
      let last = Date.now()
      let seen = await done()
      while (seen < target) {
        await sleep(20)
        const now = await done()
        if (now !== seen) last = Date.now()
        seen = now
        if (Date.now() - last > 60_000) {
          notes.push(`${format}: stalled at ${seen} of ${target}`)
          break
        }
      }
      const seconds = (performance.now() - started) / 1000
      const commits =
        ((await m.commitSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))
          ?.value ?? 0) - (commitsBefore ?? 0)
      const rejected = await value(m.rejects)
      if (rejected > 0) notes.push(`${format}: ${rejected} messages rejected`)
      figures.push({
        format,
        messages: wire.length,
        sightings: format === 'paxcounter' ? 0 : sightings,
        seconds: Math.round(seconds * 100) / 100,
        sightingsPerS: format === 'paxcounter' ? 0 : Math.round(sightings / seconds),
        messagesPerS: Math.round(wire.length / seconds),
        transactions: commits,
      })
      progress(WHAT, `${format}: ${fmt(sightings)} sightings in ${seconds.toFixed(1)} s`)
      await publisher.endAsync()
      await ingest.stop()
      await client.endAsync(true)
    }
  } finally {
    await stack.close()
  }
  printTable(
    `gateway formats: sightings/s through each adapter end to end (${GATEWAYS} gateways each, ${stack.kind} database)`,
    ['format', 'messages', 'sightings', 'seconds', 'sightings/s', 'messages/s', 'transactions'],
    figures.map((f) => [
      f.format,
      fmt(f.messages),
      f.format === 'paxcounter' ? '(counts)' : fmt(f.sightings),
      f.seconds.toFixed(1),
      f.format === 'paxcounter' ? '-' : fmt(f.sightingsPerS),
      fmt(f.messagesPerS),
      fmt(f.transactions),
    ]),
  )
  printNote(
    'one message per sighting for omg/espresense (micro-batched by ingest, 1 s / 500 sightings); native and sniffer one message per batch of 50; meraki one post per radio and batch; paxcounter one count message per batch',
  )
  for (const n of notes) printNote(n)
  return {
    settings: {
      gateways: GATEWAYS,
      sightingsPerBatch: SIGHTINGS_PER_BATCH,
      sightingsPerFormat,
      ingest: 'in the benchmark process (default micro-batching, no flood ceiling)',
    },
    figures: { formats: figures },
    notes,
  }
}
