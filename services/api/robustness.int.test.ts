import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.ts'
import { createTestDatabase, type TestDatabase } from '../shared/testing/engines.ts'
import { loadDistrict } from '../shared/registry/district-repository.ts'
import { createApiKey } from '../shared/registry/api-key-repository.ts'
import { ErrorBodySchema } from '../shared/contracts/api.ts'
import { bearer, capturingLogger, expectErrorBody, threeShopDistrict } from './api-test-helpers.ts'

// Odd requests from the outside world: whatever the path, method, encoding or body, the answer is
// `{ error: { code, message } }` with the code of its status, and carries the security headers.

const logs = capturingLogger('info')
let database: TestDatabase
let sut: FastifyInstance
let port = 0
let dashboards = ''
const keys = { admin: '', analyst: '' }

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, threeShopDistrict())
  keys.admin = (await createApiKey(database.db, { role: 'admin', label: 'admin' })).key
  keys.analyst = (await createApiKey(database.db, { role: 'analyst', label: 'analyst' })).key
  dashboards = await mkdtemp(join(tmpdir(), 'miglio-dash-'))
  await writeFile(join(dashboards, 'index.html'), '<!doctype html><title>x</title>')
  sut = await buildApp({
    db: database.db,
    log: logs.log,
    checks: { broker: () => ({ up: true }) },
    dashboardsDir: dashboards,
    options: { rateLimit: { enabled: false } },
  })
  await sut.listen({ port: 0, host: '127.0.0.1' })
  port = (sut.server.address() as net.AddressInfo).port
})

afterAll(async () => {
  await sut?.close()
  await database?.close()
  if (dashboards) await rm(dashboards, { recursive: true, force: true })
})

type RawResponse = { status: number; headers: Record<string, string>; body: string }

/** Sends bytes as they are (no client-side URL normalisation) and reads the answer to its end. */
function raw(request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text)}`))
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n')
      const headers: Record<string, string> = {}
      for (const l of lines) {
        const i = l.indexOf(':')
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
      }
      let body = text.slice(split + 4)
      if (headers['transfer-encoding'] === 'chunked') {
        let out = ''
        for (let rest = body; ;) {
          const nl = rest.indexOf('\r\n')
          const size = parseInt(rest.slice(0, nl), 16)
          if (!size) break
          out += rest.slice(nl + 2, nl + 2 + size)
          rest = rest.slice(nl + 2 + size + 2)
        }
        body = out
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body })
    })
  })
}

function request(
  method: string,
  path: string,
  o: { key?: string; headers?: Record<string, string>; body?: string } = {},
): string {
  const headers: Record<string, string> = {
    host: 'localhost',
    connection: 'close',
    ...(o.key ? bearer(o.key) : {}),
    ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}),
    ...o.headers,
  }
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
  return `${method} ${path} HTTP/1.1\r\n${head.join('')}\r\n${o.body ?? ''}`
}

const CODE_OF_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorised',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  426: 'upgrade_required',
  431: 'request_header_fields_too_large',
}

const json = { 'content-type': 'application/json' }
const event = (name: string) =>
  JSON.stringify({
    name,
    zones: ['street-a'],
    from: '2026-01-10T10:00:00Z',
    to: '2026-01-10T12:00:00Z',
  })

// [what, request (keys are filled in at run time), expected status]
const ODD: [string, () => string, number][] = [
  ['bad percent-encoding in the path', () => request('GET', '/api/v1/shops/%E0%A4%A'), 400],
  [
    'bad percent-encoding with a key',
    () => request('GET', '/api/v1/shops/%E0%A4%A', { key: keys.admin }),
    400,
  ],
  ['a lone % in the path', () => request('GET', '/api/v1/shops/%'), 400],
  ['a double slash', () => request('GET', '/api/v1//admin/keys', { key: keys.admin }), 404],
  ['a double slash, no key', () => request('GET', '/api/v1//admin/keys'), 404],
  // Outside /api/v1 the dashboards' files answer: a non-canonical path is refused.
  ['a leading double slash', () => request('GET', '//api/v1/admin/keys'), 403],
  ['a trailing slash', () => request('GET', '/api/v1/me/', { key: keys.admin }), 404],
  ['.. in an API path', () => request('GET', '/api/v1/../../etc/passwd'), 404],
  ['.. out of the dashboards', () => request('GET', '/../../etc/passwd'), 403],
  ['encoded .. out of the dashboards', () => request('GET', '/%2e%2e/%2e%2e/etc/passwd'), 403],
  ['a backslash', () => request('GET', '/api/v1\\me'), 404],
  ['%00 in a static path', () => request('GET', '/index%00.html'), 400],
  [
    '%00 in a path parameter',
    () => request('GET', '/api/v1/shops/a%00b', { key: keys.admin }),
    400,
  ],
  [
    '%00 in a query string',
    () => request('GET', '/api/v1/events?from=%00', { key: keys.admin }),
    400,
  ],
  ['a missing file', () => request('GET', '/nope.js'), 404],
  ['an unknown route', () => request('GET', '/api/v2/me'), 404],
  ['a very long path', () => request('GET', `/api/v1/${'a'.repeat(8000)}`), 404],
  ['no key', () => request('GET', '/api/v1/me'), 401],
  ['an unknown key', () => request('GET', '/api/v1/me', { key: `mgl_${'q'.repeat(43)}` }), 401],
  ['the wrong role', () => request('GET', '/api/v1/admin/keys', { key: keys.analyst }), 403],
  ['a method nobody serves', () => request('PROPFIND', '/api/v1/me', { key: keys.admin }), 404],
  ['DELETE on a read-only route', () => request('DELETE', '/api/v1/me', { key: keys.admin }), 404],
  ['a method HTTP does not know', () => request('FROB', '/api/v1/me'), 400],
  ['garbage instead of a request line', () => 'GARBAGE\r\n\r\n', 400],
  [
    'a header block over the limit',
    () => request('GET', '/api/v1/me', { headers: { 'x-big': 'a'.repeat(20_000) } }),
    431,
  ],
  [
    'JSON that does not parse',
    () => request('POST', '/api/v1/events', { key: keys.admin, headers: json, body: '{"name":' }),
    400,
  ],
  [
    'an empty JSON body',
    () => request('POST', '/api/v1/events', { key: keys.admin, headers: json, body: '' }),
    400,
  ],
  [
    'a content type nobody parses',
    () =>
      request('POST', '/api/v1/events', {
        key: keys.admin,
        headers: { 'content-type': 'application/xml' },
        body: '<event/>',
      }),
    415,
  ],
  [
    'a body over the limit',
    () =>
      request('POST', '/api/v1/events', {
        key: keys.admin,
        headers: json,
        body: event('x'.repeat(70_000)),
      }),
    413,
  ],
  [
    'a NUL character in a JSON string',
    () =>
      request('POST', '/api/v1/events', {
        key: keys.admin,
        headers: json,
        body: event('a\u0000b'),
      }),
    400,
  ],
  ['a plain GET of the live feed', () => request('GET', '/api/v1/live'), 426],
]

describe('odd requests', () => {
  it.each(ODD)('%s: the documented error shape, code and headers', async (_what, req, status) => {
    const res = await raw(req())
    expect(res.status, res.body).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const body = ErrorBodySchema.parse(JSON.parse(res.body))
    expect(body.error.code).toBe(CODE_OF_STATUS[status])
    expect(body.error.message.length).toBeLessThanOrEqual(300)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/)
  })
})

describe('NUL characters', () => {
  const post = (url: string, payload: object) =>
    sut.inject({ method: 'POST', url, headers: bearer(keys.admin), payload })

  it('are refused with 400 naming the field, in any body, query string or path parameter', async () => {
    const cases: [Promise<Awaited<ReturnType<typeof post>>>, string][] = [
      [
        post('/api/v1/events', {
          name: 'a\u0000b',
          zones: ['street-a'],
          from: '2026-01-10T10:00:00Z',
          to: '2026-01-10T12:00:00Z',
        }),
        'body.name: ',
      ],
      [
        post('/api/v1/events', {
          name: 'fine',
          zones: ['street-a', 'x\u0000'],
          from: '2026-01-10T10:00:00Z',
          to: '2026-01-10T12:00:00Z',
        }),
        'body.zones.1: ',
      ],
      [post('/api/v1/admin/keys', { role: 'analyst', label: '\u0000' }), 'body.label: '],
      [
        sut.inject({ method: 'GET', url: '/api/v1/events?from=%00', headers: bearer(keys.admin) }),
        'querystring.from: ',
      ],
      [
        sut.inject({ method: 'GET', url: '/api/v1/shops/a%00b', headers: bearer(keys.admin) }),
        'params.shopId: ',
      ],
      [
        sut.inject({
          method: 'DELETE',
          url: '/api/v1/admin/keys/%00',
          headers: bearer(keys.admin),
        }),
        'params.id: ',
      ],
    ]
    for (const [res, field] of cases) {
      const err = expectErrorBody(await res, 400, 'bad_request')
      expect(err.message.startsWith(field), err.message).toBe(true)
    }
    // Nothing reached the database: no driver error in the log.
    expect(logs.text()).not.toMatch(/invalid byte sequence|22021|request failed/)
  })
})
