import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  DistrictPeopleResponseSchema,
  PeopleQuerySchema,
  ShopParamsSchema,
  ShopPeopleResponseSchema,
  ZoneParamsSchema,
  ZonePeopleResponseSchema,
  type DistrictPeopleResponse,
  type PeopleFigures,
  type PeopleQuery,
  type ShopPeopleResponse,
  type ZonePeopleResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { assertShopAccess, requirePrincipal, requireRole } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import { DAY_MS, rangeOf } from '../../lib/range.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'
import {
  bucketWindows,
  districtPeopleSeries,
  PEOPLE_BUCKET_MS,
  peopleSeries,
  type CalibrationProvider,
} from '../../lib/people.ts'
import { findZoneShop } from '../../queries/zone-queries.ts'
import { findShop } from '../../queries/shop-queries.ts'
import type { Window } from '../../../shared/people/measures.ts'

export type PeopleRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
  calibrations: CalibrationProvider
}

/** Longest range per bucket (the series is computed from the stored sessions on each request). */
export const PEOPLE_MAX_RANGE_MS = { '15m': 7 * DAY_MS, '1h': 31 * DAY_MS } as const

const DESCRIPTION =
  'People present (mean over the bucket) and people arriving (visits begun in it), estimated from the stored device sessions by the people estimator (docs/metrics.md): each with its 90 % interval and `calibrated` (false: at least one gateway has no fitted calibration; the figure is then one device = one person with a wide interval). Buckets starting in [from, to) and before now; the current one ends now. A calibration applies from the local day after it was fitted. Longest range: 7 days (15m), 31 days (1h).'

const figureColumns = (prefix: string) =>
  ['present', 'presentLow', 'presentHigh', 'arrivals', 'arrivalsLow', 'arrivalsHigh'].map(
    (c) => prefix + (prefix ? c[0]?.toUpperCase() + c.slice(1) : c),
  )
const figureCells = (f: PeopleFigures) => [
  f.present.people,
  f.present.low,
  f.present.high,
  f.arrivals.people,
  f.arrivals.low,
  f.arrivals.high,
]

/** A series' CSV: an optional id column, the bucket, the figures, calibrated. */
const seriesCsv = <
  B extends { rows: (PeopleFigures & { bucketStart: string; bucketEnd: string })[] },
>(
  name: string,
  id?: { column: string; of: (b: B) => string },
) =>
  csvOf(name, (b: B) => ({
    columns: [
      ...(id ? [id.column] : []),
      'bucketStart',
      'bucketEnd',
      ...figureColumns(''),
      'calibrated',
    ],
    rows: b.rows.map((x) => [
      ...(id ? [id.of(b)] : []),
      x.bucketStart,
      x.bucketEnd,
      ...figureCells(x),
      x.present.calibrated && x.arrivals.calibrated,
    ]),
  }))

/** The envelope every people series shares, its rows the windows with what `row` puts in each. */
function seriesBody<R>(
  o: { from: Date; to: Date; nowMs: number; bucket: PeopleQuery['bucket']; tz: string },
  windows: readonly Window[],
  row: (i: number) => R,
) {
  return {
    from: o.from.toISOString(),
    to: o.to.toISOString(),
    asOf: new Date(o.nowMs).toISOString(),
    bucket: o.bucket,
    timezone: o.tz,
    interval: 0.9 as const,
    rows: windows.map((w, i) => ({
      bucketStart: new Date(w.fromMs).toISOString(),
      bucketEnd: new Date(w.toMs).toISOString(),
      ...row(i),
    })),
  }
}

export default async function peopleRoutes(app: FastifyInstance, opts: PeopleRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/zones/:zoneId/people',
    {
      schema: {
        tags: ['footfall'],
        summary:
          "People present and arriving in a zone per bucket, with 90 % intervals (shopkeeper: its shop's zone, its gateways only)",
        description: DESCRIPTION,
        params: ZoneParamsSchema,
        querystring: PeopleQuerySchema,
        response: { 200: ZonePeopleResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: seriesCsv('people', { column: 'zoneId', of: (b: ZonePeopleResponse) => b.zoneId }),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const { zoneId } = req.params
      const q = req.query
      const { from, to } = rangeOf(q, PEOPLE_MAX_RANGE_MS[q.bucket])
      const z = await findZoneShop(opts.db, zoneId)
      if (!z.exists)
        throw new AppError('not_found', `zone ${zoneId} does not exist`, { statusCode: 404 })
      if (p.role === 'shopkeeper' && (z.shopId === null || z.shopId !== p.shopId))
        throw new AppError('forbidden', `zone ${zoneId} is not your shop's`, { statusCode: 403 })
      const shopId = p.role === 'shopkeeper' ? z.shopId : null
      const nowMs = opts.now()
      const tz = await opts.timeZone()
      const windows = bucketWindows(from.getTime(), to.getTime(), PEOPLE_BUCKET_MS[q.bucket], nowMs)
      const series = await peopleSeries(opts.db, {
        scope: shopId ? { shopId } : { zoneId },
        zoneId,
        windows,
        parts: [{ name: 'all', keep: () => true }],
        tz,
        calibrations: opts.calibrations,
      })
      const figures = series.get('all') ?? []
      return {
        zoneId,
        shopId,
        ...seriesBody({ from, to, nowMs, bucket: q.bucket, tz }, windows, (i) => ({
          ...(figures[i] as PeopleFigures),
        })),
      }
    },
  )

  r.get(
    '/district/people',
    {
      schema: {
        tags: ['footfall'],
        summary:
          'People present and arriving in the whole district per bucket: every zone added up, with 90 % intervals (analysts and admins)',
        description: `${DESCRIPTION} The district's figures are its zones' added up; the intervals' half-widths add up too (conservative).`,
        querystring: PeopleQuerySchema,
        response: { 200: DistrictPeopleResponseSchema, ...AUTH_ERRORS },
      },
      config: { csv: seriesCsv<DistrictPeopleResponse>('district-people') },
    },
    async (req) => {
      requireRole(req, 'admin', 'analyst')
      const q = req.query
      const { from, to } = rangeOf(q, PEOPLE_MAX_RANGE_MS[q.bucket])
      const nowMs = opts.now()
      const tz = await opts.timeZone()
      const windows = bucketWindows(from.getTime(), to.getTime(), PEOPLE_BUCKET_MS[q.bucket], nowMs)
      const figures = await districtPeopleSeries(opts.db, {
        windows,
        tz,
        calibrations: opts.calibrations,
      })
      return seriesBody({ from, to, nowMs, bucket: q.bucket, tz }, windows, (i) => ({
        ...(figures[i] as PeopleFigures),
      }))
    },
  )

  r.get(
    '/shops/:shopId/people',
    {
      schema: {
        tags: ['footfall'],
        summary:
          'People inside a shop and in front of it, present and arriving per bucket, with 90 % intervals (shopkeeper: its own shop)',
        description: `${DESCRIPTION} Inside: the sessions ingest classed as visitors at the shop's gateways (peak RSSI and dwell at least the gateway's thresholds; a session still open is classed as heard so far); in front: the others at its gateways. Both use the gateways' calibrations.`,
        params: ShopParamsSchema,
        querystring: PeopleQuerySchema,
        response: { 200: ShopPeopleResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('shop-people', (b: ShopPeopleResponse) => ({
          columns: [
            'shopId',
            'bucketStart',
            'bucketEnd',
            ...figureColumns('inside'),
            ...figureColumns('inFront'),
            'calibrated',
          ],
          rows: b.rows.map((x) => [
            b.shopId,
            x.bucketStart,
            x.bucketEnd,
            ...figureCells(x.inside),
            ...figureCells(x.inFront),
            x.inside.present.calibrated &&
              x.inside.arrivals.calibrated &&
              x.inFront.present.calibrated &&
              x.inFront.arrivals.calibrated,
          ]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const { shopId } = req.params
      const q = req.query
      const { from, to } = rangeOf(q, PEOPLE_MAX_RANGE_MS[q.bucket])
      const shop = await findShop(opts.db, shopId)
      if (!shop)
        throw new AppError('not_found', `shop ${shopId} does not exist`, { statusCode: 404 })
      assertShopAccess(p, shopId)
      const nowMs = opts.now()
      const tz = await opts.timeZone()
      const windows = bucketWindows(from.getTime(), to.getTime(), PEOPLE_BUCKET_MS[q.bucket], nowMs)
      const series = await peopleSeries(opts.db, {
        scope: { shopId },
        zoneId: shop.zoneId,
        windows,
        parts: [
          { name: 'inside', keep: (s) => s.visitor },
          { name: 'inFront', keep: (s) => !s.visitor },
        ],
        tz,
        calibrations: opts.calibrations,
      })
      const inside = series.get('inside') ?? []
      const inFront = series.get('inFront') ?? []
      return {
        shopId,
        zoneId: shop.zoneId,
        ...seriesBody({ from, to, nowMs, bucket: q.bucket, tz }, windows, (i) => ({
          inside: inside[i] as PeopleFigures,
          inFront: inFront[i] as PeopleFigures,
        })),
      }
    },
  )
}
