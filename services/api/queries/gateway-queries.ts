import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { GatewayDto } from '../../shared/contracts/api.ts'

/** When a gateway was last heard for its health: its last batch, or a count source's last message. */
const HEARD_AT = sql<Date | null>`CASE WHEN g.format = 'paxcounter' THEN s.last_message_at ELSE s.last_batch_at END`

/**
 * Gateways with their state; `silentS` is measured by the database clock, from the last batch —
 * for a count source (Paxcounter), which never sends batches, from its last message.
 */
export async function listGateways(
  db: Db,
  opts: { onlyShopId?: string | undefined; silentAfterS: number },
): Promise<GatewayDto[]> {
  let q = db
    .selectFrom('gateways as g')
    .leftJoin('gateway_state as s', 's.gateway_id', 'g.id')
    .select([
      'g.id',
      'g.zone_id',
      'g.shop_id',
      'g.placement',
      'g.radios',
      'g.lon',
      'g.lat',
      'g.active',
      'g.format',
      sql<'online' | 'offline' | 'unknown'>`coalesce(s.state, 'unknown')`.as('state'),
      's.fw',
      's.status_at',
      's.last_batch_at',
      's.last_message_at',
      HEARD_AT.as('heard_at'),
      sql<number | null>`extract(epoch FROM now() - ${HEARD_AT})::float8`.as('silent_s'),
      sql<number>`coalesce(s.seq_gaps, 0)::int`.as('seq_gaps'),
      's.clock_skew_ms',
      's.queue',
      's.uptime_s',
    ])
    .orderBy('g.street_offset_m')
    .orderBy('g.id')
  if (opts.onlyShopId) q = q.where('g.shop_id', '=', opts.onlyShopId)
  const rows = await q.execute()
  return rows.map((r) => {
    const health: GatewayDto['health'] = !r.active
      ? 'inactive'
      : r.state === 'offline'
        ? 'offline'
        : r.heard_at === null || r.silent_s === null
          ? 'unknown'
          : r.silent_s > opts.silentAfterS
            ? 'silent'
            : 'ok'
    return {
      id: r.id,
      zoneId: r.zone_id,
      shopId: r.shop_id,
      placement: r.placement,
      radios: r.radios,
      position: [r.lon, r.lat],
      format: r.format,
      active: r.active,
      health,
      state: r.state,
      fw: r.fw,
      statusAt: r.status_at?.toISOString() ?? null,
      lastBatchAt: r.last_batch_at?.toISOString() ?? null,
      lastMessageAt: r.last_message_at?.toISOString() ?? null,
      silentS: r.silent_s,
      seqGaps: r.seq_gaps,
      clockSkewMs: r.clock_skew_ms,
      queue: r.queue,
      uptimeS: r.uptime_s,
    }
  })
}
