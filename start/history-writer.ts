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
import type { StreetEvent } from '../simulator/street-model.ts'
import {
  startDayWorker,
  type DayWorker,
  type HistoryDaysSetup,
  type SimulatedDay,
} from './history-days.ts'
import { loadGatewayRegistry } from '../services/ingest/ingest-repository.ts'
import {
  insertHistoryFlows,
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

/** Worker threads simulating history days: two use both cores of a small machine. */
const HISTORY_WORKERS = 2

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
    const gateways = await loadGatewayRegistry(db)
    const setup: HistoryDaysSetup = {
      role: 'miglio-history-days',
      district,
      gateways: [...gateways.values()],
      tz,
      gapMs: config.ingest.gapMs,
      staticAfterMs: config.ingest.staticAfterMs,
      seed: config.simulator.seed,
      flatDay: config.simulator.flatDay,
      events: street,
    }
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
    let daysDone = 0
    let keysAlive = 0
    // Days are simulated in worker threads (the main thread stays free for the pages and the live
    // pipeline), while the database writes the days already simulated, one at a time, in the order
    // they come.
    const order = writeOrder(windows)
    const workers = Array.from({ length: Math.min(HISTORY_WORKERS, order.length) }, () =>
      startDayWorker(setup),
    )
    const stopWorkers = () => Promise.all(workers.map((w) => w.terminate()))
    abort.signal.addEventListener('abort', () => void stopWorkers(), { once: true })
    let writes: Promise<void> = Promise.resolve()
    const write = (w: HistoryWindow, day: SimulatedDay, simulatedS: number) => {
      writes = writes.then(async () => {
        const t1 = performance.now()
        const written = await insertHistoryTransits(db, setup.gateways, day.transits)
        if (day.flows) await insertHistoryFlows(db, w, day.flows)
        await refreshFootfallWindow(db, w)
        await recordDemoHistoryDay(db, district.id, written)
        transits += written
        daysDone++
        keysAlive = Math.max(keysAlive, day.keysAlive)
        log.info(
          {
            date: w.date,
            transits: written,
            sightings: day.sightings,
            rejected: day.rejected,
            simulateS: round1(simulatedS),
            writeS: round1((performance.now() - t1) / 1000),
            keysAlive: day.keysAlive,
            daysDone,
            daysTotal: windows.length,
          },
          `demo history: ${w.date} written (${daysDone} of ${windows.length} days: ${Math.floor(daysDone / 7)} of ${weeks} weeks)`,
        )
      })
      return writes
    }
    let next = 0
    const work = async (worker: DayWorker) => {
      // At most one day of each worker waits for the database: memory stays bounded.
      let mine: Promise<void> = Promise.resolve()
      while (next < order.length) {
        abort.signal.throwIfAborted()
        const w = order[next++] as HistoryWindow
        const t0 = performance.now()
        const day = await worker.simulate(w)
        const simulatedS = (performance.now() - t0) / 1000
        await mine
        mine = write(w, day, simulatedS)
        // Awaited before this worker's next day is handed over; a failure meanwhile is not unhandled.
        mine.catch(() => undefined)
      }
      await mine
    }
    try {
      await Promise.all(workers.map(work))
      await writes
    } finally {
      // Never leave a write running behind a stop or a failure (the database closes after us).
      await writes.catch(() => undefined)
      await stopWorkers()
    }
    await finishDemoHistory(db, district.id)
    const seconds = round1((performance.now() - started) / 1000)
    log.info(
      { days: windows.length, transits, seconds, keysAlive },
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
