import { describe, expect, it } from 'vitest'
import { ApiError, createApiClient } from './api-client.ts'
import { deviceCountsBody } from './testing/fake-api.ts'

interface Call {
  url: string
  headers: Headers
}

function fakeFetch(status: number, body: unknown) {
  const calls: Call[] = []
  const fetch: typeof globalThis.fetch = (input, init) => {
    calls.push({ url: String(input), headers: new Headers(init?.headers) })
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    return Promise.resolve(
      new Response(text, { status, headers: { 'content-type': 'application/json' } }),
    )
  }
  return { fetch, calls }
}

const footfallBody = {
  from: '2026-11-21T09:00:00.000Z',
  to: '2026-11-21T10:00:00.000Z',
  bucket: '15m',
  rows: [
    {
      zoneId: 'via-palazzo',
      bucketStart: '2026-11-21T09:00:00.000Z',
      passersBy: 120,
      visitors: 14,
      dwellSecondsSum: 5400,
      estimatedPeople: 134,
    },
  ],
  totals: [{ zoneId: 'via-palazzo', passersBy: 120, visitors: 14 }],
}

async function rejectionOf(promise: Promise<unknown>): Promise<ApiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`)
  return error
}

describe(createApiClient.name, () => {
  it('sends the key as a Bearer header', async () => {
    const { fetch, calls } = fakeFetch(200, { role: 'analyst', shopId: null, label: 'District' })
    const sut = createApiClient({ baseUrl: 'http://miglio.test/', getKey: () => 'k-123', fetch })

    const me = await sut.me()

    expect(me).toEqual({ role: 'analyst', shopId: null, label: 'District' })
    expect(calls[0]?.url).toBe('http://miglio.test/api/v1/me')
    expect(calls[0]?.headers.get('authorization')).toBe('Bearer k-123')
  })

  it('sends no Authorization header without a key', async () => {
    const { fetch, calls } = fakeFetch(200, { zones: [] })
    const sut = createApiClient({ baseUrl: '', getKey: () => null, fetch })

    await sut.zones()

    expect(calls[0]?.url).toBe('/api/v1/zones')
    expect(calls[0]?.headers.has('authorization')).toBe(false)
  })

  it('asks for footfall with the range in the query and parses the body', async () => {
    const { fetch, calls } = fakeFetch(200, footfallBody)
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const footfall = await sut.footfall({
      from: '2026-11-21T09:00:00.000Z',
      to: '2026-11-21T10:00:00.000Z',
      bucket: '15m',
    })

    expect(footfall.totals).toEqual([{ zoneId: 'via-palazzo', passersBy: 120, visitors: 14 }])
    const url = new URL(calls[0]?.url ?? '')
    expect(url.pathname).toBe('/api/v1/footfall')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      from: '2026-11-21T09:00:00.000Z',
      to: '2026-11-21T10:00:00.000Z',
      bucket: '15m',
    })
  })

  it('turns a 401 into an unauthorised error carrying the server message', async () => {
    const { fetch } = fakeFetch(401, { error: { code: 'unauthorised', message: 'unknown key' } })
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'bad', fetch })

    const error = await rejectionOf(sut.me())

    expect(error.code).toBe('unauthorised')
    expect(error.status).toBe(401)
    expect(error.message).toBe('unknown key')
  })

  it('turns a malformed body into a bad_response error', async () => {
    const { fetch } = fakeFetch(200, { ...footfallBody, totals: [{ zoneId: 'x', passersBy: -1 }] })
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const error = await rejectionOf(
      sut.footfall({ from: footfallBody.from, to: footfallBody.to, bucket: '15m' }),
    )

    expect(error.code).toBe('bad_response')
  })

  it('turns a body that is not JSON into a bad_response error', async () => {
    const { fetch } = fakeFetch(200, '<html>proxy error</html>')
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const error = await rejectionOf(sut.zones())

    expect(error.code).toBe('bad_response')
  })

  it('reports other error statuses as http_error', async () => {
    const { fetch } = fakeFetch(400, {
      error: { code: 'bad_request', message: 'from: must be before to' },
    })
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const error = await rejectionOf(sut.zones())

    expect(error.code).toBe('http_error')
    expect(error.status).toBe(400)
    expect(error.message).toBe('from: must be before to')
  })

  it('reports a failed request as network_error', async () => {
    const fetch: typeof globalThis.fetch = () => Promise.reject(new TypeError('Failed to fetch'))
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const error = await rejectionOf(sut.me())

    expect(error.code).toBe('network_error')
  })

  it('names 403 and 404 answers forbidden and not_found', async () => {
    const forbidden = fakeFetch(403, {
      error: { code: 'forbidden', message: 'shop x is not your shop' },
    })
    const missing = fakeFetch(404, {
      error: { code: 'not_found', message: 'shop y does not exist' },
    })

    const a = await rejectionOf(
      createApiClient({ baseUrl: '', getKey: () => 'k', fetch: forbidden.fetch }).shopSummary('x'),
    )
    const b = await rejectionOf(
      createApiClient({ baseUrl: '', getKey: () => 'k', fetch: missing.fetch }).shopSummary('y'),
    )

    expect([a.code, a.status, a.message]).toEqual(['forbidden', 403, 'shop x is not your shop'])
    expect([b.code, b.status]).toEqual(['not_found', 404])
    expect(forbidden.calls[0]?.url).toBe('/api/v1/shops/x/summary')
  })

  it('scopes footfall-like requests to a shop and leaves out absent parameters', async () => {
    const { fetch, calls } = fakeFetch(200, {
      from: footfallBody.from,
      to: footfallBody.to,
      timezone: 'Europe/Rome',
      zoneId: null,
      shopId: 'bar-roma',
      cells: [],
    })
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    await sut.heatmap({ from: footfallBody.from, to: footfallBody.to, shop: 'bar-roma' })

    const url = new URL(calls[0]?.url ?? '')
    expect(url.pathname).toBe('/api/v1/footfall/heatmap')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      from: footfallBody.from,
      to: footfallBody.to,
      shop: 'bar-roma',
    })
  })

  it('asks for device counts of one gateway and refuses an answer not marked as device counts', async () => {
    const body = deviceCountsBody(
      new URL('http://x/?from=2026-11-21T09:00:00.000Z&to=2026-11-21T10:00:00.000Z&bucket=15m'),
      null,
    )
    const { fetch, calls } = fakeFetch(200, body)
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k', fetch })

    const counts = await sut.deviceCounts({
      from: footfallBody.from,
      to: footfallBody.to,
      bucket: '15m',
      gateway: 'gw-forno',
    })

    expect(counts.measure).toBe('device_counts')
    expect(counts.rows).toHaveLength(4)
    const url = new URL(calls[0]?.url ?? '')
    expect(url.pathname).toBe('/api/v1/device-counts')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      from: footfallBody.from,
      to: footfallBody.to,
      bucket: '15m',
      gateway: 'gw-forno',
    })

    const unmarked = fakeFetch(200, { ...body, notice: 'Pedestrians' })
    const refusing = createApiClient({ baseUrl: '', getKey: () => 'k', fetch: unmarked.fetch })
    const error = await rejectionOf(
      refusing.deviceCounts({ from: footfallBody.from, to: footfallBody.to, bucket: '1h' }),
    )
    expect(error.code).toBe('bad_response')
  })

  it('reads the public crowd levels without a key and validates them', async () => {
    const body = {
      at: '2026-11-21T10:00:00.000Z',
      district: 'Miglio',
      windowMinutes: 15,
      zones: [{ zoneId: 'via-palazzo', name: 'Via Palazzo', kind: 'street', level: 'busy' }],
    }
    const good = fakeFetch(200, body)
    const bad = fakeFetch(200, { ...body, zones: [{ ...body.zones[0], level: 'packed' }] })

    const crowd = await createApiClient({
      baseUrl: '',
      getKey: () => null,
      fetch: good.fetch,
    }).publicCrowd()
    const error = await rejectionOf(
      createApiClient({ baseUrl: '', getKey: () => null, fetch: bad.fetch }).publicCrowd(),
    )

    expect(crowd.zones[0]?.level).toBe('busy')
    expect(good.calls[0]?.headers.has('authorization')).toBe(false)
    expect(error.code).toBe('bad_response')
  })

  it('fetches CSV with the key in the header and refuses a body that is not CSV', async () => {
    const calls: Call[] = []
    const fetch: typeof globalThis.fetch = (input, init) => {
      calls.push({ url: String(input), headers: new Headers(init?.headers) })
      const csv = String(input).includes('shop=ok')
      return Promise.resolve(
        new Response(csv ? 'a,b\r\n1,2\r\n' : '{}', {
          status: 200,
          headers: { 'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json' },
        }),
      )
    }
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k-1', fetch })

    const text = await sut.csv('footfall', { shop: 'ok', from: undefined })
    const error = await rejectionOf(sut.csv('footfall', { shop: 'json' }))

    expect(text).toBe('a,b\r\n1,2\r\n')
    expect(calls[0]?.url).toBe('http://miglio.test/api/v1/footfall?shop=ok&format=csv')
    expect(calls[0]?.headers.get('authorization')).toBe('Bearer k-1')
    expect(calls[0]?.headers.get('accept')).toBe('text/csv')
    expect(error.code).toBe('bad_response')
  })

  it('creates an event with a JSON POST and reports a refused body with the server’s message', async () => {
    const sent: { method: string | undefined; url: string; type: string | null; body: unknown }[] =
      []
    const created = {
      id: '00000000-0000-4000-8000-000000000009',
      name: 'Sagra',
      zones: ['via-palazzo'],
      from: '2026-11-22T17:00:00.000Z',
      to: '2026-11-22T20:00:00.000Z',
      createdAt: '2026-11-21T10:00:00.000Z',
    }
    const fetch: typeof globalThis.fetch = (input, init) => {
      const body = JSON.parse(String(init?.body)) as { name: string }
      sent.push({
        method: init?.method,
        url: String(input),
        type: new Headers(init?.headers).get('content-type'),
        body,
      })
      const refused = body.name === ''
      return Promise.resolve(
        new Response(
          JSON.stringify(
            refused ? { error: { code: 'bad_request', message: 'body.name: Too small' } } : created,
          ),
          { status: refused ? 400 : 201, headers: { 'content-type': 'application/json' } },
        ),
      )
    }
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k-1', fetch })
    const request = { name: 'Sagra', zones: ['via-palazzo'], from: created.from, to: created.to }

    const event = await sut.createEvent(request)
    const error = await rejectionOf(sut.createEvent({ ...request, name: '' }))

    expect(event).toEqual(created)
    expect(sent[0]).toEqual({
      method: 'POST',
      url: 'http://miglio.test/api/v1/events',
      type: 'application/json',
      body: request,
    })
    expect(error.code).toBe('http_error')
    expect(error.status).toBe(400)
    expect(error.message).toBe('body.name: Too small')
  })

  it('deletes an event and pages the dead letters', async () => {
    const calls: { method: string | undefined; url: string }[] = []
    const fetch: typeof globalThis.fetch = (input, init) => {
      calls.push({ method: init?.method, url: String(input) })
      if (init?.method === 'DELETE') return Promise.resolve(new Response(null, { status: 204 }))
      return Promise.resolve(
        new Response(JSON.stringify({ page: 2, pageSize: 10, total: 11, items: [] }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
      )
    }
    const sut = createApiClient({ baseUrl: 'http://miglio.test', getKey: () => 'k-1', fetch })

    await sut.deleteEvent('00000000-0000-4000-8000-000000000009')
    const page = await sut.deadLetters({ page: 2, pageSize: 10 })

    expect(calls).toEqual([
      {
        method: 'DELETE',
        url: 'http://miglio.test/api/v1/events/00000000-0000-4000-8000-000000000009',
      },
      { method: undefined, url: 'http://miglio.test/api/v1/admin/dead-letters?page=2&pageSize=10' },
    ])
    expect(page.total).toBe(11)
  })
})
