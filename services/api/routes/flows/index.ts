import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  FlowsQuerySchema,
  FlowsResponseSchema,
  type FlowCell,
  type FlowsResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requireRole } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import { sumFlows } from '../../queries/flow-queries.ts'
import { findZoneShop } from '../../queries/zone-queries.ts'
import { isLocalMidnight } from '../../../shared/contracts/local-time.ts'
import { DAY_MS, rangeOf } from '../../lib/range.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

const MAX_RANGE_MS = { hourly: 92 * DAY_MS, daily: 3 * 366 * DAY_MS }

export default async function flowRoutes(
  app: FastifyInstance,
  opts: { db: Db; timeZone: () => Promise<string>; k: number },
) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/flows',
    {
      schema: {
        tags: ['flows'],
        summary:
          'Origin → destination matrix between zones with median travel time (analyst, admin)',
        description: `Flows summed over the range: from flows_daily when from and to are local midnights (source=auto) or source=daily, else from flows_hourly (at most 92 days). Cells with fewer than k = ${opts.k} devices are suppressed: they appear with suppressed=true and no figures. Absent pairs had no flow.`,
        querystring: FlowsQuerySchema,
        response: { 200: FlowsResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('flows', (b: FlowsResponse) => ({
          columns: ['originZoneId', 'destZoneId', 'suppressed', 'flows', 'travelSMedian'],
          rows: b.cells.map((c) => [
            c.originZoneId,
            c.destZoneId,
            c.suppressed,
            c.flows,
            c.travelSMedian,
          ]),
        })),
      },
    },
    async (req) => {
      requireRole(req, 'admin', 'analyst')
      const q = req.query
      const range = rangeOf(q, MAX_RANGE_MS.daily)
      const tz = await opts.timeZone()
      const wholeDays =
        isLocalMidnight(range.from.getTime(), tz) && isLocalMidnight(range.to.getTime(), tz)
      const source = q.source === 'auto' ? (wholeDays ? 'daily' : 'hourly') : q.source
      const { from, to } = rangeOf(q, MAX_RANGE_MS[source])
      if (q.zone && !(await findZoneShop(opts.db, q.zone)).exists)
        throw new AppError('not_found', `zone ${q.zone} does not exist`, { statusCode: 404 })
      const sums = await sumFlows(opts.db, { from, to, source, zoneId: q.zone })
      const cells: FlowCell[] = sums.map((s) =>
        s.flows >= opts.k
          ? { ...s, suppressed: false }
          : {
              originZoneId: s.originZoneId,
              destZoneId: s.destZoneId,
              suppressed: true,
              flows: null,
              travelSMedian: null,
            },
      )
      return { from: from.toISOString(), to: to.toISOString(), source, k: opts.k, cells }
    },
  )
}
