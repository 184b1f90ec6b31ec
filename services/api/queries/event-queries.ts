import type { Db } from '../../shared/db/create-db.ts'
import type { EventRow } from '../../shared/db/database.ts'
import type { EventDto } from '../../shared/contracts/api.ts'

export function toEventDto(r: EventRow): EventDto {
  return {
    id: r.id,
    name: r.name,
    zones: r.zone_ids,
    from: r.starts_at.toISOString(),
    to: r.ends_at.toISOString(),
    createdAt: r.created_at.toISOString(),
  }
}

export async function insertEvent(
  db: Db,
  e: { id: string; name: string; zoneIds: string[]; from: Date; to: Date; createdBy: string },
): Promise<EventDto> {
  const row = await db
    .insertInto('events')
    .values({
      id: e.id,
      name: e.name,
      zone_ids: e.zoneIds,
      starts_at: e.from,
      ends_at: e.to,
      created_by: e.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toEventDto(row)
}

/** Events overlapping [from, to) (every event when both are absent), oldest first. */
export async function listEvents(
  db: Db,
  range: { from?: Date | undefined; to?: Date | undefined } = {},
): Promise<EventDto[]> {
  let q = db.selectFrom('events').selectAll().orderBy('starts_at').orderBy('id')
  if (range.to) q = q.where('starts_at', '<', range.to)
  if (range.from) q = q.where('ends_at', '>', range.from)
  return (await q.execute()).map(toEventDto)
}

export async function findEvent(db: Db, id: string): Promise<EventDto | null> {
  const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toEventDto(row) : null
}

export async function deleteEvent(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('events').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}

/** Ids of the zones among `ids` that exist. */
export async function existingZoneIds(db: Db, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set()
  const rows = await db.selectFrom('zones').select('id').where('id', 'in', ids).execute()
  return new Set(rows.map((r) => r.id))
}
