/**
 * A benchmark child process: Miglio's ingest service (mode `miglio`), the naive baseline (mode
 * `naive`: one multi-row INSERT per MQTT message, PUBACK after it, no pseudonymisation, no
 * sessions) or the acknowledge-on-receipt peer (mode `peer`: the script a user writes with MQTT.js
 * and pg — PUBACK at once, then one multi-row INSERT per message through the pool, the backlog held
 * in memory and lost on a crash), subscribed to the benchmark's topics, and nothing else — so its
 * RSS and heap are the ingest process's.
 *
 * It is the only client of the embedded database while it runs (the embedded server has one
 * session), so the parent asks it over IPC for counters, SQL results and memory figures.
 *
 *   node [--expose-gc] --import tsx bench/ingest-child.ts '<json ChildConfig>'
 *
 * parent → child: { id, op: 'stats' | 'query' | 'watch' | 'unwatch' | 'memory' | 'api' | 'stop', … }
 * (`api` starts Miglio's API in this process, on the same pool, as `miglio start` does, and answers
 * its URL and an analyst key)
 * child → parent: { type: 'ready' } | { id, ok, result | error } | { type: 'watch', value, at }
 */
import {
  Kysely,
  PostgresDialect,
  type KyselyPlugin,
  type LogEvent,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely'
import pg from 'pg'
import { Histogram, Registry } from 'prom-client'
import { connectAsync, type MqttClient } from 'mqtt'
import type { Database } from '../services/shared/db/database.ts'
import type { Db } from '../services/shared/db/create-db.ts'
import { createLogger } from '../services/shared/logger.ts'
import { createIngestService, type IngestService } from '../services/ingest/ingest-service.ts'
import { createIngestMetrics } from '../services/ingest/ingest-metrics.ts'
import { createJobRunner, type JobRunner } from '../services/shared/db/job-runner.ts'
import { withTopicPrefix } from '../services/shared/contracts/topics.ts'
import { createMqttClient } from '../services/shared/mqtt/client.ts'
import { onTransitsChanged } from '../services/api/lib/transits-changed.ts'
import { loadDeviceList } from '../services/ingest/device-list.ts'
import { findDistrictTimeZone } from '../services/shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../services/shared/contracts/district.ts'

export type ChildConfig = {
  mode: 'miglio' | 'naive' | 'peer'
  dbUrl: string
  poolSize: number
  mqttUrl: string
  clientId: string
  topicPrefix: string
  gapMs: number
  idleCloseMs: number
  keyGraceMs: number
  maintenanceIntervalMs: number
  /** Ingest's commit lanes (INGEST_COMMIT_LANES; default 1). */
  commitLanes?: number
  /** Run the TimescaleDB job runner as `miglio start` does with the embedded database. */
  jobs: boolean
  /** Time every SQL statement by kind (kysely's query log). */
  profile: boolean
  /** A MIGLIO_DEVICE_LIST_FILE for ingest (deny/allow lists of raw MACs), read as `miglio ingest` does. */
  deviceListFile?: string
  /** Ingest's `$share/<group>/…` subscriptions over MQTT v5 (INGEST_SHARE_GROUP); plain 3.1.1 without. */
  shareGroup?: string
  /** INGEST_CHECKPOINT_MS (default: the product's, 10 s). */
  checkpointMs?: number
}

export type StatementProfile = Record<string, { count: number; totalMs: number }>

export type ChildStats = {
  /**
   * Messages acknowledged (PUBACK sent: committed, or recognised as a redelivery); for the peer,
   * which acknowledges on receipt, messages whose INSERT finished.
   */
  messagesDone: number
  /** Wall time (ms, sub-ms precision) of the last PUBACK (the peer: of the last INSERT). */
  lastDoneAt: number
  /** Resident set size of the child now (MB). */
  rssMb: number
  /** Sightings in committed batches. */
  sightings: number
  rejected: number
  duplicates: number
  commitBuckets: { le: number; count: number }[]
  commitSum: number
  commitCount: number
  statements: StatementProfile
  /** Sightings dropped by ingest's filters, by reason (rssi_floor, deny_list, static_device). */
  filtered: Record<string, number>
  /** Open sessions ingest holds in memory (miglio_ingest_open_sessions; 0 for the baselines). */
  openSessions: number
  /** miglio_ingest_session_rebuilds_total: gateways whose sessions were rebuilt (0 for the baselines). */
  rebuilds: number
  /** Statements that loaded rebuild sources (one per group with at least one stale gateway). */
  rebuildLoads: number
  /** Session-log rows replayed by rebuilds (each one batch of a gateway). */
  replayedLogRows: number
  /** Checkpointed open sessions read back by rebuilds (open_transits rows). */
  checkpointRows: number
}

type Request =
  | { id: number; op: 'stats' }
  | { id: number; op: 'query'; text: string; params?: unknown[] }
  | { id: number; op: 'watch'; text: string; params?: unknown[]; intervalMs: number }
  | { id: number; op: 'unwatch' }
  | { id: number; op: 'memory' }
  | { id: number; op: 'api' }
  | { id: number; op: 'stop'; keepSession?: boolean }

const now = () => performance.timeOrigin + performance.now()

type ApiServer = {
  listen(o: { host: string; port: number }): Promise<string>
  close(): Promise<void>
}

function statementKind(text: string): string {
  const s = text.trim().replace(/\s+/g, ' ').toLowerCase()
  if (/^(begin|commit|rollback|start transaction)/.test(s)) return s.split(' ')[0] ?? s
  if (s.startsWith('select pg_advisory_xact_lock')) return 'advisory lock'
  const m = /^(insert into|delete from|update|select .*? from|call) "?([a-z_]+)"?/.exec(s)
  if (m) return `${(m[1] ?? '').startsWith('select') ? 'select' : m[1]} ${m[2]}`
  return s.slice(0, 40)
}

/**
 * Counts the rows of the two reads only a rebuild makes (loadRebuildSources): the session log after
 * the checkpoint, and the checkpointed open sessions. They are raw statements; recognised by text.
 */
function rebuildRowCounter() {
  const counts = { loads: 0, logRows: 0, checkpointRows: 0 }
  const kinds = new WeakMap<object, 'log' | 'checkpoint'>()
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
      if (node.kind === 'RawNode') {
        const text = node.sqlFragments.join('?').trimStart()
        // Reads only: the log's DELETE (a checkpoint's) names the table the same way.
        if (!text.startsWith('SELECT')) return node
        if (text.includes('FROM session_log l')) kinds.set(queryId, 'log')
        else if (text.includes('FROM open_transits o WHERE o.gateway_id = ANY'))
          kinds.set(queryId, 'checkpoint')
      }
      return node
    },
    transformResult({
      result,
      queryId,
    }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const kind = kinds.get(queryId)
      if (kind === 'log') {
        counts.loads++
        counts.logRows += result.rows.length
      } else if (kind === 'checkpoint') counts.checkpointRows += result.rows.length
      return Promise.resolve(result)
    },
  }
  return { plugin, counts }
}

async function main() {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig
  const send = (msg: unknown) => process.send?.(msg)
  const log = createLogger({ level: 'warn', destination: process.stderr })
  const statements: StatementProfile = {}
  const pool = new pg.Pool({
    connectionString: cfg.dbUrl,
    max: cfg.poolSize,
    application_name: `miglio-bench-${cfg.mode}`,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 0,
  })
  pool.on('error', () => undefined)
  const rebuildRows = rebuildRowCounter()
  const db: Db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    plugins: [rebuildRows.plugin],
    ...(cfg.profile
      ? {
          log(event: LogEvent) {
            const kind = statementKind(event.query.sql)
            const p = (statements[kind] ??= { count: 0, totalMs: 0 })
            p.count++
            p.totalMs += event.queryDurationMillis
          },
        }
      : {}),
  })

  // MQTT v5 for a shared subscription (as MQTT_PROTOCOL_VERSION=5 with INGEST_SHARE_GROUP).
  const protocolVersion = cfg.shareGroup ? 5 : 4
  const mqtt: MqttClient = createMqttClient(cfg.mqttUrl, log, {
    clientId: cfg.clientId,
    clean: false,
    protocolVersion,
  })
  let messagesDone = 0
  let lastDoneAt = 0
  // A message is done when its PUBACK goes out: MQTT.js sends it once the handler returns, and an
  // ingest that acknowledges after its (grouped) commit sends it later through the same packet
  // writer (services/ingest/ordered-acks.ts). Counting handler returns would count messages whose
  // transaction has not committed yet.
  const writer = mqtt as unknown as {
    _sendPacket(packet: { cmd: string }, ...rest: unknown[]): unknown
  }
  const sendPacket = writer._sendPacket.bind(mqtt)
  writer._sendPacket = (packet, ...rest) => {
    if (packet.cmd === 'puback' && cfg.mode !== 'peer') {
      messagesDone++
      lastDoneAt = now()
    }
    return sendPacket(packet, ...rest)
  }

  let service: IngestService | null = null
  const metrics = createIngestMetrics(new Registry())
  let naiveSightings = 0
  let jobs: JobRunner | null = null
  const naiveCommit = new Histogram({
    name: 'bench_naive_commit_seconds',
    help: 'naive insert time',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [],
  })

  if (cfg.mode === 'miglio') {
    service = createIngestService({
      config: {
        // The loaded district's zone, as `miglio ingest` takes it.
        tz: (await findDistrictTimeZone(db)) ?? DEFAULT_TIME_ZONE,
        gapMs: cfg.gapMs,
        idleCloseMs: cfg.idleCloseMs,
        keyGraceMs: cfg.keyGraceMs,
        topicPrefix: cfg.topicPrefix,
        maintenanceIntervalMs: cfg.maintenanceIntervalMs,
        commitLanes: cfg.commitLanes ?? 1,
        ...(cfg.shareGroup ? { shareGroup: cfg.shareGroup } : {}),
        ...(cfg.checkpointMs !== undefined ? { checkpointMs: cfg.checkpointMs } : {}),
        ...(cfg.deviceListFile
          ? { deviceList: await loadDeviceList(cfg.deviceListFile, log) }
          : {}),
      },
      db,
      mqtt,
      log,
      metrics,
    })
    await service.start()
  } else {
    type Batch = {
      gatewayId: string
      bootId: string
      seq: number
      sightings: { t: string | number; mac: string; rssi: number; radio: string }[]
    }
    // The peer acknowledges on receipt and lets the pool queue its INSERTs.
    const onReceipt = cfg.mode === 'peer'
    mqtt.handleMessage = (packet, done) => {
      const end = naiveCommit.startTimer()
      const batch = JSON.parse(packet.payload.toString()) as Batch
      const n = batch.sightings.length
      if (onReceipt) done()
      if (n === 0) {
        end()
        if (!onReceipt) return done()
        messagesDone++
        lastDoneAt = now()
        return
      }
      const params: unknown[] = []
      const rows: string[] = []
      for (const s of batch.sightings) {
        const i = params.length
        rows.push(`($${i + 1},$${i + 2},$${i + 3},$${i + 4},$${i + 5},$${i + 6},$${i + 7})`)
        params.push(
          batch.gatewayId,
          batch.bootId,
          batch.seq,
          typeof s.t === 'number' ? new Date(s.t) : s.t,
          s.mac,
          s.rssi,
          s.radio,
        )
      }
      pool
        .query(
          `INSERT INTO bench_naive_sightings (gateway_id, boot_id, seq, t, mac, rssi, radio) VALUES ${rows.join(',')}`,
          params,
        )
        .then(
          () => {
            naiveSightings += n
            end()
            if (!onReceipt) return done()
            messagesDone++
            lastDoneAt = now()
          },
          (err: unknown) => {
            log.error({ err: String(err) }, 'naive insert failed')
            if (!onReceipt) done()
          },
        )
    }
    const connected = new Promise<void>((resolve) => mqtt.once('connect', () => resolve()))
    mqtt.connect()
    await connected
    await mqtt.subscribeAsync(withTopicPrefix(cfg.topicPrefix, 'miglio/v1/gw/+/sightings'), {
      qos: 1,
    })
  }
  if (cfg.jobs) {
    jobs = createJobRunner(db, log)
    jobs.start(10_000)
  }

  let watching: { id: number; stop: boolean } | null = null
  let api: ApiServer | null = null
  let apiMqtt: MqttClient | null = null

  async function startApi(): Promise<{ url: string; key: string }> {
    // Loaded on demand, so the other benchmarks' children (memory above all) do not carry the API's
    // modules; the compiled child gets them as a chunk of its own (bench/lib/child.ts).
    const appModule = await import('../services/api/app.ts')
    const keys = await import('../services/shared/registry/api-key-repository.ts')
    const { key } = await keys.createApiKey(db, { role: 'analyst', label: 'bench' })
    // As `miglio start`: the API listens on its own connection for ingest's announcements of new
    // transits, so the live feed polls at once instead of at its next interval.
    apiMqtt = await connectAsync(cfg.mqttUrl, {
      clientId: `${cfg.clientId}-api`,
      clean: true,
      protocolVersion: 4,
    })
    api = await appModule.buildApp({
      db,
      log,
      checks: { broker: () => ({ up: mqtt.connected }) },
      options: { rateLimit: { enabled: false } },
      onTransitsChanged: onTransitsChanged(apiMqtt, cfg.topicPrefix, log),
    })
    const url = await api.listen({ host: '127.0.0.1', port: 0 })
    return { url, key }
  }

  async function stats(): Promise<ChildStats> {
    if (cfg.mode === 'miglio') {
      const rejects = await metrics.rejects.get()
      const dups = await metrics.duplicates.get()
      const sightings = await metrics.sightings.get()
      const hist = await metrics.commitSeconds.get()
      const filtered = await metrics.filtered.get()
      const open = await metrics.openSessions.get()
      return {
        openSessions: open.values[0]?.value ?? 0,
        messagesDone,
        lastDoneAt,
        rssMb: process.memoryUsage().rss / 2 ** 20,
        sightings: sightings.values[0]?.value ?? 0,
        rejected: rejects.values.reduce((n, v) => n + v.value, 0),
        duplicates: dups.values[0]?.value ?? 0,
        commitBuckets: hist.values
          .filter((v) => v.metricName?.endsWith('_bucket'))
          .map((v) => ({
            le: v.labels.le === '+Inf' ? Number.MAX_VALUE : Number(v.labels.le),
            count: v.value,
          })),
        commitSum: hist.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0,
        commitCount: hist.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0,
        statements,
        filtered: Object.fromEntries(
          filtered.values.map((v) => [String(v.labels.reason), v.value]),
        ),
        rebuilds: (await metrics.sessionRebuilds.get()).values[0]?.value ?? 0,
        rebuildLoads: rebuildRows.counts.loads,
        replayedLogRows: rebuildRows.counts.logRows,
        checkpointRows: rebuildRows.counts.checkpointRows,
      }
    }
    const hist = await naiveCommit.get()
    return {
      openSessions: 0,
      rebuilds: 0,
      rebuildLoads: 0,
      replayedLogRows: 0,
      checkpointRows: 0,
      messagesDone,
      lastDoneAt,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      sightings: naiveSightings,
      rejected: 0,
      duplicates: 0,
      commitBuckets: hist.values
        .filter((v) => v.metricName?.endsWith('_bucket'))
        .map((v) => ({
          le: v.labels.le === '+Inf' ? Number.MAX_VALUE : Number(v.labels.le),
          count: v.value,
        })),
      commitSum: hist.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0,
      commitCount: hist.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0,
      statements,
      filtered: {},
    }
  }

  // The benchmark's own queries go straight to the pool: same single connection (queued behind
  // ingest's transactions), but not in the statement profile.
  async function query(text: string, params: unknown[] = []) {
    const r = await pool.query(text, params)
    return r.rows
  }

  async function watch(id: number, text: string, params: unknown[], intervalMs: number) {
    const w = { id, stop: false }
    watching = w
    let last: unknown = undefined
    while (!w.stop) {
      const rows = await query(text, params)
      const row = rows[0] as Record<string, unknown> | undefined
      const value = row ? Number(Object.values(row)[0]) : NaN
      if (value !== last) {
        last = value
        send({ type: 'watch', id, value, at: now() })
      }
      await new Promise((r) => setTimeout(r, intervalMs))
    }
  }

  process.on('message', (raw) => {
    const req = raw as Request
    const reply = (p: Promise<unknown>) =>
      p.then(
        (result) => send({ id: req.id, ok: true, result }),
        (err: unknown) => send({ id: req.id, ok: false, error: String(err) }),
      )
    switch (req.op) {
      case 'stats':
        void reply(stats())
        break
      case 'query':
        void reply(query(req.text, req.params))
        break
      case 'watch':
        void watch(req.id, req.text, req.params ?? [], req.intervalMs).catch((err: unknown) =>
          send({ type: 'watch', id: req.id, error: String(err), at: now() }),
        )
        send({ id: req.id, ok: true, result: null })
        break
      case 'unwatch':
        if (watching) watching.stop = true
        send({ id: req.id, ok: true, result: null })
        break
      case 'memory':
        void reply(
          (async () => {
            const gc = (globalThis as { gc?: () => void }).gc
            if (gc) {
              gc()
              await new Promise((r) => setTimeout(r, 50))
              gc()
            }
            return { ...process.memoryUsage(), gcExposed: Boolean(gc) }
          })(),
        )
        break
      case 'api':
        void reply(startApi())
        break
      case 'stop':
        void reply(
          (async () => {
            if (watching) watching.stop = true
            jobs?.stop()
            await api?.close()
            await apiMqtt?.endAsync(true)
            await service?.stop()
            // A maintenance run already under way finishes on its own; let it before closing.
            await new Promise((r) => setTimeout(r, Math.min(cfg.maintenanceIntervalMs, 1000)))
            await mqtt.endAsync(true)
            // Drop the persistent session (everything was acknowledged): a real broker would keep
            // it. Kept when the parent builds a backlog for the next child (the drain).
            if (!req.keepSession) {
              const clean = await connectAsync(cfg.mqttUrl, {
                clientId: cfg.clientId,
                clean: true,
                protocolVersion,
                reconnectPeriod: 0,
              }).catch(() => null)
              await clean?.endAsync()
            }
            await db.destroy()
            return null
          })(),
        ).then(() => process.exit(0))
        break
    }
  })
  send({ type: 'ready' })
}

main().catch((err: unknown) => {
  process.stderr.write(`ingest-child failed: ${String(err)}\n`)
  process.exit(1)
})
