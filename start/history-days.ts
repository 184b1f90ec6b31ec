import { join } from 'node:path'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { PACKAGE_ROOT } from '../services/shared/package-root.ts'
import type { DistrictFile } from '../services/shared/contracts/district.ts'
import { createHistoryPipeline, type HistoryMessage } from '../services/ingest/history-backfill.ts'
import type { RegisteredGateway } from '../services/ingest/model.ts'
import {
  transferablesOf,
  transitColumns,
  type TransitColumns,
} from '../services/ingest/history-repository.ts'
import { createSimulation } from '../simulator/simulation.ts'
import { deriveSeed } from '../simulator/rng.ts'
import type { StreetEvent } from '../simulator/street-model.ts'
import { startOfLocalDay, startOfNextLocalDay } from '../services/shared/contracts/local-time.ts'
import { flowsOfDay, type DayFlows } from './history-flows.ts'

/** The history's gateways send a batch every 5 minutes (the live demo's every 5 s). */
export const HISTORY_BATCH_INTERVAL_S = 300

/** What the simulation of a history day needs (plain data: it crosses into a worker thread). */
export type HistoryDaysSetup = {
  role: 'miglio-history-days'
  district: DistrictFile
  gateways: RegisteredGateway[]
  tz: string
  gapMs: number
  staticAfterMs: number
  seed: number
  flatDay: boolean
  events: StreetEvent[]
}

/** One window to simulate (a local day, or the part of today before the live backfill). */
export type DayWindow = { date: string; fromMs: number; toMs: number }

/**
 * A simulated, pseudonymised and sessionised day: its transits as columns without pseudonyms
 * (`gateway` indexes the setup's gateway list).
 */
export type SimulatedDay = {
  date: string
  transits: TransitColumns
  /** The day's flows between zones (history-flows.ts); null for a part of a day (today's). */
  flows: DayFlows | null
  messages: number
  sightings: number
  rejected: number
  /** Keys alive in the simulating thread once the day is done: 0, the day's key is destroyed. */
  keysAlive: number
}

/**
 * Simulated sightings batches of one window, as objects (the simulator's own batches need no JSON
 * round trip; the pipeline validates them with the protocol's schema all the same).
 */
function* windowMessages(setup: HistoryDaysSetup, w: DayWindow): Generator<HistoryMessage> {
  const simulation = createSimulation({
    district: setup.district,
    seed: deriveSeed(setup.seed, `history-${w.date}`),
    fromMs: w.fromMs,
    toMs: w.toMs,
    scenario: 'demo',
    overrides: {
      // Gateways that send every 5 minutes instead of every 5 s: the same sightings (and the same
      // transits) in 60 times fewer messages, so the per-message work of ingest's steps stops
      // dominating.
      batchIntervalS: HISTORY_BATCH_INTERVAL_S,
      events: setup.events.filter((e) => e.toMs > w.fromMs && e.fromMs < w.toMs),
      ...(setup.flatDay ? { hourShape: Array<number>(24).fill(1) } : {}),
    },
    collectTruth: false,
  })
  for (const m of simulation.batches()) yield { topic: m.topic, batch: m.batch, atMs: m.simTimeMs }
}

/**
 * Simulates days through ingest's pure steps (history-backfill.ts), each with its own key that dies
 * with the day (in this thread's memory only); pseudonyms stay here.
 */
export function createDaySimulator(setup: HistoryDaysSetup) {
  const pipeline = createHistoryPipeline({
    gateways: new Map(setup.gateways.map((g) => [g.id, g])),
    tz: setup.tz,
    gapMs: setup.gapMs,
    staticAfterMs: setup.staticAfterMs,
  })
  return {
    liveKeys: () => pipeline.liveKeys(),
    async simulate(w: DayWindow): Promise<SimulatedDay> {
      const day = await pipeline.runDay(windowMessages(setup, w))
      return {
        date: w.date,
        transits: transitColumns(day.transits, setup.gateways),
        // Computed here, while the pseudonyms exist: the transits are stored without them.
        flows:
          w.fromMs === startOfLocalDay(w.fromMs, setup.tz) &&
          w.toMs === startOfNextLocalDay(w.fromMs, setup.tz)
            ? flowsOfDay(day.transits, setup.tz)
            : null,
        messages: day.messages,
        sightings: day.sightings,
        rejected: day.rejected,
        keysAlive: pipeline.liveKeys(),
      }
    },
  }
}

type Request = { id: number; window: DayWindow }
type Reply = { id: number; ok: true; day: SimulatedDay } | { id: number; ok: false; error: string }

/** Young generation of a history worker (V8's default is ~16–48 MB). */
const YOUNG_GENERATION_MB = 96

export type DayWorker = ReturnType<typeof startDayWorker>

/**
 * A worker thread that simulates history days (the main thread stays free for the pages and the
 * live pipeline; two workers use both cores of a small machine). `terminate()` ends it, and with it
 * whatever key it held.
 */
export function startDayWorker(setup: HistoryDaysSetup) {
  const worker = new Worker(join(PACKAGE_ROOT, 'start/history-worker.mjs'), {
    workerData: setup,
    // A larger young generation: a simulated day allocates millions of short-lived objects, and
    // fewer scavenges cost ~10 % less CPU (measured on a Tuesday of mestre.json).
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  })
  const pending = new Map<
    number,
    { resolve: (d: SimulatedDay) => void; reject: (e: Error) => void }
  >()
  let next = 0
  let failure: Error | null = null
  const failAll = (err: Error) => {
    failure ??= err
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id)
    if (!p) return
    pending.delete(r.id)
    if (r.ok) p.resolve(r.day)
    else p.reject(new Error(r.error))
  })
  worker.on('error', (err) => failAll(err))
  worker.on('exit', (code) => failAll(new Error(`history worker exited (${code})`)))
  return {
    simulate(window: DayWindow): Promise<SimulatedDay> {
      if (failure) return Promise.reject(failure)
      const id = next++
      return new Promise<SimulatedDay>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ id, window } satisfies Request)
      })
    },
    async terminate(): Promise<void> {
      await worker.terminate()
    },
  }
}

// Inside the worker: answer one window at a time.
const role = (workerData as { role?: unknown } | null)?.role
if (!isMainThread && parentPort && role === 'miglio-history-days') {
  const port = parentPort
  const days = createDaySimulator(workerData as HistoryDaysSetup)
  port.on('message', (req: Request) => {
    days.simulate(req.window).then(
      (day) =>
        port.postMessage(
          { id: req.id, ok: true, day } satisfies Reply,
          transferablesOf(day.transits),
        ),
      (err: unknown) =>
        port.postMessage({ id: req.id, ok: false, error: String(err) } satisfies Reply),
    )
  })
}
