import { sql } from 'kysely'
import type { Db } from '../db/create-db.ts'

/** A demo backfill already claimed in this database (table demo_backfill). */
export type DemoBackfillRecord = {
  districtId: string
  claimedAt: Date
  from: Date
  to: Date
  /** Null when the backfill was interrupted (or is still being published by another process). */
  finishedAt: Date | null
}

export type DemoBackfillClaim = { claimed: true } | { claimed: false; previous: DemoBackfillRecord }

/**
 * Claims the demo backfill of `districtId` for this database, before anything is published: the
 * first caller gets `claimed: true`, every later one (another start, a second process on the same
 * server) gets the record of the first, and publishes no past traffic.
 */
export async function claimDemoBackfill(
  db: Db,
  c: { districtId: string; from: Date; to: Date },
): Promise<DemoBackfillClaim> {
  const inserted = await db
    .insertInto('demo_backfill')
    .values({ district_id: c.districtId, from_ts: c.from, to_ts: c.to })
    .onConflict((oc) => oc.column('district_id').doNothing())
    .returning('district_id')
    .executeTakeFirst()
  if (inserted) return { claimed: true }
  const row = await db
    .selectFrom('demo_backfill')
    .selectAll()
    .where('district_id', '=', c.districtId)
    .executeTakeFirstOrThrow()
  return {
    claimed: false,
    previous: {
      districtId: row.district_id,
      claimedAt: row.claimed_at,
      from: row.from_ts,
      to: row.to_ts,
      finishedAt: row.finished_at,
    },
  }
}

/** Records that the claimed backfill was published to its end. */
export async function finishDemoBackfill(db: Db, districtId: string): Promise<void> {
  await db
    .updateTable('demo_backfill')
    .set({ finished_at: sql<Date>`now()` })
    .where('district_id', '=', districtId)
    .execute()
}
