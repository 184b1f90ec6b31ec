import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { DeviceSession } from '../../shared/people/sessions.ts'

/** Whose sessions: a zone's gateways, or a shop's. */
export type PeopleScope =
  { zoneId: string; shopId?: undefined } | { shopId: string; zoneId?: undefined }

/** A device session with ingest's class (visitor: inside a shop; otherwise in front / passing). */
export type ClassifiedSession = DeviceSession & { visitor: boolean }

type Row = {
  gateway_id: string
  zone_id: string
  pseudonym: string | null
  first_seen: Date | string
  last_seen: Date | string
  samples: number
  peak_rssi: number
  radio: string
  randomised: boolean
  visitor: boolean | null
}

const ms = (t: Date | string) => (t instanceof Date ? t.getTime() : new Date(t).getTime())

/**
 * The device sessions of a zone's or a shop's gateways that began in [from, to): closed transits,
 * and the sessions ingest still holds open (as heard so far; their class is what ingest's
 * `classify()` would give them now, with the gateway's newest thresholds — a visitor stays one as
 * its session grows). `all`: every zone's. Only what the estimator needs: no MAC, the pseudonym as text.
 */
export async function loadSessions(
  db: Db,
  scope: PeopleScope | 'all',
  from: Date,
  to: Date,
): Promise<ClassifiedSession[]> {
  const closedScope =
    scope === 'all'
      ? sql`true`
      : scope.zoneId !== undefined
        ? sql`t.zone_id = ${scope.zoneId}`
        : sql`t.shop_id = ${scope.shopId}`
  const openScope =
    scope === 'all'
      ? sql`true`
      : scope.zoneId !== undefined
        ? sql`g.zone_id = ${scope.zoneId}`
        : sql`g.shop_id = ${scope.shopId}`
  const r = await sql<Row>`
    SELECT t.gateway_id, t.zone_id, t.pseudonym::text AS pseudonym, t.first_seen, t.last_seen,
           t.samples, t.peak_rssi, t.radio, t.randomised, t.visitor
      FROM transits t
     WHERE ${closedScope} AND t.first_seen >= ${from} AND t.first_seen < ${to}
    UNION ALL
    SELECT o.gateway_id, g.zone_id, o.pseudonym::text, o.first_seen, o.last_seen,
           o.samples, o.peak_rssi, o.radio, o.randomised,
           miglio_is_visitor(g.shop_id IS NOT NULL, o.peak_rssi,
                             extract(epoch FROM o.last_seen - o.first_seen)::double precision,
                             th.min_rssi, th.min_dwell_s::double precision)
      FROM open_transits o
      JOIN gateways g ON g.id = o.gateway_id
      LEFT JOIN LATERAL (
        SELECT min_rssi, min_dwell_s FROM gateway_thresholds
         WHERE gateway_id = o.gateway_id ORDER BY version DESC LIMIT 1
      ) th ON true
     WHERE ${openScope} AND o.first_seen >= ${from} AND o.first_seen < ${to}
  `.execute(db)
  return r.rows.map((x) => ({
    gatewayId: x.gateway_id,
    zoneId: x.zone_id,
    pseudonym: x.pseudonym,
    firstMs: ms(x.first_seen),
    lastMs: ms(x.last_seen),
    samples: Number(x.samples),
    peakRssi: Number(x.peak_rssi),
    radio: x.radio === 'ble' ? 'ble' : 'wifi',
    randomised: x.randomised,
    visitor: x.visitor === true,
  }))
}

/** The active gateways of a zone or a shop (those without sessions add their empty-room interval). */
export async function listScopeGateways(db: Db, scope: PeopleScope): Promise<string[]> {
  let q = db.selectFrom('gateways').select('id').where('active', '=', true)
  q =
    scope.zoneId !== undefined
      ? q.where('zone_id', '=', scope.zoneId)
      : q.where('shop_id', '=', scope.shopId)
  const rows = await q.orderBy('id').execute()
  return rows.map((r) => r.id)
}

/** Every zone with its active gateways (a zone without any, with none). */
export async function listZoneGateways(db: Db): Promise<Map<string, string[]>> {
  const rows = await db
    .selectFrom('zones as z')
    .leftJoin('gateways as g', (j) => j.onRef('g.zone_id', '=', 'z.id').on('g.active', '=', true))
    .select(['z.id as zone_id', 'g.id as gateway_id'])
    .orderBy('z.id')
    .orderBy('g.id')
    .execute()
  const out = new Map<string, string[]>()
  for (const r of rows) {
    const list = out.get(r.zone_id) ?? []
    if (r.gateway_id) list.push(r.gateway_id)
    out.set(r.zone_id, list)
  }
  return out
}
