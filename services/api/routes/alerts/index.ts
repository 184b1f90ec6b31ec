import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  AlertIdParamsSchema,
  AlertSchema,
  AlertsQuerySchema,
  AlertsResponseSchema,
} from '../../../shared/contracts/ranges-api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { acknowledgeAlert, findAlert, listAlerts } from '../../queries/alert-queries.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

export default async function alertRoutes(app: FastifyInstance, opts: { db: Db }) {
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first (shopkeeper: its shop’s only)',
        description:
          'Kinds: `zone_outside_band` / `shop_outside_band` (outside the expected range for the district’s `outsideBandBuckets` consecutive hours, default 3), `gateway_silent` (no message for `silentAfterMinutes`, default 15), `gateway_rate_collapse` (last hour under `rateCollapseShare` of the usual, default 25 %), `dead_letters_rising` (last hour ≥ `deadLetterMinPerHour` and ≥ `deadLetterRise` × the hourly mean of the day before). `state=open` (default) lists alerts not cleared yet; `all` includes cleared ones.',
        querystring: AlertsQuerySchema,
        response: { 200: AlertsResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const alerts = await listAlerts(opts.db, {
        open: req.query.state === 'open',
        limit: req.query.limit,
        ...(p.role === 'shopkeeper' ? { shopId: p.shopId ?? '\u0000' } : {}),
      })
      return { alerts }
    },
  )

  r.post(
    '/alerts/:id/acknowledge',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert (shopkeeper: its shop’s)',
        description:
          'Records who acknowledged it and when (the first acknowledgement stays); the alert stays open until its condition clears. The change is pushed on the live feed.',
        params: AlertIdParamsSchema,
        response: { 200: AlertSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const found = await findAlert(opts.db, req.params.id)
      const hidden = found && p.role === 'shopkeeper' && found.shopId !== p.shopId
      if (!found || hidden)
        throw new AppError('not_found', `alert ${req.params.id} does not exist`, {
          statusCode: 404,
        })
      const alert = await acknowledgeAlert(opts.db, req.params.id, p.keyId)
      if (!alert)
        throw new AppError('not_found', `alert ${req.params.id} does not exist`, {
          statusCode: 404,
        })
      app.liveHub.broadcastAlert(alert)
      return alert
    },
  )
}
