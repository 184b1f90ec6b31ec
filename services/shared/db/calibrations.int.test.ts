import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CountSessionCreate } from '../contracts/calibration.ts'
import { startOfLocalDay } from '../contracts/local-time.ts'
import { loadDistrict } from '../registry/district-repository.ts'
import { pauseBackgroundJobs } from '../testing/background-jobs.ts'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { seedCountedDay } from '../testing/calibration-fixtures.ts'
import {
  activeCalibrations,
  CountSessionRefused,
  fitCalibrations,
  insertCountSessions,
  listCalibrationRefusals,
  listCountSessions,
} from './calibrations.ts'

// The calibration workflow's storage (issue #16): counting sessions refused one reason at a time,
// fits per gateway stored as versions applied forward only, refusals kept with their reason.
let t: TestDatabase
const TZ = 'Europe/Rome'
const HOUR = 3_600_000
const MIN = 60_000

beforeAll(async () => {
  t = await createTestDatabase()
  await pauseBackgroundJobs(t.db)
  await loadDistrict(t.db, tinyDistrict())
})

afterAll(async () => {
  await t?.close()
})

const iso = (ms: number) => new Date(ms).toISOString()
const session = (over: Partial<CountSessionCreate> & { fromMs: number }): CountSessionCreate => {
  const { fromMs, ...rest } = over
  return {
    zone: 'shop-one',
    from: iso(fromMs),
    to: iso(fromMs + 15 * MIN),
    kind: 'present',
    people: 3,
    countedBy: 'Giulia',
    ...rest,
  }
}

async function refusal(p: Promise<unknown>): Promise<CountSessionRefused> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(CountSessionRefused)
  return err as CountSessionRefused
}

describe('count sessions', () => {
  const base = startOfLocalDay(Date.now(), TZ) - 5 * 24 * HOUR + 9 * HOUR

  it('records a session and lists it', async () => {
    const [s] = await insertCountSessions(
      t.db,
      [session({ fromMs: base, people: 4, gateway: 'gw-shop-one', note: 'door count' })],
      Date.now(),
    )
    expect(s).toMatchObject({
      zone: 'shop-one',
      gateway: 'gw-shop-one',
      people: 4,
      kind: 'present',
    })
    const listed = await listCountSessions(t.db, { zoneId: 'shop-one' })
    expect(listed.map((x) => x.id)).toContain(s?.id)
  })

  it('refuses a window in the future', async () => {
    const e = await refusal(
      insertCountSessions(t.db, [session({ fromMs: Date.now() - 5 * MIN })], Date.now()),
    )
    expect(e.message).toMatch(/ends in the future/)
  })

  it('refuses an unknown zone and an unknown gateway, as not found', async () => {
    const z = await refusal(
      insertCountSessions(t.db, [session({ fromMs: base, zone: 'nowhere' })], Date.now()),
    )
    expect([z.message, z.notFound]).toEqual(['zone nowhere does not exist', true])
    const g = await refusal(
      insertCountSessions(t.db, [session({ fromMs: base, gateway: 'gw-x' })], Date.now()),
    )
    expect([g.message, g.notFound]).toEqual(['gateway gw-x does not exist', true])
  })

  it('refuses a gateway of another zone', async () => {
    const e = await refusal(
      insertCountSessions(t.db, [session({ fromMs: base, gateway: 'gw-street-a' })], Date.now()),
    )
    expect(e.message).toBe('gateway gw-street-a is in zone street-a, not shop-one')
  })

  it('refuses an overlapping session of the same zone and kind that counted otherwise', async () => {
    const e = await refusal(
      insertCountSessions(t.db, [session({ fromMs: base + 5 * MIN, people: 9 })], Date.now()),
    )
    expect(e.message).toMatch(
      /^overlaps count session \d+ of the same zone and kind, which counted 4 people, not 9$/,
    )
    // The same count twice is a duplicate; an agreeing overlap and another kind are fine.
    const d = await refusal(
      insertCountSessions(
        t.db,
        [session({ fromMs: base, people: 4, gateway: 'gw-shop-one' })],
        Date.now(),
      ),
    )
    expect(d.message).toMatch(/^the same count is already recorded \(count session \d+\)$/)
    await insertCountSessions(
      t.db,
      [
        session({ fromMs: base + 5 * MIN, people: 4 }),
        session({ fromMs: base, kind: 'in', people: 7 }),
      ],
      Date.now(),
    )
  })

  it('refuses negative counts and fractional in/out counts in the database too', async () => {
    const n = await refusal(
      insertCountSessions(t.db, [session({ fromMs: base + 2 * HOUR, people: -1 })], Date.now()),
    )
    expect(n.message).toBe('a count of people cannot be negative')
    const f = await refusal(
      insertCountSessions(
        t.db,
        [session({ fromMs: base + 2 * HOUR, kind: 'out', people: 2.5 })],
        Date.now(),
      ),
    )
    expect(f.message).toBe('people counted in or out must be a whole number')
  })

  it('records a batch all or nothing, naming the refused row', async () => {
    const before = (await listCountSessions(t.db)).length
    const e = await refusal(
      insertCountSessions(
        t.db,
        [
          session({ fromMs: base + 3 * HOUR, people: 2 }),
          session({ fromMs: base + 4 * HOUR, people: 2 }),
          session({ fromMs: base + 3 * HOUR + MIN, people: 5 }),
        ],
        Date.now(),
      ),
    )
    expect(e.index).toBe(2)
    expect(e.message).toMatch(/overlaps count session \d+/)
    expect((await listCountSessions(t.db)).length).toBe(before)
  })

  it('holds the rules in SQL for any writer', async () => {
    const insert = (over: Record<string, unknown>) =>
      sql`INSERT INTO count_sessions (zone_id, window_from, window_to, kind, people, counted_by)
          VALUES (${over.zone ?? 'street-a'}, ${over.from ?? new Date(base)}, ${over.to ?? new Date(base + MIN)},
                  'present', ${over.people ?? 1}, 'x')`.execute(t.db)
    await expect(insert({ people: -2 })).rejects.toThrow(/count_sessions_people_not_negative/)
    await expect(insert({ zone: 'nowhere' })).rejects.toThrow(/foreign key/)
    await expect(
      insert({ from: new Date(Date.now() + HOUR), to: new Date(Date.now() + 2 * HOUR) }),
    ).rejects.toThrow(/count_sessions_not_future/)
    await expect(insert({ to: new Date(base - MIN) })).rejects.toThrow(/window_order/)
  })
})

const seedDay = (dayStartMs: number, gatewayId: string, zoneId: string, salt: number) =>
  seedCountedDay(t.db, { dayStartMs, gatewayId, zoneId, salt })

describe('fitting and versions', () => {
  it('refuses a fit from too few sessions, stores why and applies nothing', async () => {
    const day = startOfLocalDay(Date.now(), TZ) - 3 * 24 * HOUR
    const counts = await seedDay(day, 'gw-street-a', 'street-a', 1)
    await insertCountSessions(t.db, counts.slice(0, 5), Date.now())
    const [r] = await fitCalibrations(t.db, { gatewayIds: ['gw-street-a'], timeZone: TZ })
    expect(r).toMatchObject({ gateway: 'gw-street-a', applied: false, version: null })
    expect(r?.reason).toMatch(/5 count sessions of people present; at least 8 are needed/)
    expect((await listCalibrationRefusals(t.db)).map((x) => x.reason)).toContain(r?.reason)
    const active = await activeCalibrations(t.db, { zoneIds: ['street-a'], at: new Date() })
    expect(active.size).toBe(0)
    await insertCountSessions(t.db, counts.slice(5), Date.now())
  })

  it('fits a version in force from its fit time on, never before; a refit supersedes it', async () => {
    for (const [i, back] of [2, 1].entries()) {
      const day = startOfLocalDay(Date.now(), TZ) - back * 24 * HOUR
      await insertCountSessions(
        t.db,
        await seedDay(day, 'gw-street-a', 'street-a', i + 2),
        Date.now(),
      )
    }
    const before = new Date()
    const [r] = await fitCalibrations(t.db, { gatewayIds: ['gw-street-a'], timeZone: TZ })
    expect(r?.applied, r?.reason ?? '').toBe(true)
    const v1 = r?.version
    expect(v1?.version).toBe(1)
    expect(v1?.quality.sessions).toBe(18)
    expect(v1?.present).toBe('factor')
    const validFrom = new Date(v1?.validFrom ?? 0)
    expect(validFrom.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000)
    expect(await listCalibrationRefusals(t.db)).toEqual([])

    const at = (ms: number) => activeCalibrations(t.db, { zoneIds: ['street-a'], at: new Date(ms) })
    expect((await at(validFrom.getTime() - 1)).size).toBe(0)
    const now1 = await at(validFrom.getTime())
    expect(now1.get('gw-street-a')?.version).toBe(1)
    // people ≈ devices / 1.6
    const slope = now1.get('gw-street-a')?.model.present?.coefficients.stable ?? 0
    expect(slope).toBeGreaterThan(0.5)
    expect(slope).toBeLessThan(0.75)

    // Without gateways: every active gateway of a zone with counts (shop-one's too few: refused).
    const all = await fitCalibrations(t.db, { timeZone: TZ })
    expect(all.map((x) => [x.gateway, x.applied])).toEqual([
      ['gw-shop-one', false],
      ['gw-street-a', true],
    ])
    const r2 = all[1]
    const v2From = new Date(r2?.version?.validFrom ?? 0).getTime()
    expect(r2?.version?.version).toBe(2)
    expect(v2From).toBeGreaterThanOrEqual(validFrom.getTime())
    expect((await at(v2From - 1)).get('gw-street-a')?.version).toBe(1)
    expect((await at(v2From)).get('gw-street-a')?.version).toBe(2)
    const v1Row = await t.db
      .selectFrom('calibration_versions')
      .select('superseded_by')
      .where('gateway_id', '=', 'gw-street-a')
      .where('version', '=', 1)
      .executeTakeFirst()
    expect(v1Row?.superseded_by).toBe(2)
    // Another zone asked: nothing of street-a.
    expect((await activeCalibrations(t.db, { zoneIds: ['shop-one'], at: new Date() })).size).toBe(0)
  })

  it('leaves out the counts of a day whose transits lost their pseudonyms, and says so', async () => {
    const day = startOfLocalDay(Date.now(), TZ) - 4 * 24 * HOUR
    await insertCountSessions(t.db, await seedDay(day, 'gw-street-a', 'street-a', 4), Date.now())
    // What the privacy job does to transits older than 44 h.
    await t.db
      .updateTable('transits')
      .set({ pseudonym: null })
      .where('gateway_id', '=', 'gw-street-a')
      .where('first_seen', '>=', new Date(day))
      .where('first_seen', '<', new Date(day + 24 * HOUR))
      .execute()
    const [r] = await fitCalibrations(t.db, { gatewayIds: ['gw-street-a'], timeZone: TZ })
    expect(r?.applied, r?.reason ?? '').toBe(true)
    expect(r?.version?.quality.sessions).toBe(18)
    expect(r?.notes).toHaveLength(1)
    expect(r?.notes[0]).toMatch(
      /^6 count sessions of \d{4}-\d{2}-\d{2} left out: the transits of that day no longer carry pseudonyms \(kept 48 h\)/,
    )
  })

  it('fits, unasked, only the gateways the counts are for', async () => {
    const d = tinyDistrict()
    const zone = d.zones[0]
    const gateway = d.gateways[0]
    if (!zone || !gateway) throw new Error('tinyDistrict changed')
    d.zones.push({ ...zone, id: 'street-b', name: 'Street B' })
    d.gateways.push({ ...gateway, id: 'gw-b1', zoneId: 'street-b' })
    d.gateways.push({ ...gateway, id: 'gw-b2', zoneId: 'street-b' })
    await loadDistrict(t.db, d)
    const from = startOfLocalDay(Date.now(), TZ) - 4 * 24 * HOUR + 9 * HOUR
    await insertCountSessions(
      t.db,
      [session({ fromMs: from, zone: 'street-b', gateway: 'gw-b1' })],
      Date.now(),
    )
    const gateways = (await fitCalibrations(t.db, { timeZone: TZ })).map((r) => r.gateway)
    expect(gateways).toContain('gw-b1')
    expect(gateways).not.toContain('gw-b2')
  })

  it('refuses a version valid from the past in SQL', async () => {
    await expect(
      sql`INSERT INTO calibration_versions (gateway_id, version, zone_id, fitted_at, valid_from,
            model, mae_people, coverage_pct, sessions_used)
          VALUES ('gw-street-a', 99, 'street-a', now() - interval '1 day', now() - interval '1 day',
            '{}'::jsonb, 1, 90, 10)`.execute(t.db),
    ).rejects.toThrow(/forward only/)
  })
})
