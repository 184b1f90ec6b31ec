import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { DeadLettersResponse } from '../../shared/contracts/api.ts'

export type DeadLetterFilter = {
  page: number
  pageSize: number
  reason?: string | undefined
  gatewayId?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
}

// received_at is Generated<Timestamp> in database.ts, which kysely does not unwrap: refer to it
// through typed raw references.
const receivedAt = sql.ref<Date>('received_at')

/** Dead letters newest first, one page, with the total matching the filter. */
export async function listDeadLetters(db: Db, f: DeadLetterFilter): Promise<DeadLettersResponse> {
  let q = db.selectFrom('dead_letters')
  if (f.reason) q = q.where('reason', '=', f.reason)
  if (f.gatewayId) q = q.where('gateway_id', '=', f.gatewayId)
  if (f.from) q = q.where(receivedAt, '>=', f.from)
  if (f.to) q = q.where(receivedAt, '<', f.to)
  const [total, rows] = await Promise.all([
    q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
    q
      .selectAll()
      .select(receivedAt.as('received_at'))
      .orderBy(receivedAt, 'desc')
      .orderBy('topic')
      .limit(f.pageSize)
      .offset((f.page - 1) * f.pageSize)
      .execute(),
  ])
  return {
    page: f.page,
    pageSize: f.pageSize,
    total: total.n,
    items: rows.map((r) => ({
      receivedAt: r.received_at.toISOString(),
      topic: r.topic,
      gatewayId: r.gateway_id,
      reason: r.reason,
      detail: r.detail,
      payloadBytes: r.payload_bytes,
      payloadRedacted: r.payload_redacted,
    })),
  }
}

/** Dead letters per reason over [from, to), most frequent first. */
export async function countDeadLettersByReason(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ reason: string; count: number }[]> {
  return db
    .selectFrom('dead_letters')
    .select(['reason', sql<number>`count(*)::int`.as('count')])
    .where(receivedAt, '>=', from)
    .where(receivedAt, '<', to)
    .groupBy('reason')
    .orderBy('count', 'desc')
    .orderBy('reason')
    .execute()
}

/** Accepted batches (and their sightings) per hour of receipt. ingest_batches keeps 3 days. */
export async function countBatchesPerHour(db: Db, from: Date, to: Date) {
  return db
    .selectFrom('ingest_batches')
    .select([
      sql<Date>`time_bucket(INTERVAL '1 hour', received_at)`.as('hour'),
      sql<number>`count(*)::int`.as('batches'),
      sql<number>`coalesce(sum(sightings_count), 0)::int`.as('sightings'),
    ])
    .where(receivedAt, '>=', from)
    .where(receivedAt, '<', to)
    .groupBy(sql`1`)
    .execute()
}

/** Dead letters per hour of receipt. */
export async function countRejectsPerHour(db: Db, from: Date, to: Date) {
  return db
    .selectFrom('dead_letters')
    .select([
      sql<Date>`time_bucket(INTERVAL '1 hour', received_at)`.as('hour'),
      sql<number>`count(*)::int`.as('rejected'),
    ])
    .where(receivedAt, '>=', from)
    .where(receivedAt, '<', to)
    .groupBy(sql`1`)
    .execute()
}

/** Transits per hour of their first sighting, all gateways. */
export async function countTransitsPerHour(db: Db, from: Date, to: Date) {
  return db
    .selectFrom('footfall_1h')
    .select(['bucket as hour', sql<number>`sum(passers_by + visitors)::int`.as('transits')])
    .where('bucket', '>=', from)
    .where('bucket', '<', to)
    .groupBy('bucket')
    .execute()
}
