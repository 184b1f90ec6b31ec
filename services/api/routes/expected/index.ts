import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  DemoHistoryResponseSchema,
  ExpectedQuerySchema,
  ExpectedResponseSchema,
} from '../../../shared/contracts/ranges-api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { readDemoHistory } from '../../../shared/registry/demo-history-repository.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { DAY_MS, rangeOf } from '../../lib/range.ts'
import { resolveScope } from '../../lib/scope.ts'
import { expectedRows } from '../../lib/expected-service.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

/** Longest range per bucket (each bucket looks 8 weeks back). */
const MAX_EXPECTED_MS = { '15m': 7 * DAY_MS, '1h': 31 * DAY_MS } as const

export type ExpectedRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
}

export default async function expectedRoutes(app: FastifyInstance, opts: ExpectedRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/footfall/expected',
    {
      schema: {
        tags: ['footfall'],
        summary: 'Footfall with its expected range per zone and bucket (shopkeeper: its shop only)',
        description:
          'For every bucket (15m or 1h) of every zone in scope: the value (footfall = passers-by + visitors, or `metric` visitors / passersBy), the usual value (median of the same local weekday and time in the 8 weeks before) and a band (usual ± 2 robust standard deviations, at least ± 2√usual), leaving out public holidays (Italian, and the district file’s own) and event days (listed in `excluded`). No band (null) with fewer than 3 comparable weeks. `side` says where a finished bucket stands; `weekday` and `hour` say what the usual is of ("usual for a Monday at 11"). Longest range: 7 days (15m), 31 (1h).',
        querystring: ExpectedQuerySchema,
        response: { 200: ExpectedResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const { bucket, metric } = req.query
      const { from, to } = rangeOf(req.query, MAX_EXPECTED_MS[bucket])
      const scope = await resolveScope(opts.db, p, req.query)
      const tz = await opts.timeZone()
      const result = await expectedRows(opts.db, {
        from,
        to,
        bucket,
        metric,
        tz,
        nowMs: opts.now(),
        ...scope,
      })
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        bucket,
        metric,
        timezone: tz,
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        ...result,
      }
    },
  )

  r.get(
    '/demo-history',
    {
      schema: {
        tags: ['district'],
        summary: "How much of the demo's simulated history is written",
        description:
          '`miglio start` writes SIM_HISTORY (8 weeks) of simulated past traffic once per database, in the background, newest day first: days and weeks done of the total, and whether it is finished. `present: false` when the database has none.',
        response: { 200: DemoHistoryResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req) => {
      requirePrincipal(req)
      const h = await readDemoHistory(opts.db)
      if (!h)
        return {
          present: false,
          from: null,
          to: null,
          daysTotal: 0,
          daysDone: 0,
          weeksTotal: 0,
          weeksDone: 0,
          transits: 0,
          finished: false,
        }
      return {
        present: true,
        from: h.from.toISOString(),
        to: h.to.toISOString(),
        daysTotal: h.daysTotal,
        daysDone: h.daysDone,
        weeksTotal: Math.floor(h.daysTotal / 7),
        weeksDone: Math.floor(h.daysDone / 7),
        transits: h.transits,
        finished: h.finishedAt !== null,
      }
    },
  )
}
