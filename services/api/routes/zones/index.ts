import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  ZoneFeatureCollectionSchema,
  ZonesQuerySchema,
  ZonesResponseSchema,
  type ZonesResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { listZones } from '../../queries/zone-queries.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import { AUTH_ERRORS } from '../../lib/responses.ts'

export default async function zoneRoutes(app: FastifyInstance, opts: { db: Db }) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/zones',
    {
      schema: {
        tags: ['district'],
        summary: 'Zones with their polygons (shopkeeper: its own zone only)',
        description:
          '`?format=geojson` (or `Accept: application/geo+json`) answers a GeoJSON FeatureCollection; `?format=csv` a table without geometry.',
        querystring: ZonesQuerySchema,
        response: { 200: ZonesResponseSchema.or(ZoneFeatureCollectionSchema), ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('zones', (b: ZonesResponse) => ({
          columns: ['id', 'name', 'kind', 'shopId', 'streetFromM', 'streetToM'],
          rows: b.zones.map((z) => [z.id, z.name, z.kind, z.shopId, z.streetFromM, z.streetToM]),
        })),
      },
    },
    async (req, reply) => {
      const p = requirePrincipal(req)
      const zones = await listZones(
        opts.db,
        p.role === 'shopkeeper' ? (p.shopId ?? '\u0000') : undefined,
      )
      const geo =
        req.query.format === 'geojson' ||
        (req.query.format === undefined &&
          /^application\/geo\+json/i.test(req.headers.accept ?? ''))
      if (!geo) return { zones }
      reply.type('application/geo+json')
      return {
        type: 'FeatureCollection' as const,
        features: zones.map(({ geometry, ...properties }) => ({
          type: 'Feature' as const,
          id: properties.id,
          geometry,
          properties,
        })),
      }
    },
  )
}
