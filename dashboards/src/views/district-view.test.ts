// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { MeResponse } from '../../../services/shared/contracts/api.ts'
import { ApiError, createApiClient } from '../api-client.ts'
import { messages } from '../i18n.ts'
import {
  deadLetter,
  deviceCountsBody,
  fakeApi,
  KEYS,
  NOW,
  type FakeApi,
  type Reply,
} from '../testing/fake-api.ts'
import { createDistrictView, DISTRICT_REFRESH_MS, invalidFields } from './district-view.ts'
import { createShopView } from './shop-view.ts'
import type { View, ViewContext } from './view-kit.ts'

interface Timer {
  callback: () => void
  ms: number
  cleared: boolean
}

function gate(): { wait: Promise<void>; open: () => void } {
  const opener: { open: () => void } = { open: () => undefined }
  const wait = new Promise<void>((resolve) => {
    opener.open = resolve
  })
  return { wait, open: () => opener.open() }
}

describe(createDistrictView.name, () => {
  let main: HTMLElement
  let view: View | undefined
  let timers: Timer[]
  let saved: { name: string; text: string | Blob; type: string }[]
  let unauthorised: string[]

  beforeEach(() => {
    main = document.createElement('main')
    document.body.replaceChildren(main)
    timers = []
    saved = []
    unauthorised = []
  })

  afterEach(() => {
    view?.destroy()
    view = undefined
  })

  function start(
    role: MeResponse['role'],
    api: FakeApi = fakeApi(),
    create: (ctx: ViewContext) => View = createDistrictView,
    lang: 'en' | 'it' = 'en',
  ) {
    const key = role === 'admin' ? KEYS.admin : role === 'analyst' ? KEYS.analyst : KEYS.shopkeeper
    const ctx: ViewContext = {
      doc: document,
      client: createApiClient({
        baseUrl: 'http://miglio.test',
        getKey: () => key,
        fetch: api.fetch,
      }),
      t: () => messages[lang],
      now: () => NOW,
      me: { role, shopId: role === 'shopkeeper' ? 'bar-al-ponte' : null, label: 'Test' },
      timeZone: 'Europe/Rome',
      districtName: 'Miglio Digitale — Mestre',
      openLiveFeed: () => null,
      onUnauthorised: (message) => void unauthorised.push(message),
      setInterval: (callback, ms) => {
        const timer = { callback, ms, cleared: false }
        timers.push(timer)
        return timer
      },
      clearInterval: (handle) => {
        ;(handle as Timer).cleared = true
      },
      saveFile: (name, text, type) => void saved.push({ name, text, type }),
    }
    view = create(ctx)
    view.render(main)
    return api
  }

  const text = (selector: string) => main.querySelector(selector)?.textContent ?? null
  const count = (api: FakeApi, fragment: string) =>
    api.calls.filter((call) => call.startsWith(fragment)).length
  const tick = () => {
    for (const timer of timers) if (!timer.cleared) timer.callback()
  }

  describe('periodic refresh', () => {
    it('reloads heatmap and events every minute, never twice at once, and stops when left', async () => {
      let heatmapGate: ReturnType<typeof gate> | null = null
      const base = fakeApi()
      const api = fakeApi({
        heatmap: async (url) => {
          const held = heatmapGate
          if (held) await held.wait
          const reply = await base.fetch(url.toString(), {
            headers: { authorization: `Bearer ${KEYS.analyst}` },
          })
          return { status: reply.status, body: (await reply.json()) as unknown }
        },
      })
      start('analyst', api)
      await vi.waitFor(() =>
        expect(main.querySelector('svg.heatmap:not(.chart-loading)')).not.toBeNull(),
      )
      await vi.waitFor(() => expect(main.querySelector('table.events')).not.toBeNull())
      expect(timers).toHaveLength(1)
      expect(timers[0]?.ms).toBe(DISTRICT_REFRESH_MS)
      expect(count(api, '/api/v1/footfall/heatmap')).toBe(1)
      expect(count(api, '/api/v1/events?')).toBe(1)

      heatmapGate = gate()
      tick()
      await vi.waitFor(() => expect(count(api, '/api/v1/events?')).toBe(2))
      expect(count(api, '/api/v1/footfall/heatmap')).toBe(2)
      // The old heatmap stays on screen while the new one loads: no flash of the loading state.
      expect(main.querySelector('svg.heatmap:not(.chart-loading)')).not.toBeNull()

      // Loaders start their requests inside the timer's callback: what is not asked for now never is.
      tick()
      expect(count(api, '/api/v1/footfall/heatmap')).toBe(2)

      const stale = main.querySelector('svg.heatmap')
      heatmapGate.open()
      heatmapGate = null
      await vi.waitFor(() => expect(main.querySelector('svg.heatmap')).not.toBe(stale))
      tick()
      await vi.waitFor(() => expect(count(api, '/api/v1/footfall/heatmap')).toBe(3))

      view?.destroy()
      expect(timers.every((timer) => timer.cleared)).toBe(true)
    })

    it('skips the refresh while the page is hidden', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('table.events')).not.toBeNull())
      await vi.waitFor(() =>
        expect(main.querySelector('svg.heatmap:not(.chart-loading)')).not.toBeNull(),
      )
      const before = api.calls.length
      // Requests start synchronously inside the timer's callback, so counting right after it is enough.
      Object.defineProperty(document, 'visibilityState', {
        configurable: true,
        get: () => 'hidden',
      })
      try {
        tick()
        expect(api.calls.length).toBe(before)
      } finally {
        Reflect.deleteProperty(document, 'visibilityState')
      }
      tick()
      expect(api.calls.length).toBeGreaterThan(before)
    })
  })

  describe('device counts of count sources', () => {
    const card = () => main.querySelector<HTMLElement>('section#deviceCounts')

    it('shows a Paxcounter’s device counts, marked as not pedestrians in chart, note and table', async () => {
      const api = start('analyst')
      await vi.waitFor(() =>
        expect(main.querySelector('svg.device-counts:not(.chart-loading)')).not.toBeNull(),
      )
      expect(card()?.hidden).toBe(false)
      expect(text('#deviceCounts-heading')).toBe('Device counts — not pedestrians')
      expect(text('#deviceCounts .panel-note')).toContain('Devices are not people')
      expect(text('#deviceCounts .panel-note')).toContain('never added to footfall')
      expect(main.querySelector('svg.device-counts')?.getAttribute('aria-label')).toMatch(
        /^Device counts, not pedestrians\. /,
      )
      expect(text('table.count-sources caption')).toBe(
        'Count sources over the range (devices, not pedestrians)',
      )
      const row = main.querySelector('table.count-sources tr[data-gateway-id="gw-forno"]')
      expect(row?.textContent).toContain('Forno Legrenzi')
      expect(main.querySelector('details[data-table="data-device-counts"]')).not.toBeNull()
      // The range's request: today in hours, as the footfall panels ask.
      expect(api.calls.some((c) => /^\/api\/v1\/device-counts\?.*bucket=1h/.test(c))).toBe(true)
    })

    it('says it in Italian too', async () => {
      start('analyst', fakeApi(), createDistrictView, 'it')
      await vi.waitFor(() =>
        expect(main.querySelector('svg.device-counts:not(.chart-loading)')).not.toBeNull(),
      )
      expect(text('#deviceCounts-heading')).toBe('Conteggi di dispositivi — non pedoni')
      expect(text('#deviceCounts .panel-note')).toContain('I dispositivi non sono persone')
      expect(main.querySelector('svg.device-counts')?.getAttribute('aria-label')).toMatch(
        /^Conteggi di dispositivi, non pedoni\. /,
      )
    })

    it('reloads with the range', async () => {
      const api = start('analyst')
      await vi.waitFor(() =>
        expect(main.querySelector('svg.device-counts:not(.chart-loading)')).not.toBeNull(),
      )
      main.querySelector<HTMLInputElement>('input[name="range"][value="last-7-days"]')?.click()
      await vi.waitFor(() =>
        expect(api.calls.some((c) => /^\/api\/v1\/device-counts\?.*bucket=1d/.test(c))).toBe(true),
      )
    })

    it('has no card in a district without count sources', async () => {
      const empty = fakeApi({
        deviceCounts: (url) => {
          const body = deviceCountsBody(url, 'nobody')
          return { status: 200, body }
        },
      })
      start('analyst', empty)
      // Loaded and drawn (an empty chart), and the card stays out of the page.
      await vi.waitFor(() =>
        expect(main.querySelector('#deviceCounts svg.device-counts.chart-empty')).not.toBeNull(),
      )
      expect(count(empty, '/api/v1/device-counts')).toBe(1)
      expect(card()?.hidden).toBe(true)
    })

    it('shows the card when loading the counts failed', async () => {
      start(
        'analyst',
        fakeApi({
          deviceCounts: () => ({
            status: 500,
            body: { error: { code: 'internal', message: 'internal error' } },
          }),
        }),
      )
      await vi.waitFor(() => expect(text('#deviceCounts .panel-status')).not.toBe(''))
      expect(card()?.hidden).toBe(false)
    })
  })

  describe('people present and arriving', () => {
    const peopleChart = 'section#people svg.people:not(.chart-loading)'

    it('draws the district’s people present with its band beside the arrivals, said uncalibrated', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector(peopleChart)).not.toBeNull())
      expect(text('#people-heading')).toBe('People present and arriving (estimated)')
      expect(text('#people .panel-note')).toContain('People, not devices')
      const svg = main.querySelector(peopleChart)
      expect(svg?.querySelector('path.band')).not.toBeNull()
      expect(svg?.querySelector('path.series-present')).not.toBeNull()
      expect(svg?.querySelectorAll('rect.arrival').length).toBeGreaterThan(0)
      expect(svg?.getAttribute('aria-label')).toMatch(/Not calibrated: devices counted as people/)
      expect(main.querySelector('details[data-table="data-people"]')).not.toBeNull()
      // The district's series in one request (not one per zone), in quarters for today.
      const asked = api.calls.filter((c) => /\/people\?/.test(c))
      expect(asked).toHaveLength(1)
      expect(asked[0]).toMatch(/^\/api\/v1\/district\/people\?.*bucket=15m/)
    })

    it('asks for hours over the last 7 days, and says it in Italian', async () => {
      const api = start('analyst', fakeApi(), createDistrictView, 'it')
      await vi.waitFor(() => expect(main.querySelector(peopleChart)).not.toBeNull())
      expect(text('#people-heading')).toBe('Persone presenti e in arrivo (stima)')
      main.querySelector<HTMLInputElement>('input[name="range"][value="last-7-days"]')?.click()
      await vi.waitFor(() =>
        expect(api.calls.some((c) => /\/people\?.*bucket=1h/.test(c))).toBe(true),
      )
    })

    it('shows a shopkeeper the people inside its shop and in front of it', async () => {
      const api = start('shopkeeper', fakeApi(), (ctx) =>
        createShopView(ctx, { shopId: 'bar-al-ponte' }),
      )
      await vi.waitFor(() =>
        expect(main.querySelectorAll('section#people svg.people:not(.chart-loading)')).toHaveLength(
          2,
        ),
      )
      expect(text('#people-heading')).toBe('People inside and in front of the shop (estimated)')
      expect(text('#people [data-part="inside"] h3')).toBe('Inside')
      expect(text('#people [data-part="inFront"] h3')).toBe('In front')
      expect(
        api.calls.some((c) => /^\/api\/v1\/shops\/bar-al-ponte\/people\?.*bucket=15m/.test(c)),
      ).toBe(true)
      expect(api.calls.some((c) => /^\/api\/v1\/zones\/[^/]+\/people/.test(c))).toBe(false)
    })
  })

  describe('context and flagged days', () => {
    const submit = (selector: string) =>
      main
        .querySelector<HTMLFormElement>(selector)
        ?.dispatchEvent(new Event('submit', { cancelable: true }))
    const choose = (csv: string) => {
      const input = main.querySelector<HTMLInputElement>('#context-file')
      if (!input) throw new Error('no file input')
      Object.defineProperty(input, 'files', {
        value: [new File([csv], 'meteo.csv', { type: 'text/csv' })],
        configurable: true,
      })
    }

    it('flags a day for a zone, lists it, and unflags it', async () => {
      const api = fakeApi()
      start('analyst', api)
      await vi.waitFor(() =>
        expect(text('#context .flagged-list .placeholder')).toBe('No day is flagged.'),
      )
      expect(main.querySelector<HTMLInputElement>('#flag-day')?.value).toBe('2026-11-21')
      await vi.waitFor(() =>
        expect(main.querySelectorAll('#flag-zone option').length).toBeGreaterThan(1),
      )
      const zone = main.querySelector<HTMLSelectElement>('#flag-zone')
      if (zone) zone.value = 'piazza-ferretto'
      const reason = main.querySelector<HTMLInputElement>('#flag-reason')
      if (reason) reason.value = 'Roadworks'
      submit('#context form.flag-form')

      await vi.waitFor(() =>
        expect(main.querySelectorAll('#context tr[data-flag-id]')).toHaveLength(1),
      )
      expect(api.posted).toContainEqual({
        day: '2026-11-21',
        zone: 'piazza-ferretto',
        reason: 'Roadworks',
      })
      expect(text('#context .context-status')).toBe('2026-11-21 is flagged.')
      expect(
        [...main.querySelectorAll('#context tr[data-flag-id] > *')].map((c) => c.textContent),
      ).toEqual(['2026-11-21', 'Piazza Ferretto', 'Roadworks', 'Unflag'])

      main.querySelector<HTMLButtonElement>('#context button[data-action="unflag"]')?.click()
      await vi.waitFor(() =>
        expect(text('#context .context-status')).toBe('2026-11-21 is no longer flagged.'),
      )
      expect(api.calls).toContain('DELETE /api/v1/context/excluded-days/flag-1')
      expect(main.querySelector('#context tr[data-flag-id]')).toBeNull()
      expect(api.flags).toEqual([])
    })

    it('shows a flag the API refuses with its reason', async () => {
      start('analyst')
      await vi.waitFor(() => expect(main.querySelector('#context form.flag-form')).not.toBeNull())
      submit('#context form.flag-form')
      await vi.waitFor(() =>
        expect(text('#context .context-error')).toContain('Not flagged: body.reason'),
      )
    })

    it('imports a context CSV, and lists the bad rows by number when the API refuses one', async () => {
      const api = fakeApi()
      start('analyst', api)
      await vi.waitFor(() => expect(main.querySelector('#context-file')).not.toBeNull())

      choose('time,zone,variable,value\n2026-11-21T09:00,district,rain_mm,1.5\n')
      submit('#context form.context-upload')
      await vi.waitFor(() =>
        expect(text('#context .context-status')).toBe('Imported 1 rows: rain_mm.'),
      )
      expect(api.calls).toContain('POST /api/v1/context/imports?source=meteo.csv')
      expect(api.posted).toContain(
        'time,zone,variable,value\n2026-11-21T09:00,district,rain_mm,1.5\n',
      )

      choose('time,zone,variable,value\n2026-11-21T09:00,district,rain_mm,bad\nok\nbad\n')
      submit('#context form.context-upload')
      await vi.waitFor(() =>
        expect(
          [...main.querySelectorAll('#context .context-bad-rows li')].map((li) => li.textContent),
        ).toEqual(['row 2: value: must be a number', 'row 4: value: must be a number']),
      )
      expect(text('#context .context-error p')).toBe(
        'The file was refused and nothing was imported:',
      )
      expect(text('#context .context-status')).toBe('')
    })

    it('asks for a file before sending anything', async () => {
      const api = fakeApi()
      start('analyst', api)
      await vi.waitFor(() => expect(main.querySelector('#context-file')).not.toBeNull())
      submit('#context form.context-upload')
      await vi.waitFor(() =>
        expect(text('#context .context-error')).toBe('Choose a CSV file first.'),
      )
      expect(api.calls.some((c) => c.includes('context/imports'))).toBe(false)
    })
  })

  describe('outlook', () => {
    it('draws the forecast with its interval and the imported context over it', async () => {
      const api = start('analyst')
      await vi.waitFor(() =>
        expect(main.querySelector('svg.outlook:not(.chart-loading)')).not.toBeNull(),
      )
      expect(text('#outlook-heading')).toBe('Last 3 days and the next 7')
      expect(main.querySelector('svg.outlook path.forecast')).not.toBeNull()
      expect(main.querySelector('svg.outlook path.forecast-interval')).not.toBeNull()
      expect(main.querySelectorAll('svg.outlook rect.context-bar')).toHaveLength(3)
      expect(text('svg.outlook g.legend-item:last-child')).toBe('rain_mm (context)')
      expect(api.calls).toContain('/api/v1/forecast?days=7')
    })

    it('draws the forecast without the overlay when the context is refused', async () => {
      start(
        'analyst',
        fakeApi({
          contextSeries: () => ({
            status: 403,
            body: { error: { code: 'forbidden', message: 'no' } },
          }),
        }),
        createDistrictView,
        'it',
      )
      await vi.waitFor(() =>
        expect(main.querySelector('svg.outlook:not(.chart-loading)')).not.toBeNull(),
      )
      expect(text('#outlook-heading')).toBe('Ultimi 3 giorni e prossimi 7')
      expect(main.querySelector('svg.outlook path.forecast')).not.toBeNull()
      expect(main.querySelector('svg.outlook g.context')).toBeNull()
    })
  })

  describe('monthly report', () => {
    it('downloads the district report for the chosen month', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('button[data-report="pdf"]')).not.toBeNull())
      const month = main.querySelector<HTMLInputElement>('#report-month')
      expect(month?.value).toBe('2026-10')
      if (month) {
        month.value = '2026-09'
        month.dispatchEvent(new Event('change', { bubbles: true }))
      }
      await vi.waitFor(() =>
        expect(main.querySelector<HTMLInputElement>('#report-month')?.value).toBe('2026-09'),
      )
      main.querySelector<HTMLButtonElement>('button[data-report="pdf"]')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(1))
      expect(saved[0]?.name).toBe('miglio-district-2026-09.pdf')
      expect(api.calls).toContain('/api/v1/district/reports/2026-09.pdf?lang=en')
    })
  })

  describe('gateway health', () => {
    it('shows each gateway’s format and last message', async () => {
      start('analyst')
      await vi.waitFor(() => expect(main.querySelector('table.gateways')).not.toBeNull())
      const problem = main.querySelector('table.gateways tbody tr')
      expect(problem?.querySelector('td[data-format]')?.textContent).toBe('Miglio native')
      const rows = [...main.querySelectorAll('table.all-gateways tbody tr')].map((r) =>
        [...r.children].map((c) => c.textContent),
      )
      expect(rows).toHaveLength(4)
      expect(text('details[data-table="all-gateways"] summary')).toBe(
        'All gateways (4): format and last message',
      )
      const forno = rows.find((r) => r[0] === 'gw-forno')
      expect(forno?.[2]).toBe('Paxcounter (device counts)')
      expect(forno?.[4]).toMatch(/^Sat 21 Nov, 11:00$/)
    })

    it('in Italian', async () => {
      start('analyst', fakeApi(), createDistrictView, 'it')
      await vi.waitFor(() => expect(main.querySelector('table.all-gateways')).not.toBeNull())
      const forno = main.querySelector('table.all-gateways tbody tr:last-child')
      expect(forno?.textContent).toContain('Paxcounter (conteggi di dispositivi)')
      expect(text('table.all-gateways thead')).toContain('Ultimo messaggio')
    })
  })

  describe('events editor', () => {
    const field = (id: string) => {
      const element = main.querySelector<HTMLInputElement>(`#${id}`)
      if (!element) throw new Error(`no #${id}`)
      return element
    }
    const submit = () =>
      main
        .querySelector('form.event-form')
        ?.dispatchEvent(new Event('submit', { cancelable: true }))

    it('shows the API’s validation errors on the fields it names', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('#event-zone-via-palazzo')).not.toBeNull())

      field('event-name').value = ''
      submit()

      await vi.waitFor(() => expect(text('#event-form-error')).not.toBe(''))
      expect(text('#event-form-error')).toBe(
        'The event was not saved: body.name: Too small: expected string to have >=1 characters; body.zones: Too small: expected array to have >=1 items',
      )
      expect(field('event-name').getAttribute('aria-invalid')).toBe('true')
      expect(main.querySelector('#event-zones')?.getAttribute('aria-invalid')).toBe('true')
      expect(field('event-from').hasAttribute('aria-invalid')).toBe(false)
      expect(document.activeElement).toBe(field('event-name'))
      expect(api.events).toHaveLength(1)

      field('event-name').value = 'Sagra'
      field('event-zone-via-palazzo').checked = true
      field('event-from').value = '2026-11-22T21:00'
      field('event-to').value = '2026-11-22T18:00'
      submit()

      await vi.waitFor(() => expect(text('#event-form-error')).toContain('from: must be before to'))
      expect(field('event-from').getAttribute('aria-invalid')).toBe('true')
      expect(field('event-name').hasAttribute('aria-invalid')).toBe(false)
    })

    it('adds an event in the district’s local time and shows it in the list', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('#event-zone-via-palazzo')).not.toBeNull())
      expect(main.querySelector('label[for="event-from"]')?.textContent).toBe(
        'Start (local time, Europe/Rome)',
      )

      field('event-name').value = 'Sagra del pesce'
      field('event-zone-via-palazzo').checked = true
      field('event-zone-bar-al-ponte').checked = true
      field('event-from').value = '2026-11-22T18:00'
      field('event-to').value = '2026-11-22T21:30'
      submit()

      await vi.waitFor(() => expect(text('table.events')).toContain('Sagra del pesce'))
      expect(api.posted).toEqual([
        {
          name: 'Sagra del pesce',
          zones: ['via-palazzo', 'bar-al-ponte'],
          from: '2026-11-22T17:00:00.000Z',
          to: '2026-11-22T20:30:00.000Z',
        },
      ])
      expect(text('.events-status')).toBe('Event “Sagra del pesce” added.')
      expect(field('event-name').value).toBe('')
      expect(field('event-zone-via-palazzo').checked).toBe(false)
      expect(text('#event-form-error')).toBe('')
    })

    it('deletes an event only once confirmed, then refreshes the list', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('table.events tbody tr')).not.toBeNull())
      const button = (action: string) =>
        main.querySelector<HTMLButtonElement>(`button[data-action="${action}"]`)
      expect(button('delete')?.getAttribute('aria-label')).toBe('Delete event Notte bianca')

      button('delete')?.click()
      expect(document.activeElement).toBe(button('confirm-delete'))
      button('cancel-delete')?.click()
      expect(button('confirm-delete')).toBeNull()
      expect(document.activeElement).toBe(button('delete'))
      expect(api.calls.some((c) => c.startsWith('DELETE'))).toBe(false)

      button('delete')?.click()
      button('confirm-delete')?.click()

      await vi.waitFor(() => expect(text('.events-status')).toBe('Event “Notte bianca” deleted.'))
      expect(api.calls).toContain('DELETE /api/v1/events/00000000-0000-4000-8000-000000000001')
      expect(api.events).toHaveLength(0)
      await vi.waitFor(() =>
        expect(text('#events .placeholder')).toBe('No events in the last 90 days.'),
      )
    })

    it('reports a failed delete with the server’s message', async () => {
      start(
        'analyst',
        fakeApi({
          deleteEvent: () => ({
            status: 404,
            body: { error: { code: 'not_found', message: 'event x does not exist' } },
          }),
        }),
      )
      await vi.waitFor(() => expect(main.querySelector('table.events tbody tr')).not.toBeNull())

      main.querySelector<HTMLButtonElement>('button[data-action="delete"]')?.click()
      main.querySelector<HTMLButtonElement>('button[data-action="confirm-delete"]')?.click()

      await vi.waitFor(() =>
        expect(text('.events-error')).toBe('The event was not deleted: event x does not exist'),
      )
      expect(main.querySelector('table.events tbody tr')).not.toBeNull()
    })
  })

  describe('dead letters', () => {
    it('shows an administrator the newest rejected messages, a page at a time', async () => {
      const api = start('admin')
      await vi.waitFor(() => expect(main.querySelector('table.dead-letters-table')).not.toBeNull())

      const rows = () => [...main.querySelectorAll('table.dead-letters-table tbody tr')]
      expect(rows()).toHaveLength(10)
      expect([...(rows()[1]?.children ?? [])].map((c) => c.textContent)).toEqual([
        'Sat 21 Nov, 10:59',
        'gw-via-palazzo',
        'schema',
        'batch 1: device xx:xx:xx:xx:xx:xx has no rssi',
      ])
      expect(rows()[0]?.children[1]?.textContent).toBe('–')
      expect(text('.pager-status')).toBe('Page 1 of 3 (23 messages)')
      const pageButton = (d: string) =>
        main.querySelector<HTMLButtonElement>(`button[data-page="${d}"]`)
      expect(pageButton('newer')?.disabled).toBe(true)
      expect(api.calls).toContain('/api/v1/admin/dead-letters?page=1&pageSize=10')

      pageButton('older')?.click()
      await vi.waitFor(() => expect(text('.pager-status')).toBe('Page 2 of 3 (23 messages)'))
      pageButton('older')?.click()
      await vi.waitFor(() => expect(text('.pager-status')).toBe('Page 3 of 3 (23 messages)'))

      expect(rows()).toHaveLength(3)
      expect(pageButton('older')?.disabled).toBe(true)
      expect(document.activeElement).toBe(pageButton('newer'))
    })

    it('never draws anything MAC-shaped, and says so when nothing was rejected', async () => {
      const leaky: Reply = {
        status: 200,
        body: {
          page: 1,
          pageSize: 10,
          total: 1,
          items: [{ ...deadLetter(1), detail: 'bad sighting from 7e:fd:7a:e4:31:66' }],
        },
      }
      start('admin', fakeApi({ deadLetters: () => leaky }))
      await vi.waitFor(() => expect(main.querySelector('table.dead-letters-table')).not.toBeNull())
      expect(main.textContent).not.toMatch(/7e:fd:7a/i)
      expect(text('table.dead-letters-table td.detail')).toBe('bad sighting from xx:xx:xx:xx:xx:xx')

      view?.destroy()
      start(
        'admin',
        fakeApi({
          deadLetters: () => ({
            status: 200,
            body: { page: 1, pageSize: 10, total: 0, items: [] },
          }),
        }),
      )
      await vi.waitFor(() =>
        expect(text('.empty-dead-letters')).toBe(
          'No rejected messages. Every message was accepted.',
        ),
      )
      expect(main.querySelector('table.dead-letters-table')).toBeNull()
      expect(main.querySelector('.pager')).toBeNull()
    })

    it('is never asked for by an analyst', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('table.events')).not.toBeNull())
      tick()
      await vi.waitFor(() => expect(count(api, '/api/v1/events?')).toBe(2))
      expect(api.calls.some((c) => c.includes('dead-letters'))).toBe(false)
      expect(main.querySelector('.dead-letter-list')).toBeNull()
    })
  })

  describe('CSV downloads', () => {
    it('downloads footfall for the chosen range, the heatmap, flows and events', async () => {
      const api = start('analyst')
      const button = (kind: string) =>
        main.querySelector<HTMLButtonElement>(`#downloads button[data-csv="${kind}"]`)
      await vi.waitFor(() => expect(button('footfall')).not.toBeNull())
      expect(button('footfall')?.textContent).toContain('Footfall per zone, today')

      button('footfall')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(1))
      button('heatmap')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(2))

      expect(saved.map((s) => s.name)).toEqual([
        'miglio-district-footfall-today-2026-11-21.csv',
        'miglio-district-heatmap-2026-11-21.csv',
      ])
      expect(saved[0]?.type).toBe('text/csv')
      expect(saved[0]?.text).toContain('zoneId,bucketStart,passersBy')
      const csvCalls = api.calls
        .filter((c) => c.includes('format=csv'))
        .map((c) => new URL(c, 'http://x'))
      expect(csvCalls[0]?.pathname).toBe('/api/v1/footfall')
      expect(Object.fromEntries(csvCalls[0]?.searchParams ?? [])).toEqual({
        from: '2026-11-20T23:00:00.000Z',
        to: NOW.toISOString(),
        bucket: '1h',
        format: 'csv',
      })
      expect(csvCalls[1]?.pathname).toBe('/api/v1/footfall/heatmap')

      const week = main.querySelector<HTMLInputElement>('#range-last-7-days')
      if (!week) throw new Error('no range option')
      week.checked = true
      week.dispatchEvent(new Event('change'))
      expect(button('flows')?.textContent).toContain('Flows, last 7 days')
      button('flows')?.click()
      await vi.waitFor(() => expect(saved).toHaveLength(3))
      expect(saved[2]?.name).toBe('miglio-district-flows-last-7-days-2026-11-21.csv')
    })

    it('says so when a download fails', async () => {
      start(
        'analyst',
        fakeApi({
          csv: () => ({ status: 500, body: { error: { code: 'internal', message: 'x' } } }),
        }),
      )
      await vi.waitFor(() => expect(main.querySelector('button[data-csv="events"]')).not.toBeNull())

      main.querySelector<HTMLButtonElement>('button[data-csv="events"]')?.click()

      await vi.waitFor(() =>
        expect(text('#downloads [role="alert"]')).toBe('The download failed. Try again.'),
      )
      expect(saved).toHaveLength(0)
    })
  })

  describe('data tables', () => {
    it('gives every chart of the district its figures as a table', async () => {
      start('analyst')
      await vi.waitFor(() => {
        for (const table of ['data-heatmap', 'data-series', 'data-shops', 'data-flows']) {
          expect(main.querySelector(`table.${table}`), table).not.toBeNull()
        }
      })

      const heatmap = main.querySelector('table.data-heatmap')
      expect(heatmap?.querySelectorAll('thead th')).toHaveLength(25)
      const monday = heatmap?.querySelector('tbody tr')
      expect(monday?.querySelector('th')?.getAttribute('scope')).toBe('row')
      expect(monday?.querySelector('th')?.textContent).toBe('Mon')
      expect(monday?.children[10]?.textContent).toBe('11')
      expect(monday?.children[1]?.textContent).toBe('0')
      const flows = [...main.querySelectorAll('table.data-flows tbody tr')].map((tr) =>
        [...tr.children].map((c) => c.textContent),
      )
      expect(flows).toEqual([
        ['Piazza Ferretto', 'Via Palazzo', '40', '5.0 min'],
        ['Via Palazzo', 'Piazza Ferretto', 'withheld (under the privacy threshold)', '–'],
      ])
      const shops = [...main.querySelectorAll('table.data-shops tbody tr')].map((tr) =>
        [...tr.children].map((c) => c.textContent),
      )
      expect(shops).toEqual([
        ['Bar al Ponte', '8%', '5.0 min'],
        ['Forno Legrenzi', '0%', 'no visitors'],
      ])
      const details = main.querySelector<HTMLDetailsElement>('details[data-table="data-heatmap"]')
      expect(details?.open).toBe(false)
      expect(details?.querySelector('summary')?.textContent).toBe(
        'Show as a table: mean transits per hour, weekday × hour',
      )
    })

    it('keeps an opened table open across the periodic refresh and a resize', async () => {
      const api = start('analyst')
      await vi.waitFor(() => expect(main.querySelector('table.data-heatmap')).not.toBeNull())
      const details = () =>
        main.querySelector<HTMLDetailsElement>('details[data-table="data-heatmap"]')
      const opened = details()
      if (!opened) throw new Error('no heatmap table')
      opened.open = true

      tick()
      await vi.waitFor(() => expect(count(api, '/api/v1/footfall/heatmap')).toBe(2))
      await vi.waitFor(() => expect(details()).not.toBe(opened))
      expect(details()?.open).toBe(true)
      view?.resize()
      expect(details()?.open).toBe(true)
      expect(main.querySelectorAll('#heatmap svg.heatmap')).toHaveLength(1)
    })

    it('gives the shop page’s charts their tables too', async () => {
      start('shopkeeper', fakeApi(), (ctx) => createShopView(ctx, { shopId: 'bar-al-ponte' }))
      await vi.waitFor(() => {
        for (const table of ['data-dwell', 'data-busiest', 'data-week']) {
          expect(main.querySelector(`table.${table}`), table).not.toBeNull()
        }
      })
      const rows = (table: string) =>
        [...main.querySelectorAll(`table.${table} tbody tr`)].map((tr) =>
          [...tr.children].map((c) => c.textContent),
        )
      expect(rows('data-dwell')).toEqual([
        ['< 1 min', '3'],
        ['1–5 min', '20'],
        ['5–15 min', '10'],
        ['15–60 min', '2'],
        ['> 60 min', '0'],
      ])
      expect(rows('data-busiest')[9]).toEqual(['09–10', '60', '6'])
      const week = rows('data-week')
      expect(week).toHaveLength(7)
      expect(week[0]).toEqual(['Sun 15 Nov', '400', '35'])
      expect(week.at(-1)).toEqual(['Today', '0', '0'])
    })
  })
})

describe(invalidFields.name, () => {
  const refusal = (message: string) => new ApiError('http_error', message, { status: 400 })

  it('names the fields of a validation message, in form order', () => {
    expect(invalidFields(refusal('body.to: Invalid ISO datetime; body.name: Too small'))).toEqual([
      'name',
      'to',
    ])
    expect(invalidFields(refusal('from: must be before to'))).toEqual(['from'])
    expect(invalidFields(refusal('to: the range may span at most 92 days'))).toEqual(['to'])
    expect(invalidFields(refusal('zone via-nowhere does not exist'))).toEqual(['zones'])
    expect(invalidFields(new Error('body.name: x'))).toEqual([])
  })
})
