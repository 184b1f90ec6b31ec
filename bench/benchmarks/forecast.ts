/**
 * Forecast backtest (issue #17): the weekly-profile model of services/api/lib/forecast.ts, scored
 * on data it has not seen.
 *
 * - Simulated history: the demo street (simulator/districts/mestre.json, the `demo` scenario) over
 *   12 weeks from the simulator's street model: per hour, pedestrians arriving (the district), those
 *   passing the middle of each zone, and visits starting in each shop — the simulator's ground truth,
 *   so the noise is the simulator's (Poisson arrivals, groups, visit choices), not the radio's.
 *   Four origins (the starts of weeks 9–12), each forecasting the next 7 days by hour from the weeks
 *   before it only, as the API does.
 * - Brno captures: the two Tuesdays a week apart (18 and 25 October 2022, lab sc6-61): each
 *   15-minute bucket of the 25th forecast from the same bucket of the 18th (one past week), for the
 *   people in the room (`occupancy`) and the distinct devices heard (the lab's static PCs left out).
 *
 * MAPE over buckets whose actual value is at least MIN_ACTUAL (near-zero night hours would make a
 * percentage meaningless); WAPE = Σ|error| / Σ actual over every bucket; coverage = the share of
 * buckets with an interval whose actual lies inside it (the interval aims at 90 %).
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseDistrictFile } from '../../services/shared/contracts/district.ts'
import {
  HOUR_MS,
  instantOfLocalTime,
  shiftLocalDays,
  startOfLocalDate,
} from '../../services/shared/contracts/local-time.ts'
import {
  FORECAST_DEFAULTS,
  bucketsOf,
  forecastBuckets,
  type History,
} from '../../services/api/lib/forecast.ts'
import { createStreetModel, resolveScenario } from '../../simulator/street-model.ts'
import { fmt, printNote, printTable, progress } from '../lib/report.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'forecast'
const TZ = 'Europe/Rome'
const MIN_ACTUAL = 5
const WEEKS = 12
const ORIGIN_WEEKS = [8, 9, 10, 11]
/** A Monday, local midnight: the simulated history starts here. */
const START = '2026-08-03'
const DISTRICT = fileURLToPath(new URL('../../simulator/districts/mestre.json', import.meta.url))
const BRNO = fileURLToPath(
  new URL('../../../shared/datasets/brno-probe-requests/', import.meta.url),
)
const BRNO_TZ = 'Europe/Prague'
const QUARTER_MS = 15 * 60_000
/** The lab's own PCs (the dataset's notes): static devices, not people. */
const BRNO_STATIC = new Set(
  [
    'dc:fb:48:68:be:e4',
    'dc:fb:48:8c:71:fc',
    'dc:fb:48:2a:52:e0',
    'dc:fb:48:f5:c6:c2',
    'dc:fb:48:e3:ab:78',
    'dc:fb:48:00:51:90',
    'dc:fb:48:75:d8:42',
    'dc:fb:48:de:86:8d',
    'dc:fb:48:dd:c6:0b',
    'dc:fb:48:55:d5:78',
    'dc:fb:48:c2:1d:64',
    '40:ec:99:f9:34:a6',
    '40:ec:99:8e:3f:63',
    '40:ec:99:1f:3e:75',
  ].map((m) => m.toLowerCase()),
)

export type Score = {
  buckets: number
  mapePct: number | null
  wapePct: number | null
  /** Share of buckets with an interval whose actual is inside it; null without intervals. */
  coveragePct: number | null
  withInterval: number
  /** Mean (high − low) / forecast over buckets with an interval and a forecast ≥ MIN_ACTUAL. */
  relativeWidthPct: number | null
}

/** Scores forecasts against actual values. */
export function scoreOf(
  pairs: readonly {
    actual: number
    value: number | null
    low: number | null
    high: number | null
  }[],
): Score {
  let absPct = 0
  let nPct = 0
  let absErr = 0
  let sumActual = 0
  let inside = 0
  let withInterval = 0
  let width = 0
  let nWidth = 0
  let n = 0
  for (const p of pairs) {
    if (p.value === null) continue
    n++
    const err = Math.abs(p.value - p.actual)
    absErr += err
    sumActual += p.actual
    if (p.actual >= MIN_ACTUAL) {
      absPct += err / p.actual
      nPct++
    }
    if (p.low !== null && p.high !== null) {
      withInterval++
      if (p.actual >= p.low && p.actual <= p.high) inside++
      if (p.value >= MIN_ACTUAL) {
        width += (p.high - p.low) / p.value
        nWidth++
      }
    }
  }
  return {
    buckets: n,
    mapePct: nPct ? (100 * absPct) / nPct : null,
    wapePct: sumActual ? (100 * absErr) / sumActual : null,
    coveragePct: withInterval ? (100 * inside) / withInterval : null,
    withInterval,
    relativeWidthPct: nWidth ? (100 * width) / nWidth : null,
  }
}

type Series = Map<number, number>
const add = (s: Series, t: number, v = 1) => s.set(t, (s.get(t) ?? 0) + v)

/** The simulator's ground truth per hour: district arrivals, zone passes, shop visits. */
function simulate(quick: boolean): { from: number; to: number; series: Map<string, Series> } {
  const parsed = parseDistrictFile(readFileSync(DISTRICT, 'utf8'), 'mestre.json', TZ)
  if (!parsed.ok) throw new Error(parsed.problem)
  const district = parsed.district
  const from = startOfLocalDate(START, TZ)
  const to = shiftLocalDays(from, 7 * WEEKS, TZ)
  const scenario = resolveScenario('demo', { arrivalsPerHour: quick ? 120 : 300 })
  const model = createStreetModel(district, 17, from, to, scenario)
  const series = new Map<string, Series>()
  const of = (key: string) => {
    let s = series.get(key)
    if (!s) series.set(key, (s = new Map()))
    return s
  }
  const hour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS
  const zones = district.zones.map((z) => ({
    key: `zone:${z.id}`,
    mid: (z.streetFromM + z.streetToM) / 2,
  }))
  let n = 0
  for (const p of model.arrivals()) {
    if (p.kind !== 'pedestrian') continue
    if (++n % 200_000 === 0) progress(WHAT, `simulated ${n} pedestrians`)
    add(of('district'), hour(p.arriveMs))
    for (const leg of p.legs) {
      if (leg.kind !== 'walk' || leg.x0 === leg.x1) continue
      const lo = Math.min(leg.x0, leg.x1)
      const hi = Math.max(leg.x0, leg.x1)
      for (const z of zones) {
        if (z.mid < lo || z.mid >= hi) continue
        const t = leg.t0 + ((z.mid - leg.x0) / (leg.x1 - leg.x0)) * (leg.t1 - leg.t0)
        if (t >= from && t < to) add(of(z.key), hour(t))
      }
    }
    for (const v of p.visits) if (v.enterMs < to) add(of(`shop:${v.shopId}`), hour(v.enterMs))
  }
  progress(WHAT, `simulated ${n} pedestrians over ${WEEKS} weeks`)
  return { from, to, series }
}

type SimScore = Score & { kind: string; series: number }

function backtestSimulated(sim: ReturnType<typeof simulate>) {
  const perKind = new Map<
    string,
    { actual: number; value: number | null; low: number | null; high: number | null }[]
  >()
  const daily = new Map<string, { actual: number; value: number | null; low: null; high: null }[]>()
  const counts = new Map<string, number>()
  for (const [key, values] of sim.series) {
    const kind = key.split(':')[0] ?? key
    counts.set(kind, (counts.get(kind) ?? 0) + 1)
    for (const w of ORIGIN_WEEKS) {
      const origin = shiftLocalDays(sim.from, 7 * w, TZ)
      const end = shiftLocalDays(origin, 7, TZ)
      const h: History = { from: sim.from, to: origin, values }
      const f = forecastBuckets(h, bucketsOf(origin, end, HOUR_MS), HOUR_MS, { timeZone: TZ })
      const pairs = perKind.get(kind) ?? []
      perKind.set(kind, pairs)
      const days = daily.get(kind) ?? []
      daily.set(kind, days)
      for (let d = 0; d < 7; d++) {
        const a = shiftLocalDays(origin, d, TZ)
        const b = shiftLocalDays(origin, d + 1, TZ)
        let actual = 0
        let value = 0
        for (const p of f.points) {
          if (p.t < a || p.t >= b) continue
          actual += values.get(p.t) ?? 0
          value += p.value ?? 0
        }
        days.push({ actual, value, low: null, high: null })
      }
      for (const p of f.points)
        pairs.push({ actual: values.get(p.t) ?? 0, value: p.value, low: p.low, high: p.high })
    }
  }
  const hourly: SimScore[] = []
  const days: SimScore[] = []
  for (const [kind, pairs] of perKind) {
    hourly.push({ kind, series: counts.get(kind) ?? 0, ...scoreOf(pairs) })
    days.push({ kind, series: counts.get(kind) ?? 0, ...scoreOf(daily.get(kind) ?? []) })
  }
  return { hourly, days }
}

/** One Brno capture per 15 minutes: mean occupancy and distinct non-static devices. */
async function readBrno(file: string) {
  const occupancySum = new Map<number, number>()
  const occupancyN = new Map<number, number>()
  const devices = new Map<number, Set<string>>()
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
  let header = true
  for await (const line of lines) {
    if (header) {
      header = false
      continue
    }
    const f = line.split(';')
    const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(f[0] ?? '')
    if (!m) continue
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as number[]
    const t = instantOfLocalTime(
      { year: year ?? 0, month: month ?? 0, day: day ?? 0, hour, minute, second },
      BRNO_TZ,
    )
    const b = Math.floor(t / QUARTER_MS) * QUARTER_MS
    const src = (f[2] ?? '').toLowerCase()
    if (src && !BRNO_STATIC.has(src)) {
      let s = devices.get(b)
      if (!s) devices.set(b, (s = new Set()))
      s.add(src)
    }
    const occ = Number(f[13])
    if (Number.isFinite(occ)) {
      occupancySum.set(b, (occupancySum.get(b) ?? 0) + occ)
      occupancyN.set(b, (occupancyN.get(b) ?? 0) + 1)
    }
  }
  const occupancy: Series = new Map()
  for (const [b, s] of occupancySum) occupancy.set(b, s / (occupancyN.get(b) ?? 1))
  const deviceCounts: Series = new Map([...devices].map(([b, s]) => [b, s.size]))
  const buckets = [...occupancyN.keys()].sort((a, b) => a - b)
  // Whole buckets only: the first and last are partly outside the capture.
  return { occupancy, devices: deviceCounts, first: buckets[1] ?? 0, last: buckets.at(-2) ?? 0 }
}

async function backtestBrno() {
  const a = `${BRNO}position_1_2022-10-18.csv`
  const b = `${BRNO}position_1_2022-10-25.csv`
  if (!existsSync(a) || !existsSync(b)) return null
  const [past, next] = [await readBrno(a), await readBrno(b)]
  const out: Record<string, Score & { meanActual: number }> = {}
  for (const measure of ['occupancy', 'devices'] as const) {
    const h: History = {
      from: startOfLocalDate('2022-10-18', BRNO_TZ),
      to: startOfLocalDate('2022-10-25', BRNO_TZ),
      values: past[measure],
      // Outside the capture of the 18th nothing is known (not zero).
      excluded: (t) => t < past.first || t > past.last,
    }
    const buckets = bucketsOf(next.first, next.last + QUARTER_MS, QUARTER_MS)
    const f = forecastBuckets(h, buckets, QUARTER_MS, { timeZone: BRNO_TZ, weeks: 1 })
    const pairs = f.points.map((p) => ({
      actual: next[measure].get(p.t) ?? 0,
      value: p.value,
      low: p.low,
      high: p.high,
    }))
    const scored = pairs.filter((p) => p.value !== null)
    out[measure] = {
      ...scoreOf(pairs),
      meanActual: scored.reduce((s, p) => s + p.actual, 0) / Math.max(1, scored.length),
    }
  }
  return out
}

export async function runForecast(ctx: BenchContext): Promise<BenchResult> {
  const started = Date.now()
  progress(WHAT, `simulating ${WEEKS} weeks of the demo street`)
  const sim = simulate(ctx.quick)
  const simulatedS = (Date.now() - started) / 1000
  const { hourly, days } = backtestSimulated(sim)
  const pct = (v: number | null) => fmt(v, 1)
  printTable(
    'forecast: simulated history, 7 days ahead by hour (4 origins)',
    [
      'series',
      'n',
      'hours',
      'MAPE % (actual ≥ 5)',
      'WAPE %',
      '90 % interval coverage %',
      'width %',
    ],
    hourly.map((s) => [
      s.kind,
      s.series,
      s.buckets,
      pct(s.mapePct),
      pct(s.wapePct),
      pct(s.coveragePct),
      pct(s.relativeWidthPct),
    ]),
  )
  printTable(
    'forecast: simulated history, daily totals',
    ['series', 'days', 'MAPE %', 'WAPE %'],
    days.map((s) => [s.kind, s.buckets, pct(s.mapePct), pct(s.wapePct)]),
  )
  const brno = await backtestBrno()
  if (brno)
    printTable(
      'forecast: Brno, Tuesday 25 Oct 2022 by 15 min from Tuesday 18 Oct',
      ['measure', 'buckets', 'mean actual', 'MAPE % (actual ≥ 5)', 'WAPE %', 'coverage %'],
      Object.entries(brno).map(([m, s]) => [
        m,
        s.buckets,
        fmt(s.meanActual, 1),
        pct(s.mapePct),
        pct(s.wapePct),
        s.coveragePct === null ? 'n/a' : pct(s.coveragePct),
      ]),
    )
  const notes = [
    `simulated: ${WEEKS} weeks from ${START} (demo scenario, ${ctx.quick ? 120 : 300} arrivals/h at the shape's 1.0), origins at the starts of weeks ${ORIGIN_WEEKS.map((w) => w + 1).join(', ')}; ${fmt(simulatedS, 1)} s to simulate`,
    `model: mean of the same local weekday and hour over the last ${FORECAST_DEFAULTS.weeks} weeks; interval ${FORECAST_DEFAULTS.level * 100} % from the quantiles of its own errors re-forecasting the last ${FORECAST_DEFAULTS.backtestWeeks} weeks`,
    'Brno: one past week only, so there are no backtest errors for an interval there (coverage n/a); only the point forecast is scored',
  ]
  if (!brno) notes.push('Brno captures not found: ../shared/datasets/brno-probe-requests')
  for (const n of notes) printNote(n)
  return {
    settings: {
      simulated: {
        district: 'simulator/districts/mestre.json',
        scenario: 'demo',
        arrivalsPerHour: ctx.quick ? 120 : 300,
        weeks: WEEKS,
        origins: ORIGIN_WEEKS.length,
        horizonDays: 7,
        bucket: '1h',
      },
      brno: { past: '2022-10-18', forecast: '2022-10-25', bucket: '15m', weeks: 1 },
      minActualForMape: MIN_ACTUAL,
      model: FORECAST_DEFAULTS,
    },
    figures: { simulated: { hourly, daily: days }, brno },
    notes,
  }
}
