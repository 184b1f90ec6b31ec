/**
 * Synthetic footfall history for the query and storage benchmarks: `days` days × 96 fifteen-minute
 * cells × `zones` zones (365 × 96 × 50 = 1.75 M cells), each cell with 1–5 transits shaped like a
 * shopping day (local hours of the district's time zone), inserted as transits with INSERT … SELECT FROM unnest in
 * chunks; hourly flows between neighbouring zones; then the continuous aggregates are refreshed
 * (15 min, 1 h, 1 day, each its own statement) and chunks past each compression policy's age are
 * compressed (footfall_15m > 7 days, footfall_1h > 30 days, footfall_1d > 90 days, transits > 3 days).
 * Pseudonyms are NULL, as in every transit older than 48 h (privacy retention).
 *
 *   node --import tsx bench/generate-year.ts --zones 50 --days 365 [--data-dir <dir>] [--no-compress]
 *
 * Without DATABASE_URL it creates (or reuses) an embedded TimescaleDB in --data-dir (default: a new
 * temporary directory, kept and printed). With DATABASE_URL it writes into that database, which must
 * hold no district other than the benchmark's (--force to override).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import type { Db } from '../services/shared/db/create-db.ts'
import { createDb } from '../services/shared/db/create-db.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import { startEmbeddedTimescale } from '../services/shared/db/embedded/embedded-timescale.ts'
import { loadDistrict } from '../services/shared/registry/district-repository.ts'
import { localHourOf } from '../services/shared/contracts/local-time.ts'
import { SHOPPING_DAY_HOURS } from '../simulator/street-model.ts'
import { createRng } from '../simulator/rng.ts'
import { buildBenchDistrict, gatewayIdOf, zoneIdOf } from './lib/district.ts'

export const YEAR_DISTRICT_ID = 'bench-year'
const CELL_MS = 15 * 60_000
const DAY_MS = 86_400_000

export type GenerateYearOptions = {
  db: Db
  zones: number
  days: number
  /** End of the generated range (exclusive); default: the current 15-minute boundary. */
  endMs?: number
  seed?: number
  /** Compress chunks past each compression policy's age. Default true. */
  compress?: boolean
  onProgress?: (message: string) => void
}

export type GenerateYearResult = {
  fromMs: number
  toMs: number
  zones: number
  days: number
  cells: number
  transits: number
  flowsHourly: number
  seconds: {
    transits: number
    flows: number
    refresh15m: number
    refresh1h: number
    refresh1d: number
    compress: number
  }
  compressedChunks: Record<string, number>
}

export async function generateYear(o: GenerateYearOptions): Promise<GenerateYearResult> {
  const say = o.onProgress ?? (() => undefined)
  const { db, zones, days } = o
  const rng = createRng(o.seed ?? 20261121)
  const toMs = o.endMs ?? Math.floor(Date.now() / CELL_MS) * CELL_MS
  const fromMs = toMs - days * DAY_MS
  const district = buildBenchDistrict({ zones, id: YEAR_DISTRICT_ID, shopEvery: 4 })
  await loadDistrict(db, district)
  const localHour = (ms: number) => localHourOf(ms, district.timezone)
  const shopOf = new Map(district.gateways.map((g) => [g.id, g.shopId ?? null]))
  const seconds = { transits: 0, flows: 0, refresh15m: 0, refresh1h: 0, refresh1d: 0, compress: 0 }
  const timed = async <T>(key: keyof typeof seconds, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now()
    const r = await fn()
    seconds[key] += (performance.now() - t) / 1000
    return r
  }

  // Transits, one local-shape-weighted handful per zone and 15-minute cell, a day per statement.
  let transits = 0
  let lastPct = -1
  for (let d = 0; d < days; d++) {
    const cols = {
      f: [] as Date[],
      l: [] as Date[],
      g: [] as string[],
      z: [] as string[],
      s: [] as (string | null)[],
      dw: [] as number[],
      r: [] as number[],
      n: [] as number[],
      ra: [] as string[],
      rnd: [] as boolean[],
      v: [] as boolean[],
    }
    for (let c = 0; c < 96; c++) {
      const cellStart = fromMs + d * DAY_MS + c * CELL_MS
      const shape = SHOPPING_DAY_HOURS[localHour(cellStart)] ?? 1
      for (let zi = 0; zi < zones; zi++) {
        const gw = gatewayIdOf(zi)
        const shop = shopOf.get(gw) ?? null
        const count = 1 + Math.floor(rng.next() * 3 * shape)
        for (let k = 0; k < count; k++) {
          const first = cellStart + Math.floor(rng.next() * CELL_MS)
          const visitor = shop !== null && rng.next() < 0.3
          const dwell = visitor
            ? Math.round(60 + 600 * Math.exp(rng.next() * 1.5 - 0.75) * rng.next())
            : Math.round(5 + rng.next() * 55)
          cols.f.push(new Date(first))
          cols.l.push(new Date(first + dwell * 1000))
          cols.g.push(gw)
          cols.z.push(zoneIdOf(zi))
          cols.s.push(shop)
          cols.dw.push(dwell)
          cols.r.push(
            visitor ? -50 - Math.floor(rng.next() * 17) : -60 - Math.floor(rng.next() * 30),
          )
          cols.n.push(1 + Math.floor(rng.next() * (visitor ? 60 : 8)))
          cols.ra.push(rng.next() < 0.7 ? 'wifi' : 'ble')
          cols.rnd.push(rng.next() < 0.8)
          cols.v.push(visitor)
        }
      }
    }
    await timed('transits', () =>
      sql`
        INSERT INTO transits (first_seen, last_seen, gateway_id, zone_id, shop_id, pseudonym, dwell_s,
                              peak_rssi, samples, radio, randomised, visitor, threshold_version,
                              calibration_factor, calibration_version)
        SELECT f, l, g, z, s, NULL, dw, r, n, ra, rnd, v, 1, 1, 1
        FROM unnest(${cols.f}::timestamptz[], ${cols.l}::timestamptz[], ${cols.g}::text[],
                    ${cols.z}::text[], ${cols.s}::text[], ${cols.dw}::real[], ${cols.r}::smallint[],
                    ${cols.n}::integer[], ${cols.ra}::text[], ${cols.rnd}::boolean[],
                    ${cols.v}::boolean[]) AS u(f, l, g, z, s, dw, r, n, ra, rnd, v)`.execute(db),
    )
    transits += cols.f.length
    const pct = Math.floor(((d + 1) * 10) / days)
    if (pct !== lastPct) {
      lastPct = pct
      say(
        `transits: day ${d + 1}/${days}, ${transits.toLocaleString('en-US')} rows, ${Math.round(transits / seconds.transits).toLocaleString('en-US')} rows/s`,
      )
    }
  }

  // Hourly flows between neighbouring zones (both directions) in the busier hours, plus daily rows.
  let flowsHourly = 0
  for (let d = 0; d < days; d += 30) {
    const hourly = flowColumns()
    const daily = flowColumns()
    for (let dd = d; dd < Math.min(days, d + 30); dd++) {
      const dayStart = fromMs + dd * DAY_MS
      for (let zi = 0; zi + 1 < zones; zi++) {
        for (const [a, b] of [
          [zi, zi + 1],
          [zi + 1, zi],
        ] as const) {
          let dayFlows = 0
          for (let h = 0; h < 24; h++) {
            const bucket = dayStart + h * 3_600_000
            const shape = SHOPPING_DAY_HOURS[localHour(bucket)] ?? 1
            if (shape < 0.3) continue
            const n = 1 + Math.floor(rng.next() * 20 * shape)
            dayFlows += n
            const p50 = 20 + rng.next() * 60
            hourly.add(bucket, zoneIdOf(a), zoneIdOf(b), n, [p50 * 0.6, p50, p50 * 1.6])
          }
          daily.add(dayStart, zoneIdOf(a), zoneIdOf(b), dayFlows, [25, 45, 70])
        }
      }
    }
    for (const [table, c] of [
      ['flows_hourly', hourly],
      ['flows_daily', daily],
    ] as const) {
      await timed('flows', () =>
        sql`
          INSERT INTO ${sql.table(table)} (bucket, origin_zone_id, dest_zone_id, flows, travel_s_p25, travel_s_median, travel_s_p75)
          SELECT * FROM unnest(${c.b}::timestamptz[], ${c.o}::text[], ${c.t}::text[], ${c.n}::integer[],
                               ${c.p25}::real[], ${c.p50}::real[], ${c.p75}::real[])
          ON CONFLICT DO NOTHING`.execute(db),
      )
    }
    flowsHourly += hourly.b.length
  }
  say(`flows: ${flowsHourly.toLocaleString('en-US')} hourly rows in ${seconds.flows.toFixed(1)} s`)

  // Refresh each aggregate over everything, each its own (autocommit) statement.
  say('refreshing footfall_15m (whole range)')
  await timed('refresh15m', () =>
    sql`CALL refresh_continuous_aggregate('footfall_15m', NULL, NULL)`.execute(db),
  )
  say(`footfall_15m refreshed in ${seconds.refresh15m.toFixed(1)} s; refreshing footfall_1h`)
  await timed('refresh1h', () =>
    sql`CALL refresh_continuous_aggregate('footfall_1h', NULL, NULL)`.execute(db),
  )
  say(`footfall_1h refreshed in ${seconds.refresh1h.toFixed(1)} s; refreshing footfall_1d`)
  await timed('refresh1d', () =>
    sql`CALL refresh_continuous_aggregate('footfall_1d', NULL, NULL)`.execute(db),
  )
  say(`footfall_1d refreshed in ${seconds.refresh1d.toFixed(1)} s`)

  const compressedChunks: Record<string, number> = {}
  if (o.compress !== false) {
    for (const [relation, age] of [
      ['footfall_15m', '7 days'],
      ['footfall_1h', '30 days'],
      ['footfall_1d', '90 days'],
      ['transits', '3 days'],
    ] as const) {
      const chunks = await sql<{ c: string }>`
        SELECT c::text AS c FROM show_chunks(${relation}::regclass, older_than => ${age}::interval) AS c`.execute(
        db,
      )
      let n = 0
      for (const { c } of chunks.rows) {
        await timed('compress', () =>
          sql`SELECT compress_chunk(${c}::regclass, if_not_compressed => true)`.execute(db),
        )
        n++
      }
      compressedChunks[relation] = n
      say(
        `compressed ${n} chunk(s) of ${relation} older than ${age} (${seconds.compress.toFixed(1)} s so far)`,
      )
    }
  }
  return {
    fromMs,
    toMs,
    zones,
    days,
    cells: zones * days * 96,
    transits,
    flowsHourly,
    seconds,
    compressedChunks,
  }
}

async function cli(): Promise<number> {
  const { values } = parseArgs({
    options: {
      zones: { type: 'string', default: '50' },
      days: { type: 'string', default: '365' },
      'data-dir': { type: 'string' },
      'no-compress': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(
      'usage: node --import tsx bench/generate-year.ts [--zones 50] [--days 365] [--data-dir <dir>] [--no-compress] [--force]\n',
    )
    return 0
  }
  const zones = Number(values.zones)
  const days = Number(values.days)
  if (!(
    Number.isInteger(zones) &&
    zones > 1 &&
    zones <= 1000 &&
    Number.isInteger(days) &&
    days > 0 &&
    days <= 3650
  )) {
    process.stderr.write('--zones must be an integer in 2..1000 and --days in 1..3650\n')
    return 2
  }
  const say = (m: string) => process.stderr.write(`[generate-year] ${m}\n`)
  let url: string
  let stop: () => Promise<void> = async () => undefined
  let maxConnections = 4
  if (process.env.DATABASE_URL) {
    url = process.env.DATABASE_URL
  } else {
    const dir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'miglio-year-'))
    say(`embedded TimescaleDB in ${dir}`)
    const embedded = await startEmbeddedTimescale({ dataDir: dir })
    url = embedded.url
    maxConnections = 1
    stop = () => embedded.stop()
  }
  const { db } = createDb({ url, maxConnections })
  try {
    await runMigrations(db)
    const others = await db
      .selectFrom('districts')
      .select('id')
      .where('id', '!=', YEAR_DISTRICT_ID)
      .execute()
    if (others.length > 0 && !values.force) {
      process.stderr.write(
        `refusing: the database holds other districts (${others.map((o) => o.id).join(', ')}); synthetic transits would mix with real ones. Use a scratch database, or --force.\n`,
      )
      return 2
    }
    const t = performance.now()
    const r = await generateYear({
      db,
      zones,
      days,
      compress: !values['no-compress'],
      onProgress: say,
    })
    say(
      `done in ${((performance.now() - t) / 1000).toFixed(1)} s: ${r.cells.toLocaleString('en-US')} cells, ${r.transits.toLocaleString('en-US')} transits, ${r.flowsHourly.toLocaleString('en-US')} hourly flows, ${new Date(r.fromMs).toISOString()} … ${new Date(r.toMs).toISOString()}`,
    )
    return 0
  } finally {
    await db.destroy()
    await stop()
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  cli().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `generate-year failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      )
      process.exit(1)
    },
  )
}

/** Rows of flows_hourly / flows_daily as the columns of one `unnest` insert. */
function flowColumns() {
  const c = {
    b: [] as Date[],
    o: [] as string[],
    t: [] as string[],
    n: [] as number[],
    p25: [] as number[],
    p50: [] as number[],
    p75: [] as number[],
    add(bucketMs: number, origin: string, dest: string, flows: number, travel: number[]) {
      c.b.push(new Date(bucketMs))
      c.o.push(origin)
      c.t.push(dest)
      c.n.push(flows)
      c.p25.push(travel[0] ?? 0)
      c.p50.push(travel[1] ?? 0)
      c.p75.push(travel[2] ?? 0)
    },
  }
  return c
}
