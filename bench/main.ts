/**
 * `npm run bench` — Miglio's benchmarks: ingest throughput beside a naive baseline and a peer, latency,
 * queries over a year of aggregates, ingest memory, storage per row, counting accuracy and
 * sightings/s through each gateway format's adapter.
 *
 *   npm run bench                      full run (3 repeats, a year of data)
 *   npm run bench -- --quick           short run (1 repeat, 30 days of data)
 *   npm run bench -- --only ingest,queries
 *   npm run bench -- --only brno --brno-dir <dir>   (also on the whole Brno corpus; or BRNO_DIR)
 *
 * Against the embedded TimescaleDB and Aedes it starts itself (temporary data directories), or
 * against DATABASE_URL / MQTT_URL when set: on a server it creates a fresh database per benchmark
 * (and drops it afterwards), never touching an existing one. Results: bench/results/<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { machineInfo, openTarget, packageVersions, RefusedError, type Target } from './lib/stack.ts'
import { progress } from './lib/report.ts'
import type { BenchContext, BenchResult } from './lib/context.ts'
import { runThroughput } from './benchmarks/throughput.ts'
import { runLatency } from './benchmarks/latency.ts'
import { runQueries, runStorage, closeYearDataset } from './benchmarks/queries.ts'
import { runMemory } from './benchmarks/memory.ts'
import { runAccuracy } from './benchmarks/accuracy.ts'
import { runBrno } from './benchmarks/brno.ts'
import { runFormats } from './benchmarks/formats.ts'
import { runForecast } from './benchmarks/forecast.ts'
import { runAlerts } from './benchmarks/alerts.ts'
import { runHistory } from './benchmarks/history.ts'
import { runHotPath } from './benchmarks/hot-path.ts'
import { runReplicas } from './benchmarks/replicas.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<BenchResult>> = {
  ingest: runThroughput,
  latency: runLatency,
  queries: runQueries,
  memory: runMemory,
  storage: runStorage,
  accuracy: runAccuracy,
  brno: runBrno,
  formats: runFormats,
  forecast: runForecast,
  alerts: runAlerts,
  history: runHistory,
  hotpath: runHotPath,
  replicas: runReplicas,
}

const HELP = `usage: npm run bench [-- [--quick] [--only <names>] [--brno-dir <dir>]]

  --quick          a short run: 1 repeat, 5 s load steps, 30 days of aggregates (~6 min on 2 cores)
  --only <names>   comma-separated, from: ${Object.keys(BENCHMARKS).join(', ')}
                   (ingest includes the naive baseline and the acknowledge-on-receipt peer;
                   replicas needs MQTT_URL and DATABASE_URL: 2 ingest replicas on $share)
  --brno-dir <dir> the whole Brno corpus (a clone's DATA/sc6-61/_CSV: position_*/**.csv): brno
                   evaluates the people estimator on every day too (bench/README.md, Brno)
  --help

environment:
  DATABASE_URL     a TimescaleDB server; the role must be allowed to CREATE DATABASE (a fresh
                   database per benchmark, dropped afterwards). Default: embedded PGlite-TimescaleDB.
  MQTT_URL         an MQTT broker (topics under a run-unique prefix). Default: embedded Aedes.
  BRNO_DIR         as --brno-dir.
`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'brno-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const names = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : Object.keys(BENCHMARKS)
  const unknown = names.filter((n) => !(n in BENCHMARKS))
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}\n\n${HELP}`)
    return 2
  }
  const quick = values.quick ?? false
  let target: Target
  try {
    target = await openTarget({
      DATABASE_URL: process.env.DATABASE_URL,
      MQTT_URL: process.env.MQTT_URL,
    })
  } catch (err) {
    if (err instanceof RefusedError) {
      process.stderr.write(`bench refused: ${err.message}\n`)
      return 2
    }
    throw err
  }
  const ctx: BenchContext = {
    quick,
    repeats: quick ? 1 : 3,
    target,
    shared: {},
    versions: {},
  }
  const brnoDir = values['brno-dir'] ?? process.env.BRNO_DIR
  if (brnoDir) ctx.brnoDir = brnoDir
  const startedAt = new Date()
  const file = join(
    ROOT,
    'bench',
    'results',
    `${startedAt
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z')}.json`,
  )
  const results: Record<string, BenchResult | { error: string }> = {}
  const write = () => {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
    writeFileSync(
      file,
      JSON.stringify(
        {
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          mode: quick ? 'quick' : 'full',
          benchmarks: names,
          machine: machineInfo(),
          versions: { packages: packageVersions(ROOT), ...ctx.versions },
          settings: {
            repeats: ctx.repeats,
            database: target.databaseUrl
              ? 'DATABASE_URL (fresh database per benchmark)'
              : 'embedded PGlite-TimescaleDB (temporary data directory)',
            broker: target.brokerKind === 'env' ? 'MQTT_URL' : 'embedded Aedes',
          },
          results,
        },
        null,
        2,
      ) + '\n',
    )
  }
  progress('bench', `${quick ? 'quick' : 'full'} run of ${names.join(', ')}; results → ${file}`)
  let failed = false
  try {
    for (const name of names) {
      const bench = BENCHMARKS[name]
      if (!bench) continue
      const t0 = Date.now()
      progress(name, 'starting')
      const loadStart = loadavg()[0] ?? NaN
      try {
        const r = await bench(ctx)
        r.loadAverage = { start: loadStart, end: loadavg()[0] ?? NaN }
        results[name] = r
        if (loadStart > 1.5 || r.loadAverage.end > 1.5)
          process.stdout.write(
            `   note: 1-minute load average ${loadStart.toFixed(1)} → ${r.loadAverage.end.toFixed(1)} on ${cpus().length} CPUs: other work shared this machine\n`,
          )
      } catch (err) {
        failed = true
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err)
        results[name] = { error: message }
        process.stderr.write(`benchmark ${name} failed: ${message}\n`)
      }
      progress(name, `done in ${Math.round((Date.now() - t0) / 1000)} s`)
      write()
    }
  } finally {
    await closeYearDataset()
    await target.close()
  }
  write()
  process.stdout.write(`\nresults written to ${file}\n`)
  return failed ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exit(1)
  },
)
