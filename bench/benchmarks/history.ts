import { Writable } from 'node:stream'
import { loadConfig } from '../../services/shared/config.ts'
import { createLogger } from '../../services/shared/logger.ts'
import { isoWeekdayOf } from '../../services/shared/contracts/local-time.ts'
import {
  loadDistrict,
  readDistrictFile,
} from '../../services/shared/registry/district-repository.ts'
import { loadGatewayRegistry } from '../../services/ingest/ingest-repository.ts'
import { createHistoryPipeline } from '../../services/ingest/history-backfill.ts'
import {
  insertHistoryTransits,
  refreshFootfallWindow,
  transitColumns,
} from '../../services/ingest/history-repository.ts'
import { createSimulation } from '../../simulator/simulation.ts'
import { deriveSeed } from '../../simulator/rng.ts'
import { historyWindows, startHistoryWriter } from '../../start/history-writer.ts'
import { HISTORY_BATCH_INTERVAL_S } from '../../start/history-days.ts'
import { fmt, printNote, printTable, progress } from '../lib/report.ts'
import { openStack, TZ } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

/**
 * The demo history of `miglio start` (SIM_HISTORY, issue #17): seconds per simulated day of the
 * demo district, end to end — the history writer itself (simulator → ingest's pure steps → big
 * INSERTs → aggregate refreshes → progress rows) on a fresh database, alone on it. Then one
 * Saturday (the busiest day) stage by stage, each stage on its own, to show where the time goes:
 * simulating (objects, and the same with the JSON payloads the live simulator publishes), the
 * pipeline's decode + pseudonymise + sessionise, the INSERTs and the refreshes.
 */
const WHAT = 'history'
const DAY = 86_400_000

export async function runHistory(ctx: BenchContext): Promise<BenchResult> {
  const days = ctx.quick ? 3 : 7
  const district = await readDistrictFile('simulator/districts/mestre.json', TZ)
  // A Monday 10:00: the history ends there, today's part included (as on a start at that time).
  const endMs = Date.parse('2026-11-30T09:00:00Z')
  const config = loadConfig({ SIM_HISTORY: `${days}d` })
  const notes: string[] = []

  // 1. End to end: the writer as `miglio start` runs it.
  const stack = await openStack(ctx.target, WHAT)
  const lines: Record<string, unknown>[] = []
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n'))
          if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>)
        cb()
      },
    }),
  })
  let perDay: number
  let rows: (string | number)[][]
  let total: { seconds: number; transits: number; days: number }
  try {
    const db = stack.db()
    await loadDistrict(db, district)
    progress(WHAT, `writing ${days} days of demo history (and today's part) end to end`)
    const t0 = performance.now()
    const outcome = await startHistoryWriter({ config, district, db, tz: TZ, endMs, log }).done
    const seconds = (performance.now() - t0) / 1000
    if (outcome.kind !== 'written') throw new Error(`history writer: ${outcome.kind}`)
    const dayLines = lines.filter((l) => typeof l.date === 'string')
    // Whole days only: today's part (before 10:00) is a small fraction of a day.
    const windows = historyWindows(endMs, days, TZ)
    const wholeDays = windows.filter((w) => w.wholeDay).length
    const partial = windows.find((w) => !w.wholeDay)
    const dayEquivalents = wholeDays + (partial ? (partial.toMs - partial.fromMs) / DAY : 0)
    perDay = seconds / dayEquivalents
    total = { seconds, transits: outcome.transits, days: outcome.days }
    rows = dayLines.map((l) => [
      String(l.date),
      weekdayName(String(l.date)),
      fmt(Number(l.sightings)),
      fmt(Number(l.transits)),
      fmt(Number(l.simulateS), 1),
      fmt(Number(l.writeS), 1),
    ])
  } finally {
    await stack.close()
  }
  printTable(
    `Demo history, end to end (${days} days + today's part, mestre.json, embedded or DATABASE_URL)`,
    ['day', 'weekday', 'sightings', 'transits', 'simulate+pipeline s', 'write s'],
    rows,
  )
  printNote(
    `**${fmt(perDay, 1)} s per simulated day** (${fmt(total.seconds, 1)} s for ${total.days} windows, ` +
      `${fmt(total.transits)} transits); writes overlap the next day's simulation.`,
  )

  // 2. One Saturday, stage by stage.
  const saturday = historyWindows(endMs, 7, TZ).find(
    (w) => w.wholeDay && isoWeekdayOf(w.fromMs, TZ) === 6,
  )
  if (!saturday) throw new Error('no Saturday in the week before the end')
  const simOptions = {
    district,
    seed: deriveSeed(config.simulator.seed, `history-${saturday.date}`),
    fromMs: saturday.fromMs,
    toMs: saturday.toMs,
    scenario: 'demo' as const,
    collectTruth: false,
  }
  progress(WHAT, `profiling ${saturday.date} (a Saturday) stage by stage`)
  const stages: Record<string, number> = {}
  const time = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now()
    const out = await f()
    stages[name] = (performance.now() - t0) / 1000
    return out
  }
  const jsonStats = await time('simulate: JSON payloads, 5 s batches (live form)', () => {
    const sim = createSimulation(simOptions)
    for (const m of sim) void m
    return sim.stats()
  })
  const batches = await time('simulate: batch objects, 5 min batches (history form)', () => {
    const out = []
    const overrides = { batchIntervalS: HISTORY_BATCH_INTERVAL_S }
    for (const m of createSimulation({ ...simOptions, overrides }).batches())
      out.push({ topic: m.topic, batch: m.batch, atMs: m.simTimeMs })
    return out
  })
  const profileStack = await openStack(ctx.target, `${WHAT}-stages`)
  let transits: number
  try {
    const db = profileStack.db()
    await loadDistrict(db, district)
    const gateways = await loadGatewayRegistry(db)
    const pipeline = createHistoryPipeline({
      gateways,
      tz: TZ,
      gapMs: config.ingest.gapMs,
      staticAfterMs: config.ingest.staticAfterMs,
    })
    const day = await time('decode + pseudonymise + sessionise', () => pipeline.runDay(batches))
    transits = day.transits.length
    const list = [...gateways.values()]
    const columns = transitColumns(day.transits, list)
    await time('INSERT transits', () => insertHistoryTransits(db, list, columns))
    await time('refresh aggregates', () => refreshFootfallWindow(db, saturday))
  } finally {
    await profileStack.close()
  }
  printTable(
    `Where a Saturday's time goes (${fmt(jsonStats.sightings)} sightings → ${fmt(transits)} transits)`,
    ['stage', 's'],
    Object.entries(stages).map(([k, v]) => [k, fmt(v, 1)]),
  )
  notes.push(
    'End to end = the history writer alone on a fresh database (no live traffic); the stages run one after another on their own.',
  )
  return {
    settings: { days, district: 'mestre.json', endMs, scenario: 'demo' },
    figures: {
      secondsPerSimulatedDay: perDay,
      totalSeconds: total.seconds,
      windows: total.days,
      transits: total.transits,
      saturday: {
        date: saturday.date,
        sightings: jsonStats.sightings,
        messages: jsonStats.messages,
        transits,
        stages,
      },
    },
    notes,
  }
}

function weekdayName(date: string): string {
  return ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][
    isoWeekdayOf(Date.parse(`${date}T12:00:00Z`), 'UTC')
  ] as string
}
