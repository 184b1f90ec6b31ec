import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { DistrictResponseSchema } from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { findDistrict } from '../../queries/district-queries.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

export default async function districtRoutes(app: FastifyInstance, opts: { db: Db }) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/district',
    {
      schema: {
        tags: ['district'],
        summary:
          'The district: name, time zone, length and how many zones, shops and gateways (all roles)',
        response: { 200: DistrictResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => {
      requirePrincipal(req)
      const d = await findDistrict(opts.db)
      if (!d) throw new AppError('not_found', 'no district is loaded', { statusCode: 404 })
      return d
    },
  )
}
