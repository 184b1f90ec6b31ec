import { existsSync } from 'node:fs'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import fastifyWebsocket from '@fastify/websocket'
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import { Counter, Gauge, Registry } from 'prom-client'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { ApiOptionsSchema, type ApiOptionsInput } from './config.ts'
import { installErrorHandler } from './plugins/error-handler.ts'
import { RedactingLogController } from './plugins/request-log.ts'
import authPlugin, { requireRole } from './plugins/auth.ts'
import rateLimitPlugin from './plugins/rate-limit.ts'
import csvPlugin from './plugins/csv.ts'
import corsPlugin from './plugins/cors.ts'
import openApiPlugin from './plugins/openapi.ts'
import liveFeedPlugin from './plugins/live-feed.ts'
import { TokenBuckets } from './lib/token-bucket.ts'
import { localDate, localMidnight } from './lib/local-time.ts'
import { liveZoneCounts } from './queries/live-queries.ts'
import healthRoutes, { type HealthChecks } from './routes/health/index.ts'
import docsRoutes from './routes/docs/index.ts'
import meRoutes from './routes/me/index.ts'
import districtRoutes from './routes/district/index.ts'
import zoneRoutes from './routes/zones/index.ts'
import shopRoutes from './routes/shops/index.ts'
import gatewayRoutes from './routes/gateways/index.ts'
import footfallRoutes from './routes/footfall/index.ts'
import flowRoutes from './routes/flows/index.ts'
import eventRoutes from './routes/events/index.ts'
import adminRoutes from './routes/admin/index.ts'
import liveRoutes, { LIVE_PROTOCOL } from './routes/live/index.ts'
import publicRoutes from './routes/public/index.ts'

export type ApiDeps = {
  db: Db
  log: Logger
  checks: HealthChecks
  /** Built dashboard files served at `/`; absent → only the API. */
  dashboardsDir?: string | undefined
  /** Extra Prometheus registries merged into `/metrics` (e.g. the in-process ingest service's). */
  metricsRegistries?: Registry[]
  /** API options (see config.ts); every one has a default. */
  options?: ApiOptionsInput
  /** Clock for "today" (shop summary, event status); tests pin it. Epoch ms. */
  now?: () => number
  /**
   * Subscribes to ingest's announcements of new transits (returns the unsubscribe): the live feed
   * then polls at once instead of at its next interval. Without it the feed only polls.
   */
  onTransitsChanged?: (listener: () => void) => () => void
  /**
   * What the process is still waiting for before it can serve (e.g. the database), or null once it
   * serves. While it returns a string every `/api/v1` route answers 503 `starting` with it as the
   * message, and `/api/v1/health` answers 503 with status `starting`. Absent: always serving.
   */
  starting?: () => string | null
}

const QUARTER_MS = 15 * 60_000

/** The API as a Fastify instance; it does not listen (main.ts / the CLI does). */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const options = ApiOptionsSchema.parse(deps.options ?? {})
  const now = deps.now ?? Date.now
  const { db, log } = deps
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // Keys travel in headers or WebSocket messages only; request lines are logged with anything
    // key-shaped redacted and without headers.
    logController: new RedactingLogController(),
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

  const registry = new Registry()
  const metric = {
    rateLimited: new Counter({
      name: 'miglio_api_rate_limited_total',
      help: 'Requests and live-feed authentications refused with 429',
      registers: [registry],
    }),
    live: {
      clients: new Gauge({
        name: 'miglio_api_live_clients',
        help: 'Authenticated live-feed clients',
        registers: [registry],
      }),
      skipped: new Counter({
        name: 'miglio_api_live_skipped_updates_total',
        help: 'Live updates not sent because the client socket buffered too much (backpressure)',
        registers: [registry],
      }),
      polls: new Counter({
        name: 'miglio_api_live_polls_total',
        help: 'Database polls of the live feed',
        registers: [registry],
      }),
      pollErrors: new Counter({
        name: 'miglio_api_live_poll_errors_total',
        help: 'Failed database polls of the live feed',
        registers: [registry],
      }),
      terminated: new Counter({
        name: 'miglio_api_live_terminated_total',
        help: 'Live-feed clients closed for missing heartbeats',
        registers: [registry],
      }),
    },
  }

  // Before any route: the document collects routes as they are added, and the WebSocket plugin
  // must see every route to refuse upgrades on plain ones.
  await app.register(openApiPlugin)
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: 4096,
      handleProtocols: (protocols: Set<string>) =>
        protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false,
    },
  })
  await app.register(corsPlugin, { origins: options.corsOrigins })
  await app.register(csvPlugin)
  await app.register(liveFeedPlugin, {
    poll: async (nowMs: number) => {
      const dayStart = localMidnight(nowMs, options.tz)
      const zones = await liveZoneCounts(db, new Date(dayStart), new Date(nowMs - QUARTER_MS))
      return { at: new Date(nowMs).toISOString(), day: localDate(nowMs, options.tz), zones }
    },
    pollMs: options.live.pollMs,
    pingMs: options.live.pingMs,
    maxBufferedBytes: options.live.maxBufferedBytes,
    log,
    metrics: metric.live,
  })
  if (deps.onTransitsChanged) {
    const off = deps.onTransitsChanged(() => app.liveHub.nudge())
    app.addHook('onClose', async () => off())
  }

  if (deps.starting) {
    const starting = deps.starting
    // Before authentication and every other hook: nothing behind /api/v1 can answer yet.
    app.addHook('onRequest', async (req, reply) => {
      const why = starting()
      if (why === null) return
      const path = req.url.split('?')[0] ?? ''
      if (!path.startsWith('/api/v1/') || path === '/api/v1/health') return
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: { code: 'starting', message: why } })
    })
  }
  await app.register(healthRoutes, {
    prefix: '/api/v1',
    db,
    checks: deps.checks,
    ...(deps.starting ? { starting: deps.starting } : {}),
  })
  const registries = [registry, ...(deps.metricsRegistries ?? [])]
  const metricsRoute = async (scope: FastifyInstance, admin: boolean) => {
    scope.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
      if (admin) requireRole(req, 'admin')
      const merged = Registry.merge(registries)
      reply.type(merged.contentType)
      return merged.metrics()
    })
  }
  // Public by default (Prometheus scrapes without a key); API_METRICS_PUBLIC=false puts it behind an
  // admin key. Its labels never carry device data either way.
  if (options.metricsPublic) await metricsRoute(app, false)
  else
    await app.register(async (scope) => {
      await scope.register(authPlugin, { db })
      await metricsRoute(scope, true)
    })
  await app.register(docsRoutes)
  if (options.publicStreetView) {
    await app.register(publicRoutes, {
      prefix: '/api/v1',
      db,
      tz: options.tz,
      k: options.flowsK,
      now,
    })
  }

  const buckets = options.rateLimit.enabled ? new TokenBuckets(options.rateLimit) : null
  const common = { db, tz: options.tz, now }
  await app.register(
    async (api) => {
      await api.register(authPlugin, { db })
      await api.register(rateLimitPlugin, { buckets, rejected: metric.rateLimited })
      await api.register(meRoutes)
      await api.register(districtRoutes, { db })
      await api.register(zoneRoutes, { db })
      await api.register(shopRoutes, common)
      await api.register(gatewayRoutes, { db, silentAfterS: options.gatewaySilentAfterS })
      await api.register(footfallRoutes, common)
      await api.register(flowRoutes, { db, tz: options.tz, k: options.flowsK })
      await api.register(eventRoutes, common)
      await api.register(adminRoutes, { db })
    },
    { prefix: '/api/v1' },
  )
  await app.register(liveRoutes, {
    prefix: '/api/v1',
    db,
    authTimeoutMs: options.live.authTimeoutMs,
    buckets,
  })

  if (deps.dashboardsDir && existsSync(deps.dashboardsDir)) {
    await app.register(fastifyStatic, {
      root: deps.dashboardsDir,
      prefix: '/',
      index: ['index.html'],
    })
  }
  return app
}
