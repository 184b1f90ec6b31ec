import { sql } from 'kysely'
import { sumFootfallByWeekdayHour } from '../../services/api/queries/footfall-queries.ts'
import { generateYear, type GenerateYearResult } from '../generate-year.ts'
import { zoneIdOf } from '../lib/district.ts'
import { fmt, nowMs, printNote, printTable, progress, quantile } from '../lib/report.ts'
import { openStack, serverVersions, TZ, type Stack } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const ZONES = 50

/** The generated history, shared by the query and storage benchmarks of one run. */
let dataset: { stack: Stack; generated: GenerateYearResult; days: number } | null = null

async function yearDataset(ctx: BenchContext) {
  const days = ctx.quick ? 30 : 365
  if (dataset && dataset.days === days) return dataset
  await closeYearDataset()
  const stack = await openStack(ctx.target, 'queries')
  try {
    Object.assign(ctx.versions, await serverVersions(stack.db()))
    progress('queries', `generating ${days} days × 96 cells × ${ZONES} zones of footfall`)
    const generated = await generateYear({
      db: stack.db(),
      zones: ZONES,
      days,
      onProgress: (m) => progress('queries', m),
    })
    dataset = { stack, generated, days }
    return dataset
  } catch (err) {
    await stack.close()
    throw err
  }
}

export async function closeYearDataset(): Promise<void> {
  const d = dataset
  dataset = null
  await d?.stack.close()
}

type QueryCase = { name: string; what: string; run: () => Promise<number> }

export async function runQueries(ctx: BenchContext): Promise<BenchResult> {
  const { stack, generated } = await yearDataset(ctx)
  const db = stack.db()
  const from = new Date(generated.fromMs)
  const to = new Date(generated.toMs)
  const monthFrom = new Date(generated.toMs - 30 * 86_400_000)
  const zone = zoneIdOf(7)
  // Reference forms (not what the API runs): every aggregate row converted to local time.
  const heatmap = (view: 'footfall_15m' | 'footfall_1h') => async () => {
    const r = await sql<{ weekday: number; hour: number; transits: string }>`
      SELECT extract(isodow FROM bucket AT TIME ZONE ${TZ})::int AS weekday,
             extract(hour FROM bucket AT TIME ZONE ${TZ})::int AS hour,
             sum(passers_by + visitors)::bigint AS transits
      FROM ${sql.table(view)}
      WHERE bucket >= ${from} AND bucket < ${to}
      GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)
    return r.rows.length
  }
  const cases: QueryCase[] = [
    {
      name: 'API heatmap, all zones',
      what: `sumFootfallByWeekdayHour (services/api/queries/footfall-queries.ts, what GET /api/v1/footfall/heatmap runs): footfall_1h, 50 zones summed per hour, then ISO weekday × local hour (${TZ}) over the whole range`,
      run: async () => (await sumFootfallByWeekdayHour(db, { from, to, tz: TZ })).length,
    },
    {
      name: 'API heatmap, one zone',
      what: 'the same function for one zone',
      run: async () =>
        (await sumFootfallByWeekdayHour(db, { from, to, tz: TZ, zoneId: zone })).length,
    },
    {
      name: 'API heatmap, one shop',
      what: "the same function for one shop's gateways (a shopkeeper's view)",
      run: async () =>
        (await sumFootfallByWeekdayHour(db, { from, to, tz: TZ, shopId: zone })).length,
    },
    {
      name: 'heatmap, per-row conversion (footfall_1h)',
      what: 'reference: the form the API used before (every aggregate row converted to local time, then summed)',
      run: heatmap('footfall_1h'),
    },
    {
      name: 'heatmap, per-row conversion (footfall_15m)',
      what: 'reference: the same from the 15-minute aggregate, per-row conversion',
      run: heatmap('footfall_15m'),
    },
    {
      name: 'heatmap, summed first (footfall_15m)',
      what: 'reference: the 15-minute aggregate, 50 zones summed per bucket before the time-zone conversion',
      run: async () => {
        const r = await sql`
          SELECT extract(isodow FROM bucket AT TIME ZONE ${TZ})::int AS weekday,
                 extract(hour FROM bucket AT TIME ZONE ${TZ})::int AS hour,
                 sum(transits)::bigint AS transits
          FROM (SELECT bucket, sum(passers_by + visitors) AS transits FROM footfall_15m
                WHERE bucket >= ${from} AND bucket < ${to} GROUP BY bucket) AS b
          GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)
        return r.rows.length
      },
    },
    {
      name: 'footfall range (1 zone, 30 days, 1h)',
      what: 'footfall_1h for one zone over the last 30 days, per bucket (the shape of GET /api/v1/footfall)',
      run: async () => {
        const r = await sql`
          SELECT zone_id, bucket, sum(passers_by)::int AS passers_by, sum(visitors)::int AS visitors,
                 sum(dwell_s_sum)::float8 AS dwell_s_sum, sum(estimated_people)::float8 AS estimated_people
          FROM footfall_1h
          WHERE bucket >= ${monthFrom} AND bucket < ${to} AND zone_id = ${zone}
          GROUP BY zone_id, bucket ORDER BY bucket`.execute(db)
        return r.rows.length
      },
    },
    {
      name: 'flows (30 days, all pairs)',
      what: 'flows_hourly: origin → destination totals over the last 30 days, top 20',
      run: async () => {
        const r = await sql`
          SELECT origin_zone_id, dest_zone_id, sum(flows)::bigint AS flows,
                 avg(travel_s_median)::real AS travel_s_median
          FROM flows_hourly WHERE bucket >= ${monthFrom} AND bucket < ${to}
          GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 20`.execute(db)
        return r.rows.length
      },
    },
    {
      name: 'flows (whole range, one origin, by hour)',
      what: 'flows_hourly: one origin zone over the whole range, per destination and local hour',
      run: async () => {
        const r = await sql`
          SELECT dest_zone_id, extract(hour FROM bucket AT TIME ZONE ${TZ})::int AS hour,
                 sum(flows)::bigint AS flows
          FROM flows_hourly WHERE origin_zone_id = ${zone} AND bucket >= ${from} AND bucket < ${to}
          GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)
        return r.rows.length
      },
    },
  ]
  const runs = ctx.quick ? 10 : 30
  const figures: Record<string, unknown> = {}
  const rows: string[][] = []
  for (const c of cases) {
    progress('queries', `${c.name}: 2 warm-up + ${runs} timed runs`)
    let resultRows = 0
    for (let i = 0; i < 2; i++) resultRows = await c.run()
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const t = nowMs()
      await c.run()
      times.push(nowMs() - t)
    }
    const f = {
      what: c.what,
      resultRows,
      runs,
      p50Ms: quantile(times, 0.5),
      p95Ms: quantile(times, 0.95),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
    }
    figures[c.name] = f
    rows.push([
      c.name,
      fmt(f.p50Ms, 1),
      fmt(f.p95Ms, 1),
      fmt(f.minMs, 1),
      fmt(f.maxMs, 1),
      fmt(resultRows),
    ])
  }
  const cells = await sql<{ n: string }>`SELECT count(*) AS n FROM footfall_15m`.execute(db)
  printTable(
    `Queries (${generated.days} days × ${ZONES} zones = ${fmt(Number(cells.rows[0]?.n ?? 0))} footfall_15m cells; ${runs} runs after 2 warm-ups)`,
    ['query', 'p50 ms', 'p95 ms', 'min ms', 'max ms', 'rows'],
    rows,
  )
  printNote(
    `target: year heatmap for 50 zones p95 ≤ 150 ms on a real TimescaleDB, ≤ 500 ms embedded (this run: ${stack.kind}${generated.days < 365 ? `, only ${generated.days} days — quick mode` : ''})`,
  )
  printNote(
    `generation: ${fmt(generated.transits)} transits in ${fmt(generated.seconds.transits, 1)} s (${fmt(generated.transits / generated.seconds.transits)} rows/s), refresh 15m/1h/1d ${fmt(generated.seconds.refresh15m, 1)}/${fmt(generated.seconds.refresh1h, 1)}/${fmt(generated.seconds.refresh1d, 1)} s, compression ${fmt(generated.seconds.compress, 1)} s`,
  )
  return {
    settings: {
      zones: ZONES,
      days: generated.days,
      range: { from: from.toISOString(), to: to.toISOString() },
      timedRuns: runs,
      warmups: 2,
      database: stack.kind,
      compressed: generated.compressedChunks,
    },
    figures: {
      cells: Number(cells.rows[0]?.n ?? 0),
      generation: {
        transits: generated.transits,
        flowsHourly: generated.flowsHourly,
        seconds: generated.seconds,
      },
      queries: figures,
    },
    notes: [],
  }
}

type SizeRow = {
  chunks: string
  rows: string
  heap: string
  toast: string
  index: string
  before_heap: string
  before_toast: string
  before_index: string
}

export async function runStorage(ctx: BenchContext): Promise<BenchResult> {
  const { stack, generated } = await yearDataset(ctx)
  const db = stack.db()
  const mat = await sql<{ view: string; name: string }>`
    SELECT view_name AS view, materialization_hypertable_name AS name
    FROM timescaledb_information.continuous_aggregates`.execute(db)
  const hypertableOf = (rel: string) => mat.rows.find((r) => r.view === rel)?.name ?? rel
  const figures: Record<string, unknown> = {}
  const rows: string[][] = []
  for (const rel of ['transits', 'footfall_15m', 'footfall_1h']) {
    const r = await sql<SizeRow>`
      SELECT count(*) AS chunks,
             coalesce(sum(s.numrows_pre_compression), 0) AS rows,
             coalesce(sum(s.compressed_heap_size), 0) AS heap,
             coalesce(sum(s.compressed_toast_size), 0) AS toast,
             coalesce(sum(s.compressed_index_size), 0) AS index,
             coalesce(sum(s.uncompressed_heap_size), 0) AS before_heap,
             coalesce(sum(s.uncompressed_toast_size), 0) AS before_toast,
             coalesce(sum(s.uncompressed_index_size), 0) AS before_index
      FROM _timescaledb_catalog.compression_chunk_size s
      JOIN _timescaledb_catalog.chunk c ON c.id = s.chunk_id
      JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
      WHERE h.table_name = ${hypertableOf(rel)}`.execute(db)
    const x = r.rows[0]
    const n = Number(x?.rows ?? 0)
    const after = Number(x?.heap ?? 0) + Number(x?.toast ?? 0) + Number(x?.index ?? 0)
    const before =
      Number(x?.before_heap ?? 0) + Number(x?.before_toast ?? 0) + Number(x?.before_index ?? 0)
    const f = {
      compressedChunks: Number(x?.chunks ?? 0),
      rows: n,
      bytesPerRowCompressed: n ? after / n : NaN,
      bytesPerRowCompressedHeapOnly: n ? (Number(x?.heap ?? 0) + Number(x?.toast ?? 0)) / n : NaN,
      bytesPerRowUncompressed: n ? before / n : NaN,
      compressionRatio: after ? before / after : NaN,
    }
    figures[rel] = f
    rows.push([
      rel,
      fmt(f.compressedChunks),
      fmt(n),
      fmt(f.bytesPerRowCompressed, 1),
      fmt(f.bytesPerRowCompressedHeapOnly, 1),
      fmt(f.bytesPerRowUncompressed, 1),
      fmt(f.compressionRatio, 1),
    ])
  }
  printTable(
    `Storage after compression (compressed chunks only; ${generated.days} days of synthetic history, pseudonyms NULL as after the 48 h retention)`,
    ['relation', 'chunks', 'rows', 'B/row', 'B/row (no index)', 'B/row uncompressed', 'ratio'],
    rows,
  )
  printNote(
    'target: ≤ 12 B per compressed aggregate row (footfall_15m); B/row includes heap, TOAST and indexes',
  )
  return {
    settings: {
      source: 'the queries benchmark dataset',
      days: generated.days,
      database: stack.kind,
    },
    figures,
    notes: [],
  }
}
