/**
 * `npm run bench -- --only replicas` — what two ingest replicas cost on Mosquitto's round-robin
 * shared subscription (issue #15, docs/scaling.md).
 *
 * Ingest holds each gateway's open sessions in memory and rebuilds them from the checkpoint and the
 * session log when another replica committed the gateway last (services/ingest/committer/
 * session-cache.ts). With `$share/<group>/…` on Mosquitto, consecutive batches of a gateway go to
 * alternating replicas, so most groups rebuild. A 2-core machine cannot show a throughput ratio
 * honestly (publisher, broker, PostgreSQL and the replicas share the cores), so the measure is CPU
 * per sighting, read from /proc: if two replicas together spend what one spends per sighting,
 * replicas scale with cores; if rebuilds double it, they do not.
 *
 * Three conditions, each on its own 20 gateways (same workload shape as the throughput benchmark:
 * batches of 50, event time, the same lost/dup checks against the database):
 *   one       — one replica, plain subscription;
 *   shared    — two replicas on one `$share/ingest/…` subscription (MQTT v5), Mosquitto round-robin;
 *   affinity  — two replicas, each subscribed to half of the gateways' topics (the per-topic
 *               affinity EMQX `hash_topic` gives), the reference.
 * Each at a fixed offered rate below saturation, then as a backlog drain (replicas stopped with
 * their sessions kept, a backlog published, new replicas drain it with no publisher competing).
 * Needs a real broker: Aedes (the embedded broker) accepts `$share/…` but delivers nothing.
 *
 * Besides lost/dup it counts "split passes" (one device's pass at one gateway stored as two or more
 * transits): with a shared subscription a gateway's batches reach the database out of order, and a
 * batch committed after the gateway's event-time watermark moved more than the gap past it finds
 * its devices' sessions closed already. Env: BENCH_REPLICAS_RATE (sightings/s, default 30 000),
 * BENCH_REPLICAS_ONLY (conditions), BENCH_CHECKPOINT_MS, BENCH_COMMIT_LANES.
 */
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import { durableSessions } from '../../services/ingest/committer/session-cache.ts'
import { localMidnightsIn } from '../../services/shared/contracts/local-time.ts'
import { buildBenchDistrict, gatewayIdOf } from '../lib/district.ts'
import { spawnIngestChild, waitAcknowledged, type IngestChild } from '../lib/child.ts'
import type { ChildConfig, ChildStats } from '../ingest-child.ts'
import {
  BATCH_INTERVAL_MS,
  connectPublishers,
  GatewayStream,
  publishPaced,
  SIGHTINGS_PER_BATCH,
} from '../lib/load.ts'
import {
  fmt,
  histogramDelta,
  histogramQuantile,
  nowMs,
  printNote,
  printTable,
  progress,
  type HistogramBuckets,
} from '../lib/report.ts'
import { midnightFreeWindow, openStack, serverVersions, TZ, type Stack } from '../lib/stack.ts'
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

type Condition = 'one' | 'shared' | 'affinity'
const ALL_CONDITIONS: readonly Condition[] = ['one', 'shared', 'affinity']
/** BENCH_REPLICAS_ONLY=shared,… runs only those conditions (the cost table needs `one`). */
const CONDITIONS: readonly Condition[] = process.env.BENCH_REPLICAS_ONLY
  ? ALL_CONDITIONS.filter((c) => process.env.BENCH_REPLICAS_ONLY?.split(',').includes(c))
  : ALL_CONDITIONS
const TITLES: Record<Condition, string> = {
  one: '1 replica',
  shared: '2 replicas, $share (round-robin)',
  affinity: '2 replicas, half the topics each',
}
const REPLICAS: Record<Condition, number> = { one: 1, shared: 2, affinity: 2 }

const WHAT = 'replicas'
const GATEWAYS = 20
const SHARE_GROUP = 'ingest'
const GAP_MS = 120_000
const WARMUP_BATCHES = 30
/** Ingest's commit lanes per replica: the product's default (INGEST_COMMIT_LANES). */
const COMMIT_LANES = Number(process.env.BENCH_COMMIT_LANES ?? 4)
/** INGEST_CHECKPOINT_MS of the replicas (default: the product's 10 s). */
const CHECKPOINT_MS = process.env.BENCH_CHECKPOINT_MS
  ? Number(process.env.BENCH_CHECKPOINT_MS)
  : undefined
/**
 * The fixed offered rate (sightings/s): ~55 % of what one replica drained on the native pair in
 * the throughput benchmark (56 923 sightings/s, docs/scaling.md), below saturation.
 */
const OFFERED = Number(process.env.BENCH_REPLICAS_RATE ?? 30_000)

/**
 * One rebuild measured on its own: ingest's rebuild path (lock, heads, the checkpointed sessions and
 * the log after them, replayed: `durableSessions`) for every gateway of a condition, in this process.
 */
export type RebuildProbe = {
  when: string
  gateways: number
  /** Session-log rows after the checkpoints (replayed), and checkpointed open sessions, per gateway. */
  logRowsPerGateway: number
  checkpointRowsPerGateway: number
  /** Wall time and this process's CPU (SQL client + replay) per gateway rebuilt. */
  wallMsPerGateway: number
  cpuUsPerGateway: number
}

/** What a set of replicas did over one measured stretch (a step or a drain). */
export type ReplicaFigures = {
  replicas: number
  batches: number
  sightings: number
  seconds: number
  achieved: number
  lost: number
  duplicated: number
  complete: boolean
  /** Gateways rebuilt (miglio_ingest_session_rebuilds_total), summed over the replicas. */
  rebuilds: number
  /** Transactions (commit groups), summed over the replicas. */
  groups: number
  rebuildsPerBatch: number
  rebuildsPerGroup: number
  replayedLogRows: number
  replayedLogRowsPerRebuild: number
  checkpointRowsPerRebuild: number
  /** Batches acknowledged by each replica. */
  batchesPerReplica: number[]
  commitP50Ms: number
  /** µs of CPU per sighting committed, by process (ingest: the replicas together). */
  cpuUsPerSighting: CpuSnapshot
  rssMb: number[]
  expectedTransits: number
  transits: number
  /** Transits of one device's pass split in two (same pseudonym and gateway, under the gap apart). */
  splits: number
}

function sumStats(all: readonly ChildStats[]) {
  const buckets = new Map<number, number>()
  for (const s of all)
    for (const b of s.commitBuckets) buckets.set(b.le, (buckets.get(b.le) ?? 0) + b.count)
  const sum = (k: keyof ChildStats) => all.reduce((n, s) => n + Number(s[k] ?? 0), 0)
  return {
    messagesDone: sum('messagesDone'),
    sightings: sum('sightings'),
    rebuilds: sum('rebuilds'),
    groups: sum('commitCount'),
    replayedLogRows: sum('replayedLogRows'),
    checkpointRows: sum('checkpointRows'),
    lastDoneAt: Math.max(...all.map((s) => s.lastDoneAt)),
    buckets: [...buckets].map(([le, count]) => ({ le, count })) as HistogramBuckets,
  }
}

export async function runReplicas(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = []
  const skip =
    ctx.target.brokerKind === 'embedded'
      ? 'skipped: the embedded broker (Aedes) speaks MQTT 3.1.1 only (a v5 CONNECT is refused) and accepts a `$share/…` subscription but delivers nothing to it (checked: 0 of 5 QoS 1 messages), so there is no shared subscription to measure. Set MQTT_URL to Mosquitto (or another v5 broker).'
      : !ctx.target.databaseUrl
        ? 'skipped: needs DATABASE_URL — the embedded PGlite serves one session to every connection, so two replicas could not hold transactions and gateway locks of their own.'
        : null
  if (skip) {
    printNote(skip)
    return {
      settings: {
        broker: ctx.target.brokerKind,
        database: ctx.target.databaseUrl ? 'server' : 'embedded',
      },
      figures: {},
      notes: [skip],
    }
  }
  const stepMs = ctx.quick ? 15_000 : 45_000
  const backlogBatches = ctx.quick ? 6_000 : 20_000
  const stack: Stack = await openStack(ctx.target, 'replicas')
  try {
    const db = stack.db()
    Object.assign(ctx.versions, await serverVersions(db))
    // One block of 20 gateways per condition, so each condition's checks see only its own rows.
    await loadDistrict(db, buildBenchDistrict({ zones: GATEWAYS * ALL_CONDITIONS.length }))
    await stack.closeDb()

    const window = midnightFreeWindow(Date.now(), 21 * 3_600_000, 10 * 60_000)
    const t0 = Math.ceil(window.fromMs / BATCH_INTERVAL_MS) * BATCH_INTERVAL_MS
    const midnights = localMidnightsIn(window.fromMs, window.toMs, TZ)
    const perGatewayNeeded =
      WARMUP_BATCHES +
      Math.ceil((OFFERED / SIGHTINGS_PER_BATCH) * (stepMs / 1000) * ctx.repeats) / GATEWAYS +
      backlogBatches / GATEWAYS +
      10
    if (t0 + perGatewayNeeded * BATCH_INTERVAL_MS > window.toMs)
      throw new Error(
        `the synthetic event-time window (${new Date(window.fromMs).toISOString()} … ${new Date(window.toMs).toISOString()}) is too short for ${fmt(perGatewayNeeded)} batches per gateway`,
      )

    const topicPrefixOf = (cond: Condition, k: number) =>
      cond === 'affinity'
        ? `${stack.topicPrefix}/affinity/${k < GATEWAYS / 2 ? 'a' : 'b'}`
        : `${stack.topicPrefix}/${cond}`
    const bootOf = (cond: Condition) => `${cond}-${ctx.target.runId}`.slice(0, 64)
    const streams = Object.fromEntries(
      ALL_CONDITIONS.map((cond, c) => [
        cond,
        Array.from({ length: GATEWAYS }, (_, k) => {
          const i = c * GATEWAYS + k
          return new GatewayStream(
            gatewayIdOf(i),
            i,
            bootOf(cond),
            c + 1,
            { kind: 'event', t0 },
            topicPrefixOf(cond, k),
          )
        }),
      ]),
    ) as Record<Condition, GatewayStream[]>
    const configsOf = (cond: Condition): ChildConfig[] =>
      Array.from({ length: REPLICAS[cond] }, (_, r) => ({
        mode: 'miglio' as const,
        jobs: false,
        dbUrl: stack.url,
        poolSize: stack.poolSize,
        mqttUrl: ctx.target.mqttUrl,
        clientId: `${stack.topicPrefix}-${cond}-${r}`,
        topicPrefix:
          cond === 'affinity'
            ? `${stack.topicPrefix}/affinity/${r === 0 ? 'a' : 'b'}`
            : `${stack.topicPrefix}/${cond}`,
        ...(cond === 'shared' ? { shareGroup: SHARE_GROUP } : {}),
        ...(CHECKPOINT_MS !== undefined ? { checkpointMs: CHECKPOINT_MS } : {}),
        gapMs: GAP_MS,
        idleCloseMs: 24 * 3_600_000,
        keyGraceMs: 48 * 3_600_000,
        maintenanceIntervalMs: 5_000,
        profile: false,
        commitLanes: COMMIT_LANES,
      }))

    const publishers = await connectPublishers(ctx.target.mqttUrl, 4, `${stack.topicPrefix}-pub`)
    const published: Record<Condition, number> = { one: 0, shared: 0, affinity: 0 }
    const steps: Record<Condition, ReplicaFigures[]> = { one: [], shared: [], affinity: [] }
    const drains: Record<Condition, ReplicaFigures | null> = {
      one: null,
      shared: null,
      affinity: null,
    }

    const spawn = (configs: ChildConfig[]) =>
      Promise.all(configs.map((cfg) => spawnIngestChild(cfg)))
    const statsOf = async (children: IngestChild[]) =>
      (await Promise.all(children.map((ch) => ch.stats()))) as ChildStats[]

    /** Waits until the replicas together acknowledged `target` messages (or stopped progressing). */
    const waitDrained = (children: IngestChild[], target: number, label: string) =>
      waitAcknowledged(children, target, (toGo) =>
        progress(WHAT, `${label}: draining, ${fmt(toGo)} batches to go`),
      )

    /** Lost and duplicated: batch records against everything published, transits against the exact expectation. */
    async function check(child: IngestChild, cond: Condition) {
      const gateways = streams[cond].map((st) => st.gatewayId)
      const [b] = await child.query<{ n: string }>(
        `SELECT count(*) AS n FROM ingest_batches WHERE boot_id = $1`,
        [bootOf(cond)],
      )
      const [t] = await child.query<{ n: string; d: string }>(
        `SELECT count(*) AS n, count(DISTINCT (gateway_id, pseudonym, first_seen)) AS d
           FROM transits WHERE gateway_id = ANY($1::text[])`,
        [gateways],
      )
      const transits = Number(t?.n ?? 0)
      const expectedTransits = streams[cond].reduce(
        (n, st) => n + st.expectedClosedTransits(GAP_MS, midnights),
        0,
      )
      // A device stays in 6 consecutive batches and has one pseudonym a day: two transits of one
      // pseudonym at one gateway, less than the gap apart, are one pass split in two.
      const [sp] = await child.query<{ n: string }>(
        `SELECT count(*) AS n FROM (
           SELECT first_seen, lag(last_seen) OVER (PARTITION BY gateway_id, pseudonym ORDER BY first_seen) AS prev
             FROM transits WHERE gateway_id = ANY($1::text[])) x
          WHERE prev IS NOT NULL AND first_seen - prev <= $2 * interval '1 millisecond'`,
        [gateways, GAP_MS],
      )
      return {
        lost: published[cond] - Number(b?.n ?? 0) + Math.max(0, expectedTransits - transits),
        duplicated: transits - Number(t?.d ?? 0) + Math.max(0, transits - expectedTransits),
        splits: Number(sp?.n ?? 0),
        expectedTransits,
        transits,
      }
    }

    /**
     * The server's backends serving this benchmark's database (pg_stat_activity), collected before
     * every CPU snapshot: other engineers' benchmarks may use the same server at the same time, so
     * `postgres` is these backends' CPU (the WAL writer, checkpointer and the other databases' work
     * are not in it) and `postgres server` the postmaster with all its processes.
     */
    const pgBackends = new Set<number>()
    async function snapshot(children: IngestChild[], meters: CpuMeters): Promise<CpuSnapshot> {
      const first = children[0]
      if (first && meters.postgres) {
        const rows = await first.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
        )
        for (const r of rows) pgBackends.add(Number(r.pid))
      }
      return readCpu(meters)
    }

    /** The replicas' CPU (together), PostgreSQL's, the broker's and this process's. */
    async function metersOf(children: () => IngestChild[]): Promise<CpuMeters> {
      const meters: CpuMeters = {
        ingest: () => children().reduce((n, ch) => n + processCpuMs(ch.pid), 0),
        'load generator': ownCpuMs,
      }
      const first = children()[0]
      if (first && stack.kind === 'server' && isLoopback(stack.url)) {
        const postmaster = await postmasterOf((text) => first.query<{ pid: number }>(text))
        if (postmaster) {
          meters.postgres = () =>
            [...pgBackends].reduce((n, pid) => {
              const ms = processCpuMs(pid)
              return n + (Number.isFinite(ms) ? ms : 0)
            }, 0)
          meters['postgres server'] = () => treeCpuMs(postmaster)
        }
      }
      const broker = brokerOf(ctx.target.mqttUrl)
      if (broker) meters.broker = () => processCpuMs(broker)
      return meters
    }

    function figuresOf(
      before: ChildStats[],
      after: ChildStats[],
      startedAt: number,
      cpu: CpuSnapshot,
      checked: Awaited<ReturnType<typeof check>>,
      complete: boolean,
    ): ReplicaFigures {
      const a = sumStats(after)
      const b = sumStats(before)
      const batches = a.messagesDone - b.messagesDone
      const sightings = a.sightings - b.sightings
      const seconds = (a.lastDoneAt - startedAt) / 1000
      const rebuilds = a.rebuilds - b.rebuilds
      const groups = a.groups - b.groups
      const replayedLogRows = a.replayedLogRows - b.replayedLogRows
      return {
        replicas: after.length,
        batches,
        sightings,
        seconds,
        achieved: sightings / seconds,
        lost: checked.lost,
        duplicated: checked.duplicated,
        complete,
        rebuilds,
        groups,
        rebuildsPerBatch: rebuilds / Math.max(1, batches),
        rebuildsPerGroup: rebuilds / Math.max(1, groups),
        replayedLogRows,
        replayedLogRowsPerRebuild: replayedLogRows / Math.max(1, rebuilds),
        checkpointRowsPerRebuild: (a.checkpointRows - b.checkpointRows) / Math.max(1, rebuilds),
        batchesPerReplica: after.map((s, i) => s.messagesDone - (before[i]?.messagesDone ?? 0)),
        commitP50Ms: histogramQuantile(histogramDelta(a.buckets, b.buckets), 0.5) * 1000,
        cpuUsPerSighting: Object.fromEntries(
          Object.entries(cpu).map(([k, ms]) => [k, (ms * 1000) / Math.max(1, sightings)]),
        ),
        rssMb: after.map((s) => s.rssMb),
        expectedTransits: checked.expectedTransits,
        transits: checked.transits,
        splits: checked.splits,
      }
    }

    const line = (label: string, f: ReplicaFigures) =>
      `${label}: ${fmt(f.achieved)} sightings/s over ${fmt(f.seconds, 1)} s, lost ${f.lost}, dup ${f.duplicated} (${f.transits} transits, ${f.expectedTransits} expected, ${f.splits} split passes), rebuilds ${fmt(f.rebuilds)} (${fmt(f.rebuildsPerBatch, 2)}/batch, ${fmt(f.replayedLogRowsPerRebuild, 1)} log rows each), ingest ${fmt(f.cpuUsPerSighting.ingest, 2)} µs/sighting, postgres ${fmt(f.cpuUsPerSighting.postgres, 2)}${f.complete ? '' : ' — INCOMPLETE DRAIN'}`

    /**
     * Rebuilds every gateway of `cond` `rounds` times through ingest's own rebuild path (its SQL and
     * replay; the result is discarded), timing it in this process: what one rebuild costs with the
     * log the replicas left behind at that moment.
     */
    async function probeRebuild(cond: Condition, when: string, rounds = 5): Promise<RebuildProbe> {
      const db = stack.db()
      const gateways = streams[cond].map((st) => st.gatewayId)
      const rows = await db
        .selectFrom('session_log')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('gateway_id', 'in', gateways)
        .executeTakeFirst()
      const open = await db
        .selectFrom('open_transits')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('gateway_id', 'in', gateways)
        .executeTakeFirst()
      const rules = { gapMs: GAP_MS, staticAfterMs: 4 * 3_600_000 }
      await durableSessions(db, gateways, rules) // warm (connection, JIT)
      const cpu0 = process.cpuUsage()
      const t0 = nowMs()
      for (let i = 0; i < rounds; i++) await durableSessions(db, gateways, rules)
      const wallMs = nowMs() - t0
      const cpu = process.cpuUsage(cpu0)
      const n = rounds * gateways.length
      const probe: RebuildProbe = {
        when,
        gateways: gateways.length,
        logRowsPerGateway: Number(rows?.n ?? 0) / gateways.length,
        checkpointRowsPerGateway: Number(open?.n ?? 0) / gateways.length,
        wallMsPerGateway: wallMs / n,
        cpuUsPerGateway: (cpu.user + cpu.system) / n,
      }
      progress(
        WHAT,
        `${cond} rebuild probe (${when}): ${fmt(probe.logRowsPerGateway, 1)} log rows + ${fmt(probe.checkpointRowsPerGateway, 1)} checkpointed sessions per gateway → ${fmt(probe.wallMsPerGateway, 2)} ms wall, ${fmt(probe.cpuUsPerGateway)} µs CPU of this process per gateway rebuilt`,
      )
      return probe
    }
    const probes: RebuildProbe[] = []

    async function runCondition(cond: Condition, rep: number) {
      const configs = configsOf(cond)
      let children = await spawn(configs)
      const meters = await metersOf(() => children)
      try {
        if (rep === 0) {
          progress(WHAT, `${cond}: warm-up, ${WARMUP_BATCHES} batches per gateway`)
          const before = sumStats(await statsOf(children)).messagesDone
          const pub = await publishPaced({
            streams: streams[cond],
            clients: publishers,
            rate: 1_000,
            durationMs: (WARMUP_BATCHES * GATEWAYS * 1000) / 1_000,
          })
          published[cond] += pub.batches
          await waitDrained(children, before + pub.batches, `${cond} warm-up`)
        }

        // The fixed offered rate.
        const label = `${cond} r${rep + 1} ${fmt(OFFERED)} sightings/s`
        progress(WHAT, `${label}: publishing ${stepMs / 1000} s`)
        const before = await statsOf(children)
        const cpuBefore = await snapshot(children, meters)
        const pub = await publishPaced({
          streams: streams[cond],
          clients: publishers,
          rate: OFFERED / SIGHTINGS_PER_BATCH,
          durationMs: stepMs,
        })
        published[cond] += pub.batches
        const { stats: after, complete } = await waitDrained(
          children,
          sumStats(before).messagesDone + pub.batches,
          label,
        )
        const cpu = cpuDelta(await snapshot(children, meters), cpuBefore)
        const first = children[0]
        if (!first) throw new Error('no replica')
        const step = figuresOf(
          before,
          after,
          pub.startedAt,
          cpu,
          await check(first, cond),
          complete,
        )
        // A step is timed from its first publish to its last acknowledgement (or the last publish).
        step.seconds = (Math.max(sumStats(after).lastDoneAt, pub.endedAt) - pub.startedAt) / 1000
        step.achieved = step.sightings / step.seconds
        steps[cond].push(step)
        progress(WHAT, line(label, step))
        if (pub.publishedRate < 0.95 * (OFFERED / SIGHTINGS_PER_BATCH))
          notes.push(
            `${cond} repeat ${rep + 1}: the publisher reached only ${fmt(pub.publishedRate * SIGHTINGS_PER_BATCH)} sightings/s`,
          )
        if (!complete) notes.push(`${cond} repeat ${rep + 1}: ingest stopped making progress`)
        if (cond === 'shared' && rep === 0)
          probes.push(await probeRebuild(cond, 'after the fixed-rate step, replicas idle'))

        if (rep === 0) {
          // The backlog drain: replicas stopped (sessions kept), a backlog published — Mosquitto
          // queues a shared subscription's messages round-robin into the offline members' sessions
          // too — then new replicas with the same client ids drain it, no publisher competing.
          await Promise.all(children.map((ch) => ch.stop({ keepSession: true })))
          const dlabel = `${cond} backlog of ${fmt(backlogBatches)} batches`
          progress(WHAT, `${dlabel}: replicas stopped, publishing`)
          const pubRate = 4_000
          const bpub = await publishPaced({
            streams: streams[cond],
            clients: publishers,
            rate: pubRate,
            durationMs: (backlogBatches / pubRate) * 1000,
          })
          published[cond] += bpub.batches
          children = await spawn(configs)
          // Timed from the moment every replica is up (a replica that came up first has started
          // on its share: only what is acknowledged from here on counts).
          const dBefore = await statsOf(children)
          const dCpuBefore = await snapshot(children, meters)
          const startedAt = nowMs()
          progress(WHAT, `${dlabel}: draining with ${children.length} new replica(s)`)
          const { stats: dAfter, complete: dComplete } = await waitDrained(
            children,
            bpub.batches,
            dlabel,
          )
          const dCpu = cpuDelta(await snapshot(children, meters), dCpuBefore)
          const d = children[0]
          if (!d) throw new Error('no replica')
          const drain = figuresOf(dBefore, dAfter, startedAt, dCpu, await check(d, cond), dComplete)
          drains[cond] = drain
          progress(WHAT, line(dlabel, drain))
          if (!dComplete) notes.push(`${cond}: the backlog drain stopped making progress`)
        }
      } finally {
        await Promise.all(children.map((ch) => ch.stop()))
      }
      if (cond === 'shared' && rep === 0)
        probes.push(await probeRebuild(cond, 'after a clean stop (everything checkpointed)'))
    }

    for (let rep = 0; rep < ctx.repeats; rep++)
      for (const cond of CONDITIONS) await runCondition(cond, rep)
    await Promise.all(publishers.map((p) => p.endAsync()))

    // Tables.
    const cpuCell = (f: ReplicaFigures, k: string) => fmt(f.cpuUsPerSighting[k], 2)
    const rowOf = (cond: Condition, f: ReplicaFigures, what: string) => [
      `${TITLES[cond]}${what}${f.complete ? '' : ' (incomplete)'}`,
      fmt(f.achieved),
      f.lost,
      f.duplicated,
      fmt(f.rebuilds),
      fmt(f.rebuildsPerBatch, 2),
      fmt(f.rebuildsPerGroup, 2),
      fmt(f.replayedLogRowsPerRebuild, 1),
      fmt(f.checkpointRowsPerRebuild, 1),
      fmt(f.splits),
      cpuCell(f, 'ingest'),
      cpuCell(f, 'postgres'),
      cpuCell(f, 'postgres server'),
      cpuCell(f, 'broker'),
      fmt(f.commitP50Ms, 1),
      f.batchesPerReplica.map((n) => fmt(n)).join(' / '),
    ]
    const header = [
      'condition',
      'sightings/s',
      'lost',
      'dup',
      'rebuilds',
      '/batch',
      '/group',
      'log rows/rebuild',
      'checkpoint rows/rebuild',
      'split passes',
      'µs CPU/sighting: ingest',
      'postgres: this db',
      'server',
      'broker',
      'commit p50 ms',
      'batches per replica',
    ]
    printTable(
      `Replicas at a fixed offered ${fmt(OFFERED)} sightings/s (${stepMs / 1000} s, ${GATEWAYS} gateways, 50 sightings/batch, QoS 1, ${COMMIT_LANES} lanes per replica; ingest = the replicas together)`,
      header,
      CONDITIONS.flatMap((cond) =>
        steps[cond].map((f, i) => rowOf(cond, f, ctx.repeats > 1 ? ` r${i + 1}` : '')),
      ),
    )
    printTable(
      `Replicas draining a backlog of ${fmt(backlogBatches)} batches (stopped, backlog published, new replicas; no publisher competing)`,
      header,
      CONDITIONS.flatMap((cond) => {
        const d = drains[cond]
        return d ? [rowOf(cond, d, '')] : []
      }),
    )
    // What the second replica and the rebuilds cost: each pair of conditions measured the same way
    // (the fixed rate, or the drain), the CPU per sighting of the first beyond the second's, and
    // that extra CPU over the extra rebuilds (µs per rebuild) where the first rebuilt more.
    const pairs: [Condition, Condition][] = [
      ['affinity', 'one'],
      ['shared', 'one'],
      ['shared', 'affinity'],
    ]
    const costs = (['step', 'drain'] as const).flatMap((kind) =>
      pairs.flatMap(([cond, base]) => {
        const f = kind === 'step' ? steps[cond][0] : drains[cond]
        const o = kind === 'step' ? steps[base][0] : drains[base]
        if (!f || !o) return []
        const d = (k: string) => (f.cpuUsPerSighting[k] ?? NaN) - (o.cpuUsPerSighting[k] ?? NaN)
        // The base's rebuilds scaled to this condition's batches (a restart rebuilds every gateway).
        const extraRebuilds = f.rebuilds - o.rebuilds * (f.batches / Math.max(1, o.batches))
        const perRebuild = (k: string) =>
          extraRebuilds >= 1 ? (d(k) * f.sightings) / extraRebuilds : NaN
        const total = (x: ReplicaFigures) =>
          (x.cpuUsPerSighting.ingest ?? NaN) + (x.cpuUsPerSighting.postgres ?? 0)
        return [
          {
            cond,
            base,
            kind,
            ingestExtraUs: d('ingest'),
            postgresExtraUs: d('postgres'),
            ratioIngestPlusPostgres: total(f) / total(o),
            extraRebuildsPerBatch: extraRebuilds / Math.max(1, f.batches),
            ingestUsPerRebuild: perRebuild('ingest'),
            postgresUsPerRebuild: perRebuild('postgres'),
          },
        ]
      }),
    )
    printTable(
      'What the second replica and the rebuilds cost (µs of CPU per sighting beyond the base; per rebuild = that extra CPU over the extra rebuilds)',
      [
        'condition',
        'vs',
        'measured in',
        'ingest µs/sighting extra',
        'postgres µs/sighting extra',
        '(ingest+postgres) ÷ base',
        'extra rebuilds/batch',
        'ingest µs per rebuild',
        'postgres µs per rebuild',
      ],
      costs.map((c) => [
        TITLES[c.cond],
        TITLES[c.base],
        c.kind,
        fmt(c.ingestExtraUs, 2),
        fmt(c.postgresExtraUs, 2),
        fmt(c.ratioIngestPlusPostgres, 2),
        fmt(c.extraRebuildsPerBatch, 3),
        fmt(c.ingestUsPerRebuild),
        fmt(c.postgresUsPerRebuild),
      ]),
    )
    if (probes.length)
      printTable(
        "One rebuild on its own (ingest's rebuild path, durableSessions, ×5 over the shared condition's 20 gateways, in the benchmark process)",
        [
          'when',
          'log rows/gateway',
          'checkpointed sessions/gateway',
          'ms wall per rebuild',
          'µs CPU per rebuild (client + replay)',
        ],
        probes.map((p) => [
          p.when,
          fmt(p.logRowsPerGateway, 1),
          fmt(p.checkpointRowsPerGateway, 1),
          fmt(p.wallMsPerGateway, 2),
          fmt(p.cpuUsPerGateway),
        ]),
      )
    if (drains.one)
      printNote(
        `offered ${fmt(OFFERED)} sightings/s = ${fmt((100 * OFFERED) / drains.one.achieved)} % of this run's one-replica drain (${fmt(drains.one.achieved)} sightings/s)`,
      )
    printNote(
      "CPU per sighting does not depend on who else used the cores; sightings/s on this 2-core machine does (publisher, broker, PostgreSQL and the replicas share it). postgres: this db = the backends of this benchmark's database; server = the postmaster with all its processes (WAL writer, checkpointer, and any other database's work on a shared server)",
    )
    const anySplits = CONDITIONS.some(
      (c) => steps[c].some((f) => f.splits > 0) || (drains[c]?.splits ?? 0) > 0,
    )
    if (anySplits) {
      const eventPerWall = ((OFFERED / SIGHTINGS_PER_BATCH / GATEWAYS) * BATCH_INTERVAL_MS) / 1000
      printNote(
        `dup = transits beyond the exact expectation; here they are passes split in two or more ("split passes": one device, one gateway, transits under the gap apart). A gateway's batches reach the database out of order when two replicas share it; a batch committed after the gateway's watermark moved more than the ${GAP_MS / 1000} s gap past it finds its devices' sessions already closed. At the fixed rate event time runs ${fmt(eventPerWall)}× faster than the wall clock (5 s batches), so the gap is ${fmt(GAP_MS / 1000 / eventPerWall, 2)} s of wall time here; in a backlog drain the replicas' queues drain at different speeds.`,
      )
    }
    for (const note of notes) printNote(note)
    return {
      settings: {
        gateways: GATEWAYS,
        sightingsPerBatch: SIGHTINGS_PER_BATCH,
        offered: OFFERED,
        stepSeconds: stepMs / 1000,
        backlogBatches,
        commitLanesPerReplica: COMMIT_LANES,
        checkpointMs: CHECKPOINT_MS ?? 'default (10 000)',
        shareGroup: `$share/${SHARE_GROUP}/… (MQTT v5)`,
        transitGapS: GAP_MS / 1000,
        eventTimeWindow: {
          from: new Date(window.fromMs).toISOString(),
          to: new Date(window.toMs).toISOString(),
        },
        database: stack.kind,
        broker: ctx.target.brokerKind,
      },
      figures: { steps, drains, costs, rebuildProbes: probes },
      notes,
    }
  } finally {
    await stack.close()
  }
}
