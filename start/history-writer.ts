import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import type { Db } from '../services/shared/db/create-db.ts'
import type { DistrictFile } from '../services/shared/contracts/district.ts'
import {
  addDays,
  atLocalHour,
  isoWeekdayOf,
  localDateOf,
  startOfLocalDate,
  startOfLocalDay,
} from '../services/shared/contracts/local-time.ts'
import { createSimulation } from '../simulator/simulation.ts'
import { deriveSeed } from '../simulator/rng.ts'
import type { StreetEvent } from '../simulator/street-model.ts'
import { createHistoryPipeline, type HistoryMessage } from '../services/ingest/history-backfill.ts'
import { loadGatewayRegistry } from '../services/ingest/ingest-repository.ts'
import {
  insertHistoryTransits,
  refreshFootfallWindow,
} from '../services/ingest/history-repository.ts'
import {
  claimDemoHistory,
  finishDemoHistory,
  insertDemoEvents,
  recordDemoHistoryDay,
  type DemoEvent,
} from '../services/shared/registry/demo-history-repository.ts'

export type HistoryWriter = {
  /** Settles when the history is written, skipped or stopped (never rejects). */
  done: Promise<HistoryOutcome>
  stop(): Promise<void>
}

export type HistoryOutcome =
  | { kind: 'off' | 'already' | 'stopped' | 'failed' }
  | { kind: 'written'; days: number; transits: number; seconds: number }

/** One window of history: a local day (the newest may end early, where the live backfill starts). */
export type HistoryWindow = {
  date: string
  /** Local days before `endMs`'s day (0: the part of that day before it). */
  back: number
  fromMs: number
  toMs: number
  wholeDay: boolean
}

/**
 * The windows of `days` local days of history before `endMs`, newest first: the part of `endMs`'s
 * own day before it (when there is one), then the whole days before.
 */
export function historyWindows(endMs: number, days: number, tz: string): HistoryWindow[] {
  if (days <= 0) return []
  const out: HistoryWindow[] = []
  const today = localDateOf(endMs, tz)
  const todayStart = startOfLocalDay(endMs, tz)
  if (todayStart < endMs)
    out.push({ date: today, back: 0, fromMs: todayStart, toMs: endMs, wholeDay: false })
  for (let k = 1; k <= days; k++) {
    const date = addDays(today, -k)
    out.push({
      date,
      back: k,
      fromMs: startOfLocalDate(date, tz),
      toMs: startOfLocalDate(addDays(date, 1), tz),
      wholeDay: true,
    })
  }
  return out
}

const round1 = (x: number) => Math.round(x * 10) / 10

/** Weekdays by how soon their comparisons are wanted: today's, yesterday's, tomorrow's, … */
const WEEKDAY_RANK = [0, 1, 3, 5, 6, 4, 2]

/**
 * The order the windows are written in: the partial day first, then the days of today's weekday
 * (newest first: the weeks today's expected range compares with), then yesterday's and tomorrow's
 * weekdays, and so on — so bands for today appear after a few days are written, not after weeks.
 */
export function writeOrder(windows: readonly HistoryWindow[]): HistoryWindow[] {
  const rank = (w: HistoryWindow) => (w.back === 0 ? -1 : (WEEKDAY_RANK[w.back % 7] ?? 7))
  return [...windows].sort((a, b) => rank(a) - rank(b) || a.back - b.back)
}

/**
 * The demo history's events (a couple, whose uplift shows): a market in the district's first square
 * on the Saturday 9–15 days back, afternoon; a concert in its last square on the Friday 30–36 days
 * back, evening. Only those inside the history are kept.
 */
export function demoEvents(
  district: DistrictFile,
  windows: readonly HistoryWindow[],
  tz: string,
): { events: DemoEvent[]; street: StreetEvent[] } {
  const squares = district.zones.filter((z) => z.kind === 'square')
  const first = squares[0] ?? district.zones[0]
  const last = squares.at(-1) ?? district.zones.at(-1)
  if (!first || !last) return { events: [], street: [] }
  const plans = [
    { back: 9, weekday: 6, from: 15, to: 19, zone: first, factor: 2.5, name: 'Mercatino' },
    { back: 30, weekday: 5, from: 18, to: 22, zone: last, factor: 2.2, name: 'Concerto' },
  ]
  const events: DemoEvent[] = []
  const street: StreetEvent[] = []
  for (const [i, p] of plans.entries()) {
    const w = windows
      .filter((x) => x.back >= p.back && x.back < p.back + 7)
      .find((x) => isoWeekdayOf(x.fromMs, tz) === p.weekday && x.toMs - x.fromMs > 20 * 3_600_000)
    if (!w) continue
    const from = atLocalHour(w.fromMs, p.from, tz)
    const to = atLocalHour(w.fromMs, p.to, tz)
    events.push({
      id: `demo-history-${i + 1}`,
      name: `${p.name} — ${p.zone.name} (demo history)`,
      zoneIds: [p.zone.id],
      from: new Date(from),
      to: new Date(to),
    })
    street.push({ zoneId: p.zone.id, fromMs: from, toMs: to, factor: p.factor })
  }
  return { events, street }
}

/** The history's gateways send a batch every 5 minutes (the live demo's every 5 s). */
export const HISTORY_BATCH_INTERVAL_S = 300

/**
 * Simulated sightings batches of one window, as objects (the simulator's own batches need no JSON
 * round trip; the pipeline validates them with the protocol's schema all the same), yielding to the
 * event loop every ~20 ms of work.
 */
async function* windowMessages(
  config: Config,
  district: DistrictFile,
  w: HistoryWindow,
  events: readonly StreetEvent[],
  signal: AbortSignal,
): AsyncGenerator<HistoryMessage> {
  const simulation = createSimulation({
    district,
    seed: deriveSeed(config.simulator.seed, `history-${w.date}`),
    fromMs: w.fromMs,
    toMs: w.toMs,
    scenario: 'demo',
    overrides: {
      // Gateways that send every 5 minutes instead of every 5 s: the same sightings (and the same
      // transits) in 60 times fewer messages, so the per-message work of ingest's steps stops
      // dominating.
      batchIntervalS: HISTORY_BATCH_INTERVAL_S,
      events: events.filter((e) => e.toMs > w.fromMs && e.fromMs < w.toMs),
      ...(config.simulator.flatDay ? { hourShape: Array<number>(24).fill(1) } : {}),
    },
    collectTruth: false,
  })
  let slice = performance.now()
  for (const m of simulation.batches()) {
    yield { topic: m.topic, batch: m.batch, atMs: m.simTimeMs }
    if (performance.now() - slice > 20) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      signal.throwIfAborted()
      slice = performance.now()
    }
  }
}

/**
 * The demo history of `miglio start`: SIM_HISTORY of past district traffic before `endMs` (where the
 * live backfill starts), written ONCE per database (claimed in demo_history first) in the design's
 * explicit, logged backfill mode — the simulator's messages go through ingest's pure steps, each past
 * day with its own key destroyed when the day is done, and the day's transits go straight to the
 * database in big INSERTs, in the background, in `writeOrder`. Progress is logged and recorded
 * (the dashboard shows it); the pages and the live simulator run meanwhile.
 */
export function startHistoryWriter(deps: {
  config: Config
  district: DistrictFile
  db: Db
  tz: string
  endMs: number
  log: Logger
}): HistoryWriter {
  const { config, district, db, tz, log } = deps
  const abort = new AbortController()
  const done = (async (): Promise<HistoryOutcome> => {
    const windows = historyWindows(deps.endMs, config.simulator.historyDays, tz)
    const first = windows.at(-1)
    const newest = windows[0]
    if (!first || !newest) return { kind: 'off' }
    const claim = await claimDemoHistory(db, {
      districtId: district.id,
      from: new Date(first.fromMs),
      to: new Date(newest.toMs),
      daysTotal: windows.length,
    })
    if (!claim.claimed) {
      const on = claim.previous.claimedAt.toISOString()
      log.info(
        { daysDone: claim.previous.daysDone, daysTotal: claim.previous.daysTotal },
        claim.previous.finishedAt
          ? `demo history already written on ${on}; not writing it again`
          : `demo history claimed on ${on} and interrupted; not writing it again`,
      )
      return { kind: 'already' }
    }
    const { events, street } = demoEvents(district, windows, tz)
    await insertDemoEvents(db, events)
    const pipeline = createHistoryPipeline({
      gateways: await loadGatewayRegistry(db),
      tz,
      gapMs: config.ingest.gapMs,
      staticAfterMs: config.ingest.staticAfterMs,
    })
    const weeks = Math.ceil(config.simulator.historyDays / 7)
    log.info(
      {
        mode: 'backfill',
        from: new Date(first.fromMs).toISOString(),
        to: new Date(newest.toMs).toISOString(),
        days: windows.length,
        events: events.map((e) => e.name),
      },
      `demo history: BACKFILL MODE — writing ${weeks} weeks of simulated past traffic once for this database (today's weekday first); each day pseudonymised with its own key, destroyed when the day is written`,
    )
    const started = performance.now()
    let transits = 0
    // Two stages overlap: while the database writes one day (in its own thread, or its own server),
    // this thread simulates and sessionises the next. Days are recorded in order, one at a time.
    let writing: Promise<void> | null = null
    try {
      for (const [i, w] of writeOrder(windows).entries()) {
        abort.signal.throwIfAborted()
        const t0 = performance.now()
        const day = await pipeline.runDay(windowMessages(config, district, w, street, abort.signal))
        const simulatedS = (performance.now() - t0) / 1000
        await writing
        const t1 = performance.now()
        writing = (async () => {
          const written = await insertHistoryTransits(db, day.transits)
          await refreshFootfallWindow(db, w)
          await recordDemoHistoryDay(db, district.id, written)
          transits += written
          const daysDone = i + 1
          log.info(
            {
              date: w.date,
              transits: written,
              sightings: day.sightings,
              rejected: day.rejected,
              seconds: round1(simulatedS + (performance.now() - t1) / 1000),
              simulateS: round1(simulatedS),
              writeS: round1((performance.now() - t1) / 1000),
              daysDone,
              daysTotal: windows.length,
            },
            `demo history: ${w.date} written (${daysDone} of ${windows.length} days: ${Math.floor(daysDone / 7)} of ${weeks} weeks)`,
          )
        })()
        // Awaited before the next day is recorded; a failure meanwhile is not unhandled.
        writing.catch(() => undefined)
      }
      await writing
    } finally {
      // Never leave a write running behind a stop or a failure (the database closes after us).
      await writing?.catch(() => undefined)
    }
    await finishDemoHistory(db, district.id)
    const seconds = round1((performance.now() - started) / 1000)
    log.info(
      { days: windows.length, transits, seconds, keysAlive: pipeline.liveKeys() },
      `demo history: written — ${windows.length} days, ${transits} transits in ${seconds} s; backfill mode ended, every day's key destroyed`,
    )
    return { kind: 'written', days: windows.length, transits, seconds }
  })().catch((err: unknown): HistoryOutcome => {
    if (abort.signal.aborted) {
      log.info('demo history stopped before its end (not resumed by a later start)')
      return { kind: 'stopped' }
    }
    log.error({ err: String(err) }, 'demo history stopped on an error')
    return { kind: 'failed' }
  })
  return {
    done,
    async stop() {
      abort.abort()
      await done
    },
  }
}
