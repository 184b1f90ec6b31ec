import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from '../db/create-db.ts'
import { AppError } from '../errors.ts'
import {
  describeContextErrors,
  parseContextCsv,
  type ContextRow,
  type ContextRowError,
} from '../contracts/context-csv.ts'

/**
 * Context series (contracts/context-csv.ts) and the days flagged out of baselines
 * (migrations/0004_context.sql): the one writer for `miglio context import` and the API.
 */

export type ContextImportReport = { id: string; source: string; rows: number; variables: string[] }

/** A refused file: every bad row found (up to the reader's maximum) with its number and reason. */
export class ContextImportError extends AppError {
  constructor(
    readonly rows: ContextRowError[],
    readonly more: boolean,
  ) {
    super(
      'bad_request',
      `context file refused, nothing imported: ${describeContextErrors(rows, more)}`,
      {
        statusCode: 400,
      },
    )
  }
}

/**
 * Reads and imports a context CSV in one transaction: all rows or none. Unknown zones refuse the
 * file like any other bad row. A (variable, zone, time) imported before is replaced.
 */
export async function importContextCsv(
  db: Db,
  text: string,
  o: { source: string; timeZone: string; importedBy: string | null },
): Promise<ContextImportReport> {
  const parsed = parseContextCsv(text, o.timeZone)
  if (!parsed.ok) throw new ContextImportError(parsed.errors, parsed.more)
  if (!parsed.rows.length)
    throw new ContextImportError([{ row: 2, reason: 'no rows after the header' }], false)
  const zones = [...new Set(parsed.rows.flatMap((r) => (r.zoneId ? [r.zoneId] : [])))]
  const known = zones.length
    ? new Set(
        (await db.selectFrom('zones').select('id').where('id', 'in', zones).execute()).map(
          (z) => z.id,
        ),
      )
    : new Set<string>()
  const unknown = parsed.rows
    .filter((r) => r.zoneId !== null && !known.has(r.zoneId))
    .slice(0, 20)
    .map((r) => ({ row: r.row, reason: `zone: ${r.zoneId} is not a zone of the district` }))
  if (unknown.length) throw new ContextImportError(unknown, false)
  return insertContextRows(db, parsed.rows, o)
}

const CHUNK = 5_000

async function insertContextRows(
  db: Db,
  rows: ContextRow[],
  o: { source: string; importedBy: string | null },
): Promise<ContextImportReport> {
  const id = randomUUID()
  const source = o.source.slice(0, 200) || 'import'
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto('context_imports')
      .values({ id, source, rows: rows.length, imported_by: o.importedBy })
      .execute()
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK)
      // unnest: one statement per chunk, no COPY (the embedded engine cannot take COPY FROM STDIN).
      await sql`
        INSERT INTO context_values (at, whole_day, zone_id, variable, value_num, value_text, import_id)
        SELECT to_timestamp(a / 1000.0), w, z, v, n, t, ${id}
        FROM unnest(${chunk.map((r) => r.at)}::float8[], ${chunk.map((r) => r.wholeDay)}::bool[],
                    ${chunk.map((r) => r.zoneId)}::text[], ${chunk.map((r) => r.variable)}::text[],
                    ${chunk.map((r) => (typeof r.value === 'number' ? r.value : null))}::float8[],
                    ${chunk.map((r) => (typeof r.value === 'string' ? r.value : null))}::text[])
             AS u(a, w, z, v, n, t)
        ON CONFLICT (variable, zone_id, at, whole_day) DO UPDATE
          SET value_num = EXCLUDED.value_num, value_text = EXCLUDED.value_text,
              import_id = EXCLUDED.import_id`.execute(tx)
    }
  })
  return { id, source, rows: rows.length, variables: [...new Set(rows.map((r) => r.variable))] }
}

export type ContextPoint = {
  at: string
  wholeDay: boolean
  zoneId: string | null
  variable: string
  value: number | string
}

/**
 * Context values in [from, to) (whole days whose first instant lies in it), of one variable or all,
 * for the district only (zoneId null) or the district and one zone.
 */
export async function listContextValues(
  db: Db,
  f: { from: Date; to: Date; variable?: string | undefined; zoneId?: string | null | undefined },
): Promise<ContextPoint[]> {
  let q = db
    .selectFrom('context_values')
    .select(['at', 'whole_day', 'zone_id', 'variable', 'value_num', 'value_text'])
    .where('at', '>=', f.from)
    .where('at', '<', f.to)
    .orderBy('variable')
    .orderBy('at')
    .orderBy('zone_id')
  if (f.variable) q = q.where('variable', '=', f.variable)
  if (f.zoneId === null) q = q.where('zone_id', 'is', null)
  else if (f.zoneId !== undefined) {
    const zoneId = f.zoneId
    q = q.where((eb) => eb.or([eb('zone_id', 'is', null), eb('zone_id', '=', zoneId)]))
  }
  const rows = await q.limit(50_000).execute()
  return rows.map((r) => ({
    at: r.at.toISOString(),
    wholeDay: r.whole_day,
    zoneId: r.zone_id,
    variable: r.variable,
    value: r.value_num ?? r.value_text ?? 0,
  }))
}

export type ExcludedDay = {
  id: string
  day: string
  zoneId: string | null
  reason: string
  createdAt: string
}

/** Flags a local day (the district's or one zone's) out of baselines and forecasts. */
export async function flagDay(
  db: Db,
  d: { day: string; zoneId: string | null; reason: string; createdBy: string | null },
): Promise<{ day: ExcludedDay; created: boolean }> {
  if (d.zoneId) {
    const zone = await db
      .selectFrom('zones')
      .select('id')
      .where('id', '=', d.zoneId)
      .executeTakeFirst()
    if (!zone)
      throw new AppError('not_found', `zone ${d.zoneId} does not exist`, { statusCode: 404 })
  }
  const inserted = await sql<{ id: string }>`
    INSERT INTO excluded_days (id, day, zone_id, reason, created_by)
    VALUES (${randomUUID()}, ${d.day}::date, ${d.zoneId}, ${d.reason}, ${d.createdBy})
    ON CONFLICT (day, zone_id) DO NOTHING
    RETURNING id`.execute(db)
  const created = inserted.rows.length === 1
  const found = (await listExcludedDays(db, { from: d.day, to: d.day })).find(
    (e) => e.zoneId === d.zoneId,
  )
  if (!found) throw new AppError('internal', 'a flagged day could not be read back')
  return { day: found, created }
}

/** Removes a flag; false when there was none. */
export async function unflagDay(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('excluded_days').where('id', '=', id).executeTakeFirst()
  return Number(r.numDeletedRows) > 0
}

/** Flagged days between two local dates (inclusive), or all. */
export async function listExcludedDays(
  db: Db,
  range: { from?: string | undefined; to?: string | undefined } = {},
): Promise<ExcludedDay[]> {
  let q = db
    .selectFrom('excluded_days')
    .select(['id', sql<string>`day::text`.as('day_text'), 'zone_id', 'reason', 'created_at'])
    .orderBy('day')
    .orderBy('zone_id')
  if (range.from) q = q.where('day', '>=', range.from)
  if (range.to) q = q.where('day', '<=', range.to)
  const rows = await q.execute()
  return rows.map((r) => ({
    id: r.id,
    day: r.day_text,
    zoneId: r.zone_id,
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
  }))
}
