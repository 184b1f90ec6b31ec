import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  ListQuerySchema,
  ShopDtoSchema,
  ShopParamsSchema,
  ShopsResponseSchema,
  ShopSummarySchema,
  type ShopsResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import type { ApiPrincipal } from '../../../shared/registry/api-key-repository.ts'
import { assertShopAccess, requirePrincipal } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import {
  findShop,
  listShops,
  sumShopTransits,
  visitorsPerShop,
  type ShopMeasures,
} from '../../queries/shop-queries.ts'
import { captureRate, deltaOf, dwellMean } from '../../lib/measures.ts'
import {
  localDateOf,
  shiftLocalDays,
  startOfLocalDay,
} from '../../../shared/contracts/local-time.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

const SUMMARY_WEEKS = 4

export type ShopRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
  now: () => number
}

async function shopFor(db: Db, p: ApiPrincipal, shopId: string) {
  const shop = await findShop(db, shopId)
  if (!shop) throw new AppError('not_found', `shop ${shopId} does not exist`, { statusCode: 404 })
  assertShopAccess(p, shopId)
  return shop
}

function measuresOf(m: ShopMeasures) {
  return {
    passersBy: m.passersBy,
    visitors: m.visitors,
    captureRate: captureRate(m.passersBy, m.visitors),
    dwellMeanS: dwellMean(m.dwellSecondsSum, m.visitors),
    estimatedPeople: m.estimatedPeople,
  }
}

export default async function shopRoutes(app: FastifyInstance, opts: ShopRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/shops',
    {
      schema: {
        tags: ['district'],
        summary: 'Shops of the district (shopkeeper: its own shop only)',
        querystring: ListQuerySchema,
        response: { 200: ShopsResponseSchema, ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('shops', (b: ShopsResponse) => ({
          columns: ['id', 'name', 'category', 'zoneId', 'streetOffsetM'],
          rows: b.shops.map((s) => [s.id, s.name, s.category, s.zoneId, s.streetOffsetM]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      return {
        shops: await listShops(
          opts.db,
          p.role === 'shopkeeper' ? (p.shopId ?? '\u0000') : undefined,
        ),
      }
    },
  )

  r.get(
    '/shops/:shopId',
    {
      schema: {
        tags: ['district'],
        summary: 'One shop (shopkeeper: its own only)',
        params: ShopParamsSchema,
        response: { 200: ShopDtoSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => shopFor(opts.db, requirePrincipal(req), req.params.shopId),
  )

  r.get(
    '/shops/:shopId/summary',
    {
      schema: {
        tags: ['footfall'],
        summary:
          "A shop's day so far vs the same weekday of the previous 4 weeks, and its anonymous rank by visitors (shopkeeper: its own shop)",
        params: ShopParamsSchema,
        response: { 200: ShopSummarySchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const shop = await shopFor(opts.db, p, req.params.shopId)
      const now = opts.now()
      const tz = await opts.timeZone()
      const dayStart = startOfLocalDay(now, tz)
      const today = await sumShopTransits(opts.db, shop.id, new Date(dayStart), new Date(now))
      const past: ShopMeasures[] = []
      for (let w = 1; w <= SUMMARY_WEEKS; w++) {
        past.push(
          await sumShopTransits(
            opts.db,
            shop.id,
            new Date(shiftLocalDays(dayStart, -7 * w, tz)),
            new Date(shiftLocalDays(now, -7 * w, tz)),
          ),
        )
      }
      const mean = (f: (m: ShopMeasures) => number) =>
        past.reduce((a, m) => a + f(m), 0) / past.length
      const avg: ShopMeasures = {
        passersBy: mean((m) => m.passersBy),
        visitors: mean((m) => m.visitors),
        dwellSecondsSum: mean((m) => m.dwellSecondsSum),
        estimatedPeople: mean((m) => m.estimatedPeople),
      }
      const t = measuresOf(today)
      const a = measuresOf(avg)
      const all = await visitorsPerShop(opts.db, new Date(dayStart), new Date(now))
      const mine = all.find((s) => s.shopId === shop.id)?.visitors ?? today.visitors
      const others = all.filter((s) => s.shopId !== shop.id)
      const shops = others.length + 1
      return {
        shopId: shop.id,
        zoneId: shop.zoneId,
        timezone: tz,
        day: localDateOf(now, tz),
        from: new Date(dayStart).toISOString(),
        asOf: new Date(now).toISOString(),
        today: t,
        sameWeekdayAverage: { ...a, weeks: SUMMARY_WEEKS },
        vsAverage: {
          passersBy: deltaOf(t.passersBy, a.passersBy),
          visitors: deltaOf(t.visitors, a.visitors),
          captureRate: deltaOf(t.captureRate, a.captureRate),
          dwellMeanS: deltaOf(t.dwellMeanS, a.dwellMeanS),
        },
        rank: {
          byVisitors: 1 + others.filter((s) => s.visitors > mine).length,
          shops,
          percentile:
            shops > 1 ? (100 * others.filter((s) => s.visitors < mine).length) / (shops - 1) : null,
        },
      }
    },
  )
}
