// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { MeResponse } from '../../../../services/shared/contracts/api.ts'
import { createApiClient } from '../../api-client.ts'
import { messages } from '../../i18n.ts'
import { fakeApi, KEYS, NOW, type FakeApi } from '../../testing/fake-api.ts'
import { createDistrictView } from '../district-view.ts'
import type { View } from '../view-kit.ts'
import { invalidCountFields } from './calibration.ts'

// The district page's calibration panel (issue #16): each gateway's quality with its reminders,
// and the form that records a counting session, in English and Italian.
describe('the calibration panel', () => {
  let main: HTMLElement
  let view: View | undefined

  beforeEach(() => {
    main = document.createElement('main')
    document.body.replaceChildren(main)
  })

  afterEach(() => {
    view?.destroy()
    view = undefined
  })

  function start(role: MeResponse['role'], api: FakeApi = fakeApi(), lang: 'en' | 'it' = 'en') {
    const key = role === 'admin' ? KEYS.admin : role === 'analyst' ? KEYS.analyst : KEYS.shopkeeper
    view = createDistrictView({
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
      onUnauthorised: () => undefined,
      setInterval: () => 0,
      clearInterval: () => undefined,
      saveFile: () => undefined,
    })
    view.render(main)
    return api
  }
  const row = (gateway: string) =>
    [...(main.querySelectorAll(`table.calibration tr[data-gateway="${gateway}"] > *`) ?? [])].map(
      (c) => c.textContent,
    )
  const field = <T extends HTMLElement = HTMLInputElement>(id: string) => {
    const element = main.querySelector<T>(`#${id}`)
    if (!element) throw new Error(`no #${id}`)
    return element
  }
  const submit = () =>
    main.querySelector('form.count-form')?.dispatchEvent(new Event('submit', { cancelable: true }))

  it('lists each gateway’s version and quality, and what needs attention', async () => {
    start('analyst')
    await vi.waitFor(() => expect(main.querySelector('table.calibration')).not.toBeNull())
    expect(row('gw-bar-al-ponte')).toEqual([
      'gw-bar-al-ponte',
      'Bar al Ponte',
      '2',
      '20 Nov 2026',
      '1.20',
      '18 %',
      '92 %',
      '24',
      'OK',
    ])
    expect(row('gw-forno').at(-1)).toBe(
      'Calibrated 173 days ago (more than 90): count again.' +
        'Interval coverage 71 % is outside 80–97 %: count more sessions.' +
        'Error 35 % MAPE is above 30 %: count more sessions, busy and quiet.' +
        'Last fit not applied: 5 count sessions of people present; at least 8 are needed',
    )
    expect(row('gw-via-palazzo').slice(2, 3)).toEqual(['not calibrated'])
    expect(row('gw-via-palazzo').at(-1)).toBe('Never calibrated: record counts and fit.')
  })

  it('says it in Italian', async () => {
    start('analyst', fakeApi(), 'it')
    await vi.waitFor(() => expect(main.querySelector('table.calibration')).not.toBeNull())
    expect(main.textContent).toContain('Calibrazione: dai dispositivi alle persone')
    expect(row('gw-forno').at(-1)).toContain('Calibrato 173 giorni fa (più di 90): conta di nuovo.')
    expect(row('gw-via-palazzo').at(-1)).toBe(
      'Mai calibrato: registra dei conteggi e stima la calibrazione.',
    )
    expect(main.querySelector('label[for="count-from"]')?.textContent).toBe(
      'Inizio (ora locale, Europe/Rome)',
    )
  })

  it('records a count in the district’s local time and reloads the list', async () => {
    const api = start('analyst')
    await vi.waitFor(() => expect(main.querySelector('#count-zone option')).not.toBeNull())
    field<HTMLSelectElement>('count-zone').value = 'forno'
    field<HTMLSelectElement>('count-zone').dispatchEvent(new Event('change'))
    expect([...field<HTMLSelectElement>('count-gateway').options].map((o) => o.value)).toEqual([
      '',
      'gw-forno',
    ])
    field<HTMLSelectElement>('count-gateway').value = 'gw-forno'
    // Defaults: the last whole quarter hour before now (NOW is 11:00 in Rome).
    expect(field('count-from').value).toBe('2026-11-21T10:45')
    expect(field('count-to').value).toBe('2026-11-21T11:00')
    field('count-people').value = '7'
    field('count-counted-by').value = 'Giulia'
    const before = api.calls.filter((c) => c === '/api/v1/calibration').length
    submit()
    await vi.waitFor(() =>
      expect(main.querySelector('.calibration-status')?.textContent).toBe(
        'Count of 7 people in Forno Legrenzi recorded.',
      ),
    )
    expect(api.posted).toEqual([
      {
        zone: 'forno',
        gateway: 'gw-forno',
        from: '2026-11-21T09:45:00.000Z',
        to: '2026-11-21T10:00:00.000Z',
        kind: 'present',
        people: 7,
        countedBy: 'Giulia',
      },
    ])
    expect(field('count-people').value).toBe('')
    await vi.waitFor(() =>
      expect(api.calls.filter((c) => c === '/api/v1/calibration').length).toBeGreaterThan(before),
    )
  })

  it('shows the API’s refusal on the fields it names', async () => {
    start('analyst')
    await vi.waitFor(() => expect(main.querySelector('#count-zone option')).not.toBeNull())
    field('count-people').value = '-3'
    field('count-counted-by').value = 'Giulia'
    submit()
    await vi.waitFor(() => expect(field('count-form-error').textContent).not.toBe(''))
    expect(field('count-form-error').textContent).toBe(
      'The count was not recorded: body.people: a count of people cannot be negative',
    )
    expect(field('count-people').getAttribute('aria-invalid')).toBe('true')
    expect(document.activeElement).toBe(field('count-people'))

    field('count-people').value = '3'
    field('count-to').value = '2026-11-21T12:00'
    submit()
    await vi.waitFor(() =>
      expect(field('count-form-error').textContent).toContain('the window ends in the future'),
    )
    expect(field('count-to').getAttribute('aria-invalid')).toBe('true')
    expect(field('count-people').hasAttribute('aria-invalid')).toBe(false)
  })

  it('names the fields of a refusal', () => {
    expect(invalidCountFields('zone nowhere does not exist')).toEqual(['zone'])
    expect(invalidCountFields('gateway gw-x is in zone a, not b')).toEqual(['gateway'])
    expect(
      invalidCountFields(
        'overlaps count session 4 of the same zone and kind, which counted 2 people, not 6',
      ),
    ).toEqual(['from', 'to'])
    expect(invalidCountFields('body.countedBy: say who counted; body.people: x')).toEqual([
      'people',
      'countedBy',
    ])
  })
})
