import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  ForecastQuerySchema,
  ForecastResponseSchema,
} from '../../../shared/contracts/outlook-api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { HOUR_MS } from '../../../shared/contracts/local-time.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { resolveScope } from '../../lib/scope.ts'
import { FORECAST_MODEL, forecastScope } from '../../lib/forecast-service.ts'
import { findShop } from '../../queries/shop-queries.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

export type ForecastRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
}

export default async function forecastRoutes(app: FastifyInstance, opts: ForecastRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  r.get(
    '/forecast',
    {
      schema: {
        tags: ['footfall'],
        summary:
          'Hourly forecast of the next days with a 90 % interval, for a zone, a shop or the district (shopkeeper: its own shop)',
        description:
          'Weekly-profile model (docs/metrics.md, "Forecasts"): each hour is the mean of the same local weekday and hour over the last 4 usable weeks; flagged days and event windows are left out of the history. The interval comes from the model\'s own errors re-forecasting the last 4 weeks; it is null until those errors number at least 48.',
        querystring: ForecastQuerySchema,
        response: { 200: ForecastResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const q = req.query
      const scope = await resolveScope(opts.db, p, q)
      const tz = await opts.timeZone()
      const origin = Math.floor(opts.now() / HOUR_MS) * HOUR_MS
      const shopZone = scope.shopId ? (await findShop(opts.db, scope.shopId))?.zoneId : undefined
      const f = await forecastScope(
        opts.db,
        { ...scope, eventZoneId: scope.zoneId ?? shopZone },
        { measure: q.measure, origin, days: q.days, tz },
      )
      return {
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        measure: q.measure,
        timezone: tz,
        origin: new Date(origin).toISOString(),
        level: f.level,
        model: FORECAST_MODEL,
        residuals: f.residuals,
        excludedDays: f.excludedDays,
        points: f.points.map((x) => ({
          t: new Date(x.t).toISOString(),
          value: x.value,
          low: x.low,
          high: x.high,
          weeks: x.weeks,
        })),
      }
    },
  )
}
