/**
 * People estimates against the simulator's ground truth (the `realistic` scenario): each seed is one
 * day; a zone's calibration is fitted from manual counts made on the other seeds' days (a counter's
 * perfect 15-minute counts at random times: people present and people arriving) and applied to the
 * left-out day. Figures per zone and hour (arrivals), per zone and day, and presence per zone; the
 * naive estimator (distinct addresses per window × one factor per zone, fitted on the same count
 * windows) beside them. Pure; bench/benchmarks/accuracy.ts feeds it.
 */
import { peopleInWindows, type TruthEvent } from '../../simulator/ground-truth.ts'
import { createRng } from '../../simulator/rng.ts'
import { calibrate, estimatePeople } from '../../services/shared/people/estimator.ts'
import type {
  CalibrationModel,
  CountKind,
  CountSession,
} from '../../services/shared/people/calibration.ts'
import type { DeviceSession } from '../../services/shared/people/sessions.ts'
import { figuresOf, type Compared, type Figures } from './people-eval.ts'

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000

export type SimDay = {
  /** The seed, as the day's name. */
  day: string
  fromMs: number
  toMs: number
  zones: string[]
  sessions: DeviceSession[]
  truth: TruthEvent[]
  /** Distinct addresses per zone and minute (integers), for the naive estimator. */
  addresses: ReadonlyMap<string, ReadonlyMap<number, ReadonlySet<number>>>
}

export type SimPeopleOptions = {
  /** Count sessions per zone and calibration day. */
  countsPerZoneDay: number
  countMinutes: number
  /** Presence windows compared (minutes). */
  presenceMinutes: number
  seed: number
}

export const DEFAULT_SIM_PEOPLE: SimPeopleOptions = {
  countsPerZoneDay: 8,
  countMinutes: 15,
  presenceMinutes: 15,
  seed: 7,
}

type Row = Compared & { zoneId: string; day: string }

export type SimPeopleResult = {
  /** Per zone and hour: people arriving. */
  hourly: { estimator: Figures; naive: Figures }
  /** Per zone and day: people arriving over the day, as a signed error in %. */
  daily: {
    zoneId: string
    day: string
    truth: number
    estimate: number
    naive: number
    errorPct: number
    naiveErrorPct: number
  }[]
  hourlyPerZone: Record<string, { estimator: Figures; naive: Figures }>
  /** Presence per zone and window. */
  presence: { estimator: Figures; naive: Figures }
  presencePerZone: Record<string, { estimator: Figures; naive: Figures }>
  refusals: string[]
  models: { day: string; zoneId: string; model: CalibrationModel }[]
}

/** Whole-minute count windows at random times of a day (seeded), per zone. */
export function countWindows(
  d: SimDay,
  zoneId: string,
  o: SimPeopleOptions,
  truthEvents: readonly TruthEvent[] = d.truth,
): CountSession[] {
  const rng = createRng(o.seed).fork(`${d.day}:${zoneId}`)
  const len = o.countMinutes * MINUTE_MS
  const slots = Math.floor((d.toMs - d.fromMs - len) / MINUTE_MS)
  const out: CountSession[] = []
  for (let i = 0; i < o.countsPerZoneDay; i++) {
    const fromMs = d.fromMs + rng.int(0, Math.max(0, slots)) * MINUTE_MS
    for (const kind of ['present', 'arrivals'] as CountKind[])
      out.push({ zoneId, fromMs, toMs: fromMs + len, kind, people: 0, day: d.day })
  }
  const truth = peopleInWindows(truthEvents, out)
  return out.map((c, i) => ({
    ...c,
    people: c.kind === 'present' ? (truth[i]?.present ?? 0) : (truth[i]?.arriving ?? 0),
  }))
}

function distinctIn(d: SimDay, zoneId: string, fromMs: number, toMs: number): number {
  const perMinute = d.addresses.get(zoneId)
  const seen = new Set<number>()
  for (let m = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; m < toMs; m += MINUTE_MS)
    for (const x of perMinute?.get(m) ?? []) seen.add(x)
  return seen.size
}

/** Mean distinct addresses per minute over a window (the naive estimator's presence). */
function distinctPerMinute(d: SimDay, zoneId: string, fromMs: number, toMs: number): number {
  const perMinute = d.addresses.get(zoneId)
  let sum = 0
  let n = 0
  for (let m = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; m < toMs; m += MINUTE_MS) {
    sum += perMinute?.get(m)?.size ?? 0
    n++
  }
  return n ? sum / n : 0
}

/** Leave-one-day-out over simulated days (see the module comment). */
export function simulatorPeople(
  days: readonly SimDay[],
  o: SimPeopleOptions = DEFAULT_SIM_PEOPLE,
): SimPeopleResult {
  const hourly: Row[] = []
  const hourlyNaive: Row[] = []
  const presence: Row[] = []
  const presenceNaive: Row[] = []
  const daily: SimPeopleResult['daily'] = []
  const refusals: string[] = []
  const models: SimPeopleResult['models'] = []
  // The truth of each zone once (peopleInWindows indexes what it is given).
  const truthOf = new Map(
    days.map((d) => {
      const byZone = new Map<string, TruthEvent[]>()
      for (const e of d.truth) {
        const list = byZone.get(e.zoneId)
        if (list) list.push(e)
        else byZone.set(e.zoneId, [e])
      }
      return [d, byZone]
    }),
  )
  const zoneTruth = (d: SimDay, zoneId: string) => truthOf.get(d)?.get(zoneId) ?? []
  const countsOf = new Map(
    days.map((d) => [d, d.zones.map((z) => countWindows(d, z, o, zoneTruth(d, z))).flat()]),
  )
  for (const test of days) {
    const train = days.filter((d) => d !== test)
    const hours: { fromMs: number; toMs: number }[] = []
    for (let t = Math.ceil(test.fromMs / HOUR_MS) * HOUR_MS; t + HOUR_MS <= test.toMs; t += HOUR_MS)
      hours.push({ fromMs: t, toMs: t + HOUR_MS })
    const quarters: { fromMs: number; toMs: number }[] = []
    const q = o.presenceMinutes * MINUTE_MS
    for (let t = Math.ceil(test.fromMs / q) * q; t + q <= test.toMs; t += q)
      quarters.push({ fromMs: t, toMs: t + q })
    for (const zoneId of test.zones) {
      const counts = train.flatMap((d) =>
        (countsOf.get(d) ?? []).filter((c) => c.zoneId === zoneId),
      )
      const sessionsByDay = new Map(
        train.map((d) => [d.day, d.sessions.filter((s) => s.zoneId === zoneId)]),
      )
      const fit = calibrate(counts, sessionsByDay, { version: 1, fittedAtMs: 0 })
      if (!fit.ok) {
        refusals.push(`${test.day} ${zoneId}: ${fit.reason}`)
        continue
      }
      models.push({ day: test.day, zoneId, model: fit.model })
      // The naive factors: Σ counted / Σ distinct addresses over the same count windows.
      const naiveFactor = (kind: CountKind) => {
        let t = 0
        let a = 0
        for (const c of counts.filter((x) => x.kind === kind)) {
          const d = train.find((x) => x.day === c.day)
          if (!d) continue
          t += c.people
          a +=
            kind === 'arrivals'
              ? distinctIn(d, zoneId, c.fromMs, c.toMs)
              : distinctPerMinute(d, zoneId, c.fromMs, c.toMs)
        }
        return a > 0 ? t / a : 0
      }
      const fArr = naiveFactor('arrivals')
      const fPre = naiveFactor('present')
      const zoneSessions = test.sessions.filter((s) => s.zoneId === zoneId)
      const windows = [...hours, ...quarters]
      const est = estimatePeople(zoneSessions, fit.model, windows)
      const truth = peopleInWindows(
        zoneTruth(test, zoneId),
        windows.map((w) => ({ zoneId, ...w })),
      )
      let dayTruth = 0
      let dayEst = 0
      let dayNaive = 0
      hours.forEach((w, i) => {
        const a = est[i]?.arrivals
        const t = truth[i]?.arriving ?? 0
        const naive = fArr * distinctIn(test, zoneId, w.fromMs, w.toMs)
        dayTruth += t
        dayEst += a?.people ?? NaN
        dayNaive += naive
        hourly.push({
          zoneId,
          day: test.day,
          fromMs: w.fromMs,
          truth: t,
          estimate: a?.people ?? NaN,
          ...(a ? { low: a.low, high: a.high } : {}),
        })
        hourlyNaive.push({ zoneId, day: test.day, fromMs: w.fromMs, truth: t, estimate: naive })
      })
      daily.push({
        zoneId,
        day: test.day,
        truth: dayTruth,
        estimate: dayEst,
        naive: dayNaive,
        errorPct: (100 * (dayEst - dayTruth)) / dayTruth,
        naiveErrorPct: (100 * (dayNaive - dayTruth)) / dayTruth,
      })
      quarters.forEach((w, j) => {
        const i = hours.length + j
        const p = est[i]?.present
        const t = truth[i]?.present ?? 0
        presence.push({
          zoneId,
          day: test.day,
          fromMs: w.fromMs,
          truth: t,
          estimate: p?.people ?? NaN,
          ...(p ? { low: p.low, high: p.high } : {}),
        })
        presenceNaive.push({
          zoneId,
          day: test.day,
          fromMs: w.fromMs,
          truth: t,
          estimate: fPre * distinctPerMinute(test, zoneId, w.fromMs, w.toMs),
        })
      })
    }
  }
  const finite = (rows: Row[]) => rows.filter((r) => Number.isFinite(r.estimate))
  const zones = [...new Set(presence.map((r) => r.zoneId))].sort()
  return {
    hourly: { estimator: figuresOf(finite(hourly)), naive: figuresOf(hourlyNaive) },
    hourlyPerZone: Object.fromEntries(
      zones.map((z) => [
        z,
        {
          estimator: figuresOf(finite(hourly.filter((r) => r.zoneId === z))),
          naive: figuresOf(hourlyNaive.filter((r) => r.zoneId === z)),
        },
      ]),
    ),
    daily,
    presence: { estimator: figuresOf(finite(presence)), naive: figuresOf(presenceNaive) },
    presencePerZone: Object.fromEntries(
      zones.map((z) => [
        z,
        {
          estimator: figuresOf(finite(presence.filter((r) => r.zoneId === z))),
          naive: figuresOf(presenceNaive.filter((r) => r.zoneId === z)),
        },
      ]),
    ),
    refusals,
    models,
  }
}
