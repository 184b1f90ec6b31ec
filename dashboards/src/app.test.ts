// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { API_KEY_STORAGE_KEY, createDashboardApp, type DashboardApp } from './app.ts'

const GOOD_KEY = 'k-analyst'

function zone(id: string, name: string, streetFromM: number) {
  return {
    id,
    name,
    kind: 'shop' as const,
    shopId: id,
    streetFromM,
    streetToM: streetFromM + 40,
    geometry: { type: 'Polygon' as const, coordinates: [] },
  }
}

const zonesBody = {
  zones: [
    zone('via-palazzo', 'Via Palazzo', 400),
    zone('piazza-ferretto', 'Piazza Ferretto', 0),
    zone('bar-al-ponte', 'Bar al Ponte', 900),
  ],
}

const footfallBody = {
  from: '2026-11-21T00:00:00.000Z',
  to: '2026-11-21T10:00:00.000Z',
  bucket: '1h',
  rows: [],
  totals: [
    { zoneId: 'via-palazzo', passersBy: 1234, visitors: 56 },
    { zoneId: 'piazza-ferretto', passersBy: 310, visitors: 12 },
  ],
}

type Route = (authorization: string | null) => { status: number; body: unknown }

function fakeServer(overrides: Partial<Record<'me' | 'zones' | 'footfall', Route>> = {}) {
  const routes: Record<'me' | 'zones' | 'footfall', Route> = {
    me: (authorization) =>
      authorization === `Bearer ${GOOD_KEY}`
        ? { status: 200, body: { role: 'analyst', shopId: null, label: 'Miglio Digitale' } }
        : { status: 401, body: { error: { code: 'unauthorised', message: 'unknown key' } } },
    zones: () => ({ status: 200, body: zonesBody }),
    footfall: () => ({ status: 200, body: footfallBody }),
    ...overrides,
  }
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(String(input))
    const name = url.pathname.replace('/api/v1/', '') as keyof typeof routes
    const { status, body } = routes[name](new Headers(init?.headers).get('authorization'))
    return Promise.resolve(new Response(JSON.stringify(body), { status }))
  }
  return fetch
}

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial))
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  }
}

describe(createDashboardApp.name, () => {
  let root: HTMLElement
  let sut: DashboardApp | undefined

  beforeEach(() => {
    root = document.createElement('div')
    document.body.replaceChildren(root)
  })

  afterEach(() => {
    sut?.stop()
    sut = undefined
  })

  function start(
    options: {
      fetch?: typeof globalThis.fetch
      storage?: ReturnType<typeof memoryStorage>
      languages?: string[]
    } = {},
  ) {
    const storage = options.storage ?? memoryStorage()
    sut = createDashboardApp({
      root,
      baseUrl: 'http://miglio.test',
      fetch: options.fetch ?? fakeServer(),
      storage,
      languages: options.languages ?? ['en-GB'],
      now: () => new Date('2026-11-21T10:00:00.000Z'),
    })
    return { storage, started: sut.start() }
  }

  function signInWith(key: string) {
    const input = root.querySelector<HTMLInputElement>('#api-key')
    if (!input) throw new Error('no API key field')
    input.value = key
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }))
  }

  it('asks for an API key with a labelled field', async () => {
    await start().started

    const input = root.querySelector('#api-key')
    expect(root.querySelector('label[for="api-key"]')?.textContent).toBe('API key')
    expect(input?.getAttribute('type')).toBe('password')
  })

  it('signs in, keeps the key for the session and shows totals ordered along the street', async () => {
    const { storage, started } = start()
    await started

    signInWith(GOOD_KEY)

    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())
    expect(storage.items.get(API_KEY_STORAGE_KEY)).toBe(GOOD_KEY)
    const rows = [...root.querySelectorAll('table.totals tbody tr')].map((tr) =>
      [...tr.children].map((cell) => cell.textContent),
    )
    expect(rows).toEqual([
      ['Piazza Ferretto', '310', '12'],
      ['Via Palazzo', '1,234', '56'],
      ['Bar al Ponte', '0', '0'],
    ])
    expect(root.querySelector('svg.footfall-bars')?.getAttribute('role')).toBe('img')
    expect(root.textContent).toContain('Signed in as Miglio Digitale (analyst)')
  })

  it('rejects a bad key with a message and keeps nothing', async () => {
    const { storage, started } = start()
    await started

    signInWith('wrong')

    await vi.waitFor(() => expect(root.querySelector('#api-key-error')?.textContent).not.toBe(''))
    expect(root.querySelector('#api-key-error')?.textContent).toContain('not accepted')
    expect(storage.items.has(API_KEY_STORAGE_KEY)).toBe(false)
  })

  it('resumes a stored session and signs out', async () => {
    const storage = memoryStorage({ [API_KEY_STORAGE_KEY]: GOOD_KEY })
    await start({ storage }).started
    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())

    const signOut = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Sign out')
    signOut?.click()

    expect(storage.items.has(API_KEY_STORAGE_KEY)).toBe(false)
    expect(root.querySelector('#api-key')).not.toBeNull()
  })

  it('shows the empty state when the range has no transits', async () => {
    const fetch = fakeServer({
      footfall: () => ({ status: 200, body: { ...footfallBody, totals: [] } }),
    })
    await start({ fetch, storage: memoryStorage({ [API_KEY_STORAGE_KEY]: GOOD_KEY }) }).started

    await vi.waitFor(() =>
      expect(root.querySelector('svg text.empty')?.textContent).toBe(
        'No transits in this range yet',
      ),
    )
    expect(root.querySelector('table.totals')).toBeNull()
  })

  it('shows an error message when the server sends a malformed body', async () => {
    const fetch = fakeServer({
      footfall: () => ({ status: 200, body: { totals: 'nope' } }),
    })
    await start({ fetch, storage: memoryStorage({ [API_KEY_STORAGE_KEY]: GOOD_KEY }) }).started

    await vi.waitFor(() =>
      expect(root.querySelector('[role="alert"].banner')?.textContent).toContain(
        'unexpected shape',
      ),
    )
    expect(root.querySelector('.chart-body')?.textContent).toContain('unexpected shape')
  })

  it('switches to Italian, including number formatting', async () => {
    const storage = memoryStorage({ [API_KEY_STORAGE_KEY]: GOOD_KEY })
    await start({ storage }).started
    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())

    root.querySelector<HTMLButtonElement>('button[data-lang="it"]')?.click()

    expect(document.documentElement.lang).toBe('it')
    expect(root.querySelector('h1')?.textContent).toBe('Passaggi per zona')
    expect(root.querySelector('table.totals tbody tr:nth-child(2) td')?.textContent).toBe('1.234')
    expect(storage.items.get('miglio.lang')).toBe('it')
  })

  it('starts in Italian when the browser prefers it', async () => {
    await start({ languages: ['it-IT', 'en'] }).started

    expect(root.querySelector('label[for="api-key"]')?.textContent).toBe('Chiave API')
  })
})
