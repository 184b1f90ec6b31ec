import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createLogger } from '../shared/logger.ts'
import { crowdLevel } from './routes/public/index.ts'
import { PublicCrowdResponseSchema } from '../shared/contracts/api.ts'
import { insertTransits, threeShopDistrict, times } from './api-test-helpers.ts'

const log = createLogger({ level: 'silent' })
let database: TestDatabase
let sut: FastifyInstance
let disabled: FastifyInstance
/** The app's clock: tests step it past the 5 s cache. */
let clock = Date.now()

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, threeShopDistrict())
  const deps = { db: database.db, log, checks: { broker: () => ({ up: true }) } }
  sut = await buildApp({ ...deps, options: { publicStreetView: true }, now: () => clock })
  disabled = await buildApp(deps)
})

afterAll(async () => {
  await sut?.close()
  await disabled?.close()
  await database?.close()
})

async function crowd() {
  const res = await sut.inject({ method: 'GET', url: '/api/v1/public/crowd' })
  expect(res.statusCode, res.body).toBe(200)
  return { res, body: PublicCrowdResponseSchema.parse(res.json()) }
}

const levelOf = (body: { zones: { zoneId: string; level: string }[] }, zoneId: string) =>
  body.zones.find((z) => z.zoneId === zoneId)?.level

describe('GET /api/v1/public/crowd', () => {
  it('is not served unless the publicStreetView option is on', async () => {
    const res = await disabled.inject({ method: 'GET', url: '/api/v1/public/crowd' })
    expect(res.statusCode).toBe(404)
  })

  it('answers without a key: street zones only, a level each, no counts and no shop', async () => {
    await insertTransits(database.db, [
      ...times(3, { gateway: 'gw-street-a', at: clock - 60_000 }),
      ...times(300, { gateway: 'gw-shop-one', at: clock - 60_000 }),
    ])

    const { res, body } = await crowd()

    expect(body.windowMinutes).toBe(15)
    expect(body.district).toBe('Test district')
    expect(body.zones).toEqual([
      { zoneId: 'street-a', name: 'Street A', kind: 'street', level: 'quiet' },
    ])
    expect(res.body).not.toMatch(/shop-one|shop-two|shop-three/)
    expect(res.body).not.toMatch(/passersBy|visitors|\b300\b/)
    expect(res.headers['cache-control']).toBe('public, max-age=5')
  })

  it('reads the database at most once per 5 s and moves up the levels as people fill the street', async () => {
    // Devices heard for the whole of the last 15 minutes (and a minute either side): one person
    // present each (uncalibrated), on top of the three passers-by of a minute ago (3/16).
    const stay = { gateway: 'gw-street-a', at: clock - 16 * 60_000, dwellS: 17 * 60 } as const
    await insertTransits(database.db, times(5, stay))
    expect(levelOf((await crowd()).body, 'street-a')).toBe('quiet')

    clock += 6_000
    expect(levelOf((await crowd()).body, 'street-a')).toBe('moderate')

    await insertTransits(database.db, times(15, stay))
    clock += 6_000
    expect(levelOf((await crowd()).body, 'street-a')).toBe('busy')
  })

  it('forgets people gone for more than 15 minutes', async () => {
    clock += 16 * 60_000
    expect(levelOf((await crowd()).body, 'street-a')).toBe('quiet')
  })

  it('is listed in the OpenAPI document without a security requirement', async () => {
    const res = await sut.inject({ method: 'GET', url: '/docs/openapi.json' })
    const doc = res.json() as { paths: Record<string, { get?: { security?: unknown[] } }> }
    expect(doc.paths['/api/v1/public/crowd']?.get?.security).toEqual([])
  })
})

describe(crowdLevel.name, () => {
  it('never calls fewer than k people anything but quiet', () => {
    expect(crowdLevel(4.9, 5, { moderateFrom: 1, busyFrom: 2 })).toBe('quiet')
    expect(crowdLevel(5, 5, { moderateFrom: 1, busyFrom: 2 })).toBe('busy')
  })

  it('splits at the thresholds (people present now)', () => {
    expect(crowdLevel(4.9, 3)).toBe('quiet')
    expect(crowdLevel(5, 3)).toBe('moderate')
    expect(crowdLevel(19.9, 3)).toBe('moderate')
    expect(crowdLevel(20, 3)).toBe('busy')
  })
})
