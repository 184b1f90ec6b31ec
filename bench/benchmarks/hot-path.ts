/**
 * Ingest's own CPU a sighting, step by step, without a broker or a database (`--only hotpath`): the
 * native intake (topic, zod decode, registry, flood control, day keys, pseudonymisation, digest) and
 * the committer's in-memory work (sessions, closed transits, the session log's packing, gateway
 * progress), in one process, on the throughput benchmark's workload (20 gateways, batches of 50, a
 * device heard in 6 consecutive batches). What the ingest benchmark's "ingest µs a sighting" adds to
 * this is the MQTT client, the SQL statements' parameters and the sockets.
 *
 * The payloads are built first; then, after a warm-up pass, each round decodes all of them once
 * (decode alone) and runs the stream as ingest does — groups of GROUP messages taken in, then
 * planned against the sessions in memory — summing each part's CPU time (`process.cpuUsage`); the
 * best of the rounds is reported. Garbage collection is observed with a `gc` performance observer
 * (its wall time, shared out by CPU time). Pure: no file, socket or database is touched.
 */
import { PerformanceObserver } from 'node:perf_hooks'
import { decodeMessage } from '../../services/ingest/decode-message.ts'
import { createMemoryKeyStore, createPseudonymiser } from '../../services/ingest/pseudonymiser.ts'
import {
  createNativeIntake,
  createPseudonymise,
} from '../../services/ingest/intake/native-intake.ts'
import { createFloodControl } from '../../services/ingest/intake/flood-control.ts'
import type { NativeBatchTaken } from '../../services/ingest/intake/work.ts'
import type { RegistryView } from '../../services/ingest/registry-view.ts'
import type { RegisteredGateway } from '../../services/ingest/model.ts'
import { GatewaySessions, type SessionRules } from '../../services/ingest/gateway-sessions.ts'
import { advanceProgress, transitOf } from '../../services/ingest/plan-group.ts'
import { packSightings } from '../../services/ingest/session-log.ts'
import { buildBenchDistrict, gatewayIdOf } from '../lib/district.ts'
import { registryOf } from '../lib/offline-ingest.ts'
import { BATCH_INTERVAL_MS, GatewayStream } from '../lib/load.ts'
import { fmt, printNote, printTable, progress } from '../lib/report.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'hotpath'
const GATEWAYS = 20
const TZ = 'Europe/Rome'
/** Messages a group takes in before it is planned (the committer's groups under load). */
const GROUP = 160
const RULES: SessionRules = { gapMs: 120_000, staticAfterMs: 4 * 3_600_000 }

/** A step's CPU time over the whole stream, and the garbage collection's (wall) time in it. */
type Step = { name: string; cpuUs: number; gcMs: number }

/** CPU time and garbage collection of `fn`, which processes `sightings` sightings. */
async function measure(name: string, fn: () => Promise<void> | void): Promise<Step> {
  let gcMs = 0
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration
  })
  obs.observe({ entryTypes: ['gc'] })
  const before = process.cpuUsage()
  await fn()
  const used = process.cpuUsage(before)
  // gc entries are delivered asynchronously: let them arrive before disconnecting.
  await new Promise((r) => setTimeout(r, 100))
  obs.disconnect()
  return { name, cpuUs: used.user + used.system, gcMs }
}

export async function runHotPath(ctx: BenchContext): Promise<BenchResult> {
  const batchesPerGateway = ctx.quick ? 500 : 3_000
  const district = buildBenchDistrict({ zones: GATEWAYS })
  const gateways: Map<string, RegisteredGateway> = registryOf(district)
  const registry: RegistryView = {
    get: (id) => gateways.get(id),
    reloadFor: (id) => Promise.resolve(gateways.get(id)),
  } as RegistryView

  // Event time: 3 000 batches of 5 s are 4 h 10 min, inside ingest's 24 h bound; ends 10 min ago.
  const endMs = Date.now() - 10 * 60_000
  const t0 = Math.floor((endMs - batchesPerGateway * BATCH_INTERVAL_MS) / 1000) * 1000
  const streams = Array.from(
    { length: GATEWAYS },
    (_, i) => new GatewayStream(gatewayIdOf(i), i, 'hotpath', 1, { kind: 'event', t0 }, ''),
  )
  const messages: { topic: string; payload: Buffer }[] = []
  for (let b = 0; b < batchesPerGateway; b++)
    for (const s of streams)
      messages.push({ topic: s.topic, payload: Buffer.from(s.next(0).payload) })
  const sightings = messages.length * 50
  progress(WHAT, `${fmt(messages.length)} batches, ${fmt(sightings)} sightings built`)

  const now = () => Date.now()
  const newIntake = () => {
    const pseudonymiser = createPseudonymiser({ store: createMemoryKeyStore(), tz: TZ, graceMs: 0 })
    return createNativeIntake({
      topicPrefix: undefined,
      now,
      registry,
      flood: createFloodControl({ messagesPerS: 0, sightingsPerS: 0 }),
      pseudonymise: createPseudonymise({
        pseudonymiser,
        withRetry: (_what, fn) => fn(),
        deviceList: undefined,
      }),
      deadLetter: () => {
        throw new Error('a benchmark message was refused')
      },
    })
  }

  const decodeAll = () => {
    const t = now()
    for (const m of messages) {
      const d = decodeMessage(m.topic, m.payload, t)
      if (!d.ok) throw new Error(`decode: ${d.reason} ${d.detail}`)
    }
  }
  let closed = 0
  let logBytes = 0
  /**
   * The whole stream as ingest takes it: groups of GROUP messages taken in (intake), then planned
   * against the sessions in memory (commit without its SQL), each part's CPU time summed.
   */
  const pipeline = async (): Promise<{ intakeUs: number; commitUs: number }> => {
    const intake = newIntake()
    const states = new Map<string, GatewaySessions>()
    let intakeUs = 0
    let commitUs = 0
    closed = 0
    logBytes = 0
    for (let from = 0; from < messages.length; from += GROUP) {
      const group = messages.slice(from, from + GROUP)
      const t0 = process.cpuUsage()
      const taken: NativeBatchTaken[] = []
      for (const m of group) {
        const w = await intake.take(m.topic, m.payload)
        if (w.kind !== 'batch') throw new Error(`intake: ${w.kind}`)
        taken.push(w)
      }
      const t1 = process.cpuUsage(t0)
      const nowMs = now()
      for (const { work } of taken) {
        const g = work.gateway
        let state = states.get(g.id)
        if (!state)
          states.set(g.id, (state = new GatewaySessions({ version: 0, watermarkMs: null })))
        const applied = state.apply(work, RULES, nowMs)
        for (const s of applied.closed) {
          transitOf(g, s)
          closed++
        }
        logBytes += packSightings(work.sightings, work.exempt).length
        advanceProgress(undefined, work)
      }
      const t2 = process.cpuUsage(t0)
      intakeUs += t1.user + t1.system
      commitUs += t2.user + t2.system - (t1.user + t1.system)
    }
    return { intakeUs, commitUs }
  }

  // Warm-up: one pass of each (the JIT; the pseudonymiser's memo is per pass).
  decodeAll()
  await pipeline()
  progress(WHAT, 'warmed up; measuring')

  const rounds = ctx.quick ? 3 : 5
  type Round = { decode: Step; intake: Step; commit: Step }
  const measured: Round[] = []
  for (let r = 0; r < rounds; r++) {
    const decode = await measure('decode (topic, JSON, schema, MACs, times)', decodeAll)
    let parts = { intakeUs: 0, commitUs: 0 }
    const whole = await measure('whole', async () => {
      parts = await pipeline()
    })
    // GC is observed for the pipeline as a whole and shared out by the parts' CPU time.
    const share = (us: number) => (whole.gcMs * us) / (parts.intakeUs + parts.commitUs)
    measured.push({
      decode,
      intake: {
        name: 'intake (decode + keys + pseudonymise + digest)',
        cpuUs: parts.intakeUs,
        gcMs: share(parts.intakeUs),
      },
      commit: {
        name: 'sessions + transits + log packing + progress',
        cpuUs: parts.commitUs,
        gcMs: share(parts.commitUs),
      },
    })
    progress(WHAT, `round ${r + 1}/${rounds}`)
  }
  const bestOf = (key: keyof Round): Step =>
    measured.map((m) => m[key]).reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a))
  const best = { decode: bestOf('decode'), intake: bestOf('intake'), commit: bestOf('commit') }
  const per = (us: number) => us / sightings
  const gcShare = (s: Step) => s.gcMs / (s.cpuUs / 1000)
  const total = per(best.intake.cpuUs + best.commit.cpuUs)
  const figures: Record<string, unknown> = {
    sightings,
    closedTransits: closed,
    sessionLogBytesPerSighting: logBytes / sightings,
    totalCpuUsPerSighting: total,
    steps: Object.fromEntries(
      Object.values(best).map((s) => [
        s.name,
        { cpuUsPerSighting: per(s.cpuUs), gcShare: gcShare(s) },
      ]),
    ),
  }
  const table = Object.values(best).map((s) => [
    s.name,
    fmt(per(s.cpuUs), 2),
    fmt((sightings * 1e6) / s.cpuUs),
    `${fmt(100 * gcShare(s), 1)} %`,
  ])
  table.push(['intake + in-memory commit', fmt(total, 2), fmt(1e6 / total), ''])
  printTable(
    `Ingest's own work without broker or database (best of ${rounds}; ${fmt(sightings)} sightings, ${fmt(closed)} transits closed)`,
    ['step', 'CPU µs / sighting', 'sightings/s on one core', 'of it GC'],
    table,
  )
  const notes = [
    `Pure steps only: the ingest benchmark's CPU a sighting minus ${fmt(total, 2)} µs is the MQTT client, SQL parameters and socket I/O.`,
  ]
  for (const n of notes) printNote(n)
  return {
    settings: { gateways: GATEWAYS, batchesPerGateway, rounds, sightingsPerBatch: 50 },
    figures,
    notes,
  }
}
