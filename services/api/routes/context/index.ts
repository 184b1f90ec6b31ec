import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ErrorBodySchema } from '../../../shared/contracts/api.ts'
import {
  ContextImportQuerySchema,
  ContextImportResponseSchema,
  ContextSeriesQuerySchema,
  ContextSeriesResponseSchema,
  ExcludedDayCreateSchema,
  ExcludedDayParamsSchema,
  ExcludedDaySchema,
  ExcludedDaysQuerySchema,
  ExcludedDaysResponseSchema,
} from '../../../shared/contracts/outlook-api.ts'
import { CONTEXT_MAX_ROWS } from '../../../shared/contracts/context-csv.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import {
  flagDay,
  importContextCsv,
  listContextValues,
  listExcludedDays,
  unflagDay,
} from '../../../shared/registry/context-repository.ts'
import { requireRole } from '../../plugins/auth.ts'
import { DAY_MS, rangeOf } from '../../lib/range.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

export type ContextRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
}

/** A context file may be this large (100 000 rows of about 60 bytes). */
const MAX_CSV_BYTES = 8 * 1024 * 1024
const MAX_SERIES_MS = 400 * DAY_MS

export default async function contextRoutes(app: FastifyInstance, opts: ContextRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  // Context names zones across the district: analysts and admins only.
  app.addHook('preValidation', async (req) => {
    requireRole(req, 'admin', 'analyst')
  })
  // The import's body is the CSV file itself (this scope only).
  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: MAX_CSV_BYTES },
    (_req, body, done) => done(null, body),
  )

  r.post(
    '/context/imports',
    {
      bodyLimit: MAX_CSV_BYTES,
      schema: {
        tags: ['context'],
        summary: 'Import a context CSV: time, zone, variable, value (analyst, admin)',
        description: `The body is the file (Content-Type text/csv). All rows or none: a file with any bad row is refused with 400 naming each bad row's number (the header is row 1) and reason. At most ${CONTEXT_MAX_ROWS} rows. A value imported again for the same time, zone and variable replaces the old one. Answers 201.`,
        querystring: ContextImportQuerySchema,
        body: z.string(),
        response: { 201: ContextImportResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, 'admin', 'analyst')
      const report = await importContextCsv(opts.db, req.body, {
        source: req.query.source ?? 'api',
        timeZone: await opts.timeZone(),
        importedBy: p.keyId,
      })
      return reply.code(201).send(report)
    },
  )

  r.get(
    '/context/series',
    {
      schema: {
        tags: ['context'],
        summary:
          'Context values in a range (at most 400 days), of one variable or all (analyst, admin)',
        description:
          "The district-wide values; with `zone`, that zone's too. Whole-day values carry `wholeDay: true` and the first instant of the local day.",
        querystring: ContextSeriesQuerySchema,
        response: { 200: ContextSeriesResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req) => {
      const { from, to } = rangeOf(req.query, MAX_SERIES_MS)
      return {
        values: await listContextValues(opts.db, {
          from,
          to,
          variable: req.query.variable,
          zoneId: req.query.zone ?? null,
        }),
      }
    },
  )

  r.get(
    '/context/excluded-days',
    {
      schema: {
        tags: ['context'],
        summary: 'Days flagged out of baselines and forecasts (analyst, admin)',
        querystring: ExcludedDaysQuerySchema,
        response: { 200: ExcludedDaysResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req) => ({ days: await listExcludedDays(opts.db, req.query) }),
  )

  r.post(
    '/context/excluded-days',
    {
      schema: {
        tags: ['context'],
        summary: 'Flag a local day (the district or one zone) out of baselines and forecasts',
        description:
          'Answers 201 with the flag, or 200 with the existing one when the day (and zone) is already flagged.',
        body: ExcludedDayCreateSchema,
        response: {
          200: ExcludedDaySchema,
          201: ExcludedDaySchema,
          ...AUTH_ERRORS,
          ...NOT_FOUND,
        },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, 'admin', 'analyst')
      const { day, created } = await flagDay(opts.db, {
        day: req.body.day,
        zoneId: req.body.zone ?? null,
        reason: req.body.reason,
        createdBy: p.keyId,
      })
      return reply.code(created ? 201 : 200).send(day)
    },
  )

  r.delete(
    '/context/excluded-days/:id',
    {
      schema: {
        tags: ['context'],
        summary: 'Unflag a day (analyst, admin)',
        params: ExcludedDayParamsSchema,
        response: {
          204: z.null().describe('Unflagged'),
          ...AUTH_ERRORS,
          404: ErrorBodySchema.describe('No such flag'),
        },
      },
    },
    async (req, reply) => {
      if (!(await unflagDay(opts.db, req.params.id)))
        throw new AppError('not_found', `flagged day ${req.params.id} does not exist`, {
          statusCode: 404,
        })
      return reply.code(204).send(null)
    },
  )
}
