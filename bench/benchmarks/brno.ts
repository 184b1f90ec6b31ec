/**
 * Brno: people present in lab sc6-61 from the three ESP32 probe-request captures of
 * ../shared/datasets/brno-probe-requests, against the capture's `occupancy` column (people in the
 * room). The captures are replayed through the real pipeline — MQTT → ingest → TimescaleDB — as one
 * gateway in one zone; the people estimator (services/shared/people) then runs over the transits the
 * database holds, calibrated leave-one-day-out (fitted on two days' counts, applied to the third),
 * at 15-minute and 1-minute windows, beside the naive estimator (distinct MACs per window × one
 * factor fitted on the same days). The same captures also go through ingest's pure steps without
 * the database (bench/lib/offline-ingest.ts): the fast path used to choose the method, shown to give
 * the same transits and figures. See bench/README.md, "Brno".
 */
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import type { DistrictFile } from '../../services/shared/contracts/district.ts'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, withTopicPrefix } from '../../services/shared/contracts/topics.ts'
import { shiftBatch } from '../../simulator/replay.ts'
import type { DeviceSession } from '../../services/shared/people/sessions.ts'
import {
  DEFAULT_ESTIMATOR_OPTIONS,
  prepareDevices,
  type EstimatorOptions,
} from '../../services/shared/people/estimator.ts'
import { loadDeviceList } from '../../services/ingest/device-list.ts'
import { createLogger } from '../../services/shared/logger.ts'
import {
  apply,
  byBand,
  discoverCorpus,
  leaveOneGroupOut,
  loadCorpusDay,
  measureCorpus,
  seasonOf,
  summariseRows,
  train,
  type Corpus,
  type CorpusDay,
  type CorpusRow,
  type Summary as CorpusSummary,
  type Trained,
} from '../lib/brno-corpus.ts'
import { miglioChildOf, spawnIngestChild, type IngestChild } from '../lib/child.ts'
import { sessionsFromDb } from '../lib/transits.ts'
import { buildBenchDistrict, gatewayIdOf, zoneIdOf } from '../lib/district.ts'
import { connectPublishers } from '../lib/load.ts'
import { BATCH_INTERVAL_S, readCapture, type Capture } from '../lib/brno-capture.ts'
import { ingestOffline, registryOf } from '../lib/offline-ingest.ts'
import {
  figuresOf,
  leaveOneDayOut,
  type CrossValidation,
  type Figures,
  type TruthDay,
} from '../lib/people-eval.ts'
import { MINUTE_MS } from '../lib/occupancy.ts'
import type { Coefficients } from '../../services/shared/people/calibration.ts'
import { fmt, printNote, printTable, progress, waitUntil } from '../lib/report.ts'
import { midnightFreeWindow, openStack } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'brno'
const HOUR = 3_600_000
const DATASET = fileURLToPath(
  new URL('../../../shared/datasets/brno-probe-requests/', import.meta.url),
)
const DAYS = ['2022-10-18', '2022-10-19', '2022-10-25']
const GAP_MS = 120_000
/** Between two replayed days: longer than the transit gap, so every session of a day closes. */
const DAY_SPACING_MS = 15 * 60_000
const GATEWAY = gatewayIdOf(0)
const ZONE = zoneIdOf(0)
const RESOLUTIONS = [15, 1] as const
/** Occupancy bands of the error structure (people, lower bounds). */
const BANDS = [
  { name: 'empty (0)', lo: 0, hi: 0 },
  { name: '(0, 3)', lo: 1e-9, hi: 3 - 1e-9 },
  { name: '[3, 10)', lo: 3, hi: 10 - 1e-9 },
  { name: '[10, 20)', lo: 10, hi: 20 - 1e-9 },
  { name: '≥ 20', lo: 20, hi: Infinity },
]

function brnoDistrict(): DistrictFile {
  return buildBenchDistrict({ zones: 1, shopEvery: 1, id: 'brno-lab' })
}

async function publishBatches(
  client: MqttClient,
  topicPrefix: string,
  batches: SightingsBatch[],
  shiftMs: number,
) {
  const topic = withTopicPrefix(topicPrefix, buildSightingsTopic(GATEWAY))
  const inFlight: Promise<unknown>[] = []
  for (const b of batches) {
    inFlight.push(client.publishAsync(topic, JSON.stringify(shiftBatch(b, shiftMs)), { qos: 1 }))
    if (inFlight.length >= 64) await inFlight.shift()
  }
  await Promise.all(inFlight)
}

type Replay = {
  batches: number
  sightings: number
  rejected: number
  filtered: Record<string, number>
  transits: number
  staticDevicesLearned: number
  seconds: number
}

/** Replays the captures through MQTT → ingest → TimescaleDB; returns each day's stored sessions. */
async function replayThroughPipeline(
  ctx: BenchContext,
  captures: Capture[],
  notes: string[],
): Promise<{ sessions: Map<string, DeviceSession[]>; replay: Replay }> {
  const stack = await openStack(ctx.target, 'brno')
  let child: IngestChild | null = null
  try {
    await loadDistrict(stack.db(), brnoDistrict())
    await stack.closeDb()
    child = await spawnIngestChild({
      ...miglioChildOf(stack, ctx.target.mqttUrl),
      gapMs: GAP_MS,
      idleCloseMs: 1_500,
      keyGraceMs: 48 * HOUR,
      maintenanceIntervalMs: 300,
      jobs: false,
      profile: false,
    })
    const c = child
    const [publisher] = await connectPublishers(
      ctx.target.mqttUrl,
      1,
      `${stack.topicPrefix}-replay`,
    )
    if (!publisher) throw new Error('no publisher')
    const started = Date.now()
    // The days one after another in one local day of event time within ingest's 24 h bound,
    // shifted by whole minutes (so capture minutes stay minutes).
    const window = midnightFreeWindow(Date.now(), 22 * HOUR, 10 * 60_000)
    let cursor = Math.ceil(window.fromMs / MINUTE_MS) * MINUTE_MS + 5 * 60_000
    const shifts = new Map<string, number>()
    try {
      for (const cap of captures) {
        const first = cap.stats.firstSentAtMs
        const last = cap.stats.lastSentAtMs
        if (first === null || last === null) continue
        const shiftMs =
          cursor - Math.floor((first - BATCH_INTERVAL_S * 1000) / MINUTE_MS) * MINUTE_MS
        if (last + shiftMs > window.toMs) {
          notes.push(
            `${cap.day}: not replayed, no room left in today's event-time window (run again later in the day)`,
          )
          continue
        }
        shifts.set(cap.day, shiftMs)
        const before = await c.stats()
        progress(
          WHAT,
          `${cap.day}: replaying ${fmt(cap.batches.length)} batches (${fmt(cap.stats.sightings)} sightings, ${fmt((last - first) / HOUR, 1)} h)`,
        )
        await publishBatches(publisher, stack.topicPrefix, cap.batches, shiftMs)
        const target = before.messagesDone + cap.batches.length
        await waitUntil(
          WHAT,
          `${cap.day}: every batch ingested`,
          async () => (await c.stats()).messagesDone >= target,
          600_000,
        )
        await waitUntil(
          WHAT,
          `${cap.day}: every session closed`,
          async () => {
            // Closed in memory (idle close) and the emptied checkpoint written with it.
            if ((await c.stats()).openSessions > 0) return false
            const [o] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM open_transits`)
            return Number(o?.n ?? 1) === 0
          },
          120_000,
        )
        cursor = last + shiftMs + DAY_SPACING_MS
      }
    } finally {
      await publisher.endAsync()
    }
    const sessions = new Map<string, DeviceSession[]>()
    for (const cap of captures) {
      const shiftMs = shifts.get(cap.day)
      const first = cap.stats.firstSentAtMs
      const last = cap.stats.lastSentAtMs
      if (shiftMs === undefined || first === null || last === null) continue
      sessions.set(
        cap.day,
        // A day's transits began between its first batch (less its interval) and its last.
        await sessionsFromDb(
          c,
          ZONE,
          first - MINUTE_MS + shiftMs,
          last + MINUTE_MS + shiftMs,
          shiftMs,
        ),
      )
    }
    const stats = await c.stats()
    const [t] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM transits`)
    const [s] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM static_devices`)
    return {
      sessions,
      replay: {
        batches: captures.reduce((n, cap) => n + cap.batches.length, 0),
        sightings: stats.sightings,
        rejected: stats.rejected,
        filtered: stats.filtered,
        transits: Number(t?.n ?? 0),
        staticDevicesLearned: Number(s?.n ?? 0),
        seconds: (Date.now() - started) / 1000,
      },
    }
  } finally {
    await child?.stop()
    await stack.close()
  }
}

/** People per stable / randomised device, the floor, and the knee's bend (`knee` form). */
function coefficientsLine(c: Coefficients): string {
  const floor = c.intercept ? `, floor ${fmt(c.intercept, 2)}` : ''
  const knee =
    c.knee !== undefined && c.bend
      ? `, −${fmt(c.bend, 2)} a device above ${fmt(c.knee, 1)} devices`
      : ''
  return `${fmt(c.stable, 2)} / ${fmt(c.randomised, 2)}${floor}${knee}`
}

const pct = (x: number) => (Number.isFinite(x) ? fmt(x, 1) : '–')
const ppl = (x: number) => (Number.isFinite(x) ? fmt(x, 2) : '–')
const signed = (x: number) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + fmt(x, 2) : '–')

/** The cells every table starts an estimator's figures with: windows, MAE, MAPE, bias. */
const errorCells = (e: Figures): string[] => [
  fmt(e.windows),
  ppl(e.maePeople),
  pct(e.mapePct),
  signed(e.biasPeople),
]

function figureRow(label: string[], e: Figures, n: Figures): string[] {
  return [
    ...label,
    ...errorCells(e),
    e.emptyWindows ? `${ppl(e.emptyMeanPeople)} (${e.emptyWindows})` : '– (0)',
    pct(e.coveragePct),
    ppl(e.meanWidth),
    ppl(n.maePeople),
    pct(n.mapePct),
    signed(n.biasPeople),
    n.emptyWindows ? ppl(n.emptyMeanPeople) : '–',
    Number.isFinite(n.maePeople) && n.maePeople > 0 ? fmt(e.maePeople / n.maePeople, 2) : '–',
  ]
}

/** Error structure: per occupancy band, the mean error of each estimator (people, + = over). */
function bands(cv: CrossValidation) {
  return BANDS.map((b) => {
    const rows = cv.rows.filter((r) => r.truth >= b.lo && r.truth <= b.hi)
    const est = figuresOf(
      rows
        .filter((r) => Number.isFinite(r.estimate))
        .map((r) => ({
          fromMs: 0,
          truth: r.truth,
          estimate: r.estimate,
          ...(r.low !== undefined && r.high !== undefined ? { low: r.low, high: r.high } : {}),
        })),
    )
    const naive = figuresOf(rows.map((r) => ({ fromMs: 0, truth: r.truth, estimate: r.naive })))
    return { band: b.name, windows: rows.length, estimator: est, naive }
  })
}

function summarise(cv: CrossValidation) {
  return {
    resolutionMinutes: cv.resolutionMinutes,
    estimator: cv.estimator,
    naive: cv.naive,
    perDay: cv.perDay,
    bands: bands(cv),
    folds: cv.folds.map((f) => ({
      testDay: f.testDay,
      refusal: f.refusal,
      naiveFactor: f.naiveFactor,
      model: f.model && {
        rssiGate: f.model.rssiGate,
        present: f.model.present && {
          form: f.model.present.form,
          coefficients: f.model.present.coefficients,
          q: f.model.present.q,
          relativeError: f.model.present.relativeError,
          windowMinutes: f.model.present.windowMinutes,
          quality: f.model.present.quality,
          formsTried: f.model.present.formsTried,
        },
      },
    })),
  }
}

export async function runBrno(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = []
  const files = DAYS.map((d) => join(DATASET, `position_1_${d}.csv`)).filter((f) => existsSync(f))
  if (files.length < 2) {
    notes.push(`Brno captures not found in ${DATASET}: skipped`)
    printNote(notes[0] ?? '')
    const corpus = ctx.brnoDir ? await runBrnoCorpus(ctx.brnoDir) : null
    return corpus
      ? {
          settings: { corpus: corpus.settings },
          figures: { corpus: corpus.figures },
          notes: [...notes, ...corpus.notes],
        }
      : { settings: {}, figures: {}, notes }
  }
  const district = brnoDistrict()
  const registry = registryOf(district)
  const gateway = registry.get(GATEWAY)
  if (!gateway) throw new Error(`${GATEWAY} missing from the bench district`)
  const captures: Capture[] = []
  for (const f of files) {
    progress(WHAT, `reading ${basename(f)} with the replay parser (simulator/replay.ts)`)
    captures.push(await readCapture(f, GATEWAY, gateway.rssiFloor))
  }

  // The fast path: ingest's pure steps, no database.
  const t0 = Date.now()
  const offline = new Map<string, DeviceSession[]>()
  for (const cap of captures) {
    const r = await ingestOffline(cap.batches, {
      gateways: registry,
      gapMs: GAP_MS,
      staticAfterMs: 4 * HOUR,
      timeZone: district.timezone ?? 'Europe/Rome',
    })
    offline.set(cap.day, r.sessions)
  }
  const offlineSeconds = (Date.now() - t0) / 1000

  // The product's path: MQTT → ingest → TimescaleDB, then the estimator over the stored transits.
  const pipeline = await replayThroughPipeline(ctx, captures, notes)

  const truthDays = (sessions: Map<string, DeviceSession[]>): TruthDay[] =>
    captures.flatMap((cap) => {
      const s = sessions.get(cap.day)
      return s
        ? [
            {
              day: cap.day,
              zoneId: ZONE,
              sessions: s,
              truth: cap.truth,
              addressesPerMinute: cap.addressesPerMinute,
            },
          ]
        : []
    })
  const paths = { pipeline: truthDays(pipeline.sessions), offline: truthDays(offline) }
  const results: Record<string, Record<string, CrossValidation>> = {}
  for (const [path, days] of Object.entries(paths)) {
    if (days.length < 2) {
      notes.push(`${path}: fewer than two days, no cross-validation`)
      continue
    }
    for (const minutes of RESOLUTIONS)
      (results[path] ??= {})[`${minutes} min`] = leaveOneDayOut(days, minutes)
  }

  const rows: string[][] = []
  for (const [path, byRes] of Object.entries(results))
    for (const [res, cv] of Object.entries(byRes))
      rows.push(figureRow([path, res], cv.estimator, cv.naive))
  const minutes = captures.reduce((n, c) => n + c.truth.size, 0)
  printTable(
    `Brno: people present, leave-one-day-out (${captures.length} days, ${fmt(minutes)} minutes with occupancy); estimator vs naive (distinct MACs × one factor), same windows`,
    [
      'path',
      'window',
      'windows',
      'MAE',
      'MAPE % (≥3)',
      'bias',
      'empty room (n)',
      'cover. %',
      'width',
      'naive MAE',
      'naive MAPE %',
      'naive bias',
      'naive empty',
      'MAE / naive',
    ],
    rows,
  )
  const main = results.pipeline?.['15 min'] ?? results.offline?.['15 min']
  if (main) {
    printTable(
      'Brno, 15 min, per day left out: the model fitted on the two other days',
      [
        'day',
        'windows',
        'MAE',
        'MAPE %',
        'bias',
        'cover. %',
        'naive MAE',
        'naive MAPE %',
        'model (form: people per stable / randomised device)',
        'naive factor',
      ],
      main.folds.map((f) => {
        const d = main.perDay[f.testDay]
        const p = f.model?.present
        return [
          f.testDay,
          fmt(d?.estimator.windows ?? 0),
          ppl(d?.estimator.maePeople ?? NaN),
          pct(d?.estimator.mapePct ?? NaN),
          signed(d?.estimator.biasPeople ?? NaN),
          pct(d?.estimator.coveragePct ?? NaN),
          ppl(d?.naive.maePeople ?? NaN),
          pct(d?.naive.mapePct ?? NaN),
          p
            ? `${p.form}: ${coefficientsLine(p.coefficients)}; q ${p.levels ? p.levels.q.map((q) => fmt(q, 2)).join(' | ') : fmt(p.q, 2)}, ρ ${fmt(p.relativeError, 2)}`
            : (f.refusal ?? '–'),
          fmt(f.naiveFactor, 3),
        ]
      }),
    )
  }
  for (const [res, cv] of Object.entries(results.pipeline ?? results.offline ?? {}))
    printTable(
      `Brno, ${res}: error structure by occupancy (mean error, people; + = over-count)`,
      [
        'occupancy',
        'windows',
        'estimator bias',
        'MAE',
        'cover. %',
        'width',
        'naive bias',
        'naive MAE',
      ],
      bands(cv).map((b) => [
        b.band,
        fmt(b.windows),
        signed(b.estimator.biasPeople),
        ppl(b.estimator.maePeople),
        pct(b.estimator.coveragePct),
        ppl(b.estimator.meanWidth),
        signed(b.naive.biasPeople),
        ppl(b.naive.maePeople),
      ]),
    )
  // Agreement of the two paths, and what the estimator's steps did.
  const steps = captures.map((cap) => {
    const p = pipeline.sessions.get(cap.day) ?? []
    const o = offline.get(cap.day) ?? []
    const prepared = prepareDevices(p, { options: DEFAULT_ESTIMATOR_OPTIONS })
    return {
      day: cap.day,
      pipelineTransits: p.length,
      offlineTransits: o.length,
      chains: prepared.chains.length,
      staticChains: prepared.staticChains,
      bleLinks: prepared.bleLinks,
    }
  })
  printNote(
    `pipeline: ${fmt(pipeline.replay.sightings)} sightings ingested, filtered ${JSON.stringify(pipeline.replay.filtered)}, ${fmt(pipeline.replay.transits)} transits, ${pipeline.replay.staticDevicesLearned} static devices learned by ingest, ${fmt(pipeline.replay.seconds)} s; offline path ${fmt(offlineSeconds, 1)} s`,
  )
  printNote(
    `per day — ${steps.map((s) => `${s.day}: ${fmt(s.pipelineTransits)} transits (offline ${fmt(s.offlineTransits)}), ${fmt(s.chains)} device chains, ${s.staticChains} turned static, ${s.bleLinks} BLE links`).join('; ')}`,
  )
  printNote(
    'MAPE over windows with ≥ 3 people; MAE, bias over all; empty room: mean estimate in windows whose occupancy is 0 throughout (their number); cover.: share of windows whose occupancy lies in the 90 % interval; width: its mean width. Targets (15 min): MAPE ≤ 20 %, MAE ≤ half the naive one, empty room ≤ 0.2, coverage 85–95 %.',
  )
  for (const n of notes) printNote(n)
  const corpus = ctx.brnoDir ? await runBrnoCorpus(ctx.brnoDir) : null
  return {
    settings: {
      ...(corpus ? { corpus: corpus.settings } : {}),
      dataset: '../shared/datasets/brno-probe-requests (position_1, 3 days)',
      gateway: `${GATEWAY} (indoor, zone ${ZONE}, rssiFloor ${gateway.rssiFloor} dBm — the district default)`,
      batchIntervalS: BATCH_INTERVAL_S,
      transitGapS: GAP_MS / 1000,
      estimator: DEFAULT_ESTIMATOR_OPTIONS,
      truth:
        "mean of the rows' `occupancy` per minute; a window's truth is the mean of its minutes with rows (windows cut to those minutes)",
      calibration:
        'leave-one-day-out: each window of the two other days is a count session of people present; the model (form, coefficients, conformal interval) is fitted on them and applied to the day left out',
      naive:
        'distinct MAC addresses heard in the window (RSSI ≥ the floor) × one factor = Σ occupancy / Σ distinct MACs over the same training windows',
    },
    figures: {
      captures: Object.fromEntries(
        captures.map((c) => [
          c.day,
          {
            records: c.stats.records,
            batches: c.stats.batches,
            sightings: c.stats.sightings,
            distinctDevices: c.stats.distinctDevices,
            hours: ((c.stats.lastSentAtMs ?? 0) - (c.stats.firstSentAtMs ?? 0)) / HOUR,
            minutes: c.truth.size,
            occupancy: c.stats.occupancy,
          },
        ]),
      ),
      replay: pipeline.replay,
      offlineSeconds,
      steps,
      results: Object.fromEntries(
        Object.entries(results).map(([path, byRes]) => [
          path,
          Object.fromEntries(Object.entries(byRes).map(([res, cv]) => [res, summarise(cv)])),
        ]),
      ),
      ...(corpus ? { corpus: corpus.figures } : {}),
    },
    notes: [...notes, ...(corpus?.notes ?? [])],
  }
}

// ---------------------------------------------------------------------------------------------
// The whole public corpus (`--brno-dir` / BRNO_DIR): bench/lib/brno-corpus.ts, bench/README.md §8.

const DEVICE_LIST_FILE = fileURLToPath(new URL('../lib/brno-device-list.json', import.meta.url))

type Evaluation = { name: string; rows: CorpusRow[]; models: Trained[] }

function corpusEvaluations(corpus: Corpus): Evaluation[] {
  const p1 = corpus.days.filter((d) => d.day.position === 'position_1')
  const p2 = corpus.days.filter((d) => d.day.position === 'position_2')
  const shared = p1.filter((d) => DAYS.includes(d.day.date))
  const others = p1.filter((d) => !DAYS.includes(d.day.date))
  const out: Evaluation[] = []
  if (shared.length >= 2) {
    const asShipped = train(corpus, shared)
    if (others.length)
      out.push({
        name: 'a: p1 other days, calibrated on the 3 shared days',
        rows: apply(asShipped, others),
        models: [asShipped],
      })
    if (p2.length)
      out.push({
        name: 'b: p2, calibrated on the 3 shared p1 days',
        rows: apply(asShipped, p2),
        models: [asShipped],
      })
  }
  if (p2.length && p1.length >= 2) {
    const allP1 = train(corpus, p1)
    out.push({ name: 'b: p2, calibrated on all p1 days', rows: apply(allP1, p2), models: [allP1] })
  }
  if (p2.length >= 2)
    out.push({ name: 'b: p2, leave-one-day-out on p2', ...leaveOneGroupOut(corpus, p2) })
  if (p1.length >= 2)
    out.push({ name: 'c: p1, leave-one-day-out on p1', ...leaveOneGroupOut(corpus, p1) })
  return out
}

function modelLine(models: readonly Trained[]): string {
  const forms = new Map<string, number>()
  for (const t of models) {
    const p = t.model?.present
    const key = p
      ? `${p.form}${t.model?.rssiGate !== null && t.model?.rssiGate !== undefined ? ` gate ${t.model.rssiGate}` : ''}`
      : `refused`
    forms.set(key, (forms.get(key) ?? 0) + 1)
  }
  const first = models[0]?.model?.present
  const coef = first ? coefficientsLine(first.coefficients) : ''
  return models.length === 1
    ? `${[...forms.keys()][0] ?? ''}: ${coef}; naive ${fmt(models[0]?.naiveFactor ?? 0, 3)}`
    : [...forms.entries()].map(([k, n]) => `${k} ×${n}`).join(', ')
}

function corpusRow(label: string[], s: CorpusSummary): string[] {
  const e = s.estimator
  const n = s.naive
  return [
    ...label,
    ...errorCells(e),
    e.emptyWindows ? `${signed(e.emptyMeanPeople)} (${fmt(e.emptyWindows)})` : '– (0)',
    pct(e.coveragePct),
    ppl(n.maePeople),
    pct(n.mapePct),
    n.emptyWindows ? signed(n.emptyMeanPeople) : '–',
    Number.isFinite(n.maePeople) && n.maePeople > 0 ? fmt(e.maePeople / n.maePeople, 2) : '–',
  ]
}

const CORPUS_HEADER = [
  'windows',
  'MAE',
  'MAPE % (≥3)',
  'bias',
  'empty: mean err (n)',
  'cover. %',
  'naive MAE',
  'naive MAPE %',
  'naive empty',
  'MAE / naive',
]

/**
 * The corpus evaluation: every day of `dir` through ingest's pure steps, without and with the
 * dataset's device list, at 15 and 1 minutes. Prints its tables; returns the figures for the JSON.
 */
export async function runBrnoCorpus(dir: string, o: { options?: EstimatorOptions } = {}) {
  const started = Date.now()
  const notes: string[] = []
  const files = discoverCorpus(dir)
  const options = o.options ?? DEFAULT_ESTIMATOR_OPTIONS
  const positions = new Map<string, string[]>()
  for (const f of files) positions.set(f.position, [...(positions.get(f.position) ?? []), f.day])
  progress(
    WHAT,
    `corpus ${dir}: ${[...positions].map(([p, d]) => `${p} ${d.length} days (${d[0]} … ${d[d.length - 1]})`).join(', ')}`,
  )
  if (files.length === 0) {
    notes.push(`no position_*/**.csv under ${dir}: corpus skipped`)
    printNote(notes[0] ?? '')
    return { settings: { dir }, figures: {}, notes }
  }
  const deviceList = await loadDeviceList(DEVICE_LIST_FILE, createLogger({ level: 'silent' }))
  const variants = [
    { name: 'none', list: undefined },
    { name: 'dataset list', list: deviceList },
  ] as const
  const figures: Record<string, unknown> = {}
  const mainRows: string[][] = []
  const seasonRows: string[][] = []
  const bandRows: string[][] = []
  const modelRows: string[][] = []
  for (const v of variants) {
    const t0 = Date.now()
    const days: CorpusDay[] = []
    for (const [i, f] of files.entries()) {
      const t = Date.now()
      const d = await loadCorpusDay(f, {
        gapMs: GAP_MS,
        staticAfterMs: 4 * HOUR,
        ...(v.list ? { deviceList: v.list } : {}),
      })
      days.push(d)
      progress(
        WHAT,
        `[${v.name}] ${i + 1}/${files.length} ${d.day}: ${fmt(d.sightings)} sightings${v.list ? ` (${fmt(d.denied)} denied)` : ''}, ${fmt(d.sessions.length)} transits, ${fmt(d.truth.size)} min of truth, ${fmt((Date.now() - t) / 1000, 1)} s`,
      )
    }
    const loadSeconds = (Date.now() - t0) / 1000
    const byRes: Record<string, unknown> = {}
    for (const minutes of RESOLUTIONS) {
      const t1 = Date.now()
      const corpus = measureCorpus(days, minutes, options)
      const evaluations = corpusEvaluations(corpus)
      const res = `${minutes} min`
      const out: Record<string, unknown> = {}
      for (const e of evaluations) {
        const s = summariseRows(e.rows)
        const dayCount = new Set(e.rows.map((r) => r.day)).size
        mainRows.push(corpusRow([v.name, e.name, res, fmt(dayCount)], s))
        const bands = byBand(e.rows)
        for (const b of bands)
          bandRows.push([
            v.name,
            e.name,
            res,
            b.band,
            fmt(b.estimator.windows),
            signed(b.estimator.biasPeople),
            ppl(b.estimator.maePeople),
            pct(b.estimator.coveragePct),
            ppl(b.estimator.meanWidth),
            signed(b.naive.biasPeople),
            ppl(b.naive.maePeople),
          ])
        const seasons = [...new Set(e.rows.map((r) => seasonOf(r.date)))].sort()
        const bySeason = Object.fromEntries(
          seasons.map((se) => [se, summariseRows(e.rows.filter((r) => seasonOf(r.date) === se))]),
        )
        if (minutes === 15 && (e.name.startsWith('a') || e.name.startsWith('c')))
          for (const se of seasons)
            seasonRows.push(
              corpusRow(
                [
                  v.name,
                  e.name.slice(0, 1),
                  se,
                  fmt(
                    new Set(e.rows.filter((r) => seasonOf(r.date) === se).map((r) => r.day)).size,
                  ),
                ],
                bySeason[se] as CorpusSummary,
              ),
            )
        if (minutes === 15) modelRows.push([v.name, e.name, modelLine(e.models)])
        out[e.name] = {
          days: dayCount,
          ...s,
          bands,
          bySeason,
          models: e.models.map((t) => ({
            refusal: t.refusal,
            naiveFactor: t.naiveFactor,
            rssiGate: t.model?.rssiGate ?? null,
            form: t.model?.present?.form,
            coefficients: t.model?.present?.coefficients,
            q: t.model?.present?.q,
            levels: t.model?.present?.levels,
            relativeError: t.model?.present?.relativeError,
          })),
        }
      }
      byRes[res] = { ...out, seconds: (Date.now() - t1) / 1000 }
      progress(WHAT, `[${v.name}] ${res}: evaluated in ${fmt((Date.now() - t1) / 1000, 1)} s`)
    }
    figures[v.name] = {
      loadSeconds,
      days: days.map((d) => ({
        day: d.day,
        sightings: d.sightings,
        denied: d.denied,
        transits: d.sessions.length,
        minutes: d.truth.size,
      })),
      results: byRes,
    }
  }
  const seconds = (Date.now() - started) / 1000
  printTable(
    `Brno corpus (${[...positions].map(([p, d]) => `${p}: ${d.length} days`).join(', ')}): people present; estimator vs naive (distinct MACs × one factor fitted on the same training days)`,
    ['device list', 'evaluation', 'window', 'test days', ...CORPUS_HEADER],
    mainRows,
  )
  printTable(
    'Brno corpus, 15 min, by season of the test day (a: calibrated on the 3 shared days; c: leave-one-day-out)',
    ['device list', 'eval.', 'season', 'days', ...CORPUS_HEADER],
    seasonRows,
  )
  printTable(
    'Brno corpus: error structure by occupancy (mean error, people; + = over-count)',
    [
      'device list',
      'evaluation',
      'window',
      'occupancy',
      'windows',
      'bias',
      'MAE',
      'cover. %',
      'width',
      'naive bias',
      'naive MAE',
    ],
    bandRows,
  )
  printTable(
    "Brno corpus, 15 min: models chosen (form, RSSI gate; people per stable / randomised device, the knee form's bend)",
    ['device list', 'evaluation', 'model(s)'],
    modelRows,
  )
  printNote(
    `corpus: ${files.length} files in ${fmt(seconds, 1)} s (offline ingest, no database). Empty: windows whose occupancy is 0 throughout; the mean error there is the mean estimate. Leave-one-day-out fits every fold's calibration without the nested coverage of its quality (the coverage shown is the held-out days').`,
  )
  return {
    settings: {
      dir,
      files: Object.fromEntries([...positions].map(([p, d]) => [p, d])),
      deviceList:
        'bench/lib/brno-device-list.json (the dataset README’s lab PCs), as MIGLIO_DEVICE_LIST_FILE',
      estimator: options,
    },
    figures: { ...figures, seconds },
    notes,
  }
}
