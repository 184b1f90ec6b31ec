import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createDb, type Db } from '../shared/db/create-db.ts'
import { HealthResponseSchema } from '../shared/contracts/api.ts'
import { bearer, capturingLogger, expectErrorBody } from './api-test-helpers.ts'

// The API with its database gone (a closed port, a server that never answers) and while the
// process is still starting. No test database: nothing here may reach one.

const upBroker = { broker: () => ({ up: true }) }
const someKey = `mgl_${'k'.repeat(43)}`

describe('with the database unreachable', () => {
  const logs = capturingLogger('info')
  let gone: Db
  let app: FastifyInstance

  beforeAll(async () => {
    // Port 1 on loopback: nothing listens there, every connection is refused at once.
    gone = createDb({ url: 'postgres://u:secret@127.0.0.1:1/x', maxConnections: 1 }).db
    app = await buildApp({ db: gone, log: logs.log, checks: upBroker })
  })
  afterAll(async () => {
    await app?.close()
    await gone?.destroy()
  })

  it('health says unreachable without the driver text; other routes answer 503 database_unavailable; logged once', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/health' })
      expect(res.statusCode).toBe(503)
      expect(HealthResponseSchema.parse(res.json())).toEqual({
        status: 'degraded',
        database: { up: false, error: 'unreachable' },
        broker: { up: true },
      })
      expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/)
    }
    for (const url of ['/api/v1/me', '/api/v1/zones', '/api/v1/admin/keys']) {
      const res = await app.inject({ method: 'GET', url, headers: bearer(someKey) })
      const err = expectErrorBody(res, 503, 'database_unavailable')
      expect(err.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/)
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
    // The real error is in the log, once for the whole outage so far, and never a stack per request.
    const outage = logs.lines.filter(
      (l) => /database/i.test(String(l.msg)) && Number(l.level) >= 40,
    )
    expect(outage, logs.text()).toHaveLength(1)
    expect(JSON.stringify(outage[0])).toMatch(/ECONNREFUSED/)
    expect(logs.text()).not.toMatch(/request failed/)
    expect(logs.text()).not.toContain('secret')
  })
})

describe('with a database that never answers', () => {
  let server: net.Server
  const sockets = new Set<net.Socket>()
  let silent: Db
  let app: FastifyInstance

  beforeAll(async () => {
    server = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => undefined)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    silent = createDb({ url: `postgres://u:p@127.0.0.1:${port}/x`, maxConnections: 1 }).db
    app = await buildApp({ db: silent, log: capturingLogger().log, checks: upBroker })
  })
  afterAll(async () => {
    await app?.close()
    for (const s of sockets) s.destroy()
    await new Promise((r) => server?.close(r))
    await silent?.destroy().catch(() => undefined)
  })

  it('health answers 503 with database error "timeout"', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(res.statusCode).toBe(503)
    expect(HealthResponseSchema.parse(res.json()).database).toEqual({ up: false, error: 'timeout' })
  })
})

describe('while starting', () => {
  const logs = capturingLogger('info')
  let gone: Db
  let app: FastifyInstance
  let phase: string | null = 'loading the district'

  beforeAll(async () => {
    gone = createDb({ url: 'postgres://u:p@127.0.0.1:1/x', maxConnections: 1 }).db
    app = await buildApp({ db: gone, log: logs.log, checks: upBroker, starting: () => phase })
  })
  afterAll(async () => {
    await app?.close()
    await gone?.destroy()
  })

  it('answers 503 starting on every /api/v1 route, and health says starting', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/me'],
      ['GET', '/api/v1/zones?format=csv'],
      ['POST', '/api/v1/events'],
      ['GET', '/api/v1/no-such-route'],
      ['GET', '/api/v1/live'],
    ] as const) {
      const res = await app.inject({ method, url, headers: bearer(someKey) })
      const err = expectErrorBody(res, 503, 'starting')
      expect(err.message).toBe('loading the district')
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    const health = await app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(health.statusCode).toBe(503)
    const body = HealthResponseSchema.parse(health.json())
    expect(body).toMatchObject({ status: 'starting', message: 'loading the district' })
    // Outside /api/v1 nothing changes.
    expect((await app.inject({ method: 'GET', url: '/docs/openapi.json' })).statusCode).toBe(200)
    // A database still coming up during start is not an outage to log.
    expect(logs.text()).not.toMatch(/database unreachable/i)

    phase = null
    expectErrorBody(await app.inject({ method: 'GET', url: '/api/v1/me' }), 401, 'unauthorised')
    const after = HealthResponseSchema.parse(
      (await app.inject({ method: 'GET', url: '/api/v1/health' })).json(),
    )
    expect(after.status).toBe('degraded')
  })
})
