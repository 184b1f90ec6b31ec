import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  DEVICE_COUNTS_NOTICE,
  DeviceCountsQuerySchema,
  DeviceCountsResponseSchema,
  type DeviceCountsResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import {
  findGatewayShop,
  listCountSources,
  listDeviceCounts,
  sumDeviceCountsByZone,
} from '../../queries/device-count-queries.ts'
import { rangeOf } from '../../lib/range.ts'
import { resolveScope } from '../../lib/scope.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'
import { MAX_RANGE_MS } from '../footfall/index.ts'

export type DeviceCountRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
}

/**
 * `GET /api/v1/device-counts`: the device-count series of count sources (Paxcounter), which
 * report how many devices they counted and nothing else — kept apart from footfall everywhere.
 */
export default async function deviceCountRoutes(
  app: FastifyInstance,
  opts: DeviceCountRouteOptions,
) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/device-counts',
    {
      schema: {
        tags: ['footfall'],
        summary:
          'Device counts of count-source gateways (Paxcounter) per bucket — device counts, not pedestrians (shopkeeper: its shop only)',
        description: `${DEVICE_COUNTS_NOTICE} Per count source and bucket (15m, 1h, 1d = local day, week = ISO week in the district time zone; buckets starting in [from, to)): the reports received and, per radio, the mean and the largest count of a report; per zone, the sum of its count sources' means. \`gateway\`, \`zone\` and \`shop\` are exclusive. Longest range: 31 days (15m), 366 (1h), 1098 (1d), 3660 (week).`,
        querystring: DeviceCountsQuerySchema,
        response: { 200: DeviceCountsResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('device-counts', (b: DeviceCountsResponse) => ({
          columns: [
            'gatewayId',
            'zoneId',
            'bucketStart',
            'reports',
            'wifiDevicesMean',
            'wifiDevicesMax',
            'bleDevicesMean',
            'bleDevicesMax',
          ],
          rows: b.rows.map((r) => [
            r.gatewayId,
            r.zoneId,
            r.bucketStart,
            r.reports,
            r.wifiDevicesMean,
            r.wifiDevicesMax,
            r.bleDevicesMean,
            r.bleDevicesMax,
          ]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const q = req.query
      const { from, to } = rangeOf(q, MAX_RANGE_MS[q.bucket])
      if (q.gateway && (q.zone || q.shop))
        throw new AppError(
          'bad_request',
          `${q.zone ? 'zone' : 'shop'}: give one of gateway, zone or shop`,
          { statusCode: 400 },
        )
      if (q.gateway) {
        const g = await findGatewayShop(opts.db, q.gateway)
        if (!g)
          throw new AppError('not_found', `gateway ${q.gateway} does not exist`, {
            statusCode: 404,
          })
        if (p.role === 'shopkeeper' && g.shopId !== p.shopId)
          throw new AppError('forbidden', `gateway ${q.gateway} is not your shop's`, {
            statusCode: 403,
          })
      }
      const scope = await resolveScope(opts.db, p, q)
      const filter = { ...scope, gatewayId: q.gateway }
      const tz = await opts.timeZone()
      const [gateways, rows] = await Promise.all([
        listCountSources(opts.db, { ...filter, from, to }),
        listDeviceCounts(opts.db, { ...filter, from, to, bucket: q.bucket, tz }),
      ])
      return {
        measure: 'device_counts' as const,
        notice: DEVICE_COUNTS_NOTICE,
        from: from.toISOString(),
        to: to.toISOString(),
        bucket: q.bucket,
        timezone: tz,
        gatewayId: q.gateway ?? null,
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        gateways,
        rows,
        zones: sumDeviceCountsByZone(rows),
      }
    },
  )
}
