import type { Db } from '../../shared/db/create-db.ts'
import { activeCalibrations } from '../../shared/db/calibrations.ts'
import { startOfLocalDay, startOfNextLocalDay } from '../../shared/contracts/local-time.ts'
import type { FittedCalibration } from '../../shared/people/calibration.ts'
import type { Window } from '../../shared/people/measures.ts'
import {
  addPeopleValue,
  estimateGateways,
  type PeopleValue,
} from '../../shared/people/zone-estimate.ts'
import {
  listScopeGateways,
  listZoneGateways,
  loadSessions,
  type ClassifiedSession,
  type PeopleScope,
} from '../queries/people-queries.ts'

/**
 * The calibrations in force for some zones' gateways at an instant, by gateway id; an empty map
 * (or a gateway missing from it) means uncalibrated. The calibration workflow provides the real
 * one; the default has none.
 */
export type CalibrationProvider = (q: {
  zoneIds: string[]
  at: Date
}) => Promise<Map<string /* gatewayId */, FittedCalibration>>

export const noCalibrations: CalibrationProvider = async () => new Map()

/**
 * The calibrations the calibration workflow stored: per gateway of the zones, the version in force
 * at `at` (services/shared/db/calibrations.ts; forward only, never retroactive).
 */
export function storedCalibrations(db: Db): CalibrationProvider {
  return async (q) => {
    const active = await activeCalibrations(db, q)
    return new Map([...active].map(([gatewayId, fitted]) => [gatewayId, fitted.model]))
  }
}

/** How far back before a day's first window sessions are read: the static rule's look-back. */
const LOOK_BACK_MS = 4 * 3_600_000
/** "People present now": the mean over the last this many minutes (a count session's length). */
export const PRESENT_NOW_MINUTES = 15

export const PEOPLE_BUCKET_MS = { '15m': 15 * 60_000, '1h': 3_600_000 } as const
export type PeopleBucket = keyof typeof PEOPLE_BUCKET_MS

/** Buckets starting in [from, to) and before `nowMs`; the current one ends at `nowMs`. */
export function bucketWindows(
  fromMs: number,
  toMs: number,
  bucketMs: number,
  nowMs: number,
): Window[] {
  const out: Window[] = []
  for (let t = Math.ceil(fromMs / bucketMs) * bucketMs; t < toMs && t < nowMs; t += bucketMs)
    out.push({ fromMs: t, toMs: Math.min(t + bucketMs, nowMs) })
  return out
}

type Part = { name: string; keep: (s: ClassifiedSession) => boolean }

/**
 * Consecutive windows cut at local midnights (pseudonyms and calibrations are per local day), with
 * each day's bounds and the index of its first window.
 */
function localDays(windows: readonly Window[], tz: string) {
  const days: { dayStart: number; dayEnd: number; offset: number; windows: Window[] }[] = []
  let i = 0
  while (i < windows.length) {
    const offset = i
    const dayStart = startOfLocalDay((windows[i] as Window).fromMs, tz)
    const dayEnd = startOfNextLocalDay(dayStart, tz)
    const day: Window[] = []
    while (i < windows.length && (windows[i] as Window).fromMs < dayEnd)
      day.push(windows[i++] as Window)
    days.push({ dayStart, dayEnd, offset, windows: day })
  }
  return days
}

/** The span of sessions a series over `windows` reads: the static rule's look-back included. */
function sessionSpan(windows: readonly Window[], tz: string): [Date, Date] {
  const first = windows[0] as Window
  const last = windows[windows.length - 1] as Window
  return [new Date(startOfLocalDay(first.fromMs, tz) - LOOK_BACK_MS), new Date(last.toMs)]
}

function byZoneOf(sessions: readonly ClassifiedSession[]): Map<string, ClassifiedSession[]> {
  const byZone = new Map<string, ClassifiedSession[]>()
  for (const s of sessions) {
    const list = byZone.get(s.zoneId)
    if (list) list.push(s)
    else byZone.set(s.zoneId, [s])
  }
  return byZone
}

/**
 * People present and arriving per window for a zone or a shop, split into parts (a zone: one part;
 * a shop: inside = visitor sessions, in front = the others). Windows are estimated local day by
 * local day (pseudonyms are per day), each day with the calibrations in force at its start: a
 * calibration fitted during a day applies from the next one on, never to the past.
 */
export async function peopleSeries(
  db: Db,
  o: {
    scope: PeopleScope
    zoneId: string
    windows: readonly Window[]
    parts: readonly Part[]
    tz: string
    calibrations: CalibrationProvider
  },
): Promise<Map<string, { present: PeopleValue; arrivals: PeopleValue }[]>> {
  const out = new Map(
    o.parts.map((p) => [p.name, [] as { present: PeopleValue; arrivals: PeopleValue }[]]),
  )
  if (o.windows.length === 0) return out
  const [gatewayIds, sessions] = await Promise.all([
    listScopeGateways(db, o.scope),
    loadSessions(db, o.scope, ...sessionSpan(o.windows, o.tz)),
  ])
  for (const { dayStart, dayEnd, windows: day } of localDays(o.windows, o.tz)) {
    const calibrations = await o.calibrations({ zoneIds: [o.zoneId], at: new Date(dayStart) })
    const todays = sessions.filter((s) => s.lastMs >= dayStart && s.firstMs < dayEnd)
    for (const part of o.parts) {
      const figures = estimateGateways({
        zoneId: o.zoneId,
        gatewayIds,
        sessions: todays.filter(part.keep),
        calibrations,
        windows: day,
      })
      out.get(part.name)?.push(...figures.map(({ present, arrivals }) => ({ present, arrivals })))
    }
  }
  return out
}

/**
 * People present and arriving in the whole district per window: every zone's figures (as
 * `peopleSeries` gives them for the zone) added up, with the intervals' half-widths added as a
 * zone's gateways are. One read of the sessions for all zones, not one per zone.
 */
export async function districtPeopleSeries(
  db: Db,
  o: { windows: readonly Window[]; tz: string; calibrations: CalibrationProvider },
): Promise<{ present: PeopleValue; arrivals: PeopleValue }[]> {
  const empty = (): PeopleValue => ({ people: 0, low: 0, high: 0, calibrated: true })
  const out = o.windows.map(() => ({ present: empty(), arrivals: empty() }))
  if (o.windows.length === 0) return out
  const [zones, sessions] = await Promise.all([
    listZoneGateways(db),
    loadSessions(db, 'all', ...sessionSpan(o.windows, o.tz)),
  ])
  const byZone = byZoneOf(sessions)
  for (const { dayStart, dayEnd, offset, windows: day } of localDays(o.windows, o.tz)) {
    const calibrations = await o.calibrations({
      zoneIds: [...zones.keys()],
      at: new Date(dayStart),
    })
    for (const [zoneId, gatewayIds] of zones) {
      const todays = (byZone.get(zoneId) ?? []).filter(
        (s) => s.lastMs >= dayStart && s.firstMs < dayEnd,
      )
      estimateGateways({
        zoneId,
        gatewayIds,
        sessions: todays,
        calibrations,
        windows: day,
      }).forEach((f, k) => {
        const t = out[offset + k]
        if (!t) return
        addPeopleValue(t.present, f.present, f.present.calibrated)
        addPeopleValue(t.arrivals, f.arrivals, f.arrivals.calibrated)
      })
    }
  }
  return out
}

/**
 * People present now in every zone: the mean over the last PRESENT_NOW_MINUTES, with the
 * calibrations in force at the start of the local day (as the series). Reads the sessions begun in
 * the last 4¼ h of every zone: the live feed calls it at most every `live.peopleEveryMs`.
 */
export async function peoplePresentNow(
  db: Db,
  o: { nowMs: number; tz: string; calibrations: CalibrationProvider },
): Promise<Map<string, PeopleValue>> {
  const window = { fromMs: o.nowMs - PRESENT_NOW_MINUTES * 60_000, toMs: o.nowMs }
  const dayStart = startOfLocalDay(o.nowMs, o.tz)
  // Sessions begun in the static rule's look-back before the window: a session begun earlier and
  // still running has been heard without a break for longer than that, so it is static anyway.
  const [zones, sessions] = await Promise.all([
    listZoneGateways(db),
    loadSessions(db, 'all', new Date(window.fromMs - LOOK_BACK_MS), new Date(o.nowMs)),
  ])
  const calibrations = await o.calibrations({ zoneIds: [...zones.keys()], at: new Date(dayStart) })
  const byZone = byZoneOf(sessions)
  const out = new Map<string, PeopleValue>()
  for (const [zoneId, gatewayIds] of zones) {
    const [figure] = estimateGateways({
      zoneId,
      gatewayIds,
      sessions: byZone.get(zoneId) ?? [],
      calibrations,
      windows: [window],
    })
    if (figure) out.set(zoneId, figure.present)
  }
  return out
}
