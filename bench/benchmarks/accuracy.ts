import { fileURLToPath } from 'node:url'
import type { MqttClient } from 'mqtt'
import { DEFAULT_TIME_ZONE, type DistrictFile } from '../../services/shared/contracts/district.ts'
import {
  loadDistrict,
  readDistrictFile,
} from '../../services/shared/registry/district-repository.ts'
import { createSimulation } from '../../simulator/simulation.ts'
import { publishSimulation, type PublishableSimulation } from '../../simulator/publisher.ts'
import { summariseTruth, type TruthEvent } from '../../simulator/ground-truth.ts'
import type { OutboundMessage, Simulation } from '../../simulator/simulation.ts'
import { shiftBatch } from '../../simulator/replay.ts'
import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { normaliseMac } from '../../services/shared/contracts/mac.ts'
import { instantOfLocalTime } from '../../services/shared/contracts/local-time.ts'
import { DEFAULT_ESTIMATOR_OPTIONS } from '../../services/shared/people/estimator.ts'
import type { DeviceSession } from '../../services/shared/people/sessions.ts'
import { DEFAULT_SIM_PEOPLE, simulatorPeople, type SimDay } from '../lib/sim-people.ts'
import type { Figures } from '../lib/people-eval.ts'
import { sessionsFromDb } from '../lib/transits.ts'
import { DEMO_SCENARIO, type ScenarioOptions } from '../../simulator/street-model.ts'
import { miglioChildOf, spawnIngestChild, type IngestChild } from '../lib/child.ts'
import { connectPublishers } from '../lib/load.ts'
import {
  fmt,
  fmtSummary,
  printNote,
  printTable,
  progress,
  summarise,
  waitUntil,
} from '../lib/report.ts'
import { midnightFreeWindow, openStack } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'accuracy'
const HOUR = 3_600_000
const DISTRICT = fileURLToPath(new URL('../../simulator/districts/mestre.json', import.meta.url))

type Scenario = {
  name: string
  what: string
  overrides: Partial<ScenarioOptions>
  /** Simulated hours before the measured hours (static devices need 4 h to be learned). */
  warmupHours?: number
  /** Runs on a database and ingest of its own (it needs a longer event-time window). */
  ownStack?: boolean
}

const SCENARIOS: Scenario[] = [
  { name: 'simple', what: "'simple': stable MACs, no RSSI noise", overrides: {} },
  {
    name: 'BLE rotation',
    what: "'simple' with BLE addresses rotating every 5–15 min",
    overrides: { randomisation: 'ble-rotation' },
  },
  {
    name: 'Wi-Fi per-scan',
    what: "'simple' with a fresh random Wi-Fi MAC per probe burst",
    overrides: { randomisation: 'wifi-per-scan' },
  },
  {
    name: 'noise (demo radio)',
    what: "'simple' with the demo scenario's radio (RSSI noise σ 3 dB)",
    overrides: { radio: DEMO_SCENARIO.radio, guarantees: null },
  },
  {
    name: 'static devices',
    what: "'simple' with 1–2 static devices per shop (Wi-Fi PCs with a stable MAC or BLE speakers, on all run long, as in 'realistic'); measured over the whole run, from the devices' first sighting, including the 4 h ingest needs to learn them",
    overrides: { staticDevicesPerShop: { min: 1, max: 2 } },
    warmupHours: 4,
    ownStack: true,
  },
  {
    name: 'static devices + noise',
    what: "the same with the demo scenario's radio (RSSI noise σ 3 dB): a static device's sightings may now fall below a gateway's floor for a while",
    overrides: {
      staticDevicesPerShop: { min: 1, max: 2 },
      radio: DEMO_SCENARIO.radio,
      guarantees: null,
    },
    warmupHours: 4,
    ownStack: true,
  },
]

type CellFigures = {
  mapePct: number
  biasPct: number
  cells: number
  truth: number
  pipeline: number
}

/** MAPE over (zone, hour) cells with truth > 0; bias over all cells (Σ pipeline − Σ truth) / Σ truth. */
export function compareCells(
  truth: Map<string, number>,
  pipeline: Map<string, number>,
): CellFigures {
  let ape = 0
  let cells = 0
  let t = 0
  let p = 0
  for (const key of new Set([...truth.keys(), ...pipeline.keys()])) {
    const tv = truth.get(key) ?? 0
    const pv = pipeline.get(key) ?? 0
    t += tv
    p += pv
    if (tv > 0) {
      ape += Math.abs(pv - tv) / tv
      cells++
    }
  }
  return {
    mapePct: cells ? (100 * ape) / cells : NaN,
    biasPct: t ? (100 * (p - t)) / t : NaN,
    cells,
    truth: t,
    pipeline: p,
  }
}

type Run = {
  /** Appended to every gateway's bootId (scenarios sharing a database; see withBootSuffix). */
  bootSuffix?: string
  ctx: BenchContext
  child: IngestChild
  publisher: MqttClient
  topicPrefix: string
  district: DistrictFile
  seed: number
  label: string
}

/**
 * The simulation with every batch's bootId suffixed. A gateway's bootId comes from the seed, so two
 * scenarios of one seed published into one database would reuse (gateway, bootId, seq): ingest takes
 * the second for a replay with other content (`conflicting_replay`) and counts none of it. A
 * suffixed bootId is a gateway that rebooted between the scenarios; the traffic is unchanged.
 */
function withBootSuffix(simulation: Simulation, suffix: string): PublishableSimulation {
  return {
    model: simulation.model,
    statusMessages: (state, atMs) => simulation.statusMessages(state, atMs),
    *[Symbol.iterator]() {
      for (const m of simulation) {
        if (m.kind !== 'sightings' || m.fault) {
          yield m
          continue
        }
        const batch = JSON.parse(m.payload) as SightingsBatch
        yield { ...m, payload: JSON.stringify({ ...batch, bootId: `${batch.bootId}-${suffix}` }) }
      }
    },
  }
}

/**
 * Simulates [fromMs, toMs) of one scenario through the pipeline and compares the measured hours
 * (from `measureFromMs`) per zone and hour. Returns the figures and the static devices ingest learned.
 */
async function runScenario(
  r: Run,
  sc: Scenario,
  fromMs: number,
  toMs: number,
  measureFromMs: number,
): Promise<CellFigures & { staticLearned: number; staticSimulated: number }> {
  const { child: c, label } = r
  progress(
    WHAT,
    `${label}: simulating ${fmt((toMs - fromMs) / HOUR)} h (${new Date(fromMs).toISOString()})`,
  )
  const simulation = createSimulation({
    district: r.district,
    seed: r.seed,
    fromMs,
    toMs,
    scenario: 'simple',
    overrides: { batchIntervalS: 30, ...sc.overrides },
  })
  const before = await c.stats()
  const published = await publishSimulation({
    client: r.publisher,
    simulation: r.bootSuffix ? withBootSuffix(simulation, r.bootSuffix) : simulation,
    speed: 'max',
    topicPrefix: r.topicPrefix,
  })
  const target = before.messagesDone + published.messages + published.statusMessages
  await waitUntil(
    WHAT,
    `${label}: every batch ingested`,
    async () => (await c.stats()).messagesDone >= target,
    900_000,
  )
  await waitUntil(
    WHAT,
    `${label}: every session closed`,
    async () => {
      // Closed in memory (idle close) and the emptied checkpoint written with it.
      if ((await c.stats()).openSessions > 0) return false
      const [o] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM open_transits`)
      return Number(o?.n ?? 1) === 0
    },
    120_000,
  )
  const events = simulation.truth().filter((e) => e.hasDevice)
  const truth = summariseTruth(
    events.filter((e) => e.firstMs >= measureFromMs),
    HOUR,
  )
  const truthCells = new Map(
    truth.buckets.map((b) => [`${b.zoneId}@${b.bucketStartMs}`, b.passersBy + b.visitors]),
  )
  const rows = await c.query<{ zone_id: string; h: Date | string; n: string }>(
    `SELECT zone_id, time_bucket('1 hour', bucket) AS h, sum(passers_by + visitors) AS n
     FROM footfall_15m WHERE bucket >= $1 AND bucket < $2 GROUP BY 1, 2`,
    [new Date(measureFromMs), new Date(toMs + HOUR)],
  )
  const pipelineCells = new Map(
    rows.map((x) => [`${x.zone_id}@${new Date(x.h).getTime()}`, Number(x.n)]),
  )
  const [learned] = await c.query<{ n: string }>(
    `SELECT count(DISTINCT pseudonym) AS n FROM static_devices`,
  )
  const f = {
    ...compareCells(truthCells, pipelineCells),
    staticLearned: Number(learned?.n ?? 0),
    staticSimulated: new Set(events.filter((e) => e.kind === 'static').map((e) => e.pedestrianId))
      .size,
  }
  progress(
    WHAT,
    `${label}: MAPE ${fmt(f.mapePct, 1)} %, bias ${fmt(f.biasPct, 1)} % (${fmt(f.pipeline)} transits vs ${fmt(f.truth)} true)${sc.name.startsWith('static devices') ? `; ${f.staticLearned} devices learned as static of ${f.staticSimulated} simulated static devices` : ''}`,
  )
  return f
}

/** A fresh database and ingest child with the district loaded, and one publisher. */
async function withPipeline<T>(
  ctx: BenchContext,
  name: string,
  district: DistrictFile,
  fn: (p: { child: IngestChild; publisher: MqttClient; topicPrefix: string }) => Promise<T>,
): Promise<T> {
  const stack = await openStack(ctx.target, name)
  let child: IngestChild | null = null
  try {
    await loadDistrict(stack.db(), district)
    await stack.closeDb()
    child = await spawnIngestChild({
      ...miglioChildOf(stack, ctx.target.mqttUrl),
      gapMs: 120_000,
      idleCloseMs: 1_500,
      keyGraceMs: 48 * HOUR,
      maintenanceIntervalMs: 300,
      jobs: false,
      profile: false,
    })
    const [publisher] = await connectPublishers(ctx.target.mqttUrl, 1, `${stack.topicPrefix}-sim`)
    if (!publisher) throw new Error('no publisher')
    try {
      return await fn({ child, publisher, topicPrefix: stack.topicPrefix })
    } finally {
      await publisher.endAsync()
    }
  } finally {
    await child?.stop()
    await stack.close()
  }
}

const PEOPLE_SEEDS = [20261207, 20261208, 20261209]
/** The simulated day: a Friday's shopping hours in the district's zone (the same for every seed). */
const PEOPLE_DAY = { year: 2026, month: 12, day: 4 }

type PeopleRun = { day: SimDay; transits: number; sightings: number; seconds: number }

/**
 * One simulated day of the realistic scenario through the pipeline: generated at its own hours,
 * shifted by whole hours into ingest's event-time window (one local day, the last 22 h), published,
 * ingested, and read back from the database as device sessions in simulated time.
 */
async function simulateDay(
  ctx: BenchContext,
  district: DistrictFile,
  seed: number,
  fromMs: number,
  toMs: number,
): Promise<PeopleRun | null> {
  const window = midnightFreeWindow(Date.now(), 22 * HOUR, 10 * 60_000)
  const shiftMs = Math.ceil((window.fromMs - fromMs) / HOUR) * HOUR
  if (toMs + shiftMs > window.toMs) return null
  const simulation = createSimulation({
    district,
    seed,
    fromMs,
    toMs,
    scenario: 'realistic',
    overrides: { batchIntervalS: 30 },
  })
  const zoneOf = new Map(district.gateways.map((g) => [g.id, g.zoneId]))
  const floorOf = new Map(district.gateways.map((g) => [g.id, g.rssiFloor ?? -92]))
  const ids = new Map<string, number>()
  const addresses = new Map<string, Map<number, Set<number>>>()
  let sightings = 0
  // The simulation's batches, shifted; the addresses each zone heard per minute, for the naive one.
  const shifted: Iterable<OutboundMessage> = {
    *[Symbol.iterator]() {
      for (const m of simulation) {
        if (m.kind !== 'sightings' || m.fault) {
          yield m
          continue
        }
        const batch = JSON.parse(m.payload) as SightingsBatch
        const zoneId = zoneOf.get(batch.gatewayId) ?? ''
        let perMinute = addresses.get(zoneId)
        if (!perMinute) addresses.set(zoneId, (perMinute = new Map()))
        for (const x of batch.sightings) {
          sightings++
          if (x.rssi < (floorOf.get(batch.gatewayId) ?? -92)) continue
          const mac = normaliseMac(x.mac) ?? x.mac
          let id = ids.get(mac)
          if (id === undefined) ids.set(mac, (id = ids.size))
          const minute = Math.floor(toEpochMs(x.t) / 60_000) * 60_000
          let set = perMinute.get(minute)
          if (!set) perMinute.set(minute, (set = new Set()))
          set.add(id)
        }
        yield { ...m, payload: JSON.stringify(shiftBatch(batch, shiftMs)) }
      }
    },
  }
  const publishable = {
    model: { fromMs: fromMs + shiftMs },
    statusMessages: (state: 'online' | 'offline', atMs: number) =>
      simulation.statusMessages(state, atMs + shiftMs),
    [Symbol.iterator]: () => shifted[Symbol.iterator](),
  }
  const started = Date.now()
  return withPipeline(
    ctx,
    `people-${seed}`,
    district,
    async ({ child: c, publisher, topicPrefix }) => {
      progress(
        WHAT,
        `people, seed ${seed}: simulating ${fmt((toMs - fromMs) / HOUR)} h of the realistic scenario`,
      )
      const before = await c.stats()
      const published = await publishSimulation({
        client: publisher,
        simulation: publishable,
        speed: 'max',
        topicPrefix,
      })
      const target = before.messagesDone + published.messages + published.statusMessages
      await waitUntil(
        WHAT,
        `people, seed ${seed}: every batch ingested`,
        async () => (await c.stats()).messagesDone >= target,
        1_800_000,
      )
      await waitUntil(
        WHAT,
        `people, seed ${seed}: every session closed`,
        async () => {
          // Closed in memory (idle close) and the emptied checkpoint written with it.
          if ((await c.stats()).openSessions > 0) return false
          const [o] = await c.query<{ n: string }>(`SELECT count(*) AS n FROM open_transits`)
          return Number(o?.n ?? 1) === 0
        },
        300_000,
      )
      const sessions: DeviceSession[] = await sessionsFromDb(
        c,
        null,
        fromMs + shiftMs - HOUR,
        toMs + shiftMs + HOUR,
        shiftMs,
      )
      const truth: TruthEvent[] = simulation.truth()
      ids.clear()
      return {
        day: {
          day: String(seed),
          fromMs,
          toMs,
          zones: [...new Set(district.gateways.map((g) => g.zoneId))],
          sessions,
          truth,
          addresses,
        },
        transits: sessions.length,
        sightings,
        seconds: (Date.now() - started) / 1000,
      }
    },
  )
}

const pct = (x: number) => (Number.isFinite(x) ? fmt(x, 1) : '–')
const ppl = (x: number, d = 2) => (Number.isFinite(x) ? fmt(x, d) : '–')

/** People per zone (arrivals per hour and day, presence per 15 min), estimator vs naive. */
export async function runPeople(ctx: BenchContext, district: DistrictFile, notes: string[]) {
  const tz = district.timezone ?? DEFAULT_TIME_ZONE
  const [h0, h1] = ctx.quick ? [11, 15] : [9, 19]
  const fromMs = instantOfLocalTime({ ...PEOPLE_DAY, hour: h0 }, tz)
  const toMs = instantOfLocalTime({ ...PEOPLE_DAY, hour: h1 }, tz)
  const runs: PeopleRun[] = []
  for (const seed of PEOPLE_SEEDS) {
    const r = await simulateDay(ctx, district, seed, fromMs, toMs)
    if (r) runs.push(r)
    else notes.push(`people, seed ${seed}: skipped, no room in the event-time window`)
  }
  if (runs.length < 2) return null
  const t0 = Date.now()
  const result = simulatorPeople(runs.map((r) => r.day))
  const estimatorSeconds = (Date.now() - t0) / 1000
  const row = (label: string, e: Figures, n: Figures, digits = 2) => [
    label,
    fmt(e.windows),
    pct(e.mapePct),
    ppl(e.maePeople, digits),
    ppl(e.biasPeople, digits),
    pct(e.coveragePct),
    pct(n.mapePct),
    ppl(n.maePeople, digits),
    ppl(n.biasPeople, digits),
  ]
  const daily = result.daily
  const within = (xs: number[]) => xs.filter((x) => Math.abs(x) <= 5).length
  const maxAbs = (xs: number[]) => Math.max(...xs.map(Math.abs))
  printTable(
    `People (realistic scenario, ${runs.length} seeds = days of ${h1 - h0} h, ${h0}:00–${h1}:00 local; calibration from ${DEFAULT_SIM_PEOPLE.countsPerZoneDay} counts of ${DEFAULT_SIM_PEOPLE.countMinutes} min per zone on each other day): estimator vs naive (distinct MACs × one factor per zone)`,
    [
      'figure',
      'cells',
      'MAPE %',
      'MAE',
      'bias',
      'cover. %',
      'naive MAPE %',
      'naive MAE',
      'naive bias',
    ],
    [
      row('arrivals per zone and hour', result.hourly.estimator, result.hourly.naive, 1),
      row('presence per zone and 15 min', result.presence.estimator, result.presence.naive),
    ],
  )
  const errs = daily.map((d) => d.errorPct)
  const naiveErrs = daily.map((d) => d.naiveErrorPct)
  printNote(
    `people per zone and day: ${within(errs)} of ${daily.length} zone-days within ±5 % (largest error ${pct(maxAbs(errs))} %, mean |error| ${pct(errs.reduce((a, x) => a + Math.abs(x), 0) / errs.length)} %); naive ${within(naiveErrs)} of ${daily.length} (largest ${pct(maxAbs(naiveErrs))} %)`,
  )
  printTable(
    'People per zone (all seeds): day error range, arrivals per hour MAPE, presence MAE (people) — estimator | naive',
    [
      'zone',
      'day error % (min…max)',
      'naive day error %',
      'hour MAPE %',
      'naive',
      'presence MAE',
      'naive',
      'mean present',
    ],
    Object.keys(result.presencePerZone).map((z) => {
      const ds = daily.filter((d) => d.zoneId === z)
      const range = (xs: number[]) => `${pct(Math.min(...xs))} … ${pct(Math.max(...xs))}`
      const h = result.hourlyPerZone[z]
      const p = result.presencePerZone[z]
      return [
        z,
        range(ds.map((d) => d.errorPct)),
        range(ds.map((d) => d.naiveErrorPct)),
        pct(h?.estimator.mapePct ?? NaN),
        pct(h?.naive.mapePct ?? NaN),
        ppl(p?.estimator.maePeople ?? NaN),
        ppl(p?.naive.maePeople ?? NaN),
        ppl(p?.estimator.meanTruth ?? NaN, 1),
      ]
    }),
  )
  for (const r of result.refusals) notes.push(`people: calibration refused: ${r}`)
  const forms: Record<string, number> = {}
  for (const m of result.models)
    for (const k of [m.model.present, m.model.arrivals])
      if (k) forms[`${k.kind} ${k.form}`] = (forms[`${k.kind} ${k.form}`] ?? 0) + 1
  printNote(
    `people: ${runs.map((r) => `seed ${r.day.day}: ${fmt(r.sightings)} sightings, ${fmt(r.transits)} transits, ${fmt(r.seconds)} s`).join('; ')}; estimator + calibration ${fmt(estimatorSeconds, 1)} s; model forms chosen ${JSON.stringify(forms)}`,
  )
  return {
    settings: {
      seeds: PEOPLE_SEEDS,
      localHours: [h0, h1],
      date: PEOPLE_DAY,
      counts: DEFAULT_SIM_PEOPLE,
      estimator: DEFAULT_ESTIMATOR_OPTIONS,
      truth:
        'people (pedestrians with or without a phone; staff and static devices are not people): arrivals = pedestrian transits of the zone begun in the window; presence = time-weighted mean in range',
    },
    figures: {
      hourly: result.hourly,
      hourlyPerZone: result.hourlyPerZone,
      daily,
      presence: result.presence,
      presencePerZone: result.presencePerZone,
      runs: runs.map((r) => ({
        seed: r.day.day,
        sightings: r.sightings,
        transits: r.transits,
        seconds: r.seconds,
      })),
      modelForms: forms,
      estimatorSeconds,
    },
  }
}

export async function runAccuracy(ctx: BenchContext): Promise<BenchResult> {
  const hours = ctx.quick ? 1 : 2
  const district = await readDistrictFile(DISTRICT, DEFAULT_TIME_ZONE)
  const notes = ['Brno captures: see the brno benchmark (npm run bench -- --only brno)']
  const results: Record<
    string,
    (CellFigures & { staticLearned: number; staticSimulated: number })[]
  > = {}
  for (let rep = 0; rep < ctx.repeats; rep++) {
    const seed = 20261121 + rep
    const run = (
      sc: Scenario,
      p: { child: IngestChild; publisher: MqttClient; topicPrefix: string },
    ) => ({ ctx, ...p, district, seed, label: `${sc.name} r${rep + 1}` }) satisfies Run
    // Consecutive windows in one database (a gateway's event time only moves forward), whole
    // hours, one local day.
    await withPipeline(ctx, `accuracy${rep + 1}`, district, async (p) => {
      const window = midnightFreeWindow(Date.now(), 22 * HOUR, 10 * 60_000)
      let fromMs = Math.ceil(window.fromMs / HOUR) * HOUR
      for (const sc of SCENARIOS.filter((x) => !x.ownStack)) {
        const toMs = fromMs + hours * HOUR
        if (toMs > window.toMs) {
          notes.push(`${sc.name}: skipped, no room left in the event-time window`)
          continue
        }
        const index = SCENARIOS.indexOf(sc)
        ;(results[sc.name] ??= []).push(
          await runScenario(
            { ...run(sc, p), ...(index > 0 ? { bootSuffix: `s${index}` } : {}) },
            sc,
            fromMs,
            toMs,
            fromMs,
          ),
        )
        fromMs = toMs + HOUR
      }
    })
    for (const sc of SCENARIOS.filter((x) => x.ownStack)) {
      await withPipeline(
        ctx,
        `accuracy${rep + 1}-${sc.name.replace(/\W+/g, '-')}`,
        district,
        async (p) => {
          const window = midnightFreeWindow(Date.now(), 22 * HOUR, 10 * 60_000)
          const fromMs = Math.ceil(window.fromMs / HOUR) * HOUR
          const toMs = fromMs + ((sc.warmupHours ?? 0) + hours) * HOUR
          if (toMs > window.toMs) {
            notes.push(`${sc.name}: skipped, no room left in the event-time window`)
            return
          }
          ;(results[sc.name] ??= []).push(await runScenario(run(sc, p), sc, fromMs, toMs, fromMs))
        },
      )
    }
  }
  printTable(
    `Accuracy: pipeline transits (passers-by + visitors) vs ground truth of pedestrians with a device, per zone and hour (mestre, ${hours} h per scenario, static devices ${hours + 4} h; median (min–max) over ${ctx.repeats} seed(s))`,
    ['scenario', 'MAPE %', 'bias %', 'cells', 'pipeline', 'truth', 'static learned'],
    SCENARIOS.filter((s) => results[s.name]).map((s) => {
      const r = results[s.name] ?? []
      return [
        s.name,
        fmtSummary(summarise(r.map((x) => x.mapePct)), 1),
        fmtSummary(summarise(r.map((x) => x.biasPct)), 1),
        fmt(r[0]?.cells ?? 0),
        fmtSummary(summarise(r.map((x) => x.pipeline))),
        fmtSummary(summarise(r.map((x) => x.truth))),
        r[0]?.staticSimulated
          ? r.map((x) => `${x.staticLearned} of ${x.staticSimulated}`).join(', ')
          : '',
      ]
    }),
  )
  const people = await runPeople(ctx, district, notes)
  for (const n of notes) printNote(n)
  return {
    settings: {
      people: people?.settings ?? null,
      district: 'simulator/districts/mestre.json',
      hoursPerScenario: hours,
      hoursStaticDevices: hours + 4,
      batchIntervalS: 30,
      transitGapS: 120,
      seeds: Array.from({ length: ctx.repeats }, (_, i) => 20261121 + i),
      scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.name, s.what])),
      bucket: '1 hour (UTC), per zone',
    },
    figures: {
      people: people?.figures ?? null,
      ...Object.fromEntries(
        Object.entries(results).map(([name, r]) => [
          name,
          {
            mapePct: summarise(r.map((x) => x.mapePct)),
            biasPct: summarise(r.map((x) => x.biasPct)),
            runs: r,
          },
        ]),
      ),
    },
    notes,
  }
}
