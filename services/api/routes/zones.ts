import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ZonesResponseSchema } from '../../shared/contracts/api.ts'
import type { Db } from '../../shared/db/create-db.ts'
import { listZones } from '../queries/zone-queries.ts'
import { requirePrincipal } from '../plugins/auth.ts'

export default async function zoneRoutes(app: FastifyInstance, opts: { db: Db }) {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get('/zones', { schema: { response: { 200: ZonesResponseSchema } } }, async (req) => {
      const p = requirePrincipal(req)
      return {
        zones: await listZones(
          opts.db,
          p.role === 'shopkeeper' ? (p.shopId ?? undefined) : undefined,
        ),
      }
    })
}
