import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { LiveZoneTransitCounts } from '../../shared/contracts/api.ts'

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
