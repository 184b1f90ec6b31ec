import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser } from 'playwright-core'
import { buildApp } from '../../services/api/app.ts'
import { createTestDatabase, type TestDatabase } from '../../services/shared/testing/engines.ts'
import { pauseBackgroundJobs } from '../../services/shared/testing/background-jobs.ts'
import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import { createApiKey } from '../../services/shared/registry/api-key-repository.ts'
import { createLogger } from '../../services/shared/logger.ts'
import { addDays, instantOfLocalTime } from '../../services/shared/contracts/local-time.ts'
import {
  insertTransits,
  threeShopDistrict,
  times,
  type TransitFixture,
} from '../../services/api/api-test-helpers.ts'

// The monthly report in a real browser: the API on a real database with two months of a shop's
// traffic, Debian's Chromium (playwright-core) opening the report page with a shopkeeper's key in
// the Authorization header, on screen and as printed. Screenshots land in
// test-artifacts/screenshots/ (gitignored), like the dashboards' end-to-end test.

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOTS = new URL('../../test-artifacts/screenshots/', import.meta.url).pathname
const TZ = 'Europe/Rome'
/** The clock: Tuesday 10 November 2026, 11:30 in Rome. */
const NOW = Date.parse('2026-11-10T10:30:00Z')

let database: TestDatabase
let app: FastifyInstance
let browser: Browser | null = null
let url = ''
let shopkeeper = ''

const at = (date: string, hour: number, minute = 0) => {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  return instantOfLocalTime({ year, month, day, hour, minute }, TZ)
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the report's browser test drives Debian's Chromium (apt-get install -y chromium)`,
    )
  await mkdir(SCREENSHOTS, { recursive: true })
  database = await createTestDatabase()
  const { db } = database
  await pauseBackgroundJobs(db)
  await loadDistrict(db, threeShopDistrict())
  shopkeeper = (await createApiKey(db, { role: 'shopkeeper', shopId: 'shop-one', label: 'one' }))
    .key
  const fixtures: TransitFixture[] = []
  for (let d = '2026-09-01'; d <= '2026-11-09'; d = addDays(d, 1)) {
    for (let h = 9; h < 20; h++) {
      const n = 1 + ((h * 7 + Number(d.slice(8))) % 5)
      fixtures.push(...times(n, { gateway: 'gw-shop-one', at: at(d, h, 5) }))
      fixtures.push({ gateway: 'gw-shop-one', at: at(d, h, 30), visitor: true, dwellS: 400 })
      fixtures.push({ gateway: 'gw-shop-two', at: at(d, h, 40), visitor: h % 3 === 0 })
    }
  }
  for (let i = 0; i < fixtures.length; i += 2000)
    await insertTransits(db, fixtures.slice(i, i + 2000))
  await db
    .insertInto('events')
    .values({
      id: 'notte-bianca',
      name: 'Notte bianca',
      zone_ids: ['shop-one'],
      starts_at: new Date(at('2026-10-17', 14)),
      ends_at: new Date(at('2026-10-17', 19)),
      created_by: null,
    })
    .execute()
  app = await buildApp({
    db,
    log: createLogger({ level: 'silent' }),
    checks: { broker: () => ({ up: true }) },
    now: () => NOW,
    options: { tz: TZ, rateLimit: { enabled: false }, reportChromium: CHROMIUM },
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await chromium.launch({
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
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await app?.close()
  await database?.close()
})

describe('the monthly shop report in Chromium', () => {
  it('renders on screen and in print, in Italian, with its sections and chart', async () => {
    if (!browser) throw new Error('no browser')
    const context = await browser.newContext({
      viewport: { width: 900, height: 1200 },
      extraHTTPHeaders: { authorization: `Bearer ${shopkeeper}` },
    })
    const problems: string[] = []
    try {
      const page = await context.newPage()
      page.on('pageerror', (e) => problems.push(String(e)))
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text())
      })
      const res = await page.goto(`${url}/api/v1/shops/shop-one/reports/2026-10.html?lang=it`)
      expect(res?.status()).toBe(200)
      await expect.poll(() => page.locator('h1').textContent()).toBe('Shop One — ottobre 2026')
      expect(await page.locator('section[data-testid="overview"] h2 >> nth=0').textContent()).toBe(
        'Il mese in sintesi',
      )
      expect(await page.locator('[data-testid="rank"]').textContent()).toMatch(/è 1° su 3 negozi/)
      expect(await page.locator('[data-testid="events"]').textContent()).toContain('Notte bianca')
      expect(await page.locator('[data-testid="forecast"]').textContent()).toMatch(
        /novembre 2026: circa/,
      )
      // The hour chart is drawn: bars with a height for the opening hours.
      const bars = await page
        .locator('svg.hours rect.bar')
        .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('height'))))
      expect(bars).toHaveLength(24)
      expect(bars.filter((b) => b > 0)).toHaveLength(11)
      // The inline stylesheet applies (the page's own CSP allows it by hash).
      expect(
        await page.locator('header').evaluate((e) => getComputedStyle(e).borderBottomStyle),
      ).toBe('solid')
      const box = await page.locator('svg.hours').boundingBox()
      expect(box?.width).toBeGreaterThan(300)
      await page.screenshot({ path: join(SCREENSHOTS, 'report-shop-2026-10.png'), fullPage: true })
      await page.emulateMedia({ media: 'print' })
      await page.screenshot({
        path: join(SCREENSHOTS, 'report-shop-2026-10-print.png'),
        fullPage: true,
      })
      expect(problems).toEqual([])
    } finally {
      await context.close()
    }
  }, 60_000)

  it("refuses another shop's report to the shopkeeper, in the browser too", async () => {
    if (!browser) throw new Error('no browser')
    const context = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${shopkeeper}` },
    })
    try {
      const page = await context.newPage()
      const res = await page.goto(`${url}/api/v1/shops/shop-two/reports/2026-10.html`)
      expect(res?.status()).toBe(403)
    } finally {
      await context.close()
    }
  }, 30_000)
})
