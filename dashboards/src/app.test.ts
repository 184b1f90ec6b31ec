// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { API_KEY_STORAGE_KEY, createDashboardApp, parseRoute, type DashboardApp } from './app.ts'
import type { SocketHandlers } from './live-feed.ts'
import { fakeApi, KEYS, memoryStorage, NOW, type FakeApi } from './testing/fake-api.ts'

class FakeSockets {
  readonly opened: { url: string; handlers: SocketHandlers; sent: string[]; closed: boolean }[] = []
  create = (url: string, handlers: SocketHandlers) => {
    const socket = { url, handlers, sent: [] as string[], closed: false }
    this.opened.push(socket)
    return {
      send: (data: string) => void socket.sent.push(data),
      close: () => {
        socket.closed = true
      },
    }
  }
  get last() {
    const socket = this.opened[this.opened.length - 1]
    if (!socket) throw new Error('no socket opened')
    return socket
  }
}

/**
 * A Blob's text: Blob.text() where the Blob has it; else through FileReader (on Node 24 the Blob
 * the fake fetch answers is jsdom's, which has no text()).
 */
function blobText(blob: Blob): Promise<string> {
  if (typeof blob.text === 'function') return blob.text()
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error ?? new Error('unreadable blob'))
    reader.readAsText(blob)
  })
}

describe(createDashboardApp.name, () => {
  let root: HTMLElement
  let sut: DashboardApp | undefined
  let saved: { name: string; text: string | Blob; type: string }[]

  beforeEach(() => {
    window.location.hash = ''
    root = document.createElement('div')
    document.body.replaceChildren(root)
    saved = []
  })

  afterEach(() => {
    sut?.stop()
    sut = undefined
  })

  function start(
    options: {
      api?: FakeApi
      storage?: ReturnType<typeof memoryStorage>
      languages?: string[]
      sockets?: FakeSockets
    } = {},
  ) {
    const storage = options.storage ?? memoryStorage()
    const api = options.api ?? fakeApi()
    sut = createDashboardApp({
      root,
      baseUrl: 'http://miglio.test',
      fetch: api.fetch,
      storage,
      languages: options.languages ?? ['en-GB'],
      now: () => NOW,
      createSocket: options.sockets?.create,
      saveFile: (name, text, type) => void saved.push({ name, text, type }),
    })
    return { storage, api, started: sut.start() }
  }

  const signedIn = (key: string) => memoryStorage({ [API_KEY_STORAGE_KEY]: key })

  function signInWith(key: string) {
    const input = root.querySelector<HTMLInputElement>('#api-key')
    if (!input) throw new Error('no API key field')
    input.value = key
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }))
  }

  const text = (selector: string) => root.querySelector(selector)?.textContent ?? null
  const navLinks = () =>
    [...root.querySelectorAll('nav a')].map((a) => [a.textContent, a.getAttribute('aria-current')])

  it('asks for an API key with a labelled field and offers the public street screen', async () => {
    await start().started

    const input = root.querySelector('#api-key')
    expect(root.querySelector('label[for="api-key"]')?.textContent).toBe('API key')
    expect(input?.getAttribute('type')).toBe('password')
    expect(root.querySelector('a[href="#/street"]')).not.toBeNull()
  })

  it('signs an analyst in to the district: KPIs, map, zones, shops and role-aware navigation', async () => {
    const { storage, started } = start()
    await started

    signInWith(KEYS.analyst)

    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())
    expect(storage.items.get(API_KEY_STORAGE_KEY)).toBe(KEYS.analyst)
    expect(window.location.hash).toBe('#/district')
    expect(text('h1')).toBe('Miglio Digitale — Mestre')
    expect(text('.tile[data-kpi="passers-by"] .tile-value')).toBe('2,094')
    expect(text('.tile[data-kpi="passers-by"] .tile-delta')).toContain(
      '+10.2% vs same time last week',
    )
    expect(text('.tile[data-kpi="capture-rate"] .tile-delta')).toContain('−0.8 pt')
    // Estimated people with the band of chance in the count, rounded outwards.
    expect(text('.tile[data-kpi="people"] .tile-value')).toBe('2,197')
    expect(text('.tile[data-kpi="people"] .tile-sub')).toBe('95 % band 2,105–2,292 (counting only)')
    const rows = [...root.querySelectorAll('table.totals tbody tr')].map((tr) =>
      [...tr.children].map((cell) => cell.textContent),
    )
    expect(rows).toEqual([
      ['Piazza Ferretto', '310', '12'],
      ['Forno Legrenzi', '150', '0'],
      ['Via Palazzo', '1,234', '56'],
      ['Bar al Ponte', '400', '35'],
    ])
    for (const chart of ['zone-map', 'footfall-bars', 'shop-metrics', 'flows-arcs', 'heatmap']) {
      await vi.waitFor(() =>
        expect(root.querySelector(`svg.${chart}:not(.chart-loading)`)?.getAttribute('role')).toBe(
          'img',
        ),
      )
    }
    expect(navLinks()).toEqual([
      ['District', 'page'],
      ['Shops', null],
      ['Street screen', null],
    ])
    expect(text('.who')).toBe('Signed in as Miglio Digitale (analyst)')
  })

  it('shows events with their uplift and the gateways needing attention', async () => {
    const { api, started } = start({ storage: signedIn(KEYS.analyst) })
    await started

    await vi.waitFor(() => expect(root.querySelector('table.events tbody tr')).not.toBeNull())
    const event = root.querySelector('table.events tbody tr')
    expect(event?.querySelector('th')?.textContent).toContain('Notte bianca')
    expect(event?.textContent).toContain('1,500 +50%')
    expect(event?.textContent).toContain('Usual 1,000 (900–1,100)')
    await vi.waitFor(() => expect(root.querySelector('table.gateways')).not.toBeNull())
    expect(text('#quality .quality-headline')).toContain('3 of 4 gateways reporting')
    expect(text('table.gateways tbody tr')).toContain('Silent')
    expect(text('.dead-letters')).toBeNull()
    expect(text('#quality')).toContain('shown to administrators')
    expect(api.calls.some((call) => call.includes('/admin/'))).toBe(false)
  })

  it('shows an administrator the rejected-message rate', async () => {
    await start({ storage: signedIn(KEYS.admin) }).started

    await vi.waitFor(() => expect(root.querySelector('.dead-letters')).not.toBeNull())
    expect(text('.dead-letters .quality-headline')).toBe('0.3% of messages rejected (3 of 1,000)')
    expect(text('.dead-letters')).toContain('malformed_json (3)')
  })

  it('rejects a bad key with a message and keeps nothing', async () => {
    const { storage, started } = start()
    await started

    signInWith('wrong-key')

    await vi.waitFor(() => expect(text('#api-key-error')).not.toBe(''))
    expect(text('#api-key-error')).toContain('not accepted')
    expect(storage.items.has(API_KEY_STORAGE_KEY)).toBe(false)
  })

  it('resumes a stored session and signs out', async () => {
    const storage = signedIn(KEYS.analyst)
    await start({ storage }).started
    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())

    const signOut = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Sign out')
    signOut?.click()

    expect(storage.items.has(API_KEY_STORAGE_KEY)).toBe(false)
    expect(root.querySelector('#api-key')).not.toBeNull()
  })

  it('goes back to sign-in when the key stops working mid-session', async () => {
    const storage = signedIn(KEYS.analyst)
    const api = fakeApi({
      compare: () => ({
        status: 401,
        body: { error: { code: 'unauthorised', message: 'revoked' } },
      }),
    })
    await start({ storage, api }).started

    await vi.waitFor(() => expect(root.querySelector('#api-key')).not.toBeNull())
    expect(text('#api-key-error')).toContain('not accepted')
    expect(storage.items.has(API_KEY_STORAGE_KEY)).toBe(false)
  })

  it('shows the empty state when the range has no transits', async () => {
    const api = fakeApi({
      footfall: (url) => ({
        status: 200,
        body: {
          from: url.searchParams.get('from'),
          to: url.searchParams.get('to'),
          bucket: url.searchParams.get('bucket'),
          timezone: 'Europe/Rome',
          zoneId: null,
          shopId: null,
          rows: [],
          totals: [],
        },
      }),
    })
    await start({ api, storage: signedIn(KEYS.analyst) }).started

    await vi.waitFor(() =>
      expect(root.querySelector('svg.footfall-bars text.empty')?.textContent).toBe(
        'No transits in this range yet',
      ),
    )
    expect(root.querySelector('table.totals')).toBeNull()
  })

  it('shows an error in the panels fed by a malformed body, and keeps the others', async () => {
    const api = fakeApi({ footfall: () => ({ status: 200, body: { totals: 'nope' } }) })
    await start({ api, storage: signedIn(KEYS.analyst) }).started

    await vi.waitFor(() =>
      expect(root.querySelector('#zones [role="alert"]')?.textContent).toContain(
        'unexpected shape',
      ),
    )
    await vi.waitFor(() =>
      expect(root.querySelector('svg.heatmap:not(.chart-loading)')).not.toBeNull(),
    )
  })

  it('switches to Italian, including number formatting, and keeps the choice', async () => {
    const storage = signedIn(KEYS.analyst)
    await start({ storage }).started
    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())

    root.querySelector<HTMLButtonElement>('button[data-lang="it"]')?.click()

    expect(document.documentElement.lang).toBe('it')
    expect(text('#zones h2')).toBe('Passaggi per zona')
    expect(text('table.totals tbody tr:nth-child(3) td')).toBe('1.234')
    expect(text('.tile[data-kpi="passers-by"] .tile-value')).toBe('2.094')
    expect(text('.tile[data-kpi="people"] .tile-sub')).toBe(
      'intervallo 95 % 2.105–2.292 (solo conteggio)',
    )
    expect(navLinks()[0]).toEqual(['Distretto', 'page'])
    expect(text('#event-form-heading')).toBe('Aggiungi un evento o una campagna')
    expect(text('label[for="event-from"]')).toBe('Inizio (ora locale, Europe/Rome)')
    expect(text('#downloads h2')).toBe('Scarica i dati (CSV)')
    expect(storage.items.get('miglio.lang')).toBe('it')
    expect(document.activeElement?.getAttribute('data-lang')).toBe('it')
  })

  it('starts in Italian when the browser prefers it', async () => {
    await start({ languages: ['it-IT', 'en'] }).started

    expect(text('label[for="api-key"]')).toBe('Chiave API')
  })

  it('reloads the range-dependent panels when the range changes', async () => {
    const { api, started } = start({ storage: signedIn(KEYS.analyst) })
    await started
    await vi.waitFor(() => expect(root.querySelector('table.totals')).not.toBeNull())
    const before = api.calls.length

    const week = root.querySelector<HTMLInputElement>('#range-last-7-days')
    if (!week) throw new Error('no range option')
    week.checked = true
    week.dispatchEvent(new Event('change'))

    await vi.waitFor(() =>
      expect(api.calls.slice(before).some((c) => c.includes('bucket=1d'))).toBe(true),
    )
    expect(text('#kpis h2')).toBe('Last 7 days')
  })

  describe('shopkeeper', () => {
    it('lands on its own shop: today vs usual, rank, dwell, busiest hours and the week', async () => {
      await start({ storage: signedIn(KEYS.shopkeeper) }).started

      await vi.waitFor(() => expect(text('h1')).toBe('Bar al Ponte'))
      expect(window.location.hash).toBe('#/shop/bar-al-ponte')
      expect(text('.tile[data-kpi="passers-by"] .tile-value')).toBe('400')
      expect(text('.tile[data-kpi="passers-by"] .tile-sub')).toBe('usual 350')
      expect(text('.tile[data-kpi="visitors"] .tile-delta')).toContain('−12.5% vs usual')
      expect(text('.rank-headline')).toBe('No. 1 of 2 by visitors today')
      for (const chart of ['dwell-histogram', 'stacked-columns']) {
        await vi.waitFor(() =>
          expect(root.querySelector(`svg.${chart}:not(.chart-loading)`)).not.toBeNull(),
        )
      }
      expect(root.querySelectorAll('svg.stacked-columns')).toHaveLength(2)
      expect(navLinks()).toEqual([
        ['My shop', 'page'],
        ['Street screen', null],
      ])
    })

    it('sees the next 7 days of its own shop by hour, with the interval', async () => {
      const { api } = await start({ storage: signedIn(KEYS.shopkeeper) })

      await vi.waitFor(() =>
        expect(root.querySelector('#forecast svg.outlook:not(.chart-loading)')).not.toBeNull(),
      )
      expect(text('#forecast-heading')).toBe('The next 7 days')
      expect(root.querySelector('#forecast path.forecast')).not.toBeNull()
      expect(root.querySelector('#forecast path.forecast-interval')).not.toBeNull()
      expect(root.querySelector('#forecast g.context')).toBeNull()
      expect(
        [...root.querySelectorAll('#forecast g.legend-item')].map((i) => i.textContent),
      ).toEqual(['Today so far', 'Forecast', '90 % interval'])
      const rows = [...root.querySelectorAll('#forecast table.data-forecast tbody tr')]
      // Today's remaining hours, then 7 days: a full day of the fake forecast is 12 × 2 + 750.
      expect(rows).toHaveLength(8)
      expect(rows[1] && [...rows[1].children].map((c) => c.textContent)).toEqual([
        'Sun 22 Nov',
        '774',
        '09:00 (80)',
      ])
      expect(root.querySelector('#forecast .forecast-none')).toBeNull()
      const forecasts = api.calls.filter((c) => c.startsWith('/api/v1/forecast'))
      expect(forecasts).toEqual(['/api/v1/forecast?shop=bar-al-ponte&days=7'])
      expect(api.calls.some((c) => c.startsWith('/api/v1/context'))).toBe(false)
    })

    it('downloads its monthly report, last month by default, as a page and as a PDF', async () => {
      const { api } = await start({ storage: signedIn(KEYS.shopkeeper) })
      await vi.waitFor(() => expect(root.querySelector('button[data-report="pdf"]')).not.toBeNull())
      expect(text('#report-heading')).toBe('Monthly report')
      expect(root.querySelector<HTMLInputElement>('#report-month')?.value).toBe('2026-10')
      root.querySelector<HTMLButtonElement>('button[data-report="html"]')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(1))
      root.querySelector<HTMLButtonElement>('button[data-report="pdf"]')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(2))
      expect(saved.map((f) => [f.name, f.type])).toEqual([
        ['miglio-bar-al-ponte-2026-10.html', 'text/html'],
        ['miglio-bar-al-ponte-2026-10.pdf', 'application/pdf'],
      ])
      expect(await blobText(saved[1]?.text as Blob)).toBe('%PDF-1.4 fake')
      expect(api.calls).toContain('/api/v1/shops/bar-al-ponte/reports/2026-10.pdf?lang=en')
    })

    it('is told clearly that another shop’s page is not theirs', async () => {
      window.location.hash = '#/shop/forno'
      const { api, started } = start({ storage: signedIn(KEYS.shopkeeper) })
      await started

      await vi.waitFor(() => expect(root.querySelector('.denied')).not.toBeNull())
      expect(text('.denied-message')).toContain('This page belongs to another shop')
      expect(root.querySelector('.denied a')?.getAttribute('href')).toBe('#/shop/bar-al-ponte')
      expect(root.querySelector('.tile')).toBeNull()
      expect(api.calls.filter((c) => c.includes('forno'))).toEqual(['/api/v1/shops/forno/summary'])
    })

    it('is sent to its shop when it opens the district', async () => {
      window.location.hash = '#/district'
      await start({ storage: signedIn(KEYS.shopkeeper) }).started

      await vi.waitFor(() => expect(text('h1')).toBe('Bar al Ponte'))
      expect(window.location.hash).toBe('#/shop/bar-al-ponte')
    })

    it('downloads its data as CSV with the key in the header, never in a link', async () => {
      const { api, started } = start({ storage: signedIn(KEYS.shopkeeper) })
      await started
      await vi.waitFor(() => expect(root.querySelector('button[data-csv="hourly"]')).not.toBeNull())

      root.querySelector<HTMLButtonElement>('button[data-csv="hourly"]')?.click()

      await vi.waitFor(() => expect(saved).toHaveLength(1))
      expect(saved[0]?.name).toBe('miglio-bar-al-ponte-hourly-2026-11-21.csv')
      expect(saved[0]?.type).toBe('text/csv')
      expect(saved[0]?.text).toContain('zoneId,bucketStart,passersBy')
      const call = api.calls.find((c) => c.includes('format=csv')) ?? ''
      expect(new URL(call, 'http://x').searchParams.get('shop')).toBe('bar-al-ponte')
      expect(call).not.toContain(KEYS.shopkeeper)
    })
  })

  describe('live feed', () => {
    it('authenticates with its first message and shows live counts on the map', async () => {
      const sockets = new FakeSockets()
      await start({ storage: signedIn(KEYS.analyst), sockets }).started
      await vi.waitFor(() => expect(sockets.opened).toHaveLength(1))

      const socket = sockets.last
      expect(socket.url).toBe('ws://miglio.test/api/v1/live')
      socket.handlers.open()
      expect(JSON.parse(socket.sent[0] ?? '{}')).toEqual({ type: 'auth', key: KEYS.analyst })
      socket.handlers.message(
        JSON.stringify({ type: 'ready', role: 'analyst', shopId: null, zones: ['via-palazzo'] }),
      )
      await vi.waitFor(() =>
        expect(root.querySelector('svg.zone-map:not(.chart-loading)')).not.toBeNull(),
      )
      socket.handlers.message(
        JSON.stringify({
          type: 'counts',
          at: '2026-11-21T10:00:05.000Z',
          day: '2026-11-21',
          zones: [
            {
              zoneId: 'via-palazzo',
              today: { passersBy: 900, visitors: 40 },
              last15m: { passersBy: 1200, visitors: 34 },
              presentNow: { people: 12.5, low: 8.1, high: 16.9, calibrated: false },
            },
          ],
        }),
      )

      expect(root.querySelector('.live-status')?.getAttribute('data-status')).toBe('live')
      expect(text('.live-status')).toBe('Live · updated 11:00:05')
      expect(root.querySelector('.live-value[data-zone-id="via-palazzo"]')?.textContent).toBe(
        '1,234',
      )
    })

    it('closes the feed when the view goes away', async () => {
      const sockets = new FakeSockets()
      await start({ storage: signedIn(KEYS.analyst), sockets }).started
      await vi.waitFor(() => expect(sockets.opened).toHaveLength(1))

      root.querySelector<HTMLButtonElement>('.topbar button.button-secondary')?.click()

      expect(sockets.last.closed).toBe(true)
    })
  })

  describe('public street screen', () => {
    it('shows crowd levels without a key', async () => {
      window.location.hash = '#/street'
      const { api, started } = start()
      await started

      await vi.waitFor(() => expect(root.querySelectorAll('li.crowd')).toHaveLength(2))
      expect(text('li.crowd[data-zone-id="piazza-ferretto"] .crowd-level')).toBe('Busy')
      expect(text('.street-intro')).toContain('last 15 minutes')
      expect(api.calls).toEqual(['/api/v1/public/crowd'])
    })

    it('says so when the server does not enable it', async () => {
      window.location.hash = '#/street'
      const api = fakeApi({
        crowd: () => ({ status: 404, body: { error: { code: 'not_found', message: 'no route' } } }),
      })
      await start({ api }).started

      await vi.waitFor(() => expect(text('.street-message')).toContain('not enabled'))
    })
  })
})

describe(parseRoute.name, () => {
  it('reads the views from the hash', () => {
    expect(parseRoute('#/district')).toEqual({ name: 'district' })
    expect(parseRoute('#/shop/bar-roma')).toEqual({ name: 'shop', shopId: 'bar-roma' })
    expect(parseRoute('#/street')).toEqual({ name: 'street' })
    expect(parseRoute('')).toEqual({ name: 'home' })
    expect(parseRoute('#/shop/<script>')).toEqual({ name: 'home' })
  })
})
