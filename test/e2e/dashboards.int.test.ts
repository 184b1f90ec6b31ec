import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import mqtt from 'mqtt'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Page,
} from 'playwright-core'
import {
  startEmbeddedBroker,
  type EmbeddedBroker,
} from '../../services/shared/broker/embedded-broker.ts'
import { buildSightingsTopic } from '../../services/shared/contracts/topics.ts'
import { waitFor } from '../../services/shared/testing/engines.ts'

// The dashboards in a real browser against the real front door: `miglio start` as a child process
// (embedded TimescaleDB, simulator backfilling 30 minutes), Debian's Chromium driven by
// playwright-core. The test owns the Aedes broker `start` talks to (MQTT_URL), so it can publish a
// malformed message and see it land in the dead letters. Screenshots of every view land in
// test-artifacts/screenshots/ (gitignored).

const CHROMIUM = '/usr/bin/chromium'
const BIN = new URL('../../bin/miglio.mjs', import.meta.url).pathname
const SCREENSHOTS = new URL('../../test-artifacts/screenshots/', import.meta.url).pathname
const DISTRICT = 'Miglio Digitale — Mestre'

type DemoKey = { role: 'admin' | 'analyst' | 'shopkeeper'; shopId: string | null; key: string }

let dataDir = ''
let child: ChildProcessWithoutNullStreams | null = null
let stdout = ''
let stderr = ''
let url = ''
let keys: DemoKey[] = []
let browser: Browser | null = null
let broker: EmbeddedBroker | null = null
/** A MAC in the malformed message: it must never reach a page. */
const RAW_MAC = 'A4:5E:60:D1:22:9F'

/** Console errors and uncaught exceptions of every page, with where they came from. */
const problems: { view: string; text: string; url: string }[] = []

function keyOf(role: DemoKey['role']): DemoKey {
  const found = keys.find((k) => k.role === role)
  if (!found) throw new Error(`no demo ${role} key in ${JSON.stringify(keys.map((k) => k.role))}`)
  return found
}

async function openPage(view: string, viewport = { width: 1280, height: 900 }) {
  if (!browser) throw new Error('no browser')
  const context: BrowserContext = await browser.newContext({ viewport, locale: 'en-GB' })
  const page: Page = await context.newPage()
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') {
      problems.push({ view, text: message.text(), url: message.location().url })
    }
  })
  page.on('pageerror', (error) => problems.push({ view, text: String(error), url: '' }))
  return { context, page }
}

async function signIn(page: Page, key: string) {
  await page.goto(url)
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Waits until every chart has left its loading state. */
async function chartsDrawn(page: Page) {
  await page.waitForFunction(
    () => document.querySelectorAll('svg.chart-loading').length === 0,
    null,
    {
      timeout: 20_000,
    },
  )
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the dashboards' end-to-end test drives Debian's Chromium. CI installs it ` +
        '(`apt-get install -y chromium`, see docs/embedded-stack.md); install it the same way to run this test.',
    )
  }
  await mkdir(SCREENSHOTS, { recursive: true })
  dataDir = await mkdtemp(join(tmpdir(), 'miglio-e2e-'))
  broker = await startEmbeddedBroker()
  const started = spawn(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'warn',
      MIGLIO_DATA_DIR: dataDir,
      MQTT_URL: broker.url,
      PORT: '0',
      SIM_BACKFILL: '30m',
      SIM_HISTORY: '0',
      // The same demo traffic whatever the hour the test runs at.
      SIM_FLAT_DAY: 'true',
      API_PUBLIC_STREET_VIEW: 'true',
    },
  })
  child = started
  started.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  started.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const [out] = await Promise.all([
    waitFor(
      () => Promise.resolve(stdout),
      (s) => /Miglio is running: (http:\/\/\S+)/.test(s) || started.exitCode !== null,
      { timeoutMs: 60_000, what: 'miglio start to print its URL' },
    ),
    chromium
      .launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      })
      .then((b) => {
        browser = b
      }),
  ])
  const match = /Miglio is running: (http:\/\/\S+)/.exec(out)
  if (!match?.[1]) throw new Error(`miglio start exited: ${stderr}`)
  url = match[1]
  keys = (
    JSON.parse(await readFile(join(dataDir, 'demo-keys.json'), 'utf8')) as { keys: DemoKey[] }
  ).keys

  // The simulator's backfill must have reached the API before pages open, so every chart has data.
  const analyst = keyOf('analyst').key
  const since = new Date(Date.now() - 2 * 3_600_000).toISOString()
  await waitFor(
    async () => {
      const res = await fetch(
        new URL(`api/v1/footfall?from=${since}&to=${new Date().toISOString()}&bucket=1h`, url),
        { headers: { authorization: `Bearer ${analyst}` } },
      )
      const body = (await res.json()) as { totals?: { passersBy: number; visitors: number }[] }
      return (body.totals ?? []).reduce((n, t) => n + t.passersBy + t.visitors, 0)
    },
    (n) => n > 50,
    { timeoutMs: 60_000, intervalMs: 500, what: 'footfall from the simulator backfill' },
  )

  // An event running now, so the events panel has something to show.
  const res = await fetch(new URL('api/v1/events', url), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${keyOf('analyst').key}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      name: 'Mercatino di Natale',
      zones: ['piazza-ferretto'],
      from: new Date(Date.now() - 20 * 60_000).toISOString(),
      to: new Date(Date.now() + 100 * 60_000).toISOString(),
    }),
  })
  expect(res.status, await res.clone().text()).toBe(201)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => child?.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timer)
  }
  await broker?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('dashboards in Chromium', () => {
  it('signs an analyst in to the district and shows data arriving over the live feed', async () => {
    const { context, page } = await openPage('district')
    try {
      await page.goto(url)
      await page.getByLabel('API key').waitFor()
      await screenshot(page, 'sign-in')
      await signIn(page, keyOf('analyst').key)

      await expect.poll(() => page.locator('h1').textContent(), { timeout: 20_000 }).toBe(DISTRICT)
      expect(page.url()).toContain('#/district')
      await expect
        .poll(() => page.locator('nav a').allTextContents())
        .toEqual(['District', 'Shops', 'Street screen'])

      // Live: the indicator turns live and its time moves on as counts arrive over the WebSocket.
      const live = page.locator('.live-status[data-status="live"]')
      await live.waitFor({ timeout: 20_000 })
      await page.locator('svg.zone-map .live-value').first().waitFor({ timeout: 20_000 })
      const first = await live.textContent()
      expect(first).toMatch(/^Live · updated \d\d:\d\d:\d\d$/)
      await expect.poll(() => live.textContent(), { timeout: 30_000 }).not.toBe(first)

      await chartsDrawn(page)
      // Today may have just begun (local midnight): the figure is there, formatted, maybe 0.
      expect(await page.locator('.tile[data-kpi="passers-by"] .tile-value').textContent()).toMatch(
        /^\d{1,3}(,\d{3})*$/,
      )
      await page.locator('table.events tbody tr').first().waitFor()
      expect(await page.locator('table.events').textContent()).toContain('Mercatino di Natale')
      await screenshot(page, 'district')

      // Keyboard: the range pills are radios reachable and operable without a mouse.
      await page.locator('#range-today').focus()
      await page.keyboard.press('ArrowRight')
      await expect.poll(() => page.locator('#kpis h2').textContent()).toBe('Last 7 days')
    } finally {
      await context.close()
    }
  })

  it('lets an analyst add an event in local time, see the API refuse a bad one, and delete it', async () => {
    const analyst = keyOf('analyst').key
    const { context, page } = await openPage('events')
    try {
      await signIn(page, analyst)
      await page.locator('#event-zone-piazza-ferretto').waitFor({ timeout: 20_000 })
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(
        new Date(Date.now() + 86_400_000),
      )

      await page.getByLabel('Name', { exact: true }).fill('Festa di quartiere')
      await page.locator('#event-zone-piazza-ferretto').check()
      await page.locator('#event-from').fill(`${day}T21:00`)
      await page.locator('#event-to').fill(`${day}T18:00`)
      await page.getByRole('button', { name: 'Add event' }).click()

      // The refusal is the API's own validation message, on the field it names.
      await expect
        .poll(() => page.locator('#event-form-error').textContent(), { timeout: 10_000 })
        .toBe('The event was not saved: from: must be before to')
      expect(await page.locator('#event-from').getAttribute('aria-invalid')).toBe('true')

      await page.locator('#event-from').fill(`${day}T18:00`)
      await page.locator('#event-to').fill(`${day}T21:30`)
      await page.getByRole('button', { name: 'Add event' }).click()

      const row = page.locator('table.events tbody tr', { hasText: 'Festa di quartiere' })
      await row.waitFor({ timeout: 20_000 })
      expect(await page.locator('.events-status').textContent()).toBe(
        'Event “Festa di quartiere” added.',
      )
      const listed = async () => {
        const res = await fetch(new URL('api/v1/events', url), {
          headers: { authorization: `Bearer ${analyst}` },
        })
        const body = (await res.json()) as {
          events: { id: string; name: string; zones: string[]; from: string; to: string }[]
        }
        return body.events.filter((e) => e.name === 'Festa di quartiere')
      }
      const [created] = await listed()
      expect(created?.zones).toEqual(['piazza-ferretto'])
      const rome = new Intl.DateTimeFormat('en-CA', {
        timeZone: 'Europe/Rome',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
      expect(rome.format(new Date(created?.from ?? 0))).toBe(`${day}, 18:00`)
      expect(rome.format(new Date(created?.to ?? 0))).toBe(`${day}, 21:30`)
      await screenshot(page, 'district-events')

      await page
        .getByRole('button', { name: 'Delete event Festa di quartiere', exact: true })
        .click()
      await page
        .getByRole('button', { name: 'Confirm: delete event Festa di quartiere', exact: true })
        .click()

      await expect
        .poll(() => page.locator('.events-status').textContent(), { timeout: 10_000 })
        .toBe('Event “Festa di quartiere” deleted.')
      await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(0)
      expect(await listed()).toEqual([])
      expect(await page.locator('table.events').textContent()).toContain('Mercatino di Natale')
    } finally {
      await context.close()
    }
  })

  it('lets an analyst import context, see a bad file refused by row, and flag and unflag a day', async () => {
    const analyst = keyOf('analyst')
    const { context, page } = await openPage('context')
    try {
      await signIn(page, analyst.key)
      const panel = page.locator('#context')
      await panel.locator('.flagged-list .placeholder').waitFor({ timeout: 20_000 })

      const upload = (name: string, csv: string) =>
        Promise.all([
          page.waitForResponse((r) => r.url().includes('/api/v1/context/imports')),
          (async () => {
            await page.locator('#context-file').setInputFiles({
              name,
              mimeType: 'text/csv',
              buffer: Buffer.from(csv),
            })
            await panel.getByRole('button', { name: 'Import' }).click()
          })(),
        ])
      const [refused] = await upload(
        'bad.csv',
        'time,zone,variable,value\n2026-11-21 10:00,,rain_mm,2.4\nyesterday,,rain_mm,1\n2026-11-21 12:00,,rain mm!,3\n',
      )
      expect(refused.status()).toBe(400)
      const bad = panel.locator('.context-bad-rows li')
      await expect.poll(() => bad.count(), { timeout: 10_000 }).toBe(2)
      const reasons = await bad.allTextContents()
      expect(reasons[0]).toMatch(/^row 3: time: /)
      expect(reasons[1]).toMatch(/^row 4: variable: /)
      expect(await panel.locator('.context-error').textContent()).toContain(
        'The file was refused and nothing was imported:',
      )
      await panel.screenshot({ path: join(SCREENSHOTS, 'context-refused.png') })

      const [imported] = await upload(
        'meteo.csv',
        'time,zone,variable,value\n2026-11-21 10:00,,rain_mm,2.4\n2026-11-21,piazza-ferretto,market,1\n',
      )
      expect(imported.status()).toBe(201)
      await expect
        .poll(() => panel.locator('.context-status').textContent(), { timeout: 10_000 })
        .toBe('Imported 2 rows: rain_mm, market.')
      expect(await bad.count()).toBe(0)

      await page.locator('#flag-day').fill('2026-11-20')
      await page.locator('#flag-zone').selectOption('piazza-ferretto')
      await page.locator('#flag-reason').fill('Roadworks')
      await panel.getByRole('button', { name: 'Flag the day' }).click()
      const row = panel.locator('tr[data-flag-id]')
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1)
      expect(await row.locator('th, td').allTextContents()).toEqual([
        '2026-11-20',
        'Piazza Ferretto',
        'Roadworks',
        'Unflag',
      ])
      const listed = async () => {
        const res = await fetch(new URL('api/v1/context/excluded-days', url), {
          headers: { authorization: `Bearer ${analyst.key}` },
        })
        return ((await res.json()) as { days: { day: string; zoneId: string | null }[] }).days
      }
      expect(await listed()).toMatchObject([{ day: '2026-11-20', zoneId: 'piazza-ferretto' }])
      await panel.screenshot({ path: join(SCREENSHOTS, 'context.png') })

      await panel.getByRole('button', { name: 'Unflag 2026-11-20 (Piazza Ferretto)' }).click()
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0)
      expect(await listed()).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('downloads the district’s footfall as CSV and opens a chart’s table from the keyboard', async () => {
    const { context, page } = await openPage('district-data')
    try {
      await signIn(page, keyOf('analyst').key)
      await page.locator('#downloads button[data-csv="footfall"]').waitFor({ timeout: 20_000 })
      await chartsDrawn(page)

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#downloads button[data-csv="footfall"]').click(),
      ])
      expect(download.suggestedFilename()).toMatch(
        /^miglio-district-footfall-today-\d{4}-\d\d-\d\d\.csv$/,
      )
      const lines = (await readFile(await download.path(), 'utf8')).trim().split('\r\n')
      expect(lines[0]).toMatch(/^zoneId,bucketStart,passersBy,visitors/)
      expect(lines.length).toBeGreaterThan(1)

      // The heatmap's figures: a disclosure reached and opened with the keyboard.
      const summary = page.locator('details[data-table="data-heatmap"] summary')
      await summary.waitFor({ timeout: 20_000 })
      await summary.focus()
      await page.keyboard.press('Enter')
      const table = page.locator('table.data-heatmap')
      await table.waitFor({ state: 'visible' })
      expect(await table.locator('tbody tr').count()).toBe(7)
      expect(await table.locator('tbody tr th').first().textContent()).toBe('Mon')

      // Gateways are drawn where they are installed, not in a row under the street.
      const ys = await page
        .locator('svg.zone-map path.gateway')
        .evaluateAll((marks) =>
          marks.map(
            (m) => /translate\([-\d.]+,([-\d.]+)\)/.exec(m.getAttribute('transform') ?? '')?.[1],
          ),
        )
      expect(ys.length).toBe(16)
      expect(new Set(ys).size).toBeGreaterThan(4)
    } finally {
      await context.close()
    }
  })

  it('shows an administrator the newest dead letters, MACs redacted', async () => {
    const admin = keyOf('admin').key
    const gateway = 'gw-piazza-ferretto'
    const publisher = await mqtt.connectAsync(broker?.url ?? '', {
      clientId: `e2e-bad-gateway-${process.pid}`,
      protocolVersion: 4,
    })
    try {
      // Cut off mid-sighting: ingest rejects it as malformed JSON and keeps it redacted.
      await publisher.publishAsync(
        buildSightingsTopic(gateway),
        `{"v":1,"gatewayId":"${gateway}","sightings":[{"mac":"${RAW_MAC}","rssi":-6`,
        { qos: 1 },
      )
    } finally {
      await publisher.endAsync()
    }
    await waitFor(
      async () => {
        const res = await fetch(new URL('api/v1/admin/dead-letters?pageSize=5', url), {
          headers: { authorization: `Bearer ${admin}` },
        })
        return ((await res.json()) as { items?: { reason: string }[] }).items ?? []
      },
      (items) => items.some((i) => i.reason === 'malformed_json'),
      { timeoutMs: 20_000, intervalMs: 250, what: 'the malformed message in the dead letters' },
    )

    const { context, page } = await openPage('district-admin')
    try {
      await signIn(page, admin)
      const row = page.locator('table.dead-letters-table tbody tr', { hasText: 'malformed_json' })
      await row.first().waitFor({ timeout: 20_000 })
      expect(await row.first().textContent()).toContain(gateway)
      expect(await page.locator('.pager-status').textContent()).toMatch(
        /^Page 1 of \d+ \(\d+ messages?\)$/,
      )
      const pageText = (await page.locator('body').textContent()) ?? ''
      expect(pageText.toLowerCase()).not.toContain(RAW_MAC.toLowerCase())
      await chartsDrawn(page)
      await screenshot(page, 'district-admin')
    } finally {
      await context.close()
    }
  })

  it('switches the district to Italian, numbers and dates included', async () => {
    const { context, page } = await openPage('district-it')
    try {
      await signIn(page, keyOf('analyst').key)
      await page.locator('.tile[data-kpi="passers-by"]').waitFor({ timeout: 20_000 })

      await page.getByRole('button', { name: 'Italiano' }).click()

      expect(await page.locator('html').getAttribute('lang')).toBe('it')
      await expect
        .poll(() => page.locator('nav a').allTextContents())
        .toEqual(['Distretto', 'Negozi', 'Schermo in strada'])
      expect(await page.locator('#zones h2').textContent()).toBe('Passaggi per zona')
      expect(await page.locator('#map h2').textContent()).toBe('Mappa del Miglio')
      await chartsDrawn(page)
      expect(await page.locator('#heatmap svg g.y-axis text').first().textContent()).toBe('lun')
      await page.locator('.live-status[data-status="live"]').waitFor({ timeout: 20_000 })
      await expect
        .poll(() => page.locator('.live-status').textContent(), { timeout: 20_000 })
        .toMatch(/^In diretta · aggiornato alle \d\d:\d\d:\d\d$/)
      await screenshot(page, 'district-it')
    } finally {
      await context.close()
    }
  })

  it('fits the district on a 375 px phone without sideways scrolling', async () => {
    const { context, page } = await openPage('district-phone', { width: 375, height: 812 })
    try {
      await signIn(page, keyOf('analyst').key)
      await page.locator('.tile[data-kpi="passers-by"]').waitFor({ timeout: 20_000 })
      await chartsDrawn(page)

      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      )
      expect(overflow).toBeLessThanOrEqual(0)
      await screenshot(page, 'district-phone')
    } finally {
      await context.close()
    }
  })

  it('shows a shopkeeper its own shop only, live, with a CSV download', async () => {
    const shopkeeper = keyOf('shopkeeper')
    const { context, page } = await openPage('shop')
    try {
      await signIn(page, shopkeeper.key)

      await expect
        .poll(() => page.url(), { timeout: 20_000 })
        .toContain(`#/shop/${shopkeeper.shopId}`)
      await expect
        .poll(() => page.locator('nav a').allTextContents())
        .toEqual(['My shop', 'Street screen'])
      await page.locator('.rank-headline').waitFor({ timeout: 20_000 })
      expect(await page.locator('.rank-headline').textContent()).toMatch(
        /^No\. \d+ of 12 by visitors today$/,
      )
      await page.locator('.live-status[data-status="live"]').waitFor({ timeout: 20_000 })
      await expect
        .poll(() => page.locator('.live-today').textContent(), { timeout: 20_000 })
        .toMatch(/^Today: \d+ passers-by, \d+ visitors$/)
      await chartsDrawn(page)
      await screenshot(page, 'shop')

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('button[data-csv="hourly"]').click(),
      ])
      expect(download.suggestedFilename()).toMatch(
        new RegExp(`^miglio-${shopkeeper.shopId}-hourly-\\d{4}-\\d\\d-\\d\\d\\.csv$`),
      )
      const path = await download.path()
      expect((await readFile(path, 'utf8')).split('\r\n')[0]).toContain('passersBy')
    } finally {
      await context.close()
    }
  })

  it('shows a shopkeeper the next 7 days of its own shop, asking for no other', async () => {
    const shopkeeper = keyOf('shopkeeper')
    const api = await fetch(new URL(`api/v1/forecast?shop=${shopkeeper.shopId}&days=7`, url), {
      headers: { authorization: `Bearer ${shopkeeper.key}` },
    })
    expect(api.status).toBe(200)
    const body = (await api.json()) as { shopId: string; points: unknown[] }
    expect(body.shopId).toBe(shopkeeper.shopId)
    expect(body.points).toHaveLength(7 * 24)

    const { context, page } = await openPage('shop-forecast')
    const asked: { url: string; status: number }[] = []
    page.on('response', (response) => {
      const u = new URL(response.url())
      if (u.pathname.startsWith('/api/v1/')) {
        asked.push({ url: u.pathname + u.search, status: response.status() })
      }
    })
    try {
      await signIn(page, shopkeeper.key)
      const chart = page.locator('#forecast svg.outlook:not(.chart-loading)')
      await chart.waitFor({ timeout: 20_000 })
      expect(await page.locator('#forecast-heading').textContent()).toBe('The next 7 days')
      // No history (SIM_HISTORY=0): the only past hours are today's demo backfill, so the card
      // either says there is not enough history, or — once those hours are aggregated — draws the
      // forecast of the same hours next week from them. Which one depends on the moment.
      const card = page.locator('#forecast')
      const noHistory = (await card.textContent())?.includes(
        'Not enough history for a forecast yet',
      )
      const forecastLine = await card.locator('svg.outlook path.series.forecast').count()
      expect(noHistory === true || forecastLine > 0).toBe(true)
      await screenshot(page, 'shop-forecast')

      const forecasts = asked.filter((a) => a.url.startsWith('/api/v1/forecast'))
      expect(forecasts).toEqual([
        { url: `/api/v1/forecast?shop=${shopkeeper.shopId}&days=7`, status: 200 },
      ])
      const shops = asked.flatMap((a) => {
        const u = new URL(a.url, url)
        const inPath = /^\/api\/v1\/shops\/([^/]+)\//.exec(u.pathname)?.[1]
        return [u.searchParams.get('shop'), inPath].filter((s): s is string => Boolean(s))
      })
      expect(shops.length).toBeGreaterThan(0)
      expect(new Set(shops)).toEqual(new Set([shopkeeper.shopId]))
    } finally {
      await context.close()
    }
  })

  it('refuses a shopkeeper another shop’s page with a clear message', async () => {
    const shopkeeper = keyOf('shopkeeper')
    const other = 'ottica-carducci'
    expect(other).not.toBe(shopkeeper.shopId)
    const api = await fetch(new URL(`api/v1/shops/${other}/summary`, url), {
      headers: { authorization: `Bearer ${shopkeeper.key}` },
    })
    expect(api.status).toBe(403)

    const { context, page } = await openPage('shop-forbidden')
    try {
      await signIn(page, shopkeeper.key)
      await page.locator('.rank-headline').waitFor({ timeout: 20_000 })

      await page.goto(`${url}#/shop/${other}`)

      const message = page.locator('.denied-message')
      await message.waitFor({ timeout: 20_000 })
      expect(await message.textContent()).toContain('This page belongs to another shop')
      expect(await page.locator('.tile').count()).toBe(0)
      await screenshot(page, 'shop-forbidden')
      await page.getByRole('link', { name: 'Go to my shop' }).click()
      await page.locator('.rank-headline').waitFor({ timeout: 20_000 })
    } finally {
      await context.close()
    }
  })

  it('serves the public street screen without a key when the server enables it', async () => {
    const crowd = await fetch(new URL('api/v1/public/crowd', url))
    expect(crowd.status).toBe(200)
    const { context, page } = await openPage('street', { width: 1280, height: 720 })
    try {
      await page.goto(`${url}#/street`)
      await page.locator('li.crowd').first().waitFor({ timeout: 20_000 })
      expect(await page.locator('li.crowd').count()).toBe(4)
      expect(await page.locator('.crowd-level').first().textContent()).toMatch(
        /Quiet|Moderate|Busy/,
      )
      await screenshot(page, 'street')
    } finally {
      await context.close()
    }
  })

  it('logged no console error other than the refusals the tests provoked', () => {
    const provoked = (p: { view: string; text: string; url: string }) =>
      (p.view === 'shop-forbidden' &&
        p.url.endsWith('/api/v1/shops/ottica-carducci/summary') &&
        p.text.includes('403')) ||
      (p.view === 'events' && p.url.endsWith('/api/v1/events') && p.text.includes('400')) ||
      (p.view === 'context' &&
        p.url.endsWith('/api/v1/context/imports?source=bad.csv') &&
        p.text.includes('400'))
    const unexpected = problems.filter((p) => !provoked(p))
    expect(unexpected).toEqual([])
  })
})
