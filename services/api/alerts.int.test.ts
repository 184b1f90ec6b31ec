import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { evaluateAlerts } from './lib/alert-evaluator.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../shared/testing/background-jobs.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { createLogger } from '../shared/logger.ts'
import { AlertSchema, AlertsResponseSchema } from '../shared/contracts/ranges-api.ts'
import {
  bearer,
  insertTransits,
  threeShopDistrict,
  times,
  type TransitFixture,
} from './api-test-helpers.ts'

// Alerts, one kind per case, evaluated against a real database: Monday 14 December 2026, 12:30 Rome.
const NOW = Date.parse('2026-12-14T11:30:00Z')
const MIN = 60_000
const tz = 'Europe/Rome'
let database: TestDatabase
let sut: FastifyInstance
const keys = { analyst: '', two: '', one: '' }
const MONDAYS = ['2026-11-16', '2026-11-23', '2026-11-30', '2026-12-07']

const at = (gateway: TransitFixture['gateway'], iso: string, n: number) =>
  times(n, { gateway, at: iso })

async function gatewayHeard(id: string, atMs: number) {
  await database.db
    .insertInto('gateway_state')
    .values({ gateway_id: id, last_message_at: new Date(atMs) })
    .onConflict((oc) => oc.column('gateway_id').doUpdateSet({ last_message_at: new Date(atMs) }))
    .execute()
}

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  keys.analyst = (await createApiKey(db, { role: 'analyst', label: 'a' })).key
  keys.two = (await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-two', label: '2' })).key
  keys.one = (await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: '1' })).key
  await insertTransits(db, [
    // street-a: 10 an hour at 10, 11 and 12 local on the Mondays before; 60 an hour today.
    ...MONDAYS.flatMap((d) =>
      ['08', '09', '10'].flatMap((h) => at('gw-street-a', `${d}T${h}:20:00Z`, 10)),
    ),
    ...['08', '09', '10'].flatMap((h) => at('gw-street-a', `2026-12-14T${h}:20:00Z`, 60)),
    // gw-shop-one: 40 between 11:30 and 12:30 local on the Mondays before; 2 today.
    ...MONDAYS.flatMap((d) => at('gw-shop-one', `${d}T10:45:00Z`, 40)),
    ...at('gw-shop-one', '2026-12-14T10:45:00Z', 2),
  ])
  await gatewayHeard('gw-street-a', NOW - MIN)
  await gatewayHeard('gw-shop-one', NOW - MIN)
  await gatewayHeard('gw-shop-two', NOW - 20 * MIN) // silent
  await gatewayHeard('gw-shop-three', NOW - 2 * MIN)
  // 30 dead letters in the last hour, none the day before.
  await sql`
    INSERT INTO dead_letters (received_at, topic, gateway_id, reason, detail, payload_bytes, payload_redacted)
    SELECT ${new Date(NOW)}::timestamptz - i * INTERVAL '1 minute', 'miglio/v1/gw/gw-street-a/sightings',
           'gw-street-a', 'schema', 'sightings: required', 2, '{}'
    FROM generate_series(1, 30) AS i`.execute(db)
  sut = await buildApp({
    db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { rateLimit: { enabled: false } },
  })
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
})

const list = async (key = keys.analyst, state = 'open') => {
  const res = await sut.inject({
    method: 'GET',
    url: `/api/v1/alerts?state=${state}`,
    headers: bearer(key),
  })
  expect(res.statusCode, res.body).toBe(200)
  return AlertsResponseSchema.parse(res.json()).alerts
}

describe('alerts', () => {
  it('raises one alert per kind and subject, once', async () => {
    const first = await evaluateAlerts(database.db, NOW, tz)
    const raised = first?.raised ?? []
    const of = (kind: string) => raised.filter((a) => a.kind === kind)
    expect(of('zone_outside_band')).toMatchObject([
      { zoneId: 'street-a', details: { direction: 'above', value: 60, usual: 10 } },
    ])
    expect(of('gateway_silent')).toMatchObject([{ gatewayId: 'gw-shop-two', shopId: 'shop-two' }])
    expect(of('gateway_rate_collapse')).toMatchObject([
      { gatewayId: 'gw-shop-one', details: { lastHour: 2, usual: 40 } },
    ])
    expect(of('dead_letters_rising')).toMatchObject([{ details: { lastHour: 30 } }])
    expect(raised).toHaveLength(4)
    const again = await evaluateAlerts(database.db, NOW, tz)
    expect(again).toMatchObject({ raised: [], cleared: [] })
    expect(await list()).toHaveLength(4)
  })

  it('clears an alert whose condition is gone, and keeps it listed with state=all', async () => {
    await gatewayHeard('gw-shop-two', NOW - MIN)
    const result = await evaluateAlerts(database.db, NOW, tz)
    expect(result?.cleared.map((a) => a.kind)).toEqual(['gateway_silent'])
    expect((await list()).map((a) => a.kind)).not.toContain('gateway_silent')
    const all = await list(keys.analyst, 'all')
    expect(all.find((a) => a.kind === 'gateway_silent')?.clearedAt).toBe(
      new Date(NOW).toISOString(),
    )
  })

  it("lets a shopkeeper see and acknowledge only its shop's alerts", async () => {
    const own = await list(keys.one)
    expect(own.map((a) => a.kind)).toEqual(['gateway_rate_collapse'])
    const other = (await list()).find((a) => a.kind === 'zone_outside_band')
    const refused = await sut.inject({
      method: 'POST',
      url: `/api/v1/alerts/${other?.id}/acknowledge`,
      headers: bearer(keys.one),
    })
    expect(refused.statusCode).toBe(404)
    const res = await sut.inject({
      method: 'POST',
      url: `/api/v1/alerts/${own[0]?.id}/acknowledge`,
      headers: bearer(keys.one),
    })
    expect(res.statusCode, res.body).toBe(200)
    const acked = AlertSchema.parse(res.json())
    expect(acked.acknowledgedBy).not.toBeNull()
    expect(acked.acknowledgedAt).not.toBeNull()
    expect(acked.clearedAt).toBeNull()
  })
})
