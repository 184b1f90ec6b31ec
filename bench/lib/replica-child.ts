/**
 * A Miglio ingest replica for the replicas benchmark (bench/benchmarks/replicas.ts): the miglio mode
 * of bench/ingest-child.ts (same IPC protocol, same PUBACK counting, same stats), plus what that
 * child cannot do yet — subscribe through an MQTT v5 shared subscription (`shareGroup`: ingest's
 * `$share/<group>/…` filters, as `miglio ingest` with INGEST_SHARE_GROUP) — and report what ownership
 * changes cost: `miglio_ingest_session_rebuilds_total`, and the rows those rebuilds read back (the
 * checkpointed sessions and the session log replayed after them), counted by a kysely plugin on the
 * rebuild's own statements (services/ingest/ingest-repository.ts, loadRebuildSources).
 *
 *   node --import tsx bench/lib/replica-child.ts '<json ReplicaConfig>'
 *
 * parent → child: { id, op: 'stats' | 'query' | 'stop', … }; child → parent as ingest-child.ts.
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
import { Registry } from 'prom-client'
import { connectAsync, type MqttClient } from 'mqtt'
import type { Database } from '../../services/shared/db/database.ts'
import type { Db } from '../../services/shared/db/create-db.ts'
import { createLogger } from '../../services/shared/logger.ts'
import { createIngestService } from '../../services/ingest/ingest-service.ts'
import { createIngestMetrics } from '../../services/ingest/ingest-metrics.ts'
import { createMqttClient } from '../../services/shared/mqtt/client.ts'
import { findDistrictTimeZone } from '../../services/shared/registry/district-repository.ts'
import { DEFAULT_TIME_ZONE } from '../../services/shared/contracts/district.ts'
import type { ChildConfig, ChildStats, StatementProfile } from '../ingest-child.ts'

export type ReplicaConfig = Omit<ChildConfig, 'mode' | 'jobs' | 'deviceListFile'> & {
  /** Ingest's `$share/<group>/…` subscriptions (MQTT v5) when set; plain ones otherwise. */
  shareGroup?: string
  /** INGEST_CHECKPOINT_MS (default: the product's, 10 s). */
  checkpointMs?: number
}

export type ReplicaStats = ChildStats & {
  /** miglio_ingest_session_rebuilds_total: gateways whose sessions were rebuilt. */
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
  | { id: number; op: 'stop'; keepSession?: boolean }

const now = () => performance.timeOrigin + performance.now()

/** Same statement kinds as ingest-child.ts's profile. */
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
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ReplicaConfig
  const send = (msg: unknown) => process.send?.(msg)
  const log = createLogger({ level: 'warn', destination: process.stderr })
  const statements: StatementProfile = {}
  const pool = new pg.Pool({
    connectionString: cfg.dbUrl,
    max: cfg.poolSize,
    application_name: 'miglio-bench-replica',
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
  // MQTT v5 for a shared subscription (as MQTT_PROTOCOL_VERSION=5 with INGEST_SHARE_GROUP), else
  // 3.1.1 as the throughput benchmark's child.
  const protocolVersion = cfg.shareGroup ? 5 : 4
  const mqtt: MqttClient = createMqttClient(cfg.mqttUrl, log, {
    clientId: cfg.clientId,
    clean: false,
    protocolVersion,
  })
  // As ingest-child.ts: a message is done when its PUBACK goes out (after its group committed).
  let messagesDone = 0
  let lastDoneAt = 0
  const writer = mqtt as unknown as {
    _sendPacket(packet: { cmd: string }, ...rest: unknown[]): unknown
  }
  const sendPacket = writer._sendPacket.bind(mqtt)
  writer._sendPacket = (packet, ...rest) => {
    if (packet.cmd === 'puback') {
      messagesDone++
      lastDoneAt = now()
    }
    return sendPacket(packet, ...rest)
  }

  const metrics = createIngestMetrics(new Registry())
  const service = createIngestService({
    config: {
      tz: (await findDistrictTimeZone(db)) ?? DEFAULT_TIME_ZONE,
      gapMs: cfg.gapMs,
      idleCloseMs: cfg.idleCloseMs,
      keyGraceMs: cfg.keyGraceMs,
      topicPrefix: cfg.topicPrefix,
      maintenanceIntervalMs: cfg.maintenanceIntervalMs,
      commitLanes: cfg.commitLanes ?? 1,
      ...(cfg.shareGroup ? { shareGroup: cfg.shareGroup } : {}),
      ...(cfg.checkpointMs !== undefined ? { checkpointMs: cfg.checkpointMs } : {}),
    },
    db,
    mqtt,
    log,
    metrics,
  })
  await service.start()

  async function stats(): Promise<ReplicaStats> {
    const value = async (m: { get(): Promise<{ values: { value: number }[] }> }) =>
      (await m.get()).values[0]?.value ?? 0
    const rejects = await metrics.rejects.get()
    const hist = await metrics.commitSeconds.get()
    const filtered = await metrics.filtered.get()
    return {
      openSessions: await value(metrics.openSessions),
      messagesDone,
      lastDoneAt,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      sightings: await value(metrics.sightings),
      rejected: rejects.values.reduce((n, v) => n + v.value, 0),
      duplicates: await value(metrics.duplicates),
      commitBuckets: hist.values
        .filter((v) => v.metricName?.endsWith('_bucket'))
        .map((v) => ({
          le: v.labels.le === '+Inf' ? Number.MAX_VALUE : Number(v.labels.le),
          count: v.value,
        })),
      commitSum: hist.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0,
      commitCount: hist.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0,
      statements,
      filtered: Object.fromEntries(filtered.values.map((v) => [String(v.labels.reason), v.value])),
      rebuilds: await value(metrics.sessionRebuilds),
      rebuildLoads: rebuildRows.counts.loads,
      replayedLogRows: rebuildRows.counts.logRows,
      checkpointRows: rebuildRows.counts.checkpointRows,
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
        // The benchmark's own queries go straight to the pool (not in the profile or the counts).
        void reply(pool.query(req.text, req.params ?? []).then((r) => r.rows))
        break
      case 'stop':
        void reply(
          (async () => {
            await service.stop()
            await new Promise((r) => setTimeout(r, Math.min(cfg.maintenanceIntervalMs, 1000)))
            await mqtt.endAsync(true)
            // Drop the persistent session (and its shared subscription) unless the parent builds
            // a backlog for the next replica with this client id.
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
      default:
        send({ id: (req as { id: number }).id, ok: false, error: 'unsupported by replica-child' })
    }
  })
  send({ type: 'ready' })
}

main().catch((err: unknown) => {
  process.stderr.write(`replica-child failed: ${String(err)}\n`)
  process.exit(1)
})
