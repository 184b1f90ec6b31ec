import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { Alert, AlertKind } from '../../shared/contracts/alerts.ts'
import type { AlertCondition } from '../lib/alert-conditions.ts'
import { summaryOf } from '../lib/alert-conditions.ts'

type AlertRow = {
  id: string
  kind: AlertKind
  zone_id: string | null
  shop_id: string | null
  gateway_id: string | null
  raised_at: Date
  cleared_at: Date | null
  details: unknown
  acknowledged_by: string | null
  acknowledged_at: Date | null
}

export function toAlert(r: AlertRow): Alert {
  const details = (r.details ?? {}) as Record<string, unknown>
  const base = { kind: r.kind, zoneId: r.zone_id, shopId: r.shop_id, gatewayId: r.gateway_id }
  return {
    id: String(r.id),
    ...base,
    raisedAt: r.raised_at.toISOString(),
    clearedAt: r.cleared_at?.toISOString() ?? null,
    details,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
    summary: summaryOf({ ...base, details }),
  }
}

/** Alerts newest first: open ones, or all; a shopkeeper's only of its shop. */
export async function listAlerts(
  db: Db,
  q: { open: boolean; limit: number; shopId?: string | undefined },
): Promise<Alert[]> {
  let s = db.selectFrom('alerts').selectAll()
  if (q.open) s = s.where('cleared_at', 'is', null)
  if (q.shopId !== undefined) s = s.where('shop_id', '=', q.shopId)
  const rows = await s.orderBy('raised_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute()
  return rows.map(toAlert)
}

export async function findAlert(db: Db, id: string): Promise<Alert | null> {
  const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toAlert(row) : null
}

/** Acknowledges an alert (the first acknowledgement stays); null when there is no such alert. */
export async function acknowledgeAlert(db: Db, id: string, keyId: string): Promise<Alert | null> {
  await db
    .updateTable('alerts')
    .set({ acknowledged_by: keyId, acknowledged_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('acknowledged_at', 'is', null)
    .execute()
  return findAlert(db, id)
}

export async function openAlerts(db: Db): Promise<Alert[]> {
  return listAlerts(db, { open: true, limit: 10_000 })
}

/** Raises alerts (an open one of the same kind and subject is left alone); returns those raised. */
export async function raiseAlerts(
  db: Db,
  conditions: readonly AlertCondition[],
  at: Date,
): Promise<Alert[]> {
  if (conditions.length === 0) return []
  const rows = await sql<AlertRow>`
    INSERT INTO alerts (kind, zone_id, shop_id, gateway_id, raised_at, details)
    SELECT * FROM unnest(${conditions.map((c) => c.kind)}::text[], ${conditions.map((c) => c.zoneId)}::text[],
                         ${conditions.map((c) => c.shopId)}::text[], ${conditions.map((c) => c.gatewayId)}::text[],
                         ${conditions.map(() => at)}::timestamptz[],
                         ${conditions.map((c) => JSON.stringify(c.details))}::jsonb[])
    ON CONFLICT DO NOTHING
    RETURNING *`.execute(db)
  return rows.rows.map(toAlert)
}

export async function clearAlerts(db: Db, ids: readonly string[], at: Date): Promise<Alert[]> {
  if (ids.length === 0) return []
  const rows = await db
    .updateTable('alerts')
    .set({ cleared_at: at })
    .where('id', 'in', ids)
    .where('cleared_at', 'is', null)
    .returningAll()
    .execute()
  return rows.map(toAlert)
}

/** Active gateways with their zone, shop and last message. */
export async function gatewaysForAlerts(
  db: Db,
): Promise<{ id: string; zoneId: string; shopId: string | null; lastMessageAt: Date | null }[]> {
  const rows = await db
    .selectFrom('gateways as g')
    .leftJoin('gateway_state as s', 's.gateway_id', 'g.id')
    .select(['g.id', 'g.zone_id', 'g.shop_id', 's.last_message_at', 's.last_batch_at'])
    .where('g.active', '=', true)
    .execute()
  return rows.map((r) => ({
    id: r.id,
    zoneId: r.zone_id,
    shopId: r.shop_id,
    lastMessageAt: r.last_message_at ?? r.last_batch_at,
  }))
}

/**
 * Footfall (transits) per gateway in each window [from, to), from the 15-minute aggregate; windows
 * are given as parallel arrays and answered by index.
 */
export async function gatewayCountsIn(
  db: Db,
  windows: readonly { from: Date; to: Date }[],
): Promise<Map<string, number[]>> {
  const rows = await sql<{ gateway_id: string; i: number; n: number }>`
    SELECT f.gateway_id, w.i, sum(f.passers_by + f.visitors)::float8 AS n
    FROM unnest(${windows.map((w) => w.from)}::timestamptz[], ${windows.map((w) => w.to)}::timestamptz[])
         WITH ORDINALITY AS w(f_from, f_to, i)
    JOIN footfall_15m f ON f.bucket >= w.f_from AND f.bucket < w.f_to
    GROUP BY 1, 2`.execute(db)
  const out = new Map<string, number[]>()
  for (const r of rows.rows) {
    let a = out.get(r.gateway_id)
    if (!a) out.set(r.gateway_id, (a = Array<number>(windows.length).fill(0)))
    a[Number(r.i) - 1] = r.n
  }
  return out
}

/** Dead letters received in [from, to). */
export async function deadLettersIn(db: Db, from: Date, to: Date): Promise<number> {
  const r = await sql<{ n: string }>`
    SELECT count(*) AS n FROM dead_letters WHERE received_at >= ${from} AND received_at < ${to}`.execute(
    db,
  )
  return Number(r.rows[0]?.n ?? 0)
}

/** shop id of each shop zone. */
export async function shopsByZone(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('shops').select(['id', 'zone_id']).execute()
  return new Map(rows.map((r) => [r.zone_id, r.id]))
}
