import { sql } from 'kysely'
import type { Db } from '../db/create-db.ts'

/** The demo history of a database (table demo_history): what was claimed and how far it is. */
export type DemoHistoryRecord = {
  districtId: string
  claimedAt: Date
  from: Date
  to: Date
  daysTotal: number
  daysDone: number
  transits: number
  /** Null while it is being written (or when it was interrupted). */
  finishedAt: Date | null
}

export type DemoHistoryClaim = { claimed: true } | { claimed: false; previous: DemoHistoryRecord }

/**
 * Claims the demo history of `districtId` before its first day is written: the first caller gets
 * `claimed: true`; every later one (a restart, a second process on the same server) gets the record
 * and writes nothing.
 */
export async function claimDemoHistory(
  db: Db,
  c: { districtId: string; from: Date; to: Date; daysTotal: number },
): Promise<DemoHistoryClaim> {
  const inserted = await db
    .insertInto('demo_history')
    .values({ district_id: c.districtId, from_ts: c.from, to_ts: c.to, days_total: c.daysTotal })
    .onConflict((oc) => oc.column('district_id').doNothing())
    .returning('district_id')
    .executeTakeFirst()
  if (inserted) return { claimed: true }
  const previous = await readDemoHistory(db, c.districtId)
  if (!previous) throw new Error(`demo history of ${c.districtId} neither claimed nor recorded`)
  return { claimed: false, previous }
}

/** Records one more day written (and its transits). */
export async function recordDemoHistoryDay(
  db: Db,
  districtId: string,
  transits: number,
): Promise<void> {
  await db
    .updateTable('demo_history')
    .set({
      days_done: sql<number>`days_done + 1`,
      transits: sql<string>`transits + ${transits}`,
    })
    .where('district_id', '=', districtId)
    .execute()
}

export async function finishDemoHistory(db: Db, districtId: string): Promise<void> {
  await db
    .updateTable('demo_history')
    .set({ finished_at: sql<Date>`now()` })
    .where('district_id', '=', districtId)
    .execute()
}

/** The history record of a district, or of the newest one when no id is given; null when none. */
export async function readDemoHistory(
  db: Db,
  districtId?: string,
): Promise<DemoHistoryRecord | null> {
  let q = db.selectFrom('demo_history').selectAll()
  if (districtId !== undefined) q = q.where('district_id', '=', districtId)
  const row = await q.orderBy('claimed_at', 'desc').limit(1).executeTakeFirst()
  if (!row) return null
  return {
    districtId: row.district_id,
    claimedAt: row.claimed_at,
    from: row.from_ts,
    to: row.to_ts,
    daysTotal: row.days_total,
    daysDone: row.days_done,
    transits: Number(row.transits),
    finishedAt: row.finished_at,
  }
}

/** A past event of the demo history, recorded like an analyst's (without a creating key). */
export type DemoEvent = { id: string; name: string; zoneIds: string[]; from: Date; to: Date }

/** Records the demo history's events (once: an id already there is left alone). */
export async function insertDemoEvents(db: Db, events: readonly DemoEvent[]): Promise<void> {
  if (events.length === 0) return
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        id: e.id,
        name: e.name,
        zone_ids: e.zoneIds,
        starts_at: e.from,
        ends_at: e.to,
        created_by: null,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}
