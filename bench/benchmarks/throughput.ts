import { sql } from 'kysely'
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import { buildBenchDistrict, gatewayIdOf } from '../lib/district.ts'
import { spawnIngestChild, waitAcknowledged, type IngestChild } from '../lib/child.ts'
import type { ChildStats, StatementProfile } from '../ingest-child.ts'
import {
  BATCH_INTERVAL_MS,
  connectPublishers,
  GatewayStream,
  publishPaced,
  SIGHTINGS_PER_BATCH,
} from '../lib/load.ts'
import {
  fmt,
  fmtSummary,
  histogramDelta,
  histogramQuantile,
  nowMs,
  printNote,
  printTable,
  progress,
  summarise,
} from '../lib/report.ts'
import { midnightFreeWindow, openStack, serverVersions, TZ, type Stack } from '../lib/stack.ts'
import { localMidnightsIn } from '../../services/shared/contracts/local-time.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'
import {
  brokerOf,
  cpuDelta,
  isLoopback,
  ownCpuMs,
  postmasterOf,
  processCpuMs,
  readCpu,
  treeCpuMs,
  type CpuMeters,
  type CpuSnapshot,
} from '../lib/cpu.ts'

/** Miglio; the naive baseline (PUBACK after its INSERT); the peer (PUBACK on receipt). */
type Mode = 'miglio' | 'naive' | 'peer'
const MODES: readonly Mode[] = ['miglio', 'naive', 'peer']
const TITLES: Record<Mode, string> = {
  miglio: 'Ingest throughput — Miglio',
  naive: 'Naive baseline (1 INSERT per message, PUBACK after it)',
  peer: 'Acknowledge-on-receipt peer (PUBACK at once, 1 INSERT per message through the pool)',
}

export type StepFigures = {
  offered: number
  published: number
  achieved: number
  batchesPerS: number
  drainS: number
  commitMs: { p50: number; p95: number; p99: number }
  lost: number
  duplicated: number
  rejected: number
  /** The child's RSS when the step had drained (MB). */
  rssMb: number
  saturated: boolean
  checkMs: number
  expectedTransits?: number
  transits?: number
  /**
   * CPU time per 1 000 sightings committed in the step (ms), by process: the ingest child,
   * PostgreSQL (postmaster and all its processes), the broker, the load generator (this process).
   * Only the parts running on this machine; the embedded database and Aedes run in this process.
   */
  cpuMsPerK?: CpuSnapshot
}

/** The backlog drain of one pipeline (see `drain`). */
export type DrainFigures = {
  batches: number
  sightings: number
  seconds: number
  achieved: number
  lost: number
  duplicated: number
  rssMb: number
  complete: boolean
  cpuMsPerK: CpuSnapshot
}

const GATEWAYS = 20
/** Ingest's commit lanes: the product's default (INGEST_COMMIT_LANES). */
const COMMIT_LANES = Number(process.env.BENCH_COMMIT_LANES ?? 4)
/** Batches per gateway before the first Miglio ramp, so sessions close as fast as devices arrive. */
const WARMUP_BATCHES = 30
const GAP_MS = 120_000
const WHAT = 'ingest'

function statementsDelta(after: StatementProfile, before: StatementProfile): StatementProfile {
  const out: StatementProfile = {}
  for (const [k, v] of Object.entries(after)) {
    const b = before[k] ?? { count: 0, totalMs: 0 }
    if (v.count - b.count > 0) out[k] = { count: v.count - b.count, totalMs: v.totalMs - b.totalMs }
  }
  return out
}

/** Waits until the child acknowledged `target` messages (or stopped progressing). */
async function waitDrained(
  child: IngestChild,
  target: number,
  label: string,
): Promise<{ stats: ChildStats; complete: boolean }> {
  const { stats, complete } = await waitAcknowledged([child], target, (toGo) =>
    progress(WHAT, `${label}: draining, ${fmt(toGo)} batches to go`),
  )
  const [only] = stats
  if (!only) throw new Error('no stats from the ingest child')
  return { stats: only, complete }
}

export async function runThroughput(ctx: BenchContext): Promise<BenchResult> {
  const stepMs = ctx.quick ? 5_000 : 15_000
  const startRate = 1_250
  const maxRate = 320_000
  const stack: Stack = await openStack(ctx.target, 'ingest')
  const notes: string[] = []
  try {
    const db = stack.db()
    Object.assign(ctx.versions, await serverVersions(db))
    await loadDistrict(db, buildBenchDistrict({ zones: GATEWAYS }))
    await sql`CREATE TABLE bench_naive_sightings (gateway_id text NOT NULL, boot_id text NOT NULL,
      seq bigint NOT NULL, t timestamptz NOT NULL, mac text NOT NULL, rssi smallint NOT NULL,
      radio text NOT NULL)`.execute(db)
    await sql`SELECT create_hypertable('bench_naive_sightings', by_range('t', INTERVAL '1 day'))`.execute(
      db,
    )
    await stack.closeDb()

    // Event time runs faster than the wall clock; keep it inside one local day (one daily key, one
    // pseudonym per device) and within ingest's 24 h staleness bound for the whole run.
    const window = midnightFreeWindow(Date.now(), 21 * 3_600_000, 10 * 60_000)
    const t0 = Math.ceil(window.fromMs / BATCH_INTERVAL_MS) * BATCH_INTERVAL_MS
    const midnights = localMidnightsIn(window.fromMs, window.toMs, TZ)
    const bootOf = (mode: Mode) => `${mode}-${ctx.target.runId}`.slice(0, 64)
    const streamsOf = (mode: Mode, salt: number) =>
      Array.from(
        { length: GATEWAYS },
        (_, i) =>
          new GatewayStream(
            gatewayIdOf(i),
            i,
            bootOf(mode),
            salt,
            { kind: 'event', t0 },
            `${stack.topicPrefix}/${mode}`,
          ),
      )
    const streams: Record<Mode, GatewayStream[]> = {
      miglio: streamsOf('miglio', 1),
      naive: streamsOf('naive', 2),
      peer: streamsOf('peer', 3),
    }
    const publishers = await connectPublishers(ctx.target.mqttUrl, 4, `${stack.topicPrefix}-pub`)
    const published: Record<Mode, number> = { miglio: 0, naive: 0, peer: 0 }
    const publishedSightings: Record<Mode, number> = { miglio: 0, naive: 0, peer: 0 }
    const runs: Record<Mode, StepFigures[][]> = { miglio: [], naive: [], peer: [] }
    const drains: Record<Mode, DrainFigures | null> = { miglio: null, naive: null, peer: null }
    const profiles: { statements: StatementProfile; batches: number; commitMsPerBatch: number }[] =
      []

    /**
     * Lost and duplicated in the database after a step: Miglio's batch records against everything
     * published, and its transits against the exact expectation; the baselines' rows of this step.
     */
    async function check(
      child: IngestChild,
      mode: Mode,
      stepBatches: number,
      stepFromMs: number,
      firstSeqs: number[],
    ): Promise<{
      lost: number
      duplicated: number
      expectedTransits?: number
      transits?: number
    }> {
      if (mode === 'miglio') {
        const [b] = await child.query<{ n: string }>(
          `SELECT count(*) AS n FROM ingest_batches WHERE boot_id = $1`,
          [bootOf(mode)],
        )
        const [t] = await child.query<{ n: string; d: string }>(
          `SELECT count(*) AS n, count(DISTINCT (gateway_id, pseudonym, first_seen)) AS d FROM transits`,
        )
        const transits = Number(t?.n ?? 0)
        const expectedTransits = streams.miglio.reduce(
          (n, st) => n + st.expectedClosedTransits(GAP_MS, midnights),
          0,
        )
        // Transits written twice (uniqueness) or more than the exact expectation; fewer than
        // expected are lost transits, added to the lost batches.
        return {
          lost: published.miglio - Number(b?.n ?? 0) + Math.max(0, expectedTransits - transits),
          duplicated: transits - Number(t?.d ?? 0) + Math.max(0, transits - expectedTransits),
          expectedTransits,
          transits,
        }
      }
      // This step's rows only (each gateway's seqs from the step's first): a cumulative DISTINCT
      // over millions of rows would take longer than the step itself.
      const [r] = await child.query<{ n: string; b: string; d: string }>(
        `SELECT count(*) AS n, count(DISTINCT (gateway_id, seq)) AS b,
                count(DISTINCT (gateway_id, seq, mac)) AS d
         FROM bench_naive_sightings s
         JOIN unnest($3::text[], $4::bigint[]) AS f(g, first_seq)
           ON s.gateway_id = f.g AND s.seq >= f.first_seq
         WHERE s.boot_id = $1 AND s.t >= $2`,
        [bootOf(mode), new Date(stepFromMs), streams[mode].map((st) => st.gatewayId), firstSeqs],
      )
      return {
        lost: stepBatches - Number(r?.b ?? 0),
        duplicated: Number(r?.n ?? 0) - Number(r?.d ?? 0),
      }
    }

    /** This machine's processes of the pipeline, besides the ingest child. */
    async function metersOf(child: IngestChild): Promise<CpuMeters> {
      const meters: CpuMeters = { 'load generator': ownCpuMs }
      if (stack.kind === 'server' && isLoopback(stack.url)) {
        const postmaster = await postmasterOf((text) => child.query<{ pid: number }>(text))
        if (postmaster) meters.postgres = () => treeCpuMs(postmaster)
      }
      const broker = ctx.target.brokerKind === 'env' ? brokerOf(ctx.target.mqttUrl) : null
      if (broker) meters.broker = () => processCpuMs(broker)
      return meters
    }

    async function ramp(mode: Mode, rep: number) {
      const childConfig: Parameters<typeof spawnIngestChild>[0] = {
        mode,
        dbUrl: stack.url,
        poolSize: stack.poolSize,
        mqttUrl: ctx.target.mqttUrl,
        clientId: `${stack.topicPrefix}-${mode}`,
        topicPrefix: `${stack.topicPrefix}/${mode}`,
        gapMs: GAP_MS,
        idleCloseMs: 24 * 3_600_000,
        keyGraceMs: 48 * 3_600_000,
        maintenanceIntervalMs: 5_000,
        jobs: false,
        profile: mode === 'miglio',
        commitLanes: COMMIT_LANES,
      }
      let child = await spawnIngestChild(childConfig)
      const steps: StepFigures[] = []
      const meters: CpuMeters = {
        ingest: () => processCpuMs(child.pid),
        ...(await metersOf(child)),
      }
      if (mode === 'miglio' && rep === 0) {
        // Warm-up (not measured): enough event time per gateway that sessions close (gap) at the
        // rate devices arrive, as in steady operation.
        progress(WHAT, `${mode}: warm-up, ${WARMUP_BATCHES} batches per gateway`)
        const before = await child.stats()
        const pub = await publishPaced({
          streams: streams.miglio,
          clients: publishers,
          rate: 1_000,
          durationMs: (WARMUP_BATCHES * GATEWAYS * 1000) / 1_000,
        })
        published.miglio += pub.batches
        await waitDrained(child, before.messagesDone + pub.batches, 'warm-up')
      }
      const first = await child.stats()
      try {
        for (let offered = startRate; offered <= maxRate; offered *= 2) {
          const rate = offered / SIGHTINGS_PER_BATCH
          if (mode === 'miglio') {
            const perGateway = Math.ceil((rate * stepMs) / 1000 / GATEWAYS) + 1
            const maxSeq = Math.max(...streams.miglio.map((s) => s.seq))
            if (t0 + (maxSeq + perGateway + 1) * BATCH_INTERVAL_MS > window.toMs) {
              notes.push(
                `${mode} repeat ${rep + 1}: stopped before ${fmt(offered)}/s — the synthetic event-time window (${new Date(window.fromMs).toISOString()} … ${new Date(window.toMs).toISOString()}) is used up`,
              )
              break
            }
          }
          const label = `${mode} r${rep + 1} ${fmt(offered)} sightings/s`
          progress(WHAT, `${label}: publishing ${stepMs / 1000} s`)
          const before = await child.stats()
          // Event time where this step's batches start (every gateway is within one batch of it).
          const stepFromMs = Math.min(...streams[mode].map((st) => st.batchStart(st.seq)))
          const firstSeqs = streams[mode].map((st) => st.seq)
          const cpuBefore = readCpu(meters)
          const pub = await publishPaced({
            streams: streams[mode],
            clients: publishers,
            rate,
            durationMs: stepMs,
          })
          published[mode] += pub.batches
          publishedSightings[mode] += pub.sightings
          const { stats: after, complete } = await waitDrained(
            child,
            before.messagesDone + pub.batches,
            label,
          )
          const cpu = cpuDelta(readCpu(meters), cpuBefore)
          const spanS = (Math.max(after.lastDoneAt, pub.endedAt) - pub.startedAt) / 1000
          const doneBatches = after.messagesDone - before.messagesDone
          const achieved = (after.sightings - before.sightings) / spanS
          const hist = histogramDelta(after.commitBuckets, before.commitBuckets)
          const checkStarted = nowMs()
          const { lost, duplicated, expectedTransits, transits } = await check(
            child,
            mode,
            pub.batches,
            stepFromMs,
            firstSeqs,
          )
          const step: StepFigures = {
            offered,
            published: pub.sightings / ((pub.endedAt - pub.startedAt) / 1000),
            achieved,
            batchesPerS: doneBatches / spanS,
            drainS: Math.max(0, (after.lastDoneAt - pub.endedAt) / 1000),
            commitMs: {
              p50: histogramQuantile(hist, 0.5) * 1000,
              p95: histogramQuantile(hist, 0.95) * 1000,
              p99: histogramQuantile(hist, 0.99) * 1000,
            },
            lost,
            duplicated,
            rejected: after.rejected - first.rejected,
            rssMb: after.rssMb,
            saturated: achieved < 0.9 * offered,
            checkMs: nowMs() - checkStarted,
            ...(expectedTransits !== undefined ? { expectedTransits, transits } : {}),
            cpuMsPerK: Object.fromEntries(
              Object.entries(cpu).map(([k, ms]) => [
                k,
                ms / Math.max(1e-9, (after.sightings - before.sightings) / 1000),
              ]),
            ),
          }
          steps.push(step)
          progress(
            WHAT,
            `${label}: achieved ${fmt(achieved)} sightings/s (${fmt(step.batchesPerS)} batches/s), commit p50 ${fmt(step.commitMs.p50, 1)} ms, lost ${lost}, dup ${duplicated}${complete ? '' : ' — INCOMPLETE DRAIN'}`,
          )
          if (pub.publishedRate < 0.95 * rate)
            notes.push(
              `${mode} repeat ${rep + 1} at ${fmt(offered)}/s: the publisher reached only ${fmt(pub.publishedRate * SIGHTINGS_PER_BATCH)} sightings/s`,
            )
          if (!complete) {
            notes.push(
              `${mode} repeat ${rep + 1} at ${fmt(offered)}/s: ingest stopped making progress`,
            )
            break
          }
          if (step.saturated) break
        }
        const last = await child.stats()
        if (mode === 'miglio') {
          const batches = last.messagesDone - first.messagesDone
          profiles.push({
            statements: statementsDelta(last.statements, first.statements),
            batches,
            commitMsPerBatch:
              ((last.commitSum - first.commitSum) * 1000) /
              Math.max(1, last.commitCount - first.commitCount),
          })
        }
        if (rep === 0) {
          await child.stop({ keepSession: true })
          drains[mode] = await drain(
            mode,
            async () => (child = await spawnIngestChild(childConfig)),
            meters,
          )
        }
      } finally {
        await child.stop()
      }
      runs[mode].push(steps)
    }

    /**
     * The backlog drain: ingest stopped (its persistent session kept), a backlog published to the
     * broker, then a new ingest process started against it and timed until every message is
     * acknowledged. No load generator competes for the cores while it runs, so this is the
     * pipeline's capacity on this machine; Miglio's new process also rebuilds its open sessions
     * from the checkpoints and the session log first, as after a restart.
     */
    async function drain(
      mode: Mode,
      /** Starts the new ingest process (the previous one is stopped, its session kept). */
      start: () => Promise<IngestChild>,
      meters: CpuMeters,
    ): Promise<DrainFigures | null> {
      const batches = ctx.quick ? 6_000 : 20_000
      if (mode === 'miglio') {
        const maxSeq = Math.max(...streams.miglio.map((st) => st.seq))
        if (t0 + (maxSeq + batches / GATEWAYS + 2) * BATCH_INTERVAL_MS > window.toMs) {
          notes.push(`${mode}: no backlog drain — the synthetic event-time window is used up`)
          await start()
          return null
        }
      }
      const label = `${mode} backlog of ${fmt(batches)} batches`
      progress(WHAT, `${label}: ingest stopped, publishing`)
      const stepFromMs = Math.min(...streams[mode].map((st) => st.batchStart(st.seq)))
      const firstSeqs = streams[mode].map((st) => st.seq)
      const pubRate = 4_000
      const pub = await publishPaced({
        streams: streams[mode],
        clients: publishers,
        rate: pubRate,
        durationMs: (batches / pubRate) * 1000,
      })
      published[mode] += pub.batches
      publishedSightings[mode] += pub.sightings
      const child = await start()
      progress(WHAT, `${label}: draining with a new ingest process`)
      const cpuBefore = readCpu(meters)
      const startedAt = nowMs()
      const { stats: after, complete } = await waitDrained(child, pub.batches, label)
      const cpu = cpuDelta(readCpu(meters), cpuBefore)
      const spanS = (after.lastDoneAt - startedAt) / 1000
      const figures = await check(child, mode, pub.batches, stepFromMs, firstSeqs)
      const result: DrainFigures = {
        batches: pub.batches,
        sightings: after.sightings,
        seconds: spanS,
        achieved: after.sightings / spanS,
        lost: figures.lost,
        duplicated: figures.duplicated,
        rssMb: after.rssMb,
        complete,
        cpuMsPerK: Object.fromEntries(
          Object.entries(cpu).map(([k, ms]) => [k, ms / Math.max(1e-9, after.sightings / 1000)]),
        ),
      }
      progress(
        WHAT,
        `${label}: ${fmt(result.achieved)} sightings/s over ${fmt(spanS, 1)} s, lost ${result.lost}, dup ${result.duplicated}${complete ? '' : ' — INCOMPLETE DRAIN'}`,
      )
      return result
    }

    for (let rep = 0; rep < ctx.repeats; rep++) {
      for (const mode of MODES) await ramp(mode, rep)
    }
    await Promise.all(publishers.map((p) => p.endAsync()))

    // Figures per offered load, over repeats.
    const saturation = (mode: Mode) =>
      runs[mode].map((steps) => Math.max(...steps.map((s) => s.achieved)))
    const saturatedAt = (mode: Mode) =>
      runs[mode].map((steps) => steps.find((s) => s.saturated)?.offered ?? NaN)
    const perLoad = (mode: Mode) => {
      const loads = [...new Set(runs[mode].flat().map((s) => s.offered))].sort((a, b) => a - b)
      return loads.map((offered) => {
        const at = runs[mode].flatMap((steps) => steps.filter((s) => s.offered === offered))
        return {
          offered,
          repeats: at.length,
          achieved: summarise(at.map((s) => s.achieved)),
          batchesPerS: summarise(at.map((s) => s.batchesPerS)),
          commitP50Ms: summarise(at.map((s) => s.commitMs.p50)),
          commitP95Ms: summarise(at.map((s) => s.commitMs.p95)),
          commitP99Ms: summarise(at.map((s) => s.commitMs.p99)),
          lost: Math.max(...at.map((s) => s.lost)),
          duplicated: Math.max(...at.map((s) => s.duplicated)),
          rssMb: summarise(at.map((s) => s.rssMb)),
          saturatedIn: at.filter((s) => s.saturated).length,
        }
      })
    }
    const table = (mode: Mode) => {
      const rows = perLoad(mode)
      printTable(
        `${TITLES[mode]} (end to end, QoS 1, ${GATEWAYS} gateways, 50 sightings/batch, ${stepMs / 1000} s steps; median (min–max) over ${ctx.repeats} repeat(s))`,
        [
          'offered/s',
          'achieved sightings/s',
          'batches/s',
          'commit p50 ms',
          'p95 ms',
          'p99 ms',
          'lost',
          'dup',
          'RSS MB',
          'saturated',
        ],
        rows.map((r) => [
          fmt(r.offered),
          fmtSummary(r.achieved),
          fmtSummary(r.batchesPerS),
          fmtSummary(r.commitP50Ms, 1),
          fmtSummary(r.commitP95Ms, 1),
          fmtSummary(r.commitP99Ms, 1),
          r.lost,
          r.duplicated,
          fmtSummary(r.rssMb),
          `${r.saturatedIn}/${r.repeats}`,
        ]),
      )
      return rows
    }
    const miglioRows = table('miglio')
    const naiveRows = table('naive')
    const peerRows = table('peer')
    const m = summarise(saturation('miglio'))
    const n = summarise(saturation('naive'))
    const pe = summarise(saturation('peer'))
    const ratioTo = (other: Mode) =>
      summarise(saturation('miglio').map((v, i) => v / (saturation(other)[i] ?? NaN)))
    const ratios = ratioTo('naive')
    const peerRatios = ratioTo('peer')
    ctx.shared.miglioSaturation = m.median

    // Where the time of one Miglio batch goes (kysely's statement timings, all ramps).
    const merged: StatementProfile = {}
    let batches = 0
    for (const p of profiles) {
      batches += p.batches
      for (const [k, v] of Object.entries(p.statements)) {
        const t = (merged[k] ??= { count: 0, totalMs: 0 })
        t.count += v.count
        t.totalMs += v.totalMs
      }
    }
    const commitMsPerBatch = summarise(profiles.map((p) => p.commitMsPerBatch)).median
    const perBatch = Object.entries(merged)
      .map(([kind, v]) => ({ kind, perBatch: v.count / batches, msPerBatch: v.totalMs / batches }))
      .sort((a, b) => b.msPerBatch - a.msPerBatch)
    const sqlMs = perBatch.reduce((s, r) => s + r.msPerBatch, 0)
    printTable(
      `Ingest: where one batch's time goes (statement round trips timed by kysely, ${fmt(batches)} batches)`,
      ['statement', 'per batch', 'ms per batch'],
      [
        ...perBatch.map((r) => [r.kind, fmt(r.perBatch, 2), fmt(r.msPerBatch, 3)]),
        ['all SQL round trips', '', fmt(sqlMs, 3)],
        ['commitBatch (histogram mean)', '', fmt(commitMsPerBatch, 3)],
      ],
    )
    printTable(
      'Saturation (highest achieved sightings/s over the ramp; median (min–max) over repeats)',
      ['pipeline', 'sightings/s', 'batches/s', 'first saturated offered/s'],
      [
        [
          'Miglio',
          fmtSummary(m),
          fmtSummary(summarise(saturation('miglio').map((v) => v / 50))),
          fmtSummary(summarise(saturatedAt('miglio'))),
        ],
        [
          'naive (1 INSERT/message)',
          fmtSummary(n),
          fmtSummary(summarise(saturation('naive').map((v) => v / 50))),
          fmtSummary(summarise(saturatedAt('naive'))),
        ],
        [
          'peer (PUBACK on receipt)',
          fmtSummary(pe),
          fmtSummary(summarise(saturation('peer').map((v) => v / 50))),
          fmtSummary(summarise(saturatedAt('peer'))),
        ],
        ['ratio Miglio / naive', fmtSummary(ratios, 2), '', ''],
        ['ratio Miglio / peer', fmtSummary(peerRatios, 2), '', ''],
      ],
    )
    // CPU per sighting by process at each pipeline's best step: what it would need on cores of its
    // own, whatever shared this machine's cores during the run.
    const parts = ['ingest', 'postgres', 'broker', 'load generator']
    const cpuAtBest = (mode: Mode) =>
      runs[mode].map((steps) => {
        const best = steps.reduce((a, b) => (b.achieved > a.achieved ? b : a))
        return best.cpuMsPerK ?? {}
      })
    const cpuRows = MODES.map((mode) => {
      const at = cpuAtBest(mode)
      const per = Object.fromEntries(
        parts.map((k) => [k, summarise(at.map((c) => c[k] ?? NaN).filter(Number.isFinite))]),
      )
      return { mode, per }
    })
    printTable(
      'CPU per sighting at the best step (µs of CPU time per sighting committed, by process; /proc)',
      ['pipeline', ...parts, 'ingest alone on 1 core, sightings/s'],
      cpuRows.map(({ mode, per }) => [
        mode,
        ...parts.map((k) => (per[k]?.n ? fmtSummary(per[k], 2) : '—')),
        per.ingest?.n ? fmt(1e6 / per.ingest.median) : '—',
      ]),
    )
    printNote(
      'CPU per sighting does not depend on what else shared the cores; ingest alone on 1 core = 1 000 000 ÷ its µs (the database and broker on cores of their own)',
    )
    const drained = MODES.flatMap((mode) => {
      const d = drains[mode]
      return d ? [{ mode, d }] : []
    })
    const cpuCell = (d: DrainFigures, k: string) =>
      d.cpuMsPerK[k] === undefined || !Number.isFinite(d.cpuMsPerK[k])
        ? '—'
        : fmt(d.cpuMsPerK[k] ?? NaN, 2)
    printTable(
      'Backlog drain (ingest stopped, a backlog published, a new ingest process drains it; no publisher competing)',
      [
        'pipeline',
        'batches',
        'sightings/s',
        'seconds',
        'lost',
        'dup',
        'RSS MB',
        'µs CPU/sighting: ingest',
        'postgres',
        'broker',
        'ingest alone on 1 core, sightings/s',
      ],
      drained.map(({ mode, d }) => [
        `${mode}${d.complete ? '' : ' (incomplete)'}`,
        fmt(d.batches),
        fmt(d.achieved),
        fmt(d.seconds, 1),
        d.lost,
        d.duplicated,
        fmt(d.rssMb),
        cpuCell(d, 'ingest'),
        cpuCell(d, 'postgres'),
        cpuCell(d, 'broker'),
        d.cpuMsPerK.ingest ? fmt(1e6 / d.cpuMsPerK.ingest) : '—',
      ]),
    )
    const peerDrain = drains.peer?.achieved
    if (drains.miglio && peerDrain)
      printNote(
        `drain: Miglio / peer = ${fmt(drains.miglio.achieved / peerDrain, 2)} (the peer acknowledged its backlog on receipt and held it in memory)`,
      )
    printNote(
      'targets: ≥ 300 000 sightings/s per ingest process with 0 lost and 0 duplicated; ≥ 2× the peer',
    )
    printNote(
      "the peer's figures count rows inserted; its backlog lives in its memory (RSS column) and is lost on a crash",
    )
    for (const note of notes) printNote(note)
    return {
      settings: {
        gateways: GATEWAYS,
        sightingsPerBatch: SIGHTINGS_PER_BATCH,
        stepSeconds: stepMs / 1000,
        ramp: `from ${startRate}/s, ×2 per step, until achieved < 90 % of offered (max ${maxRate}/s)`,
        qos: 1,
        publisherConnections: 4,
        commitLanes: COMMIT_LANES,
        transitGapS: GAP_MS / 1000,
        eventTimeWindow: {
          from: new Date(window.fromMs).toISOString(),
          to: new Date(window.toMs).toISOString(),
        },
        jobRunner: 'off',
        database: stack.kind,
        broker: ctx.target.brokerKind,
      },
      figures: {
        miglio: { perLoad: miglioRows, runs: runs.miglio, saturation: m },
        naive: { perLoad: naiveRows, runs: runs.naive, saturation: n },
        peer: { perLoad: peerRows, runs: runs.peer, saturation: pe },
        ratioMiglioToNaive: ratios,
        ratioMiglioToPeer: peerRatios,
        perBatchStatements: perBatch,
        commitMsPerBatch,
        cpuUsPerSightingAtBest: Object.fromEntries(cpuRows.map((r) => [r.mode, r.per])),
        drain: drains,
      },
      notes,
    }
  } finally {
    await stack.close()
  }
}
