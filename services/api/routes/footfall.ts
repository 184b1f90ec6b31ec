import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  FootfallQuerySchema,
  FootfallResponseSchema,
  type FootfallRow,
  type FootfallTotal,
} from '../../shared/contracts/api.ts'
import type { Db } from '../../shared/db/create-db.ts'
import { AppError } from '../../shared/errors.ts'
import { listFootfall } from '../queries/footfall-queries.ts'
import { findZoneShop } from '../queries/zone-queries.ts'
import { requirePrincipal } from '../plugins/auth.ts'

const DAY = 86_400_000
const EARLIEST_MS = Date.UTC(2000, 0, 1)
const LATEST_MS = Date.UTC(9999, 0, 1)
/** Longest range per bucket width, so one request cannot ask for millions of cells. */
export const MAX_RANGE_MS = { '15m': 31 * DAY, '1h': 366 * DAY, '1d': 3 * 366 * DAY } as const

function totalsOf(rows: FootfallRow[]): FootfallTotal[] {
  const byZone = new Map<string, FootfallTotal>()
  for (const r of rows) {
    const t = byZone.get(r.zoneId) ?? { zoneId: r.zoneId, passersBy: 0, visitors: 0 }
    t.passersBy += r.passersBy
    t.visitors += r.visitors
    byZone.set(r.zoneId, t)
  }
  return [...byZone.values()]
}

export default async function footfallRoutes(app: FastifyInstance, opts: { db: Db }) {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/footfall',
      { schema: { querystring: FootfallQuerySchema, response: { 200: FootfallResponseSchema } } },
      async (req) => {
        const p = requirePrincipal(req)
        const { bucket, zone } = req.query
        const from = new Date(req.query.from)
        const to = new Date(req.query.to)
        for (const [field, d] of [
          ['from', from],
          ['to', to],
        ] as const) {
          if (d.getTime() < EARLIEST_MS || d.getTime() >= LATEST_MS) {
            throw new AppError(
              'bad_request',
              `${field}: must lie between 2000-01-01 and 9999-01-01`,
              {
                statusCode: 400,
              },
            )
          }
        }
        if (from >= to)
          throw new AppError('bad_request', 'from: must be before to', { statusCode: 400 })
        if (to.getTime() - from.getTime() > MAX_RANGE_MS[bucket]) {
          throw new AppError(
            'bad_request',
            `to: a ${bucket} range may span at most ${MAX_RANGE_MS[bucket] / DAY} days`,
            { statusCode: 400 },
          )
        }
        let shopId: string | undefined
        if (zone) {
          const z = await findZoneShop(opts.db, zone)
          if (!z.exists)
            throw new AppError('not_found', `zone ${zone} does not exist`, { statusCode: 404 })
          if (p.role === 'shopkeeper' && z.shopId !== p.shopId) {
            throw new AppError('forbidden', `zone ${zone} is not your shop's`, { statusCode: 403 })
          }
        }
        if (p.role === 'shopkeeper') shopId = p.shopId ?? '\u0000'
        const rows = await listFootfall(opts.db, { from, to, bucket, zoneId: zone, shopId })
        return {
          from: from.toISOString(),
          to: to.toISOString(),
          bucket,
          rows,
          totals: totalsOf(rows),
        }
      },
    )
}
