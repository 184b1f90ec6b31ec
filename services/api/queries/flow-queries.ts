import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'

export type FlowSums = {
  originZoneId: string
  destZoneId: string
  flows: number
  travelSMedian: number | null
}

/**
 * Origin → destination flows summed over the buckets starting in [from, to), with the flow-weighted
 * median of the buckets' median travel times (exact when the range is one bucket). Unsuppressed:
 * the caller suppresses cells below k.
 */
export async function sumFlows(
  db: Db,
  f: { from: Date; to: Date; source: 'hourly' | 'daily'; zoneId?: string | undefined },
): Promise<FlowSums[]> {
  const table = f.source === 'daily' ? 'flows_daily' : 'flows_hourly'
  let inner = db
    .selectFrom(table)
    .select((eb) => [
      'origin_zone_id',
      'dest_zone_id',
      'travel_s_median',
      eb.fn
        .sum<number>('flows')
        .over((ob) => ob.partitionBy(['origin_zone_id', 'dest_zone_id']).orderBy('travel_s_median'))
        .as('cum'),
      eb.fn
        .sum<number>('flows')
        .over((ob) => ob.partitionBy(['origin_zone_id', 'dest_zone_id']))
        .as('total'),
    ])
    .where('bucket', '>=', f.from)
    .where('bucket', '<', f.to)
  if (f.zoneId) {
    const z = f.zoneId
    inner = inner.where((eb) => eb.or([eb('origin_zone_id', '=', z), eb('dest_zone_id', '=', z)]))
  }
  const rows = await db
    .selectFrom(inner.as('b'))
    .select([
      'origin_zone_id',
      'dest_zone_id',
      sql<number>`max(total)::int`.as('flows'),
      sql<number | null>`(min(travel_s_median) FILTER (WHERE cum * 2 >= total))::float8`.as(
        'travel_s_median',
      ),
    ])
    .groupBy(['origin_zone_id', 'dest_zone_id'])
    .orderBy('origin_zone_id')
    .orderBy('dest_zone_id')
    .execute()
  return rows.map((r) => ({
    originZoneId: r.origin_zone_id,
    destZoneId: r.dest_zone_id,
    flows: r.flows,
    travelSMedian: r.travel_s_median,
  }))
}
