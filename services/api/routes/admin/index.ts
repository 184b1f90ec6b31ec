import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  ApiKeyCreatedSchema,
  ApiKeyCreateSchema,
  ApiKeyParamsSchema,
  ApiKeysResponseSchema,
  DeadLettersQuerySchema,
  DeadLettersResponseSchema,
  ErrorBodySchema,
  FormatSchema,
  IngestStatsQuerySchema,
  IngestStatsResponseSchema,
  type ApiKeysResponse,
  type DeadLettersResponse,
  type IngestStatsResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { createApiKey, revokeApiKey } from '../../../shared/registry/api-key-repository.ts'
import { requireRole } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import {
  countBatchesPerHour,
  countDeadLettersByReason,
  countRejectsPerHour,
  countTransitsPerHour,
  listDeadLetters,
} from '../../queries/admin-queries.ts'
import { findApiKey, listApiKeys } from '../../queries/api-key-queries.ts'
import { findShop } from '../../queries/shop-queries.ts'
import { DAY_MS, optionalRangeOf, rangeOf } from '../../lib/range.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

const HOUR_MS = 3_600_000
const MAX_STATS_MS = 31 * DAY_MS

const KeysQuerySchema = z.object({
  includeRevoked: z.stringbool().default(true),
  format: FormatSchema.optional(),
})

/** Admin only: dead letters, ingest statistics and API keys. */
export default async function adminRoutes(app: FastifyInstance, opts: { db: Db }) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  app.addHook('preValidation', async (req) => {
    requireRole(req, 'admin')
  })

  r.get(
    '/admin/dead-letters',
    {
      schema: {
        tags: ['admin'],
        summary: 'Rejected messages, newest first, paged, MACs redacted (admin)',
        querystring: DeadLettersQuerySchema,
        response: { 200: DeadLettersResponseSchema, ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('dead-letters', (b: DeadLettersResponse) => ({
          columns: [
            'receivedAt',
            'topic',
            'gatewayId',
            'reason',
            'detail',
            'payloadBytes',
            'payloadRedacted',
          ],
          rows: b.items.map((d) => [
            d.receivedAt,
            d.topic,
            d.gatewayId,
            d.reason,
            d.detail,
            d.payloadBytes,
            d.payloadRedacted,
          ]),
        })),
      },
    },
    async (req) => {
      const q = req.query
      const range = optionalRangeOf(q)
      return listDeadLetters(opts.db, {
        page: q.page,
        pageSize: q.pageSize,
        reason: q.reason,
        gatewayId: q.gateway,
        ...range,
      })
    },
  )

  r.get(
    '/admin/ingest-stats',
    {
      schema: {
        tags: ['admin'],
        summary: 'Rejects by reason, and batches, sightings, transits and rejects per hour (admin)',
        description:
          'At most 31 days. Batches are kept 3 days (ingest_batches retention); transits are counted in the hour of their first sighting.',
        querystring: IngestStatsQuerySchema,
        response: { 200: IngestStatsResponseSchema, ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('ingest-stats', (b: IngestStatsResponse) => ({
          columns: ['hour', 'batches', 'sightings', 'transits', 'rejected'],
          rows: b.hours.map((h) => [h.hour, h.batches, h.sightings, h.transits, h.rejected]),
        })),
      },
    },
    async (req) => {
      const { from, to } = rangeOf(req.query, MAX_STATS_MS)
      const [rejects, batches, rejected, transits] = await Promise.all([
        countDeadLettersByReason(opts.db, from, to),
        countBatchesPerHour(opts.db, from, to),
        countRejectsPerHour(opts.db, from, to),
        countTransitsPerHour(opts.db, from, to),
      ])
      const hours = new Map<number, IngestStatsResponse['hours'][number]>()
      const first = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS
      for (let t = first; t < to.getTime(); t += HOUR_MS) {
        hours.set(t, {
          hour: new Date(t).toISOString(),
          batches: 0,
          sightings: 0,
          transits: 0,
          rejected: 0,
        })
      }
      for (const b of batches) {
        const h = hours.get(b.hour.getTime())
        if (h) Object.assign(h, { batches: b.batches, sightings: b.sightings })
      }
      for (const x of rejected) {
        const h = hours.get(x.hour.getTime())
        if (h) h.rejected = x.rejected
      }
      for (const x of transits) {
        const h = hours.get(x.hour.getTime())
        if (h) h.transits = x.transits
      }
      return { from: from.toISOString(), to: to.toISOString(), rejects, hours: [...hours.values()] }
    },
  )

  r.get(
    '/admin/keys',
    {
      schema: {
        tags: ['admin'],
        summary: 'API keys, newest first; never the key or its hash (admin)',
        querystring: KeysQuerySchema,
        response: { 200: ApiKeysResponseSchema, ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('api-keys', (b: ApiKeysResponse) => ({
          columns: ['id', 'role', 'shopId', 'label', 'createdAt', 'revokedAt'],
          rows: b.keys.map((k) => [k.id, k.role, k.shopId, k.label, k.createdAt, k.revokedAt]),
        })),
      },
    },
    async (req) => ({ keys: await listApiKeys(opts.db, req.query.includeRevoked) }),
  )

  r.post(
    '/admin/keys',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create an API key; the answer shows the key this once (admin)',
        body: ApiKeyCreateSchema,
        response: { 201: ApiKeyCreatedSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req, reply) => {
      const { role, shopId, label } = req.body
      if (shopId && !(await findShop(opts.db, shopId)))
        throw new AppError('not_found', `shop ${shopId} does not exist`, { statusCode: 404 })
      const created = await createApiKey(opts.db, { role, shopId: shopId ?? null, label })
      const dto = await findApiKey(opts.db, created.id)
      if (!dto) throw new AppError('internal', 'the key just created is missing')
      reply.header('cache-control', 'no-store')
      return reply.code(201).send({ ...dto, key: created.key })
    },
  )

  r.delete(
    '/admin/keys/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API key (admin); revoking a revoked key is a no-op',
        description:
          'The key is refused at once; its live-feed sockets are closed with 4403 within a second on every API replica.',
        params: ApiKeyParamsSchema,
        response: {
          204: z.null().describe('Revoked'),
          ...AUTH_ERRORS,
          404: ErrorBodySchema.describe('No such key'),
        },
      },
    },
    async (req, reply) => {
      if (!(await findApiKey(opts.db, req.params.id)))
        throw new AppError('not_found', `API key ${req.params.id} does not exist`, {
          statusCode: 404,
        })
      await revokeApiKey(opts.db, req.params.id)
      // This replica's live-feed sockets of the key close now; the others' within their next key
      // check (every 500 ms), since replicas share only the database.
      app.liveHub.closeKey(req.params.id)
      return reply.code(204).send(null)
    },
  )
}
