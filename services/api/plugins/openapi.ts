import fp from 'fastify-plugin'
import fastifySwagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'

/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas. Only tagged routes are listed
 * (the dashboard's static files and /metrics are not). Must be registered before the routes.
 */
export default fp(
  async function openApiPlugin(app: FastifyInstance) {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Miglio API',
          version: '1',
          description:
            'Foot-traffic analytics of a shopping street. Every /api/v1 route except health needs ' +
            '`Authorization: Bearer <key>`. Roles: analyst (whole district), shopkeeper (its own shop; ' +
            'district-wide answers only as anonymous rank), admin (everything, plus keys and ingest). ' +
            'Tabular answers are CSV with `?format=csv` or `Accept: text/csv`. Errors are ' +
            '`{ "error": { "code", "message" } }`.',
        },
        components: {
          securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
        },
        security: [{ apiKey: [] }],
      },
      hideUntagged: true,
      transform: jsonSchemaTransform,
    })
  },
  { name: 'miglio-openapi' },
)
