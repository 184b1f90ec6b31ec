import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { LiveZoneTransitCounts } from '../../shared/contracts/api.ts'
import { LIVE_BUCKET_MS } from '../../shared/contracts/gateway-messages.ts'
import { parseSnapshot, type LiveResync } from '../lib/live-state.ts'

/**
 * Per zone: transits first heard since the local midnight `dayStart` (the real-time footfall_15m
 * aggregate: materialised buckets plus the newest raw transits) and since `since` (raw transits,
 * a rolling window). Every zone is listed, zeros included. One statement for all clients.
 */
export async function liveZoneCounts(
  db: Db,
  dayStart: Date,
  since: Date,
): Promise<LiveZoneTransitCounts[]> {
  const today = db
    .selectFrom('footfall_15m')
    .select([
      'zone_id',
      sql<number>`sum(passers_by)::int`.as('passers_by'),
      sql<number>`sum(visitors)::int`.as('visitors'),
    ])
    .where('bucket', '>=', dayStart)
    .groupBy('zone_id')
  const recent = db
    .selectFrom('transits')
    .select([
      'zone_id',
      sql<number>`count(*) FILTER (WHERE NOT visitor)::int`.as('passers_by'),
      sql<number>`count(*) FILTER (WHERE visitor)::int`.as('visitors'),
    ])
    .where('first_seen', '>=', since)
    .groupBy('zone_id')
  const rows = await db
    .selectFrom('zones as z')
    .leftJoin(today.as('t'), 't.zone_id', 'z.id')
    .leftJoin(recent.as('r'), 'r.zone_id', 'z.id')
    .select([
      'z.id',
      sql<number>`coalesce(t.passers_by, 0)::int`.as('t_pb'),
      sql<number>`coalesce(t.visitors, 0)::int`.as('t_v'),
      sql<number>`coalesce(r.passers_by, 0)::int`.as('r_pb'),
      sql<number>`coalesce(r.visitors, 0)::int`.as('r_v'),
    ])
    .orderBy('z.street_from_m')
    .orderBy('z.id')
    .execute()
  return rows.map((r) => ({
    zoneId: r.id,
    today: { passersBy: r.t_pb, visitors: r.t_v },
    last15m: { passersBy: r.r_pb, visitors: r.r_v },
  }))
}

/**
 * The live feed's resync (lib/live-state.ts): per zone (`zoneIds`, or every zone when null, in
 * feed order), transits first heard since the local midnight `dayStart` (the real-time
 * footfall_15m aggregate) and, per live bucket (LIVE_BUCKET_MS, by first_seen), those from
 * `windowStart` on (raw transits) — with the snapshot the statement read under, so the caller can
 * tell which announced commits these counts already hold. One statement.
 */
export async function liveResyncCounts(
  db: Db,
  zoneIds: readonly string[] | null,
  dayStart: Date,
  windowStart: Date,
): Promise<LiveResync> {
  const rows = await sql<{
    id: string
    t_pb: number
    t_v: number
    buckets: [number, number, number][] | null
    snap: string
  }>`
    SELECT z.id,
           coalesce(t.passers_by, 0)::int AS t_pb,
           coalesce(t.visitors, 0)::int AS t_v,
           r.buckets,
           pg_current_snapshot()::text AS snap
    FROM zones z
    LEFT JOIN (
      SELECT zone_id, sum(passers_by)::int AS passers_by, sum(visitors)::int AS visitors
      FROM footfall_15m WHERE bucket >= ${dayStart} GROUP BY zone_id
    ) t ON t.zone_id = z.id
    LEFT JOIN (
      SELECT zone_id, json_agg(json_build_array(b, pb, v) ORDER BY b) AS buckets
      FROM (
        SELECT zone_id,
               (floor(extract(epoch FROM first_seen) * 1000 / ${LIVE_BUCKET_MS}) * ${LIVE_BUCKET_MS})::float8 AS b,
               count(*) FILTER (WHERE NOT visitor)::int AS pb,
               count(*) FILTER (WHERE visitor)::int AS v
        FROM transits WHERE first_seen >= ${windowStart} GROUP BY 1, 2
      ) w GROUP BY zone_id
    ) r ON r.zone_id = z.id
    ${zoneIds === null ? sql`` : sql`WHERE z.id = ANY(${[...zoneIds]}::text[])`}
    ORDER BY z.street_from_m, z.id`.execute(db)
  // The snapshot of a statement that returned no zone: read on its own (nothing to compare).
  const snap =
    rows.rows[0]?.snap ??
    (await sql<{ snap: string }>`SELECT pg_current_snapshot()::text AS snap`.execute(db)).rows[0]
      ?.snap
  if (snap === undefined) throw new Error('pg_current_snapshot() returned no row')
  return {
    dayStartMs: dayStart.getTime(),
    snapshot: parseSnapshot(snap),
    zones: rows.rows.map((r) => ({
      zoneId: r.id,
      today: { passersBy: r.t_pb, visitors: r.t_v },
      buckets: r.buckets ?? [],
    })),
  }
}
