import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readCapture } from '../bench/lib/brno-capture.ts'
import { buildBenchDistrict, gatewayIdOf, zoneIdOf } from '../bench/lib/district.ts'
import { ingestOffline, registryOf } from '../bench/lib/offline-ingest.ts'
import { main } from '../cli/main.ts'
import {
  formatCountSessionsCsv,
  occupancyCountSessions,
} from '../services/shared/contracts/count-sessions-csv.ts'
import {
  activeCalibrations,
  importCountSessionsCsv,
  listCalibrationVersions,
  listCountSessions,
} from '../services/shared/db/calibrations.ts'
import { loadDistrict } from '../services/shared/registry/district-repository.ts'
import { pauseBackgroundJobs } from '../services/shared/testing/background-jobs.ts'
import { createTestDatabase, type TestDatabase } from '../services/shared/testing/engines.ts'
import { MAC_PATTERN } from '../services/shared/testing/helpers.ts'

// The calibration workflow end to end on the shared Brno captures (issue #16): the captures'
// ground-truth occupancy → a counting-session CSV (`miglio calibration from-occupancy`) → `miglio
// calibration import` → `miglio calibration fit` → a version → activeCalibrations, forward only.
// The transits are the ones ingest's own steps make of the captures (bench/lib/offline-ingest.ts),
// stored at their 2022 times.
const DATASET = fileURLToPath(
  new URL('../../shared/datasets/brno-probe-requests/', import.meta.url),
)
const DAYS = ['2022-10-18', '2022-10-19', '2022-10-25']
const district = buildBenchDistrict({ zones: 1, shopEvery: 1, id: 'brno-lab' })
const GATEWAY = gatewayIdOf(0)
const ZONE = zoneIdOf(0)
let t: TestDatabase
let dir: string

/** Runs the CLI in this process against the test database; returns its exit code and output. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { url: process.env.DATABASE_URL, level: process.env.LOG_LEVEL }
  const out: string[] = []
  const err: string[] = []
  const writeOut = process.stdout.write.bind(process.stdout)
  const writeErr = process.stderr.write.bind(process.stderr)
  process.env.DATABASE_URL = t.url
  process.env.LOG_LEVEL = 'silent'
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write
  try {
    const code = await main(['node', 'miglio', ...args])
    return { code, out: out.join(''), err: err.join('') }
  } finally {
    process.stdout.write = writeOut
    process.stderr.write = writeErr
    if (saved.url === undefined) delete process.env.DATABASE_URL
    else process.env.DATABASE_URL = saved.url
    if (saved.level === undefined) delete process.env.LOG_LEVEL
    else process.env.LOG_LEVEL = saved.level
  }
}

beforeAll(async () => {
  t = await createTestDatabase()
  await pauseBackgroundJobs(t.db)
  await loadDistrict(t.db, district)
  dir = await mkdtemp(join(tmpdir(), 'miglio-calibration-'))
  const registry = registryOf(district)
  const gateway = registry.get(GATEWAY)
  if (!gateway) throw new Error('no gateway')
  for (const day of DAYS) {
    const capture = await readCapture(
      join(DATASET, `position_1_${day}.csv`),
      GATEWAY,
      gateway.rssiFloor,
    )
    const { sessions } = await ingestOffline(capture.batches, {
      gateways: registry,
      gapMs: 120_000,
      staticAfterMs: 4 * 3_600_000,
      timeZone: district.timezone ?? 'Europe/Rome',
    })
    const rows = sessions.map((s) => ({
      first_seen: new Date(s.firstMs),
      last_seen: new Date(s.lastMs),
      gateway_id: s.gatewayId,
      zone_id: s.zoneId,
      shop_id: ZONE,
      pseudonym: s.pseudonym,
      dwell_s: (s.lastMs - s.firstMs) / 1000,
      peak_rssi: s.peakRssi,
      samples: s.samples,
      radio: s.radio,
      randomised: s.randomised,
      visitor: false,
      threshold_version: 1,
    }))
    for (let i = 0; i < rows.length; i += 1000)
      await t.db
        .insertInto('transits')
        .values(rows.slice(i, i + 1000))
        .execute()
  }
}, 120_000)

afterAll(async () => {
  await t?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('calibration end to end on the Brno captures', () => {
  it('occupancy → CSV → import → fit → a version in force forward only', async () => {
    // 1. The captures' occupancy as counting sessions, one CSV per day, as the CLI writes them.
    const files: string[] = []
    for (const day of DAYS) {
      const out = join(dir, `counts-${day}.csv`)
      const r = await cli([
        'calibration',
        'from-occupancy',
        join(DATASET, `position_1_${day}.csv`),
        '--zone',
        ZONE,
        '--out',
        out,
      ])
      expect(r.code, r.err).toBe(0)
      files.push(out)
    }
    const csv = await readFile(files[0] ?? '', 'utf8')
    expect(csv.split('\n')[0]).toBe('zone,start,end,kind,people,counted_by,gateway,note')
    expect(csv).not.toMatch(MAC_PATTERN)
    const direct = occupancyCountSessions(
      await readFile(join(DATASET, `position_1_${DAYS[0]}.csv`), 'utf8'),
      { zone: ZONE, timeZone: 'Europe/Prague' },
    )
    expect(direct.ok && formatCountSessionsCsv(direct.sessions)).toBe(csv)

    // 2. A file with one bad line is refused whole, naming the line.
    const lines = (await readFile(files[1] ?? '', 'utf8')).trimEnd().split('\n')
    const bad = [...lines.slice(0, 3), lines[3]?.replace(/,present,[\d.]+,/, ',present,-1,')]
    await writeFile(join(dir, 'bad.csv'), [...bad, ...lines.slice(4)].join('\n'))
    const refused = await cli(['calibration', 'import', join(dir, 'bad.csv')])
    expect(refused.code).toBe(1)
    expect(refused.err).toBe(
      'miglio: line 4: people: a count of people cannot be negative; nothing imported\n',
    )
    expect(await listCountSessions(t.db)).toEqual([])

    // 3. The three days imported (35 sessions of 15 minutes), then fitted.
    let imported = 0
    for (const f of files) {
      const r = await cli(['calibration', 'import', f])
      expect(r.code, r.err).toBe(0)
      imported += Number(/imported (\d+) counting sessions/.exec(r.out)?.[1])
    }
    expect(imported).toBe(35)
    expect((await listCountSessions(t.db, { zoneId: ZONE })).length).toBe(35)
    // Importing a file again is refused (the same counts are already recorded), nothing doubled.
    const again = await importCountSessionsCsv(t.db, csv, Date.now()).catch((e: Error) => e)
    expect(String(again)).toMatch(/line 2: the same count is already recorded/)

    const before = Date.now()
    const fit = await cli(['calibration', 'fit'])
    expect(fit.code, fit.err).toBe(0)
    expect(fit.out).toMatch(
      new RegExp(
        `^${GATEWAY}: version 1 in force from \\S+ — MAE [\\d.]+ people, MAPE [\\d.]+ %, coverage \\d+ %, 35 sessions\\n$`,
      ),
    )
    console.info(`Brno calibration (3 days, 15 min, leave-one-day-out): ${fit.out.trim()}`)

    // 4. In force from its fit time on; never for the counted days, never before the fit.
    const [v] = await listCalibrationVersions(t.db)
    expect(v?.version).toBe(1)
    const validFrom = v?.validFrom.getTime() ?? 0
    expect(validFrom).toBeGreaterThanOrEqual(before - 1000)
    expect(v?.quality.sessions).toBe(35)
    expect(v?.quality.coveragePct).toBeGreaterThan(0)
    const at = (ms: number) => activeCalibrations(t.db, { zoneIds: [ZONE], at: new Date(ms) })
    expect((await at(Date.parse('2022-10-25T12:00:00Z'))).size).toBe(0)
    expect((await at(validFrom - 1)).size).toBe(0)
    const now = await at(validFrom)
    expect(now.get(GATEWAY)?.version).toBe(1)
    expect(now.get(GATEWAY)?.model.present?.quality.heldOut).toBe('day')
  }, 120_000)
})
