/**
 * The whole public Brno corpus (github.com/tomas-fryza/probe-request-project, MIT: DATA/sc6-61/_CSV/
 * position_1/ and position_2/, one CSV a day): every day read with the replay parser
 * (brno-capture.ts), put through ingest's pure steps (offline-ingest.ts; optionally with the
 * dataset's device list as a district's deny list) and judged with the people estimator against
 * the `occupancy` column, beside the naive estimator (distinct MACs per window × one factor fitted
 * on the same training days). No database: a day takes about a second.
 *
 * Speed: a day's device counts per window are measured once per RSSI gate and resolution (they do
 * not depend on the calibration), and every fold's calibration is fitted from them with
 * `calibrateObservations` — what `calibrate` does after measuring. A test day's estimate is
 * `estimateWith` on the same counts: `estimatePeople` cuts no window here (they are never longer
 * than the count sessions), so it is the same figure.
 */
import { readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { DeviceList } from '../../services/ingest/model.ts'
import {
  calibrateObservations,
  DEFAULT_ESTIMATOR_OPTIONS,
  gatesToTry,
  measureWindows,
  prepareDevices,
  RSSI_GATES,
  type EstimatorOptions,
} from '../../services/shared/people/estimator.ts'
import {
  estimateWith,
  type CalibrationModel,
  type Observation,
} from '../../services/shared/people/calibration.ts'
import { readCapture } from './brno-capture.ts'
import { ingestOffline, registryOf } from './offline-ingest.ts'
import { buildBenchDistrict, gatewayIdOf } from './district.ts'
import {
  figuresOf,
  truthWindows,
  type Compared,
  type Figures,
  type TruthDay,
} from './people-eval.ts'

const HOUR = 3_600_000

export type CorpusFile = { position: string; day: string; file: string }

/**
 * The corpus's CSV files under `dir`: `position_N/**.csv` (the repository's naming,
 * `sc6-61_YYYY-MM-DD_ver-99.csv`) or `position_N_YYYY-MM-DD.csv` (../shared/datasets' naming). One
 * file per position and day (the first in path order), sorted by position and day.
 */
export function discoverCorpus(dir: string): CorpusFile[] {
  const out = new Map<string, CorpusFile>()
  const walk = (d: string, folders: string[]) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name)
      if (statSync(path).isDirectory()) {
        walk(path, [...folders, name])
        continue
      }
      const c = classifyCsv(folders, name)
      if (!c) continue
      const key = `${c.position}/${c.day}`
      if (!out.has(key)) out.set(key, { ...c, file: path })
    }
  }
  walk(dir, [])
  return [...out.values()].sort(
    (a, b) => a.position.localeCompare(b.position) || a.day.localeCompare(b.day),
  )
}

/**
 * A corpus file's position and day from its folders (outermost first) and name, or null when it
 * is not one: `position_N/…/sc6-61_2023-09-17_ver-99.csv` or `position_N_2022-10-18.csv`.
 */
export function classifyCsv(
  folders: readonly string[],
  name: string,
): { position: string; day: string } | null {
  if (!name.toLowerCase().endsWith('.csv')) return null
  const folder = [...folders].reverse().find((f) => /^position_\d+$/.test(f))
  const position = /^(position_\d+)_/.exec(name)?.[1] ?? folder
  const day = /(\d{4}-\d{2}-\d{2})/.exec(name)?.[1]
  return position && day ? { position, day } : null
}

/** A corpus day: its sessions and truth (`day` is `position/date`, unique over the corpus). */
export type CorpusDay = TruthDay & {
  position: string
  date: string
  sightings: number
  denied: number
}

/** The bench's one-gateway district (as the 3-day benchmark's). */
export function corpusRegistry() {
  const district = buildBenchDistrict({ zones: 1, shopEvery: 1, id: 'brno-lab' })
  const registry = registryOf(district)
  const gateway = registry.get(gatewayIdOf(0))
  if (!gateway) throw new Error('the bench district has no gateway')
  return { district, registry, gateway }
}

/** Reads and ingests one corpus file (offline, optionally with a device list). */
export async function loadCorpusDay(
  f: CorpusFile,
  o: { deviceList?: DeviceList; gapMs: number; staticAfterMs: number },
): Promise<CorpusDay> {
  const { district, registry, gateway } = corpusRegistry()
  const cap = await readCapture(f.file, gateway.id, gateway.rssiFloor, o.deviceList?.deny)
  const r = await ingestOffline(cap.batches, {
    gateways: registry,
    gapMs: o.gapMs,
    staticAfterMs: o.staticAfterMs,
    timeZone: district.timezone ?? 'Europe/Rome',
    ...(o.deviceList ? { deviceList: o.deviceList } : {}),
  })
  return {
    day: `${f.position}/${f.day}`,
    position: f.position,
    date: f.day,
    zoneId: gateway.zoneId,
    sessions: r.sessions,
    truth: cap.truth,
    addressesPerMinute: cap.addressesPerMinute,
    sightings: r.sightings,
    denied: r.denied,
  }
}

/** A day's count sessions (its truth windows) with the devices measured under each gate. */
type DayCache = {
  day: CorpusDay
  /** Per gate (RSSI_GATES' order), the observations of the day's truth windows. */
  byGate: Observation[][]
  /** Distinct addresses per window (the naive estimator's measure). */
  addresses: number[]
}

export type Corpus = {
  minutes: number
  options: EstimatorOptions
  days: DayCache[]
}

/** Measures every day's windows once per gate at `minutes` resolution. */
export function measureCorpus(
  days: readonly CorpusDay[],
  minutes: number,
  options: EstimatorOptions = DEFAULT_ESTIMATOR_OPTIONS,
): Corpus {
  return {
    minutes,
    options,
    days: days.map((day) => {
      const windows = truthWindows(day, minutes)
      const byGate = RSSI_GATES.map((gate) => {
        const prepared = prepareDevices(day.sessions, { rssiGate: gate, options })
        const m = measureWindows(prepared, windows, options)
        return windows.map((w, i) => ({
          session: {
            zoneId: day.zoneId,
            fromMs: w.fromMs,
            toMs: w.toMs,
            kind: 'present' as const,
            people: w.truth,
            day: day.day,
          },
          devices: m[i]?.present ?? { stable: 0, randomised: 0 },
        }))
      })
      return { day, byGate, addresses: windows.map((w) => w.addresses) }
    }),
  }
}

export type CorpusRow = {
  day: string
  date: string
  position: string
  fromMs: number
  truth: number
  estimate: number
  low?: number
  high?: number
  naive: number
}

export type Trained = {
  model: CalibrationModel | null
  refusal: string | null
  naiveFactor: number
}

/** The estimator calibrated (and the naive factor fitted) on the windows of `train`. */
export function train(corpus: Corpus, train: readonly DayCache[]): Trained {
  const gates = gatesToTry(train.map((d) => ({ day: d.day.day })))
  const byGate = gates.map((gate) => {
    const gi = RSSI_GATES.indexOf(gate)
    return { gate, observations: train.flatMap((d) => d.byGate[gi] ?? []) }
  })
  const fit = calibrateObservations(byGate, {
    version: 1,
    fittedAtMs: 0,
    options: corpus.options,
    skipNestedCoverage: true,
  })
  let t = 0
  let a = 0
  for (const d of train) {
    for (const x of d.byGate[0] ?? []) t += x.session.people
    for (const n of d.addresses) a += n
  }
  return {
    model: fit.ok ? fit.model : null,
    refusal: fit.ok ? null : fit.reason,
    naiveFactor: a > 0 ? t / a : 0,
  }
}

/** The trained estimator and naive factor applied to the windows of `test`. */
export function apply(trained: Trained, test: readonly DayCache[]): CorpusRow[] {
  const gi = RSSI_GATES.indexOf(trained.model?.rssiGate ?? null)
  return test.flatMap((d) =>
    (d.byGate[gi] ?? []).map((x, i) => {
      const f = trained.model ? estimateWith(trained.model.present, x.devices) : null
      return {
        day: d.day.day,
        date: d.day.date,
        position: d.day.position,
        fromMs: x.session.fromMs,
        truth: x.session.people,
        estimate: f?.people ?? NaN,
        ...(f ? { low: f.low, high: f.high } : {}),
        naive: trained.naiveFactor * (d.addresses[i] ?? 0),
      }
    }),
  )
}

/** Leave-one-group-out over `days` (groups by `groupOf`, e.g. the day or its ISO week). */
export function leaveOneGroupOut(
  corpus: Corpus,
  days: readonly DayCache[],
  groupOf: (d: CorpusDay) => string = (d) => d.day,
): { rows: CorpusRow[]; models: Trained[] } {
  const groups = [...new Set(days.map((d) => groupOf(d.day)))]
  const rows: CorpusRow[] = []
  const models: Trained[] = []
  for (const g of groups) {
    const t = train(
      corpus,
      days.filter((d) => groupOf(d.day) !== g),
    )
    models.push(t)
    rows.push(
      ...apply(
        t,
        days.filter((d) => groupOf(d.day) === g),
      ),
    )
  }
  return { rows, models }
}

/** Occupancy bands of the error structure. */
export const BANDS = [
  { name: 'empty (0)', lo: 0, hi: 0 },
  { name: '(0, 3)', lo: 1e-9, hi: 3 - 1e-9 },
  { name: '[3, 10)', lo: 3, hi: 10 - 1e-9 },
  { name: '[10, 20)', lo: 10, hi: 20 - 1e-9 },
  { name: '≥ 20', lo: 20, hi: Infinity },
] as const

export type Summary = { estimator: Figures; naive: Figures }

export function summariseRows(rows: readonly CorpusRow[]): Summary {
  const est: Compared[] = rows
    .filter((r) => Number.isFinite(r.estimate))
    .map((r) => ({
      fromMs: r.fromMs,
      truth: r.truth,
      estimate: r.estimate,
      ...(r.low !== undefined && r.high !== undefined ? { low: r.low, high: r.high } : {}),
    }))
  return {
    estimator: figuresOf(est),
    naive: figuresOf(rows.map((r) => ({ fromMs: r.fromMs, truth: r.truth, estimate: r.naive }))),
  }
}

export function byBand(rows: readonly CorpusRow[]) {
  return BANDS.map((b) => ({
    band: b.name,
    ...summariseRows(rows.filter((r) => r.truth >= b.lo && r.truth <= b.hi)),
  }))
}

/** A date's season: `2023 spring (Mar–May)`; December counts with the next year's winter. */
export function seasonOf(date: string): string {
  const y = Number(date.slice(0, 4))
  const m = Number(date.slice(5, 7))
  if (m === 12) return `${y + 1} winter (Dec–Feb)`
  if (m <= 2) return `${y} winter (Dec–Feb)`
  if (m <= 5) return `${y} spring (Mar–May)`
  if (m <= 8) return `${y} summer (Jun–Aug)`
  return `${y} autumn (Sep–Nov)`
}

/** The ISO week of a date (`2023-W38`): the leave-one-week-out groups. */
export function isoWeekOf(date: string): string {
  const d = new Date(`${date}T12:00:00Z`)
  // The week's Thursday decides its year.
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3)
  const year = d.getUTCFullYear()
  const week = Math.ceil(((d.getTime() - Date.UTC(year, 0, 1)) / (24 * HOUR) + 1) / 7)
  return `${year}-W${String(week).padStart(2, '0')}`
}

export const corpusDayName = (f: CorpusFile) => `${f.position}/${f.day} (${basename(f.file)})`
