/**
 * Choosing the people interval's Mondrian levels on the Brno corpus (bench/README.md §8): every
 * position_1 day through ingest's pure steps, then leave-one-day-out at 15 and 1 minutes for each
 * level scheme, with the coverage and mean width of the 90 % interval per occupancy band. The
 * calibration (gate, form, coefficients) is the same whatever the scheme; only the quantiles
 * differ. `npx tsx bench/interval-levels.ts <corpus dir> [cache file]` (env MINUTES=15,1 and
 * SCHEMES=0,6 to run some). Levels by the chains heard before the RSSI gate (estimates below one
 * person; from one on a level of its own) were compared too, at commit 14897cb: 31–36 % of rooms of
 * one or two people covered; the estimator does not measure them, so they were left out after.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { deserialize, serialize } from 'node:v8'
import {
  calibrateObservations,
  gatesToTry,
  RSSI_GATES,
} from '../services/shared/people/estimator.ts'
import { estimateWith, type LevelScheme } from '../services/shared/people/calibration.ts'
import {
  BANDS,
  discoverCorpus,
  loadCorpusDay,
  measureCorpus,
  type Corpus,
  type CorpusDay,
} from './lib/brno-corpus.ts'

const HOUR = 3_600_000
const dir = process.argv[2] ?? '/work/data/brno-all'
const cache = process.argv[3]

const SCHEMES: { name: string; scheme: LevelScheme | null }[] = [
  { name: 'estimate < 1 | ≥ 1 (session 7)', scheme: null },
  { name: 'devices 0 | (0, 2] | > 2', scheme: { by: 'devices', bounds: [0, 2] } },
  { name: 'devices 0 | (0, 1] | > 1', scheme: { by: 'devices', bounds: [0, 1] } },
  { name: 'devices 0 | (0, 1] | (1, 3] | > 3', scheme: { by: 'devices', bounds: [0, 1, 3] } },
  { name: 'devices 0 | > 0', scheme: { by: 'devices', bounds: [0] } },
  { name: 'estimate ≤ 0.5 | (0.5, 2] | > 2', scheme: { by: 'estimate', bounds: [0.5, 2] } },
  {
    name: 'estimate ≤ 0.25 | (0.25, 1] | > 1 (chosen)',
    scheme: { by: 'estimate', bounds: [0.25, 1] },
  },
  { name: '< 1: devices 0 | > 0; ≥ 1', scheme: { by: 'devices', bounds: [0], fromOne: true } },
  { name: 'estimate ≤ 0.1 | (0.1, 1] | > 1', scheme: { by: 'estimate', bounds: [0.1, 1] } },
  {
    name: 'estimate ≤ 0.25 | (0.25, 0.5] | (0.5, 1] | > 1',
    scheme: { by: 'estimate', bounds: [0.25, 0.5, 1] },
  },
  { name: 'estimate ≤ 0.5 | (0.5, 1] | > 1', scheme: { by: 'estimate', bounds: [0.5, 1] } },
  { name: 'estimate ≤ 0.05 | (0.05, 1] | > 1', scheme: { by: 'estimate', bounds: [0.05, 1] } },
]

async function loadDays(): Promise<CorpusDay[]> {
  if (cache && existsSync(cache)) return deserialize(readFileSync(cache)) as CorpusDay[]
  const files = discoverCorpus(dir).filter((f) => f.position === 'position_1')
  const days: CorpusDay[] = []
  for (const f of files)
    days.push(await loadCorpusDay(f, { gapMs: 120_000, staticAfterMs: 4 * HOUR }))
  if (cache) writeFileSync(cache, serialize(days))
  return days
}

type Row = { truth: number; low: number; high: number }

function evaluate(corpus: Corpus, scheme: LevelScheme | null): Row[] {
  const rows: Row[] = []
  for (const test of corpus.days) {
    const trainDays = corpus.days.filter((d) => d !== test)
    const gates = gatesToTry(trainDays.map((d) => ({ day: d.day.day })))
    const fit = calibrateObservations(
      gates.map((gate) => ({
        gate,
        observations: trainDays.flatMap((d) => d.byGate[RSSI_GATES.indexOf(gate)] ?? []),
      })),
      {
        version: 1,
        fittedAtMs: 0,
        options: corpus.options,
        skipNestedCoverage: true,
        levels: scheme,
      },
    )
    if (!fit.ok) continue
    const gi = RSSI_GATES.indexOf(fit.model.rssiGate)
    for (const x of test.byGate[gi] ?? []) {
      const f = estimateWith(fit.model.present, x.devices)
      if (f) rows.push({ truth: x.session.people, low: f.low, high: f.high })
    }
  }
  return rows
}

const pct = (n: number, d: number) => (d ? ((100 * n) / d).toFixed(1) : '–')
function line(rows: readonly Row[]): string[] {
  const cells = [...BANDS.map((b) => ({ lo: b.lo, hi: b.hi })), { lo: -Infinity, hi: Infinity }]
  return cells.map(({ lo, hi }) => {
    const r = rows.filter((x) => x.truth >= lo && x.truth <= hi)
    const inside = r.filter((x) => x.truth >= x.low - 1e-9 && x.truth <= x.high + 1e-9).length
    const width = r.reduce((a, x) => a + x.high - x.low, 0) / Math.max(1, r.length)
    return `${pct(inside, r.length)} % / ${width.toFixed(2)} (${r.length})`
  })
}

const t0 = Date.now()
const days = await loadDays()
console.log(`${days.length} days loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
const only = process.env.SCHEMES?.split(',').map(Number)
for (const minutes of (process.env.MINUTES ?? '15,1').split(',').map(Number)) {
  const corpus = measureCorpus(days, minutes)
  console.log(`\n${minutes} min: coverage % / mean width (windows) by occupancy`)
  console.log(['scheme', ...BANDS.map((b) => b.name), 'all'].join(' | '))
  for (const [i, s] of SCHEMES.entries()) {
    if (only && !only.includes(i)) continue
    const t = Date.now()
    const rows = evaluate(corpus, s.scheme)
    console.log([s.name, ...line(rows)].join(' | '), ` (${((Date.now() - t) / 1000).toFixed(0)} s)`)
  }
}
