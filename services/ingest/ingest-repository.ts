import { randomBytes } from 'node:crypto'
import { sql, type Transaction } from 'kysely'
import type { Database } from '../shared/db/database.ts'
import type { Db } from '../shared/db/create-db.ts'
import type { GatewayStatus } from '../shared/contracts/gateway-messages.ts'
import type { DailyKeyStore } from './pseudonymiser.ts'
import type { ClassifiedTransit, Session, VisitorThresholds } from './sessionise.ts'

type Trx = Transaction<Database>

export type RegisteredGateway = {
  id: string
  zoneId: string
  shopId: string | null
  rssiFloor: number
  thresholds: VisitorThresholds
  /** People per device in force (from manual counts); stored with each transit, never retroactive. */
  calibration: { version: number; factor: number }
}

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
      },
    ]),
  )
}

/** Serialises every writer of one gateway's sessions across ingest replicas for this transaction. */
export async function lockGateway(trx: Trx, gatewayId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${'miglio-gw:' + gatewayId}))`.execute(trx)
}

/** Records a batch; false when (gateway, boot, seq, sentAt) was already recorded (a redelivery). */
export async function recordBatch(
  trx: Trx,
  b: { gatewayId: string; bootId: string; seq: number; sentAt: Date; sightingsCount: number },
): Promise<boolean> {
  const row = await trx
    .insertInto('ingest_batches')
    .values({
      gateway_id: b.gatewayId,
      boot_id: b.bootId,
      seq: b.seq,
      sent_at: b.sentAt,
      sightings_count: b.sightingsCount,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('seq')
    .executeTakeFirst()
  return row !== undefined
}

function toSession(r: {
  pseudonym: string
  first_seen: Date
  last_seen: Date
  peak_rssi: number
  samples: number
  radio: string
  randomised: boolean
}): Session {
  return {
    pseudonym: r.pseudonym,
    firstMs: r.first_seen.getTime(),
    lastMs: r.last_seen.getTime(),
    peakRssi: r.peak_rssi,
    samples: r.samples,
    radio: r.radio === 'ble' ? 'ble' : 'wifi',
    randomised: r.randomised,
  }
}

export async function loadOpenSessions(
  trx: Trx,
  gatewayId: string,
  pseudonyms: string[],
): Promise<Map<string, Session>> {
  if (pseudonyms.length === 0) return new Map()
  const rows = await trx
    .selectFrom('open_transits')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .where(sql<boolean>`pseudonym = ANY(${pseudonyms}::bigint[])`)
    .execute()
  return new Map(rows.map((r) => [r.pseudonym, toSession(r)]))
}

export async function upsertOpenSessions(
  trx: Trx,
  gatewayId: string,
  sessions: Session[],
): Promise<void> {
  if (sessions.length === 0) return
  await sql`
    INSERT INTO open_transits (gateway_id, pseudonym, first_seen, last_seen, peak_rssi, samples, radio, randomised)
    SELECT ${gatewayId}, * FROM unnest(
      ${sessions.map((s) => s.pseudonym)}::bigint[],
      ${sessions.map((s) => new Date(s.firstMs))}::timestamptz[],
      ${sessions.map((s) => new Date(s.lastMs))}::timestamptz[],
      ${sessions.map((s) => s.peakRssi)}::smallint[],
      ${sessions.map((s) => s.samples)}::integer[],
      ${sessions.map((s) => s.radio)}::text[],
      ${sessions.map((s) => s.randomised)}::boolean[])
    ON CONFLICT (gateway_id, pseudonym) DO UPDATE SET
      first_seen = excluded.first_seen, last_seen = excluded.last_seen, peak_rssi = excluded.peak_rssi,
      samples = excluded.samples, radio = excluded.radio, randomised = excluded.randomised`.execute(
    trx,
  )
}

/** The pseudonyms among `pseudonyms` already learned as static at the gateway. */
export async function loadStaticDevices(
  trx: Trx,
  gatewayId: string,
  pseudonyms: string[],
): Promise<Set<string>> {
  if (pseudonyms.length === 0) return new Set()
  const rows = await trx
    .selectFrom('static_devices')
    .select('pseudonym')
    .where('gateway_id', '=', gatewayId)
    .where(sql<boolean>`pseudonym = ANY(${pseudonyms}::bigint[])`)
    .execute()
  return new Set(rows.map((r) => r.pseudonym))
}

/** Records devices as static at the gateway and drops their open sessions (never written as transits). */
export async function markStaticDevices(
  trx: Trx,
  gatewayId: string,
  pseudonyms: string[],
): Promise<void> {
  if (pseudonyms.length === 0) return
  await sql`
    INSERT INTO static_devices (gateway_id, pseudonym)
    SELECT ${gatewayId}, p FROM unnest(${pseudonyms}::bigint[]) AS p
    ON CONFLICT DO NOTHING`.execute(trx)
  await trx
    .deleteFrom('open_transits')
    .where('gateway_id', '=', gatewayId)
    .where(sql<boolean>`pseudonym = ANY(${pseudonyms}::bigint[])`)
    .execute()
}

/** Forgets static devices marked before `before` (their pseudonyms are past their day anyway). */
export async function forgetStaticDevices(db: Db, before: Date): Promise<number> {
  const r = await db.deleteFrom('static_devices').where('marked_at', '<', before).executeTakeFirst()
  return Number(r.numDeletedRows)
}

/** Removes and returns the gateway's open sessions last heard before `before`. */
export async function takeSessionsEndedBefore(
  trx: Trx,
  gatewayId: string,
  before: Date,
): Promise<Session[]> {
  const rows = await trx
    .deleteFrom('open_transits')
    .where('gateway_id', '=', gatewayId)
    .where('last_seen', '<', before)
    .returningAll()
    .execute()
  return rows.map(toSession)
}

export async function insertTransits(
  trx: Trx,
  gateway: RegisteredGateway,
  transits: ClassifiedTransit[],
): Promise<number> {
  const version = transits[0]?.thresholdVersion
  if (version === undefined) return 0
  const result = await sql`
    INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s, peak_rssi,
                          samples, radio, randomised, visitor, threshold_version, calibration_factor,
                          calibration_version)
    SELECT f, l, ${gateway.id}, ${gateway.zoneId}, ${gateway.shopId}, p, d, r, n, ra, rnd, v, ${version},
           ${gateway.calibration.factor}, ${gateway.calibration.version}
    FROM unnest(
      ${transits.map((t) => new Date(t.firstMs))}::timestamptz[],
      ${transits.map((t) => new Date(t.lastMs))}::timestamptz[],
      ${transits.map((t) => t.pseudonym)}::bigint[],
      ${transits.map((t) => t.dwellS)}::real[],
      ${transits.map((t) => t.peakRssi)}::smallint[],
      ${transits.map((t) => t.samples)}::integer[],
      ${transits.map((t) => t.radio)}::text[],
      ${transits.map((t) => t.randomised)}::boolean[],
      ${transits.map((t) => t.visitor)}::boolean[]) AS u(f, l, p, d, r, n, ra, rnd, v)
    ON CONFLICT (gateway_id, pseudonym, first_seen) DO NOTHING`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

/**
 * Advances the gateway's state after an accepted batch: event-time watermark (never backwards),
 * sequence gaps within a boot, clock skew. Returns the watermark in force.
 */
export async function advanceGatewayState(
  trx: Trx,
  b: {
    gatewayId: string
    bootId: string
    seq: number
    sentAt: Date
    receivedAt: Date
    clockSkewMs: number
  },
): Promise<Date> {
  const row = await sql<{ watermark: Date }>`
    INSERT INTO gateway_state AS s (gateway_id, last_batch_at, watermark, boot_id, last_seq, clock_skew_ms)
    VALUES (${b.gatewayId}, ${b.receivedAt}, ${b.sentAt}, ${b.bootId}, ${b.seq}, ${b.clockSkewMs})
    ON CONFLICT (gateway_id) DO UPDATE SET
      last_batch_at = excluded.last_batch_at,
      watermark = greatest(s.watermark, excluded.watermark),
      seq_gaps = s.seq_gaps + CASE
        WHEN s.boot_id = excluded.boot_id AND excluded.last_seq > s.last_seq + 1
        THEN excluded.last_seq - s.last_seq - 1 ELSE 0 END,
      last_seq = CASE WHEN s.boot_id = excluded.boot_id THEN greatest(s.last_seq, excluded.last_seq)
                      ELSE excluded.last_seq END,
      boot_id = excluded.boot_id,
      clock_skew_ms = excluded.clock_skew_ms
    RETURNING watermark`.execute(trx)
  const watermark = row.rows[0]?.watermark
  if (!watermark) throw new Error(`gateway_state upsert for ${b.gatewayId} returned no row`)
  return watermark
}

export async function upsertGatewayStatus(
  db: Db,
  gatewayId: string,
  status: GatewayStatus,
  at: Date,
): Promise<void> {
  await db
    .insertInto('gateway_state')
    .values({
      gateway_id: gatewayId,
      state: status.state,
      fw: status.fw ?? null,
      uptime_s: status.uptimeS ?? null,
      queue: status.queue ?? null,
      status_at: at,
    })
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

/** Gateways with open sessions whose last batch arrived before `before` (wall clock): silent ones. */
/** Gateways with open sessions whose last batch arrived (wall clock) before `before`. */
export async function listSilentGatewaysWithOpenSessions(db: Db, before: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('open_transits as o')
    .leftJoin('gateway_state as s', 's.gateway_id', 'o.gateway_id')
    .select('o.gateway_id')
    .distinct()
    .where((eb) => eb.or([eb('s.last_batch_at', '<', before), eb('s.last_batch_at', 'is', null)]))
    .execute()
  return rows.map((r) => r.gateway_id)
}

export async function insertDeadLetter(
  db: Db,
  d: {
    topic: string
    gatewayId: string | null
    reason: string
    detail: string
    payloadBytes: number
    payloadRedacted: string
  },
): Promise<void> {
  await db
    .insertInto('dead_letters')
    .values({
      topic: d.topic,
      gateway_id: d.gatewayId,
      reason: d.reason,
      detail: d.detail,
      payload_bytes: d.payloadBytes,
      payload_redacted: d.payloadRedacted,
    })
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
