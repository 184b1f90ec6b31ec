import { existsSync } from 'node:fs'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import { Registry } from 'prom-client'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { installErrorHandler } from './plugins/error-handler.ts'
import authPlugin from './plugins/auth.ts'
import healthRoutes, { type HealthChecks } from './routes/health.ts'
import footfallRoutes from './routes/footfall.ts'
import zoneRoutes from './routes/zones.ts'
import meRoutes from './routes/me.ts'

export type ApiDeps = {
  db: Db
  log: Logger
  checks: HealthChecks
  /** Built dashboard files served at `/`; absent → only the API. */
  dashboardsDir?: string | undefined
  /** Extra Prometheus registries merged into `/metrics` (e.g. the in-process ingest service's). */
  metricsRegistries?: Registry[]
}

/** The API as a Fastify instance; it does not listen (main.ts / the CLI does). */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    disableRequestLogging: false,
    // Keys travel in headers only; never log them.
    requestIdHeader: false,
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandler(app)
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('x-frame-options', 'DENY')
    reply.header('referrer-policy', 'no-referrer')
    reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    )
  })

  await app.register(healthRoutes, { prefix: '/api/v1', db: deps.db, checks: deps.checks })
  const registries = deps.metricsRegistries ?? []
  app.get('/metrics', async (_req, reply) => {
    const merged = Registry.merge(registries.length ? registries : [new Registry()])
    reply.type(merged.contentType)
    return merged.metrics()
  })

  await app.register(
    async (api) => {
      await api.register(authPlugin, { db: deps.db })
      await api.register(meRoutes)
      await api.register(zoneRoutes, { db: deps.db })
      await api.register(footfallRoutes, { db: deps.db })
    },
    { prefix: '/api/v1' },
  )

  if (deps.dashboardsDir && existsSync(deps.dashboardsDir)) {
    await app.register(fastifyStatic, {
      root: deps.dashboardsDir,
      prefix: '/',
      index: ['index.html'],
    })
  }
  return app
}
