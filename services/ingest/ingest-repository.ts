import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { sql, type Kysely } from 'kysely'
import type { Database, OpenTransitRow } from '../shared/db/database.ts'
import type { Db } from '../shared/db/create-db.ts'
import type { StoredGatewaySource } from '../shared/registry/gateway-source-key.ts'
import type { DailyKeyStore } from './pseudonymiser.ts'
import type { Session } from './sessionise.ts'
import { liveBucketOf } from '../shared/contracts/gateway-messages.ts'
import {
  type RegisteredGateway,
  type DeviceRef,
  type GatewaySession,
  type BatchRecord,
  type BatchVerdict,
  type GatewayTransit,
  type StoredTransits,
  type GatewayProgress,
  type GatewayProgressWrite,
  type StatusWrite,
  type DeadLetterWrite,
} from './model.ts'

/** Active gateways with the newest version of their visitor thresholds. */
export async function loadGatewayRegistry(db: Db): Promise<Map<string, RegisteredGateway>> {
  const rows = await db
    .selectFrom('gateways as g')
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('gateway_thresholds')
          .distinctOn('gateway_id')
          .select(['gateway_id', 'version', 'min_rssi', 'min_dwell_s'])
          .orderBy('gateway_id')
          .orderBy('version', 'desc')
          .as('t'),
      (join) => join.onRef('t.gateway_id', '=', 'g.id'),
    )
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('gateway_calibrations')
          .distinctOn('gateway_id')
          .select(['gateway_id', 'version as calibration_version', 'factor'])
          .orderBy('gateway_id')
          .orderBy('version', 'desc')
          .as('c'),
      (join) => join.onRef('c.gateway_id', '=', 'g.id'),
    )
    .select([
      'g.id',
      'g.zone_id',
      'g.shop_id',
      'g.rssi_floor',
      't.version',
      't.min_rssi',
      't.min_dwell_s',
      'c.calibration_version',
      'c.factor',
      'g.format',
      'g.source',
      'g.source_key',
    ])
    .where('g.active', '=', true)
    .execute()
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        zoneId: r.zone_id,
        shopId: r.shop_id,
        rssiFloor: r.rssi_floor,
        thresholds: { version: r.version, minRssi: r.min_rssi, minDwellS: r.min_dwell_s },
        calibration: { version: r.calibration_version, factor: r.factor },
        source: storedSourceFromRow(r.format, r.source),
        sourceKey: r.source_key,
      },
    ]),
  )
}

/** gateways.source as the district loader stores it; a row loaded before sources existed is native. */
function storedSourceFromRow(format: string, source: unknown): StoredGatewaySource {
  if (format !== 'native' && source !== null && typeof source === 'object' && 'format' in source)
    return source as StoredGatewaySource
  return { format: 'native' }
}

/**
 * A connection inside a transaction. Ingest's gateway transactions (inGatewayTransaction) run on
 * one pooled connection with BEGIN and COMMIT of their own, so they are not kysely Transactions.
 */
export type Trx = Kysely<Database>

/**
 * The statement that serialises every writer of these gateways' sessions across ingest replicas
 * for the transaction. Locks are taken in one order (by lock key) so two replicas holding
 * overlapping groups cannot deadlock; a volatile function in a subquery's target list is evaluated
 * row by row in the subquery's order (Postgres never pulls such a subquery up). The ids are quoted
 * literals (pg's escapeLiteral): this text goes in the simple query protocol, without parameters.
 */
function lockStatement(gatewayIds: readonly string[]): string {
  const ids = [...new Set(gatewayIds)].map((g) => pg.escapeLiteral(g)).join(',')
  return `SELECT count(*) FROM (
      SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtext('miglio-gw:' || g) AS k FROM unnest(ARRAY[${ids}]::text[]) AS g
        ORDER BY k) AS ordered) AS locked`
}

/**
 * Runs `fn` in a transaction that holds these gateways' advisory locks before its first statement
 * of its own: BEGIN and the locks go to the server in one round trip (one simple-protocol query of
 * two statements; each later statement takes its snapshot after the locks), then `fn`'s
 * statements, then COMMIT — ROLLBACK on any error, which is rethrown. One round trip fewer a group
 * than kysely's transaction() followed by a lock statement.
 */
export async function inGatewayTransaction<T>(
  db: Db,
  gatewayIds: readonly string[],
  fn: (trx: Trx) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    const lock = gatewayIds.length ? `; ${lockStatement(gatewayIds)}` : ''
    await sql.raw(`BEGIN${lock}`).execute(conn)
    try {
      const out = await fn(conn)
      await sql.raw('COMMIT').execute(conn)
      return out
    } catch (err) {
      // A broken connection cannot roll back; the server ends its transaction with the session.
      await sql
        .raw('ROLLBACK')
        .execute(conn)
        .catch(() => undefined)
      throw err
    }
  })
}

function identity(gatewayId: string, bootId: string, seq: number | string): string {
  return `${gatewayId}\u0000${bootId}\u0000${seq}`
}

/**
 * Records the fresh ones of these batches and returns each one's verdict, in order, with the
 * session heads of `headsOf` (gateway_state) read in the same statement — one round trip for both.
 * A batch is identified by (gateway, boot id, seq) alone; its digest tells a redelivery from a
 * replay. The caller holds the advisory locks of the batches' gateways, so no other writer records
 * one of them between the lookup and the insert, or changes their heads. Rows from before digests
 * existed count as the same content when their sentAt is the same. Without batches, only the heads
 * are read.
 */
export async function recordBatches(
  trx: Trx,
  batches: readonly BatchRecord[],
  headsOf: readonly string[] = [],
): Promise<{ verdicts: BatchVerdict[]; heads: Map<string, SessionHead> }> {
  if (batches.length === 0) return { verdicts: [], heads: await loadSessionHeads(trx, headsOf) }
  // The rows already recorded (read before this statement's insert, which the statement's own
  // reads never see), the insert of the group's first occurrences that are not, and the heads: one
  // row each, told apart by `k` (true: a recorded batch; false: a head).
  const firsts = new Map<string, BatchRecord>()
  for (const b of batches) {
    const key = identity(b.gatewayId, b.bootId, b.seq)
    if (!firsts.has(key)) firsts.set(key, b)
  }
  const candidates = [...firsts.values()]
  const rows = await sql<{
    k: boolean
    gateway_id: string
    boot_id: string | null
    seq: string | null
    at: Date | null
    content_digest: string | null
    seq_gaps: string | null
    session_version: string | null
    checkpoint_version: string | null
    checkpoint_watermark: Date | null
  }>`
    WITH u AS (
      SELECT * FROM unnest(
        ${candidates.map((b) => b.gatewayId)}::text[],
        ${candidates.map((b) => b.bootId)}::text[],
        ${candidates.map((b) => b.seq)}::bigint[],
        ${candidates.map((b) => b.sentAt)}::timestamptz[],
        ${candidates.map((b) => b.sightingsCount)}::integer[],
        ${candidates.map((b) => b.digest)}::bigint[]) AS u(g, b, s, t, n, d)),
    known AS (
      SELECT x.gateway_id, x.boot_id, x.seq, x.sent_at, x.content_digest FROM ingest_batches x
      JOIN u ON x.gateway_id = u.g AND x.boot_id = u.b AND x.seq = u.s),
    fresh AS (
      INSERT INTO ingest_batches (gateway_id, boot_id, seq, sent_at, sightings_count, content_digest)
      SELECT g, b, s, t, n, d FROM u
      WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.gateway_id = u.g AND k.boot_id = u.b AND k.seq = u.s))
    SELECT true AS k, gateway_id, boot_id, seq, sent_at AS at, content_digest,
      NULL::bigint AS seq_gaps, NULL::bigint AS session_version, NULL::bigint AS checkpoint_version,
      NULL::timestamptz AS checkpoint_watermark
    FROM known
    UNION ALL
    SELECT false, gateway_id, boot_id, last_seq, watermark, NULL, seq_gaps, session_version,
      checkpoint_version, checkpoint_watermark
    FROM gateway_state WHERE gateway_id = ANY(${[...headsOf]}::text[])`.execute(trx)
  const seen = new Map<string, { digest: string | null; sentAtMs: number }>()
  const heads = new Map<string, SessionHead>()
  for (const r of rows.rows) {
    if (r.k)
      seen.set(identity(r.gateway_id, r.boot_id ?? '', r.seq ?? ''), {
        digest: r.content_digest,
        sentAtMs: r.at?.getTime() ?? Number.NaN,
      })
    else
      heads.set(
        r.gateway_id,
        headOf({
          watermark: r.at,
          boot_id: r.boot_id,
          last_seq: r.seq,
          seq_gaps: r.seq_gaps ?? 0,
          session_version: r.session_version ?? 0,
          checkpoint_version: r.checkpoint_version ?? 0,
          checkpoint_watermark: r.checkpoint_watermark,
        }),
      )
  }
  // A first occurrence not recorded before was inserted above; a later one in the group is told
  // from it as a redelivery would be.
  const verdicts = batches.map((b): BatchVerdict => {
    const key = identity(b.gatewayId, b.bootId, b.seq)
    const before = seen.get(key)
    if (!before) {
      seen.set(key, { digest: b.digest, sentAtMs: b.sentAt.getTime() })
      return 'fresh'
    }
    const same =
      before.digest === null ? before.sentAtMs === b.sentAt.getTime() : before.digest === b.digest
    return same ? 'duplicate' : 'conflict'
  })
  return { verdicts, heads }
}

function toSession(r: {
  pseudonym: string
  first_seen: Date
  last_seen: Date
  peak_rssi: number
  samples: number
  radio: string
  randomised: boolean
  ie_fp: string | null
  last_seq_num: number | null
}): Session {
  const session: Session = {
    pseudonym: r.pseudonym,
    firstMs: r.first_seen.getTime(),
    lastMs: r.last_seen.getTime(),
    peakRssi: r.peak_rssi,
    samples: r.samples,
    radio: r.radio === 'ble' ? 'ble' : 'wifi',
    randomised: r.randomised,
  }
  if (r.ie_fp !== null) session.fp = r.ie_fp
  if (r.last_seq_num !== null) session.lastSeqNum = r.last_seq_num
  return session
}

function refArrays(refs: readonly DeviceRef[]) {
  return {
    gateways: refs.map((r) => r.gatewayId),
    pseudonyms: refs.map((r) => r.pseudonym),
  }
}

/**
 * Open sessions a checkpoint writes per statement. A checkpoint of every gateway at once can hold
 * 100 000 sessions, ~12 MB of parameter text in one statement; pieces of this size keep each under
 * ~0.5 MB. (It did not change ingest's resident memory in the memory benchmark: 236 → 232 MB.)
 */
export const OPEN_SESSIONS_PER_STATEMENT = 4_000

export async function upsertOpenSessions(
  trx: Trx,
  sessions: readonly GatewaySession[],
): Promise<void> {
  for (let from = 0; from < sessions.length; from += OPEN_SESSIONS_PER_STATEMENT)
    await upsertOpenSessionsOnce(trx, sessions.slice(from, from + OPEN_SESSIONS_PER_STATEMENT))
}

async function upsertOpenSessionsOnce(
  trx: Trx,
  sessions: readonly GatewaySession[],
): Promise<void> {
  if (sessions.length === 0) return
  const s = sessions.map((x) => x.session)
  await sql`
    INSERT INTO open_transits (gateway_id, pseudonym, first_seen, last_seen, peak_rssi, samples, radio,
                               randomised, ie_fp, last_seq_num)
    SELECT * FROM unnest(
      ${sessions.map((x) => x.gatewayId)}::text[],
      ${s.map((x) => x.pseudonym)}::bigint[],
      ${s.map((x) => new Date(x.firstMs))}::timestamptz[],
      ${s.map((x) => new Date(x.lastMs))}::timestamptz[],
      ${s.map((x) => x.peakRssi)}::smallint[],
      ${s.map((x) => x.samples)}::integer[],
      ${s.map((x) => x.radio)}::text[],
      ${s.map((x) => x.randomised)}::boolean[],
      ${s.map((x) => x.fp ?? null)}::bigint[],
      ${s.map((x) => x.lastSeqNum ?? null)}::smallint[])
    ON CONFLICT (gateway_id, pseudonym) DO UPDATE SET
      first_seen = excluded.first_seen, last_seen = excluded.last_seen, peak_rssi = excluded.peak_rssi,
      samples = excluded.samples, radio = excluded.radio, randomised = excluded.randomised,
      ie_fp = excluded.ie_fp, last_seq_num = excluded.last_seq_num`.execute(trx)
}

/**
 * Records devices as static at their gateway (their open sessions are deleted by the caller), each
 * with the session version of the batch that learned it when known.
 */
function staticDevicesInsert(refs: readonly (DeviceRef & { version?: number })[]) {
  const { gateways, pseudonyms } = refArrays(refs)
  return sql`
    INSERT INTO static_devices (gateway_id, pseudonym, learned_version)
    SELECT * FROM unnest(${gateways}::text[], ${pseudonyms}::bigint[],
                         ${refs.map((r) => r.version ?? null)}::bigint[])
    ON CONFLICT DO NOTHING`
}

/** Forgets static devices marked before `before` (their pseudonyms are past their day anyway). */
export async function forgetStaticDevices(db: Db, before: Date): Promise<number> {
  const r = await db.deleteFrom('static_devices').where('marked_at', '<', before).executeTakeFirst()
  return Number(r.numDeletedRows)
}

/**
 * Writes closed sessions as transits, each with its gateway's zone, shop and calibration in force,
 * and returns what was actually stored (a transit already there — the `transits_once` guard — is not).
 */
export async function insertTransits(
  trx: Trx,
  rows: readonly GatewayTransit[],
): Promise<StoredTransits> {
  if (rows.length === 0) return { visitors: 0, passersBy: 0, zones: new Set() }
  return storedOf((await transitsInsert(rows).execute(trx)).rows)
}

type StoredRow = { zone_id: string; visitor: boolean; first_ms: number; xid: string }

function transitsInsert(rows: readonly GatewayTransit[]) {
  const t = rows.map((r) => r.transit)
  const g = rows.map((r) => r.gateway)
  return sql<StoredRow>`
    INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s, peak_rssi,
                          samples, radio, randomised, visitor, threshold_version, calibration_factor,
                          calibration_version)
    SELECT * FROM unnest(
      ${t.map((x) => new Date(x.firstMs))}::timestamptz[],
      ${t.map((x) => new Date(x.lastMs))}::timestamptz[],
      ${g.map((x) => x.id)}::text[],
      ${g.map((x) => x.zoneId)}::text[],
      ${g.map((x) => x.shopId)}::text[],
      ${t.map((x) => x.pseudonym)}::bigint[],
      ${t.map((x) => x.dwellS)}::real[],
      ${t.map((x) => x.peakRssi)}::smallint[],
      ${t.map((x) => x.samples)}::integer[],
      ${t.map((x) => x.radio)}::text[],
      ${t.map((x) => x.randomised)}::boolean[],
      ${t.map((x) => x.visitor)}::boolean[],
      ${t.map((x) => x.thresholdVersion)}::integer[],
      ${g.map((x) => x.calibration.factor)}::real[],
      ${g.map((x) => x.calibration.version)}::integer[])
    ON CONFLICT (gateway_id, pseudonym, first_seen) DO NOTHING
    RETURNING zone_id, visitor, extract(epoch FROM first_seen)::float8 * 1000 AS first_ms,
              pg_current_xact_id()::text AS xid`
}

/** What the transits insert returned, counted for metrics and the live announcement. */
function storedOf(rows: readonly StoredRow[]): StoredTransits {
  const stored: StoredTransits = { visitors: 0, passersBy: 0, zones: new Set() }
  const live: NonNullable<StoredTransits['live']>['zones'] = new Map()
  for (const r of rows) {
    if (r.visitor) stored.visitors++
    else stored.passersBy++
    stored.zones.add(r.zone_id)
    let buckets = live.get(r.zone_id)
    if (!buckets) live.set(r.zone_id, (buckets = new Map()))
    const bucket = liveBucketOf(r.first_ms)
    const c = buckets.get(bucket) ?? { passersBy: 0, visitors: 0 }
    if (r.visitor) c.visitors++
    else c.passersBy++
    buckets.set(bucket, c)
  }
  const xid = rows[0]?.xid
  if (xid !== undefined) stored.live = { xid, zones: live }
  return stored
}

type ProgressRow = GatewayProgressWrite & { sessionVersion: number; lastMessageAt: Date }

/**
 * Saves the batch columns of gateway_state (status columns are left as they are), with the session
 * version the gateway's sessions reached and the time of its last message (never moved back).
 */
function progressUpsert(rows: readonly ProgressRow[]) {
  return sql`
    INSERT INTO gateway_state AS s (gateway_id, last_batch_at, watermark, boot_id, last_seq, seq_gaps,
                                    clock_skew_ms, session_version, last_message_at)
    SELECT * FROM unnest(
      ${rows.map((r) => r.gatewayId)}::text[],
      ${rows.map((r) => r.lastBatchAt)}::timestamptz[],
      ${rows.map((r) => (r.watermarkMs === null ? null : new Date(r.watermarkMs)))}::timestamptz[],
      ${rows.map((r) => r.bootId)}::text[],
      ${rows.map((r) => r.lastSeq)}::bigint[],
      ${rows.map((r) => r.seqGaps)}::bigint[],
      ${rows.map((r) => r.clockSkewMs)}::integer[],
      ${rows.map((r) => r.sessionVersion)}::bigint[],
      ${rows.map((r) => r.lastMessageAt)}::timestamptz[])
    ON CONFLICT (gateway_id) DO UPDATE SET
      last_batch_at = excluded.last_batch_at, watermark = excluded.watermark,
      boot_id = excluded.boot_id, last_seq = excluded.last_seq, seq_gaps = excluded.seq_gaps,
      clock_skew_ms = coalesce(excluded.clock_skew_ms, s.clock_skew_ms),
      session_version = excluded.session_version,
      last_message_at = greatest(s.last_message_at, excluded.last_message_at)`
}

/** Where a gateway's sessions stand, read under its lock: progress, session and checkpoint versions. */
export type SessionHead = GatewayProgress & {
  sessionVersion: number
  checkpointVersion: number
  checkpointWatermarkMs: number | null
}

export async function loadSessionHeads(
  trx: Trx,
  gatewayIds: readonly string[],
): Promise<Map<string, SessionHead>> {
  if (gatewayIds.length === 0) return new Map()
  const rows = await trx
    .selectFrom('gateway_state')
    .select([
      'gateway_id',
      'watermark',
      'boot_id',
      'last_seq',
      'seq_gaps',
      'session_version',
      'checkpoint_version',
      'checkpoint_watermark',
    ])
    .where('gateway_id', 'in', [...gatewayIds])
    .execute()
  return new Map(rows.map((r) => [r.gateway_id, headOf(r)]))
}

/** A gateway_state row's session head (its bigint columns arrive as text). */
function headOf(r: {
  watermark: Date | null
  boot_id: string | null
  last_seq: unknown
  seq_gaps: unknown
  session_version: unknown
  checkpoint_version: unknown
  checkpoint_watermark: Date | null
}): SessionHead {
  return {
    watermarkMs: r.watermark === null ? null : r.watermark.getTime(),
    bootId: r.boot_id,
    lastSeq: r.last_seq === null ? null : Number(r.last_seq),
    seqGaps: Number(r.seq_gaps),
    sessionVersion: Number(r.session_version),
    checkpointVersion: Number(r.checkpoint_version),
    checkpointWatermarkMs:
      r.checkpoint_watermark === null ? null : r.checkpoint_watermark.getTime(),
  }
}

/** What rebuilding a gateway's sessions starts from: its checkpoint, its statics, the log after. */
export type RebuildSource = {
  open: Session[]
  statics: [string, number][]
  log: { version: number; sentAtMs: number; sightings: Buffer }[]
}

/**
 * The checkpoints of these gateways (open_transits), the static devices learned up to them and the
 * session log after them, in version order.
 */
export async function loadRebuildSources(
  trx: Trx,
  heads: readonly { gatewayId: string; checkpointVersion: number }[],
): Promise<Map<string, RebuildSource>> {
  const out = new Map<string, RebuildSource>()
  if (heads.length === 0) return out
  const gateways = heads.map((h) => h.gatewayId)
  const versions = heads.map((h) => h.checkpointVersion)
  for (const g of gateways) out.set(g, { open: [], statics: [], log: [] })
  const open = await sql<OpenTransitRow>`
    SELECT o.* FROM open_transits o WHERE o.gateway_id = ANY(${gateways}::text[])
    ORDER BY o.gateway_id, o.first_seen, o.pseudonym`.execute(trx)
  for (const r of open.rows) out.get(r.gateway_id)?.open.push(toSession(r))
  const statics = await sql<{ gateway_id: string; pseudonym: string; marked_at: Date }>`
    SELECT s.gateway_id, s.pseudonym::text AS pseudonym, s.marked_at FROM static_devices s
    JOIN unnest(${gateways}::text[], ${versions}::bigint[]) AS u(g, v) ON s.gateway_id = u.g
    WHERE s.learned_version IS NULL OR s.learned_version <= u.v`.execute(trx)
  for (const r of statics.rows)
    out.get(r.gateway_id)?.statics.push([r.pseudonym, r.marked_at.getTime()])
  const log = await sql<{ gateway_id: string; version: string; sent_at: Date; hex: string }>`
    SELECT l.gateway_id, l.version, l.sent_at, encode(l.sightings, 'hex') AS hex FROM session_log l
    JOIN unnest(${gateways}::text[], ${versions}::bigint[]) AS u(g, v) ON l.gateway_id = u.g
    WHERE l.version > u.v
    ORDER BY l.gateway_id, l.version`.execute(trx)
  for (const r of log.rows)
    out.get(r.gateway_id)?.log.push({
      version: Number(r.version),
      sentAtMs: r.sent_at.getTime(),
      sightings: Buffer.from(r.hex, 'hex'),
    })
  return out
}

type SessionLogRow = { gatewayId: string; version: number; sentAtMs: number; sightings: Buffer }

/** Appends batches to the session log (each with its gateway's session version after it). */
function sessionLogInsert(rows: readonly SessionLogRow[]) {
  return sql`
    INSERT INTO session_log (gateway_id, version, sent_at, sightings)
    SELECT g, v, t, decode(h, 'hex') FROM unnest(
      ${rows.map((r) => r.gatewayId)}::text[],
      ${rows.map((r) => r.version)}::bigint[],
      ${rows.map((r) => new Date(r.sentAtMs))}::timestamptz[],
      ${rows.map((r) => r.sightings.toString('hex'))}::text[]) AS u(g, v, t, h)`
}

/**
 * A group's rows after planning, in one statement (one round trip instead of four): the session
 * log, the static devices learned, the gateways' progress (creating their state rows) and the
 * closed transits, each an insert of its own table — none reads what another writes. Returns what
 * was stored of the transits. Checkpoints, which update the state rows, come after it.
 */
export async function writeGroupRows(
  trx: Trx,
  rows: {
    log: readonly SessionLogRow[]
    statics: readonly (DeviceRef & { version?: number })[]
    progress: readonly ProgressRow[]
    transits: readonly GatewayTransit[]
  },
): Promise<StoredTransits> {
  const ctes = [
    ...(rows.log.length > 0 ? [sql`log AS (${sessionLogInsert(rows.log)})`] : []),
    ...(rows.statics.length > 0 ? [sql`statics AS (${staticDevicesInsert(rows.statics)})`] : []),
    ...(rows.progress.length > 0 ? [sql`progress AS (${progressUpsert(rows.progress)})`] : []),
  ]
  if (rows.transits.length === 0) {
    // Data-modifying CTEs run whether or not the statement's body reads them.
    if (ctes.length > 0) await sql`WITH ${sql.join(ctes)} SELECT 1`.execute(trx)
    return storedOf([])
  }
  const insert = transitsInsert(rows.transits)
  const statement = ctes.length === 0 ? insert : sql<StoredRow>`WITH ${sql.join(ctes)} ${insert}`
  return storedOf((await statement.execute(trx)).rows)
}

/**
 * Writes checkpoints: each gateway's open sessions replace its rows in open_transits, its
 * gateway_state records the version and watermark they stand for, and its log up to that version
 * is deleted. The gateways' state rows must exist (the caller saved their progress first).
 */
export async function writeCheckpoints(
  trx: Trx,
  checkpoints: readonly {
    gatewayId: string
    version: number
    watermarkMs: number | null
    open: readonly Session[]
  }[],
): Promise<void> {
  if (checkpoints.length === 0) return
  const gateways = checkpoints.map((c) => c.gatewayId)
  const versions = checkpoints.map((c) => c.version)
  await sql`DELETE FROM open_transits WHERE gateway_id = ANY(${gateways}::text[])`.execute(trx)
  await upsertOpenSessions(
    trx,
    checkpoints.flatMap((c) => c.open.map((session) => ({ gatewayId: c.gatewayId, session }))),
  )
  await sql`
    UPDATE gateway_state s SET checkpoint_version = u.v, checkpoint_watermark = u.w
    FROM unnest(${gateways}::text[], ${versions}::bigint[],
                ${checkpoints.map((c) => (c.watermarkMs === null ? null : new Date(c.watermarkMs)))}::timestamptz[])
      AS u(g, v, w)
    WHERE s.gateway_id = u.g`.execute(trx)
  await sql`
    DELETE FROM session_log l USING unnest(${gateways}::text[], ${versions}::bigint[]) AS u(g, v)
    WHERE l.gateway_id = u.g AND l.version <= u.v`.execute(trx)
}

/**
 * Saves gateway statuses, several of one gateway folded into its last (keeping the last firmware
 * version reported). A status without `fw` keeps the one stored.
 */
export async function upsertGatewayStatuses(db: Db, writes: readonly StatusWrite[]): Promise<void> {
  const last = new Map<string, StatusWrite>()
  for (const w of writes) {
    const prev = last.get(w.gatewayId)
    const fw = w.status.fw ?? prev?.status.fw
    last.set(w.gatewayId, { ...w, status: fw === undefined ? w.status : { ...w.status, fw } })
  }
  if (last.size === 0) return
  await db
    .insertInto('gateway_state')
    .values(
      [...last.values()].map((w) => ({
        gateway_id: w.gatewayId,
        state: w.status.state,
        fw: w.status.fw ?? null,
        uptime_s: w.status.uptimeS ?? null,
        queue: w.status.queue ?? null,
        status_at: w.at,
      })),
    )
    .onConflict((oc) =>
      oc.column('gateway_id').doUpdateSet((eb) => ({
        state: eb.ref('excluded.state'),
        fw: sql`coalesce(excluded.fw, gateway_state.fw)`,
        uptime_s: eb.ref('excluded.uptime_s'),
        queue: eb.ref('excluded.queue'),
        status_at: eb.ref('excluded.status_at'),
      })),
    )
    .execute()
}

/**
 * Gateways whose last batch arrived (wall clock) before `before` and that may still have open
 * sessions: rows in their checkpoint, or batches applied since it.
 */
export async function listSilentGatewaysWithSessions(db: Db, before: Date): Promise<string[]> {
  const rows = await sql<{ gateway_id: string }>`
    SELECT DISTINCT o.gateway_id FROM open_transits o
      LEFT JOIN gateway_state s ON s.gateway_id = o.gateway_id
     WHERE s.last_batch_at < ${before} OR s.last_batch_at IS NULL
    UNION
    SELECT gateway_id FROM gateway_state
     WHERE session_version > checkpoint_version AND last_batch_at < ${before}`.execute(db)
  return rows.rows.map((r) => r.gateway_id)
}

/** Sets gateways' session versions (a change not in the log: a checkpoint is written with it). */
export async function setSessionVersions(
  trx: Trx,
  rows: readonly { gatewayId: string; version: number }[],
): Promise<void> {
  if (rows.length === 0) return
  await sql`
    INSERT INTO gateway_state (gateway_id, session_version)
    SELECT * FROM unnest(${rows.map((r) => r.gatewayId)}::text[], ${rows.map((r) => r.version)}::bigint[])
    ON CONFLICT (gateway_id) DO UPDATE SET session_version = excluded.session_version`.execute(trx)
}

/** Stores dead letters; every text in them must already be redacted by the caller. */
export async function insertDeadLetters(
  db: Db,
  letters: readonly DeadLetterWrite[],
): Promise<void> {
  if (letters.length === 0) return
  await db
    .insertInto('dead_letters')
    .values(
      letters.map((d) => ({
        topic: d.topic,
        gateway_id: d.gatewayId,
        reason: d.reason,
        detail: d.detail,
        payload_bytes: d.payloadBytes,
        payload_redacted: d.payloadRedacted,
      })),
    )
    .execute()
}

/** The database as the shared home of the daily keys (see pseudonymiser.ts). */
export function createDbKeyStore(db: Db): DailyKeyStore {
  return {
    async getOrCreateKey(day, destroyAfterMs, nowMs) {
      if (destroyAfterMs <= nowMs) return null
      await db
        .insertInto('pseudonym_keys')
        .values({ day, key: randomBytes(32), destroy_after: new Date(destroyAfterMs) })
        .onConflict((oc) => oc.column('day').doNothing())
        .execute()
      const row = await db
        .selectFrom('pseudonym_keys')
        .select('key')
        .where('day', '=', day)
        .where('destroy_after', '>', new Date(nowMs))
        .executeTakeFirst()
      return row?.key ?? null
    },
    async destroyExpiredKeys(nowMs) {
      const rows = await db
        .deleteFrom('pseudonym_keys')
        .where('destroy_after', '<=', new Date(nowMs))
        .returning(sql<string>`day::text`.as('day'))
        .execute()
      return rows.map((r) => r.day)
    },
  }
}
