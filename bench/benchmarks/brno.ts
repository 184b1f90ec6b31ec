/**
 * Brno accuracy: the three ESP32 probe-request captures of lab sc6-61 (../shared/datasets/
 * brno-probe-requests) replayed through the real pipeline — MQTT → ingest → TimescaleDB — as one
 * gateway in one zone, and the occupancy the stored transits give per minute compared with the
 * capture's `occupancy` column (people in the room). Figures without calibration (factor 1) and with
 * a people-per-device factor cross-validated by day. See bench/README.md, "Brno".
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import type { DistrictFile } from '../../services/shared/contracts/district.ts'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, withTopicPrefix } from '../../services/shared/contracts/topics.ts'
import {
  parseEsp32CsvHeader,
  parseEsp32CsvLine,
  readRecording,
  shiftBatch,
  type RecordingStats,
} from '../../simulator/replay.ts'
import type { SnifferHeader } from '../../services/shared/contracts/sniffer-csv.ts'
import { miglioChildOf, spawnIngestChild, type IngestChild } from '../lib/child.ts'
import { buildBenchDistrict, gatewayIdOf, zoneIdOf } from '../lib/district.ts'
import { connectPublishers } from '../lib/load.ts'
import {
  createMinuteTruth,
  crossValidate,
  MINUTE_MS,
  occupancyErrors,
  type Calibration,
  type Day,
  type OccupancyErrors,
  type OccupancySample,
} from '../lib/occupancy.ts'
import { fmt, printNote, printTable, progress, waitUntil } from '../lib/report.ts'
import { midnightFreeWindow, openStack } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'brno'
const HOUR = 3_600_000
const DATASET = fileURLToPath(
  new URL('../../../shared/datasets/brno-probe-requests/', import.meta.url),
)
const CAPTURE_TZ = 'Europe/Prague'
/** `miglio replay`'s default batch interval for a CSV capture. */
const BATCH_INTERVAL_S = 5
const GAP_MS = 120_000
/** Between two replayed days: longer than the transit gap, so every session of a day closes. */
const DAY_SPACING_MS = 15 * 60_000
/** The public crowd view's window (services/api/routes/public: transits of the last 15 minutes). */
const LIVE_WINDOW_MS = 15 * 60_000
const GATEWAY = gatewayIdOf(0)
const ZONE = zoneIdOf(0)

type Capture = {
  day: string
  file: string
  batches: SightingsBatch[]
  stats: RecordingStats
  /** Mean occupancy per minute (capture time, epoch ms). */
  truth: Map<number, number>
}

type Estimator = 'present' | 'live15'
const ESTIMATORS: Record<Estimator, string> = {
  present:
    'devices present: transits in the zone whose [first_seen, last_seen] overlaps the minute',
  live15:
    "the public crowd view's count: transits first heard in the 15 minutes before the minute's end and already written by then (last_seen + TRANSIT_GAP_S ≤ end), as liveZoneCounts' last15m",
}

type Variant = { name: string; what: string; denyList: boolean }
const VARIANTS: Variant[] = [
  {
    name: 'pipeline alone',
    what: 'no device list: static devices must be learned by ingest (STATIC_DEVICE_AFTER_H, 4 h)',
    denyList: false,
  },
  {
    name: 'with deny list',
    what: "the dataset's 14 lab PCs supplied as MIGLIO_DEVICE_LIST_FILE deny list",
    denyList: true,
  },
]

type EstimatorFigures = {
  uncalibrated: OccupancyErrors
  perDay: Record<string, OccupancyErrors>
  fitOneDay: Calibration
  leaveOneDayOut: Calibration
}

type VariantFigures = {
  replay: {
    batches: number
    sightings: number
    rejected: number
    filtered: Record<string, number>
    transits: number
    staticDevicesLearned: number
    seconds: number
  }
  estimators: Record<Estimator, EstimatorFigures>
}

function brnoDistrict(): DistrictFile {
  return buildBenchDistrict({ zones: 1, shopEvery: 1, id: 'brno-lab' })
}

/** The lab PCs listed in the dataset's README, read at run time (no MAC lives in this repo). */
function datasetDenyList(): string[] {
  const text = readFileSync(join(DATASET, 'README.md'), 'utf8')
  const from = text.search(/static devices/i)
  return [...text.slice(Math.max(0, from)).matchAll(/\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi)].map(
    (m) => m[0].toLowerCase(),
  )
}

async function readCapture(file: string): Promise<Capture> {
  const recording = readRecording(
    file,
    { format: 'csv', gatewayId: GATEWAY, timeZone: CAPTURE_TZ, batchIntervalS: BATCH_INTERVAL_S },
    () => undefined,
  )
  const batches: SightingsBatch[] = []
  for await (const b of recording.batches) batches.push(b)
  // The ground truth, from the same parser (readRecording only keeps occupancy's min/mean/max).
  const truth = createMinuteTruth()
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })
  let header: SnifferHeader | null = null
  for await (const raw of lines) {
    if (raw.trim() === '') continue
    if (!header) {
      const h = parseEsp32CsvHeader(raw)
      if (!h.ok) throw new Error(`${basename(file)}: ${h.reason}`)
      header = h.value
      continue
    }
    const row = parseEsp32CsvLine(raw, header, CAPTURE_TZ)
    if (row.ok && row.value.occupancy !== undefined) truth.add(row.value.tMs, row.value.occupancy)
  }
  const day = /(\d{4}-\d{2}-\d{2})/.exec(basename(file))?.[1] ?? basename(file)
  return { day, file, batches, stats: recording.stats, truth: truth.minutes() }
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

type MinuteRow = { m: string; present: string; live15: string }

/** Per minute of [fromMs, toMs] (shifted time): the two estimates from the stored transits. */
async function estimatesPerMinute(c: IngestChild, fromMs: number, toMs: number) {
  const rows = await c.query<MinuteRow>(
    `SELECT (extract(epoch FROM m) * 1000)::bigint AS m,
       (SELECT count(*) FROM transits t
         WHERE t.zone_id = $1 AND t.first_seen < m + interval '1 minute' AND t.last_seen >= m) AS present,
       (SELECT count(*) FROM transits t
         WHERE t.zone_id = $1
           AND t.first_seen >= m + interval '1 minute' - $4 * interval '1 millisecond'
           AND t.first_seen < m + interval '1 minute'
           AND t.last_seen + $5 * interval '1 millisecond' <= m + interval '1 minute') AS live15
     FROM generate_series($2::timestamptz, $3::timestamptz, interval '1 minute') AS m`,
    [ZONE, new Date(fromMs), new Date(toMs), LIVE_WINDOW_MS, GAP_MS],
  )
  return new Map(
    rows.map((r) => [Number(r.m), { present: Number(r.present), live15: Number(r.live15) }]),
  )
}

async function runVariant(
  ctx: BenchContext,
  variant: Variant,
  captures: Capture[],
  notes: string[],
): Promise<VariantFigures | null> {
  const stack = await openStack(ctx.target, `brno-${variant.denyList ? 'deny' : 'plain'}`)
  let child: IngestChild | null = null
  let listDir: string | null = null
  try {
    await loadDistrict(stack.db(), brnoDistrict())
    await stack.closeDb()
    let deviceListFile: string | undefined
    if (variant.denyList) {
      const deny = datasetDenyList()
      if (deny.length === 0) {
        notes.push(`${variant.name}: skipped, no MAC list found in the dataset's README`)
        return null
      }
      listDir = await mkdtemp(join(tmpdir(), 'miglio-bench-brno-'))
      deviceListFile = join(listDir, 'devices.json')
      await writeFile(deviceListFile, JSON.stringify({ deny, allow: [] }), { mode: 0o600 })
      await chmod(deviceListFile, 0o600)
      progress(WHAT, `${variant.name}: ${deny.length} MACs in a temporary MIGLIO_DEVICE_LIST_FILE`)
    }
    child = await spawnIngestChild({
      ...miglioChildOf(stack, ctx.target.mqttUrl),
      gapMs: GAP_MS,
      idleCloseMs: 1_500,
      keyGraceMs: 48 * HOUR,
      maintenanceIntervalMs: 300,
      jobs: false,
      profile: false,
      ...(deviceListFile ? { deviceListFile } : {}),
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
            `${variant.name}, ${cap.day}: not replayed, no room left in today's event-time window (run again later in the day)`,
          )
          continue
        }
        shifts.set(cap.day, shiftMs)
        const before = await c.stats()
        progress(
          WHAT,
          `${variant.name}, ${cap.day}: replaying ${fmt(cap.batches.length)} batches (${fmt(cap.stats.sightings)} sightings, ${fmt((last - first) / HOUR, 1)} h)`,
        )
        await publishBatches(publisher, stack.topicPrefix, cap.batches, shiftMs)
        const target = before.messagesDone + cap.batches.length
        await waitUntil(
          WHAT,
          `${variant.name}, ${cap.day}: every batch ingested`,
          async () => (await c.stats()).messagesDone >= target,
          600_000,
        )
        await waitUntil(
          WHAT,
          `${variant.name}, ${cap.day}: every session closed`,
          async () => {
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
    const stats = await c.stats()
    const [t] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM transits`)
    const [s] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM static_devices`)
    const days: Record<Estimator, Day[]> = { present: [], live15: [] }
    for (const cap of captures) {
      const shiftMs = shifts.get(cap.day)
      if (shiftMs === undefined || cap.truth.size === 0) continue
      const minutes = [...cap.truth.keys()]
      const est = await estimatesPerMinute(
        c,
        Math.min(...minutes) + shiftMs,
        Math.max(...minutes) + shiftMs,
      )
      for (const e of Object.keys(ESTIMATORS) as Estimator[]) {
        const samples: OccupancySample[] = minutes.map((m) => ({
          minuteMs: m,
          truth: cap.truth.get(m) ?? 0,
          estimate: est.get(m + shiftMs)?.[e] ?? 0,
        }))
        days[e].push({ day: cap.day, samples })
      }
    }
    const estimators = Object.fromEntries(
      (Object.keys(ESTIMATORS) as Estimator[]).map((e) => {
        const d = days[e]
        const figures: EstimatorFigures = {
          uncalibrated: occupancyErrors(d.flatMap((x) => x.samples)),
          perDay: Object.fromEntries(d.map((x) => [x.day, occupancyErrors(x.samples)])),
          fitOneDay: crossValidate(d, 'fit-one'),
          leaveOneDayOut: crossValidate(d, 'leave-one-out'),
        }
        return [e, figures]
      }),
    ) as Record<Estimator, EstimatorFigures>
    return {
      replay: {
        batches: captures.reduce((n, cap) => n + cap.batches.length, 0),
        sightings: stats.sightings,
        rejected: stats.rejected,
        filtered: stats.filtered,
        transits: Number(t?.n ?? 0),
        staticDevicesLearned: Number(s?.n ?? 0),
        seconds: (Date.now() - started) / 1000,
      },
      estimators,
    }
  } finally {
    await child?.stop()
    await stack.close()
    if (listDir) await rm(listDir, { recursive: true, force: true })
  }
}

const pct = (x: number) => fmt(x, 1)
const people = (x: number) => (x >= 0 ? '+' : '') + fmt(x, 2)

export async function runBrno(ctx: BenchContext): Promise<BenchResult> {
  const notes: string[] = []
  const files = ['2022-10-18', '2022-10-19', '2022-10-25']
    .map((d) => join(DATASET, `position_1_${d}.csv`))
    .filter((f) => existsSync(f))
  if (files.length < 2) {
    notes.push(`Brno captures not found in ${DATASET}: skipped`)
    printNote(notes[0] ?? '')
    return { settings: {}, figures: {}, notes }
  }
  const captures: Capture[] = []
  for (const f of files) {
    progress(WHAT, `reading ${basename(f)} with the replay parser (simulator/replay.ts)`)
    captures.push(await readCapture(f))
  }
  const results: Record<string, VariantFigures> = {}
  for (const v of VARIANTS) {
    const r = await runVariant(ctx, v, captures, notes)
    if (r) results[v.name] = r
  }

  const rows: string[][] = []
  for (const [name, r] of Object.entries(results)) {
    for (const e of Object.keys(ESTIMATORS) as Estimator[]) {
      const f = r.estimators[e]
      rows.push([
        name,
        e,
        pct(f.uncalibrated.mapePct),
        fmt(f.uncalibrated.maePeople, 2),
        people(f.uncalibrated.biasPeople),
        `${fmt(f.fitOneDay.factorRange.min, 2)}–${fmt(f.fitOneDay.factorRange.max, 2)}`,
        pct(f.fitOneDay.pooled.mapePct),
        fmt(f.fitOneDay.pooled.maePeople, 2),
        people(f.fitOneDay.pooled.biasPeople),
        pct(f.leaveOneDayOut.pooled.mapePct),
      ])
    }
  }
  const minutes = captures.reduce((n, c) => n + c.truth.size, 0)
  const nonZero = captures.reduce(
    (n, c) => n + [...c.truth.values()].filter((v) => v > 0).length,
    0,
  )
  printTable(
    `Brno: estimated occupancy per minute vs the capture's occupancy (${captures.length} days, ${fmt(minutes)} minutes, ${fmt(nonZero)} with occupancy > 0; MAPE over those, MAE and bias over all, in people)`,
    [
      'variant',
      'estimator',
      'MAPE % (f=1)',
      'MAE',
      'bias',
      'factor (fit on 1 day)',
      'MAPE % (cal.)',
      'MAE',
      'bias',
      'MAPE % (leave-1-day-out)',
    ],
    rows,
  )
  for (const [name, r] of Object.entries(results)) {
    const perDay = Object.entries(r.estimators.present.perDay)
      .map(
        ([d, x]) =>
          `${d}: MAPE ${pct(x.mapePct)} %, mean ${fmt(x.meanEstimate, 1)} devices vs ${fmt(x.meanTruth, 1)} people`,
      )
      .join('; ')
    printNote(
      `${name}: ${fmt(r.replay.sightings)} sightings ingested, filtered ${JSON.stringify(r.replay.filtered)}, ${fmt(r.replay.transits)} transits, ${r.replay.staticDevicesLearned} static devices learned, ${fmt(r.replay.seconds)} s; present per day — ${perDay}`,
    )
  }
  printNote(
    'calibrated: a people-per-device factor (Σ truth / Σ estimate) fitted on one day and applied to each of the two other days (3 folds, 6 day-evaluations pooled); leave-1-day-out: fitted on two days, applied to the third',
  )
  for (const n of notes) printNote(n)
  return {
    settings: {
      dataset: '../shared/datasets/brno-probe-requests (position_1, 3 days)',
      captureTimeZone: CAPTURE_TZ,
      gateway: `${GATEWAY} (indoor, zone ${ZONE}, rssiFloor −92 dBm — the district default)`,
      batchIntervalS: BATCH_INTERVAL_S,
      transitGapS: GAP_MS / 1000,
      staticDeviceAfterH: 4,
      truth: "mean of the rows' `occupancy` per minute; minutes without a row are not compared",
      estimators: ESTIMATORS,
      variants: Object.fromEntries(VARIANTS.map((v) => [v.name, v.what])),
      errors:
        'MAPE over minutes with occupancy > 0; MAE and bias (mean estimate − truth, people) over every minute',
      calibration:
        'factor = Σ truth / Σ estimate on the fitting day(s); fit-one: fitted on one day, evaluated on the two others (3 folds); leave-one-out: fitted on two, evaluated on the third',
    },
    figures: {
      captures: Object.fromEntries(
        captures.map((c) => [
          c.day,
          {
            records: c.stats.records,
            malformed: c.stats.malformed,
            batches: c.stats.batches,
            sightings: c.stats.sightings,
            distinctDevices: c.stats.distinctDevices,
            hours: ((c.stats.lastSentAtMs ?? 0) - (c.stats.firstSentAtMs ?? 0)) / HOUR,
            minutes: c.truth.size,
            occupancy: c.stats.occupancy,
          },
        ]),
      ),
      variants: results,
    },
    notes,
  }
}
