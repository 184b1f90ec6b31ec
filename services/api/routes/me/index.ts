import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { MeResponseSchema } from '../../../shared/contracts/api.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { AUTH_ERRORS } from '../../lib/responses.ts'

export default async function meRoutes(app: FastifyInstance) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/me',
    {
      schema: {
        tags: ['district'],
        summary: 'Who the presented key belongs to (all roles)',
        response: { 200: MeResponseSchema, ...AUTH_ERRORS },
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      return { role: p.role, shopId: p.shopId, label: p.label }
    },
  )
}
