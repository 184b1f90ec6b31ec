import { sql } from 'kysely'
import {
  futureWindowReason,
  type CalibrationFitResult,
  type CalibrationQuality,
  type CalibrationCoefficients,
  type CalibrationVersionDto,
  type CountSessionCreate,
  type CountSessionDto,
} from '../contracts/calibration.ts'
import { parseCountSessionsCsv } from '../contracts/count-sessions-csv.ts'
import { redactMacs } from '../contracts/mac.ts'
import { localDateOf, startOfLocalDate, startOfNextLocalDay } from '../contracts/local-time.ts'
import type { CalibrationModel, CountSession, KindModel } from '../people/calibration.ts'
import { MIN_SESSIONS } from '../people/calibration.ts'
import { calibrate } from '../people/estimator.ts'
import type { DeviceSession } from '../people/sessions.ts'
import { AppError } from '../errors.ts'
import type { Db } from './create-db.ts'

/**
 * The calibration workflow's storage (migration 0003): counting sessions, the fit of a gateway's
 * calibration from the sessions and the transits of their windows, calibration versions (applied
 * forward only) and `activeCalibrations`, the version in force at an instant per gateway.
 */

/** A stored calibration version with its model, as estimators use it. */
export type FittedCalibration = {
  gatewayId: string
  zoneId: string
  version: number
  fittedAt: Date
  /** In force from here on (its fit time); an estimate of anything earlier uses the version before. */
  validFrom: Date
  supersededBy: number | null
  model: CalibrationModel
  quality: CalibrationQuality
}

/** A count session refused, with the reason; `index` is its position in the batch given. */
export class CountSessionRefused extends Error {
  readonly index: number
  readonly notFound: boolean
  constructor(index: number, reason: string, notFound = false) {
    super(reason)
    this.name = 'CountSessionRefused'
    this.index = index
    this.notFound = notFound
  }
}

type CountSessionRow = {
  id: string
  zone_id: string
  gateway_id: string | null
  window_from: Date
  window_to: Date
  kind: 'present' | 'in' | 'out'
  people: number
  counted_by: string
  note: string | null
  created_at: Date
}

const toDto = (r: CountSessionRow): CountSessionDto => ({
  id: String(r.id),
  zone: r.zone_id,
  gateway: r.gateway_id,
  from: r.window_from.toISOString(),
  to: r.window_to.toISOString(),
  kind: r.kind,
  people: Number(r.people),
  countedBy: r.counted_by,
  note: r.note,
  createdAt: r.created_at.toISOString(),
})

/** PostgreSQL's check_violation (the constraints and triggers of migration 0003). */
const CHECK_VIOLATION = '23514'

/** Constraint names of count_sessions → the reason in words (the same as the zod boundary's). */
const CONSTRAINT_REASONS: Record<string, string> = {
  count_sessions_people_not_negative: 'a count of people cannot be negative',
  count_sessions_whole_in_out: 'people counted in or out must be a whole number',
  count_sessions_window_order: 'the window must end after it starts',
  count_sessions_window_length: 'a session may last at most 24 h',
  count_sessions_not_future: 'the window ends in the future: record a count once it is over',
  count_sessions_counted_by: 'say who counted',
  count_sessions_note: 'the note is longer than 1000 characters',
}

function reasonOf(err: unknown): string | null {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown }
  if (e?.code !== CHECK_VIOLATION) return null
  if (typeof e.constraint === 'string' && CONSTRAINT_REASONS[e.constraint])
    return CONSTRAINT_REASONS[e.constraint] ?? null
  return typeof e.message === 'string' ? e.message : 'refused by the database'
}

/**
 * Records count sessions, all or none (one transaction): a session is refused, with the reason and
 * its index, when its window ends after `nowMs`, its zone or gateway is unknown, its gateway is in
 * another zone, or it overlaps a session of the same zone and kind that counted otherwise (also
 * one of the same batch). The zod schema has already refused the rest at the boundary; the
 * database's constraints hold the same rules for anything else that writes.
 */
export async function insertCountSessions(
  db: Db,
  sessions: readonly CountSessionCreate[],
  nowMs: number,
): Promise<CountSessionDto[]> {
  sessions.forEach((s, i) => {
    const future = futureWindowReason(s, nowMs)
    if (future) throw new CountSessionRefused(i, future)
  })
  const zoneIds = [...new Set(sessions.map((s) => s.zone))]
  const gatewayIds = [...new Set(sessions.flatMap((s) => (s.gateway ? [s.gateway] : [])))]
  const zones = new Set(
    zoneIds.length
      ? (await db.selectFrom('zones').select('id').where('id', 'in', zoneIds).execute()).map(
          (z) => z.id,
        )
      : [],
  )
  const gateways = new Map(
    gatewayIds.length
      ? (
          await db
            .selectFrom('gateways')
            .select(['id', 'zone_id'])
            .where('id', 'in', gatewayIds)
            .execute()
        ).map((g) => [g.id, g.zone_id])
      : [],
  )
  sessions.forEach((s, i) => {
    if (!zones.has(s.zone)) throw new CountSessionRefused(i, `zone ${s.zone} does not exist`, true)
    if (s.gateway === undefined) return
    const zone = gateways.get(s.gateway)
    if (zone === undefined)
      throw new CountSessionRefused(i, `gateway ${s.gateway} does not exist`, true)
    if (zone !== s.zone)
      throw new CountSessionRefused(i, `gateway ${s.gateway} is in zone ${zone}, not ${s.zone}`)
  })
  return db.transaction().execute(async (trx) => {
    const out: CountSessionDto[] = []
    for (const [i, s] of sessions.entries()) {
      // The first row the database refuses names the batch's refusal; the rest is rolled back.
      try {
        const row = await trx
          .insertInto('count_sessions')
          .values({
            zone_id: s.zone,
            gateway_id: s.gateway ?? null,
            window_from: new Date(s.from),
            window_to: new Date(s.to),
            kind: s.kind,
            people: s.people,
            // Free text never stores a device address, even one typed into a note.
            counted_by: redactMacs(s.countedBy.trim()),
            note: s.note === undefined ? null : redactMacs(s.note),
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        out.push(toDto(row as CountSessionRow))
      } catch (err) {
        const reason = reasonOf(err)
        if (reason) throw new CountSessionRefused(i, reason)
        throw err
      }
    }
    return out
  })
}

/** Count sessions overlapping [from, to) (all when absent), optionally of one zone, oldest first. */
export async function listCountSessions(
  db: Db,
  q: { zoneId?: string; from?: Date; to?: Date } = {},
): Promise<CountSessionDto[]> {
  let query = db.selectFrom('count_sessions').selectAll()
  if (q.zoneId) query = query.where('zone_id', '=', q.zoneId)
  if (q.from) query = query.where('window_to', '>', q.from)
  if (q.to) query = query.where('window_from', '<', q.to)
  const rows = await query.orderBy('window_from').orderBy('id').execute()
  return rows.map((r) => toDto(r as CountSessionRow))
}

// ---------------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------------

export type FitOptions = {
  /** Gateways to fit; absent: every active gateway with count sessions (of its zone, naming it or none). */
  gatewayIds?: readonly string[]
  /** The district's time zone: count sessions of one local day are held out together. */
  timeZone: string
  /** Fewer sessions of a kind than this: that kind is not fitted (default MIN_SESSIONS, 8). */
  minSessions?: number
}

/**
 * Fits each gateway's calibration from the count sessions of its zone (those naming it or no
 * gateway; `out` counts are not used) and the transits of the local days the sessions were made
 * on, with the estimator's calibration module (`calibrate`). A fit that succeeds is stored as the
 * gateway's next version, in force from its fit time on; one that is refused (too few sessions,
 * nobody counted, no device heard…) stores and returns the reason and changes nothing in force.
 *
 * Transits keep their pseudonyms for at most 48 h (privacy retention): on a day whose transits
 * lost them a device's sessions cannot be chained and the static rule cannot fire, so its counts
 * would fit a model to other figures than the live estimates compute. Such days are left out, and
 * the result's `notes` say which; fit within two days of counting (the form and the docs say so).
 */
export async function fitCalibrations(db: Db, o: FitOptions): Promise<CalibrationFitResult[]> {
  const gateways = await targetGateways(db, o.gatewayIds)
  const results: CalibrationFitResult[] = []
  for (const g of gateways) results.push(await fitGateway(db, g, o))
  return results
}

async function targetGateways(
  db: Db,
  ids: readonly string[] | undefined,
): Promise<{ id: string; zone_id: string }[]> {
  if (ids && ids.length) {
    const rows = await db
      .selectFrom('gateways')
      .select(['id', 'zone_id'])
      .where('id', 'in', [...ids])
      .execute()
    const missing = ids.find((id) => !rows.some((r) => r.id === id))
    if (missing)
      throw new AppError('not_found', `gateway ${missing} does not exist`, { statusCode: 404 })
    return rows.sort((a, b) => a.id.localeCompare(b.id))
  }
  return db
    .selectFrom('gateways')
    .select(['id', 'zone_id'])
    .where('active', '=', true)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('count_sessions')
          .select(sql`1`.as('one'))
          .whereRef('count_sessions.zone_id', '=', 'gateways.zone_id')
          .where((w) =>
            w.or([
              w('count_sessions.gateway_id', 'is', null),
              w('count_sessions.gateway_id', '=', w.ref('gateways.id')),
            ]),
          ),
      ),
    )
    .orderBy('id')
    .execute()
}

async function fitGateway(
  db: Db,
  g: { id: string; zone_id: string },
  o: FitOptions,
): Promise<CalibrationFitResult> {
  const rows = await db
    .selectFrom('count_sessions')
    .select(['window_from', 'window_to', 'kind', 'people'])
    .where('zone_id', '=', g.zone_id)
    .where('kind', 'in', ['present', 'in'])
    .where((eb) => eb.or([eb('gateway_id', 'is', null), eb('gateway_id', '=', g.id)]))
    .orderBy('window_from')
    .execute()
  const counts: CountSession[] = rows.map((r) => ({
    zoneId: g.zone_id,
    fromMs: r.window_from.getTime(),
    toMs: r.window_to.getTime(),
    kind: r.kind === 'present' ? 'present' : 'arrivals',
    people: Number(r.people),
    day: localDateOf(r.window_from.getTime(), o.timeZone),
  }))
  const refuse = async (reason: string): Promise<CalibrationFitResult> => {
    await db
      .insertInto('calibration_refusals')
      .values({ gateway_id: g.id, zone_id: g.zone_id, sessions: counts.length, reason })
      .onConflict((oc) =>
        oc.column('gateway_id').doUpdateSet({
          zone_id: g.zone_id,
          sessions: counts.length,
          reason,
          attempted_at: sql`now()`,
        }),
      )
      .execute()
    return { gateway: g.id, zone: g.zone_id, applied: false, version: null, reason, notes: [] }
  }
  if (counts.length === 0)
    return refuse(`no count sessions of people present or arriving in zone ${g.zone_id}`)
  const sessionsByDay = new Map<string, DeviceSession[]>()
  const forgotten: string[] = []
  for (const day of new Set(counts.map((c) => c.day))) {
    const sessions = await deviceSessionsOfDay(db, g, day, o.timeZone)
    // Pseudonyms are kept 48 h: a day whose transits lost them cannot be measured the way live
    // estimates measure devices (chains, the static rule), and a model fitted on it would not fit
    // them. Its counts are left out, and the result says so.
    if (sessions.filter((x) => x.pseudonym === null).length * 2 > sessions.length)
      forgotten.push(day)
    else sessionsByDay.set(day, sessions)
  }
  const usable = counts.filter((c) => sessionsByDay.has(c.day))
  const notes = forgotten.length
    ? [
        `${counts.length - usable.length} count session${counts.length - usable.length === 1 ? '' : 's'} of ${forgotten.join(', ')} left out: the transits of ${forgotten.length === 1 ? 'that day' : 'those days'} no longer carry pseudonyms (kept 48 h), so their devices cannot be counted as live estimates count them; fit within two days of counting`,
      ]
    : []
  if (usable.length === 0) return refuse(notes[0] ?? 'no usable count sessions')
  const last = await db
    .selectFrom('calibration_versions')
    .select(sql<number>`coalesce(max(version), 0)`.as('v'))
    .where('gateway_id', '=', g.id)
    .executeTakeFirst()
  const version = Number(last?.v ?? 0) + 1
  const fit = calibrate(usable, sessionsByDay, {
    version,
    fittedAtMs: Date.now(),
    minSessions: o.minSessions ?? MIN_SESSIONS,
  })
  if (!fit.ok) return refuse([fit.reason, ...notes].join('; '))
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${'calibration_versions:' + g.id}))`.execute(
      trx,
    )
    const now = await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)
    const at = now.rows[0]?.now ?? new Date()
    const top = await trx
      .selectFrom('calibration_versions')
      .select(sql<number>`coalesce(max(version), 0)`.as('v'))
      .where('gateway_id', '=', g.id)
      .executeTakeFirst()
    const v = Number(top?.v ?? 0) + 1
    const model: CalibrationModel = { ...fit.model, version: v, fittedAtMs: at.getTime() }
    const quality = qualityOf(model)
    await trx
      .updateTable('calibration_versions')
      .set({ superseded_by: v })
      .where('gateway_id', '=', g.id)
      .where('superseded_by', 'is', null)
      .execute()
    const row = await trx
      .insertInto('calibration_versions')
      .values({
        gateway_id: g.id,
        version: v,
        zone_id: g.zone_id,
        fitted_at: at,
        valid_from: at,
        model: JSON.stringify(model),
        mae_people: quality.maePeople,
        mape_pct: quality.mapePct,
        coverage_pct: quality.coveragePct,
        sessions_used: quality.sessions,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    await trx.deleteFrom('calibration_refusals').where('gateway_id', '=', g.id).execute()
    return {
      gateway: g.id,
      zone: g.zone_id,
      applied: true,
      version: versionDto(rowToFitted(row)),
      reason: null,
      notes,
    }
  })
}

/**
 * The device sessions a gateway left on one local day: its transits and the sessions still open,
 * begun that day (pseudonyms are per day; the static rule looks back within the day).
 */
async function deviceSessionsOfDay(
  db: Db,
  g: { id: string; zone_id: string },
  day: string,
  timeZone: string,
): Promise<DeviceSession[]> {
  const from = new Date(startOfLocalDate(day, timeZone))
  const to = new Date(startOfNextLocalDay(from.getTime(), timeZone))
  const closed = await db
    .selectFrom('transits')
    .select(['first_seen', 'last_seen', 'pseudonym', 'samples', 'peak_rssi', 'radio', 'randomised'])
    .where('gateway_id', '=', g.id)
    .where('first_seen', '>=', from)
    .where('first_seen', '<', to)
    .execute()
  const open = await db
    .selectFrom('open_transits')
    .select(['first_seen', 'last_seen', 'pseudonym', 'samples', 'peak_rssi', 'radio', 'randomised'])
    .where('gateway_id', '=', g.id)
    .where('first_seen', '>=', from)
    .where('first_seen', '<', to)
    .execute()
  return [...closed, ...open].map((t) => ({
    gatewayId: g.id,
    zoneId: g.zone_id,
    pseudonym: t.pseudonym === null ? null : String(t.pseudonym),
    firstMs: t.first_seen.getTime(),
    lastMs: t.last_seen.getTime(),
    samples: t.samples,
    peakRssi: t.peak_rssi,
    radio: t.radio === 'ble' ? 'ble' : 'wifi',
    randomised: t.randomised,
  }))
}

/** The headline quality of a model: of people present when fitted, else of arrivals. */
export function qualityOf(model: CalibrationModel): CalibrationQuality {
  const k = (model.present ?? model.arrivals) as KindModel
  const sessions = (model.present?.quality.sessions ?? 0) + (model.arrivals?.quality.sessions ?? 0)
  return {
    maePeople: k.quality.maePeople,
    mapePct: Number.isFinite(k.quality.mapePct) ? k.quality.mapePct : null,
    coveragePct: k.quality.coveragePct,
    sessions,
  }
}

type VersionRow = {
  gateway_id: string
  version: number
  zone_id: string
  fitted_at: Date
  valid_from: Date
  model: unknown
  mae_people: number
  mape_pct: number | null
  coverage_pct: number
  sessions_used: number
  superseded_by: number | null
}

function rowToFitted(r: VersionRow): FittedCalibration {
  const model = (typeof r.model === 'string' ? JSON.parse(r.model) : r.model) as CalibrationModel
  return {
    gatewayId: r.gateway_id,
    zoneId: r.zone_id,
    version: r.version,
    fittedAt: r.fitted_at,
    validFrom: r.valid_from,
    supersededBy: r.superseded_by,
    model,
    quality: {
      maePeople: Number(r.mae_people),
      mapePct: r.mape_pct === null ? null : Number(r.mape_pct),
      coveragePct: Number(r.coverage_pct),
      sessions: r.sessions_used,
    },
  }
}

export function versionDto(f: FittedCalibration): CalibrationVersionDto {
  return {
    version: f.version,
    fittedAt: f.fittedAt.toISOString(),
    validFrom: f.validFrom.toISOString(),
    supersededBy: f.supersededBy,
    quality: f.quality,
    present: f.model.present?.form ?? null,
    arrivals: f.model.arrivals?.form ?? null,
    coefficients: {
      present: coefficientsDto(f.model.present),
      arrivals: coefficientsDto(f.model.arrivals),
    },
  }
}

/** A kind's coefficients as served: `knee` and `bend` only when the form has them. */
function coefficientsDto(k: KindModel | null): CalibrationCoefficients | null {
  if (!k) return null
  const c = k.coefficients
  return {
    form: k.form,
    intercept: c.intercept,
    stable: c.stable,
    randomised: c.randomised,
    ...(k.form === 'knee' && c.knee !== undefined ? { knee: c.knee, bend: c.bend ?? 0 } : {}),
  }
}

/**
 * The calibration version in force at `at` for each gateway of the zones (the latest whose
 * valid_from is at or before `at`): applied forward only, so a figure for a past instant uses the
 * version that was in force then, never a later one. Gateways never calibrated by then are absent.
 */
export async function activeCalibrations(
  db: Db,
  q: { zoneIds: string[]; at: Date },
): Promise<Map<string, FittedCalibration>> {
  if (q.zoneIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('calibration_versions')
    .selectAll()
    .distinctOn('gateway_id')
    .where('zone_id', 'in', q.zoneIds)
    .where('valid_from', '<=', q.at)
    .orderBy('gateway_id')
    .orderBy('valid_from', 'desc')
    .orderBy('version', 'desc')
    .execute()
  return new Map(rows.map((r) => [r.gateway_id, rowToFitted(r as VersionRow)]))
}

/** Every version of every gateway, newest first per gateway. */
export async function listCalibrationVersions(db: Db): Promise<FittedCalibration[]> {
  const rows = await db
    .selectFrom('calibration_versions')
    .selectAll()
    .orderBy('gateway_id')
    .orderBy('version', 'desc')
    .execute()
  return rows.map((r) => rowToFitted(r as VersionRow))
}

export async function listCalibrationRefusals(
  db: Db,
): Promise<{ gatewayId: string; zoneId: string; at: Date; sessions: number; reason: string }[]> {
  const rows = await db.selectFrom('calibration_refusals').selectAll().execute()
  return rows.map((r) => ({
    gatewayId: r.gateway_id,
    zoneId: r.zone_id,
    at: r.attempted_at,
    sessions: r.sessions,
    reason: r.reason,
  }))
}

/**
 * `miglio calibration import`: a counting-session CSV (contracts/count-sessions-csv.ts) recorded
 * whole or not at all. The first bad line refuses the file: an AppError naming the line and the
 * reason (404 for an unknown zone or gateway, else 400), nothing recorded.
 */
export async function importCountSessionsCsv(
  db: Db,
  text: string,
  nowMs: number,
): Promise<CountSessionDto[]> {
  const parsed = parseCountSessionsCsv(text)
  if (!parsed.ok)
    throw new AppError('bad_request', `line ${parsed.line}: ${parsed.reason}; nothing imported`, {
      statusCode: 400,
    })
  try {
    return await insertCountSessions(db, parsed.sessions, nowMs)
  } catch (err) {
    if (!(err instanceof CountSessionRefused)) throw err
    const line = parsed.lines[err.index] ?? 0
    throw new AppError(
      err.notFound ? 'not_found' : 'bad_request',
      `line ${line}: ${err.message}; nothing imported`,
      { statusCode: err.notFound ? 404 : 400 },
    )
  }
}
