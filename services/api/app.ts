import { existsSync } from 'node:fs'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import fastifyWebsocket from '@fastify/websocket'
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Logger } from '../shared/logger.ts'
import type { Db } from '../shared/db/create-db.ts'
import { ApiOptionsSchema, type ApiOptions, type ApiOptionsInput } from './config.ts'
import {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandler,
} from './plugins/error-handler.ts'
import { RedactingLogController } from './plugins/request-log.ts'
import authPlugin, { requireRole } from './plugins/auth.ts'
import rateLimitPlugin from './plugins/rate-limit.ts'
import csvPlugin from './plugins/csv.ts'
import corsPlugin from './plugins/cors.ts'
import openApiPlugin from './plugins/openapi.ts'
import liveFeedPlugin from './plugins/live-feed.ts'
import { TokenBuckets } from './lib/token-bucket.ts'
import { AuthGuard } from './lib/auth-guard.ts'
import { OutageLog } from './lib/database-outage.ts'
import { isDatabaseUnavailable } from '../shared/db/database-errors.ts'
import { SECURITY_HEADERS } from './lib/http-errors.ts'
import { findNul } from './lib/nul.ts'
import { AppError } from '../shared/errors.ts'
import { findPrincipalByKey } from '../shared/registry/api-key-repository.ts'
import { activeKeyIds } from './queries/api-key-queries.ts'
import { localDateOf, startOfLocalDay } from '../shared/contracts/local-time.ts'
import { createDistrictTimeZone } from './lib/district-time-zone.ts'
import { findDistrictTimeZone } from '../shared/registry/district-repository.ts'
import { replicaLagMs } from './queries/replica-lag.ts'
import { liveResyncCounts, liveZoneCounts } from './queries/live-queries.ts'
import { LiveState, type ResyncTask } from './lib/live-state.ts'
import type { TransitsEvent } from './lib/transits-changed.ts'
import { liveWindowStart } from '../shared/contracts/gateway-messages.ts'
import healthRoutes, { type HealthChecks } from './routes/health/index.ts'
import docsRoutes from './routes/docs/index.ts'
import meRoutes from './routes/me/index.ts'
import districtRoutes from './routes/district/index.ts'
import zoneRoutes from './routes/zones/index.ts'
import shopRoutes from './routes/shops/index.ts'
import gatewayRoutes from './routes/gateways/index.ts'
import footfallRoutes from './routes/footfall/index.ts'
import deviceCountRoutes from './routes/device-counts/index.ts'
import flowRoutes from './routes/flows/index.ts'
import eventRoutes from './routes/events/index.ts'
import calibrationRoutes from './routes/calibration/index.ts'
import expectedRoutes from './routes/expected/index.ts'
import alertRoutes from './routes/alerts/index.ts'
import { startAlertEvaluator } from './lib/alert-evaluator.ts'
import { createWebhookNotifier } from './lib/alert-notifier.ts'
import { startAlertFollower } from './lib/alert-follower.ts'
import { ALERTS_TOPIC } from '../shared/contracts/alerts.ts'
import { withTopicPrefix } from '../shared/contracts/topics.ts'
import adminRoutes from './routes/admin/index.ts'
import forecastRoutes from './routes/forecast/index.ts'
import contextRoutes from './routes/context/index.ts'
import reportRoutes from './routes/reports/index.ts'
import liveRoutes, { LIVE_PROTOCOL } from './routes/live/index.ts'
import publicRoutes from './routes/public/index.ts'
import merakiRoutes, { type MerakiMetrics } from './routes/meraki/index.ts'
import peopleRoutes from './routes/people/index.ts'
import { peoplePresentNow, storedCalibrations, type CalibrationProvider } from './lib/people.ts'
import { createPeopleNow } from './lib/people-now.ts'
import { MERAKI_REJECT_REASONS } from './lib/meraki-post.ts'
import type { DurablePublisher } from './lib/mqtt-publisher.ts'

export type ApiDeps = {
  db: Db
  /**
   * Where analytics reads go (footfall, shops, flows, device counts, the live counts, the public
   * street view): a read replica's pool (DATABASE_READ_URL). Absent: `db`. Keys, events, gateway
   * health and admin stay on `db` (a revoked key or a new event must not wait for replication).
   */
  readDb?: Db
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
   * Subscribes to ingest's announcements of what each commit stored (returns the unsubscribe): the
   * live feed then keeps its counts in memory from them, reading the database only to resync
   * (lib/live-state.ts). Without it the feed polls the database once per `live.pollMs`.
   */
  onTransitsChanged?: (listener: (e: TransitsEvent) => void) => () => void
  /**
   * While this returns a message the process is still starting (`miglio start` loading the
   * database, the district…): every `/api/v1` route answers 503 `starting` with that message, and
   * `/api/v1/health` answers 503 with status `starting`. Null once ready.
   */
  starting?: () => string | null
  /**
   * QoS 1 publishes on this process's broker connection, for the Meraki receiver (on when
   * `options.meraki` is set); without it every Meraki post is answered 503.
   */
  publisher?: DurablePublisher
  /** Topics under this prefix (MQTT_TOPIC_PREFIX). */
  topicPrefix?: string | undefined
  /**
   * The people estimator's calibrations in force per gateway. Default: the versions the calibration
   * workflow stored (activeCalibrations); a gateway without one is uncalibrated and its figures say
   * `calibrated: false`.
   */
  calibrations?: CalibrationProvider
  /** Publishes an alert change on the broker (ALERTS_MQTT); absent: alerts are not published. */
  alertPublish?: (topic: string, payload: Buffer) => Promise<void>
}

const QUARTER_MS = 15 * 60_000
/** Resyncs of the live counts begin at least this far apart (as the feed's polls did). */
const MIN_RESYNC_MS = 250
/** Retry-After of the 503 answered while the process starts. */
const STARTING_RETRY_AFTER_S = 2

const pathOf = (url: string) => url.split('?')[0] ?? ''
const isApiPath = (url: string) => /^\/api\/v1(\/|$)/.test(pathOf(url))
/** Any path under /api (`/api/v2`, `/api/v1\me`): never a dashboard file. */
const isUnderApi = (url: string) => /^\/api([/\\]|$)/.test(pathOf(url))

/** The API as a Fastify instance; it does not listen (main.ts / the CLI does). */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const options = ApiOptionsSchema.parse(deps.options ?? {})
  const now = deps.now ?? Date.now
  const starting = deps.starting ?? (() => null)
  const { db, log } = deps
  const readDb = deps.readDb ?? db
  // The district's zone from the database; the tz option only while no district is loaded.
  const timeZone = createDistrictTimeZone(() => findDistrictTimeZone(db), options.tz)
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // Keys travel in headers or WebSocket messages only; request lines are logged with anything
    // key-shaped redacted and without headers.
    logController: new RedactingLogController(),
    requestIdHeader: false,
    // The client address (per-address limits) from X-Forwarded-For only behind trusted proxies.
    trustProxy: options.trustProxy,
    // Errors before routing and from the HTTP parser leave in the API's shape too.
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  const outage = new OutageLog(log)
  installErrorHandler(app, outage)
  app.addHook('onSend', async (_req, reply) => {
    // A route may set a stricter policy of its own (the monthly report's page: its inline style by
    // hash); every other header is the same for all.
    const ownPolicy = reply.getHeader('content-security-policy')
    reply.headers(SECURITY_HEADERS)
    if (ownPolicy !== undefined) reply.header('content-security-policy', ownPolicy)
  })
  // While the process starts, /api/v1 answers 503 (health says so itself).
  app.addHook('onRequest', async (req, reply) => {
    const message = starting()
    if (message === null || !isApiPath(req.url) || req.routeOptions.url === '/api/v1/health') return
    return reply
      .code(503)
      .header('retry-after', String(STARTING_RETRY_AFTER_S))
      .send({ error: { code: 'starting', message } })
  })
  // PostgreSQL text cannot hold NUL: refuse it in any body, query string or path parameter of
  // every route before a handler could pass it to the database.
  app.addHook('preValidation', async (req) => {
    const field =
      findNul(req.params, 'params') ??
      findNul(req.query, 'querystring') ??
      findNul(req.body, 'body')
    if (field)
      throw new AppError('bad_request', `${field}: must not contain NUL characters (\\u0000)`, {
        statusCode: 400,
      })
  })

  const registry = new Registry()
  const metric = {
    rateLimited: new Counter({
      name: 'miglio_api_rate_limited_total',
      help: 'Requests and live-feed authentications refused with 429',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'miglio_api_auth_failures_total',
      help: 'Refused credentials (unknown, revoked or malformed keys), REST and live feed',
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
    liveAnnouncements: new Counter({
      name: 'miglio_api_live_announcements_total',
      help: "Ingest's transit announcements taken in by the live feed, by contract version",
      labelNames: ['v'],
      registers: [registry],
    }),
    liveResyncs: new Counter({
      name: 'miglio_api_live_resyncs_total',
      help: 'Live counts read again from the database, by reason (one resync may have several)',
      labelNames: ['reason'],
      registers: [registry],
    }),
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
  const calibrations = deps.calibrations ?? storedCalibrations(db)
  // People present now: the estimator reads the last 4¼ h of sessions, so not on every poll and
  // never in the way of the counts (lib/people-now.ts).
  const peopleNow = createPeopleNow({
    estimate: async (nowMs) =>
      peoplePresentNow(readDb, { nowMs, tz: await timeZone(), calibrations }),
    everyMs: options.live.peopleEveryMs,
    onChange: () => app.liveHub.nudge(),
    // A failed estimate (a calibration provider down) must not stop the counts: the zones keep
    // their last figures (null before the first), and the next poll tries again.
    onError: (err) =>
      log.warn({ err }, 'live feed: people present now failed; keeping the last figures'),
  })
  // With ingest's announcements the counts live in memory (lib/live-state.ts) and the database is
  // read only to resync; without them every poll reads it.
  const liveState = deps.onTransitsChanged
    ? new LiveState({ resyncEveryMs: options.live.resyncEveryMs })
    : null
  let lastResyncAt = -Infinity
  let resyncTimer: NodeJS.Timeout | null = null
  let resyncLagMs: number | undefined
  let resyncing: Promise<void> | null = null
  const liveError = (err: unknown, what: string) => {
    if (isDatabaseUnavailable(err)) outage.report(err, `live feed ${what}`)
    else log.warn({ err }, `live feed: ${what} failed; retrying`)
  }
  /** Reads the zones a resync asks for and hands them to the live state (asked again on failure). */
  const resync = async (state: LiveState, task: ResyncTask, nowMs: number, dayStart: number) => {
    lastResyncAt = nowMs
    try {
      const zones = task.zones === 'all' ? null : task.zones
      const [read, lag] = await Promise.all([
        liveResyncCounts(readDb, zones, new Date(dayStart), new Date(liveWindowStart(nowMs))),
        readDb === db ? undefined : replicaLagMs(readDb),
      ])
      state.completeResync(task, read, nowMs)
      resyncLagMs = lag
      for (const reason of task.reasons) metric.liveResyncs.inc({ reason })
    } catch (err) {
      state.failResync(task)
      throw err
    }
  }
  const transitCounts = async (nowMs: number, dayStart: number) => {
    if (!liveState) {
      const [counts, lag] = await Promise.all([
        liveZoneCounts(readDb, new Date(dayStart), new Date(nowMs - QUARTER_MS)),
        readDb === db ? undefined : replicaLagMs(readDb),
      ])
      return { counts, lag }
    }
    if (liveState.resyncDue(nowMs) && !resyncing) {
      const waitMs = lastResyncAt + MIN_RESYNC_MS - nowMs
      const task = waitMs > 0 && liveState.synced ? null : liveState.takeResync(nowMs)
      if (!task)
        // Too soon after the last one: push what memory holds now, resync when allowed.
        resyncTimer ??= setTimeout(() => {
          resyncTimer = null
          app.liveHub.nudge()
        }, waitMs)
      else {
        const first = !liveState.synced
        const reading = resync(liveState, task, nowMs, dayStart).finally(() => {
          resyncing = null
        })
        resyncing = reading
        // Before the first full read there is nothing to send: wait for it. After it, memory's
        // counts go out now and the resync's corrections follow with a push of their own, so a
        // read slowed by ingest's load holds back no announcement (bench/README.md, latency).
        if (first) await reading
        else
          reading.then(
            () => app.liveHub.nudge(),
            (err: unknown) => liveError(err, 'resync'),
          )
      }
    }
    const counts = liveState.counts(nowMs, dayStart)
    if (!counts) throw new Error('live counts not read yet')
    return { counts, lag: resyncLagMs }
  }
  await app.register(liveFeedPlugin, {
    poll: async (nowMs: number) => {
      const tz = await timeZone()
      const dayStart = startOfLocalDay(nowMs, tz)
      const { counts, lag } = await transitCounts(nowMs, dayStart)
      const present = await peopleNow.at(nowMs)
      const zones = counts.map((z) => ({ ...z, presentNow: present.get(z.zoneId) ?? null }))
      return {
        at: new Date(nowMs).toISOString(),
        day: localDateOf(nowMs, tz),
        zones,
        ...(lag === undefined ? {} : { readLagMs: lag }),
      }
    },
    pollMs: options.live.pollMs,
    // From memory, a push costs no query: announcements reach clients sooner.
    ...(liveState ? { minPollMs: options.live.minPushMs } : {}),
    pingMs: options.live.pingMs,
    maxBufferedBytes: options.live.maxBufferedBytes,
    log,
    metrics: metric.live,
    activeKeys: (ids: string[]) => activeKeyIds(db, ids),
    onError: liveError,
  })
  // A refresh of people present now or a resync may be reading when the app closes: let them
  // finish first.
  app.addHook('onClose', async () => {
    await peopleNow.settled()
    await resyncing?.catch(() => undefined)
  })
  if (deps.onTransitsChanged && liveState) {
    const off = deps.onTransitsChanged((e) => {
      if (e.kind === 'subscribed') liveState.onSubscribed()
      else {
        metric.liveAnnouncements.inc({ v: String(e.message.v) })
        if (!liveState.onAnnouncement(e.message, Date.now())) return
      }
      app.liveHub.nudge()
    })
    app.addHook('onClose', async () => {
      off()
      if (resyncTimer) clearTimeout(resyncTimer)
    })
  }

  if (options.alerts.enabled) wireAlerts(app, deps, options.alerts, timeZone, now)

  await app.register(healthRoutes, {
    prefix: '/api/v1',
    db,
    checks: deps.checks,
    outage,
    starting,
  })
  const guard = new AuthGuard({
    ...options.authFailureLimit,
    lookup: (key) => findPrincipalByKey(db, key),
    onFailure: () => metric.authFailures.inc(),
    onLimited: () => metric.rateLimited.inc(),
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
      await scope.register(authPlugin, { guard })
      await metricsRoute(scope, true)
    })
  await app.register(docsRoutes)
  if (options.meraki) {
    await app.register(merakiRoutes, {
      prefix: '/api/v1',
      ...options.meraki,
      publisher: deps.publisher ?? null,
      topicPrefix: deps.topicPrefix,
      metrics: merakiMetrics(registry),
      failureLimit: options.authFailureLimit,
      log,
    })
  }
  if (options.publicStreetView) {
    await app.register(publicRoutes, {
      prefix: '/api/v1',
      db: readDb,
      timeZone,
      k: options.flowsK,
      now,
      calibrations,
    })
  }

  const buckets = options.rateLimit.enabled ? new TokenBuckets(options.rateLimit) : null
  const common = { db, timeZone, now }
  const reads = { db: readDb, timeZone, now }
  await app.register(
    async (api) => {
      await api.register(authPlugin, { guard })
      await api.register(rateLimitPlugin, { buckets, rejected: metric.rateLimited })
      await api.register(meRoutes)
      await api.register(districtRoutes, { db })
      await api.register(zoneRoutes, { db })
      await api.register(shopRoutes, reads)
      await api.register(gatewayRoutes, { db, silentAfterS: options.gatewaySilentAfterS })
      await api.register(footfallRoutes, reads)
      await api.register(deviceCountRoutes, { db: readDb, timeZone })
      await api.register(peopleRoutes, { ...reads, calibrations })
      await api.register(flowRoutes, { db: readDb, timeZone, k: options.flowsK })
      await api.register(eventRoutes, common)
      await api.register(calibrationRoutes, {
        ...common,
        maxAgeDays: options.calibrationMaxAgeDays,
      })
      await api.register(expectedRoutes, reads)
      await api.register(alertRoutes, { db })
      await api.register(adminRoutes, { db })
      await api.register(forecastRoutes, common)
      await api.register(contextRoutes, { db, timeZone })
      await api.register(reportRoutes, { ...common, chromium: options.reportChromium })
    },
    { prefix: '/api/v1' },
  )
  await app.register(liveRoutes, {
    prefix: '/api/v1',
    db,
    authTimeoutMs: options.live.authTimeoutMs,
    buckets,
    guard,
    messageLimit: options.liveMessageLimit,
    onRateLimited: () => metric.rateLimited.inc(),
    onDatabaseUnavailable: (err: unknown) => outage.report(err, 'live feed'),
  })

  if (deps.dashboardsDir && existsSync(deps.dashboardsDir)) {
    const root = deps.dashboardsDir
    await app.register(async (files) => {
      // The dashboards' catch-all route never answers under /api (a path no API route matched,
      // such as /api/v1//admin/keys, is a 404 naming it, not a file lookup).
      files.addHook('onRequest', async (req, reply) => {
        if (!isUnderApi(req.url)) return
        reply.callNotFound()
        return reply
      })
      await files.register(fastifyStatic, { root, prefix: '/', index: ['index.html'] })
    })
  }
  return app
}

function merakiMetrics(registry: Registry): MerakiMetrics {
  const rejected = new Counter({
    name: 'miglio_api_meraki_rejected_total',
    help: 'Meraki posts refused, by reason (not_json, missing_secret, wrong_secret, bad_post, too_large, rate_limited, broker_unavailable)',
    labelNames: ['reason'],
    registers: [registry],
  })
  // Every reason from the start, at 0: a rate can be drawn before the first refusal.
  for (const reason of MERAKI_REJECT_REASONS) rejected.inc({ reason }, 0)
  return {
    rejected,
    accepted: new Counter({
      name: 'miglio_api_meraki_posts_total',
      help: 'Meraki posts taken (the broker acknowledged every part)',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'miglio_api_meraki_messages_total',
      help: 'MQTT messages the taken Meraki posts became (a post over 256 KiB is several)',
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'miglio_api_meraki_answer_seconds',
      help: 'From the arrival of a taken Meraki post to its answer (after the last PUBACK)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  }
}

/**
 * Alerts of this process: the evaluator (one replica at a time evaluates, under an advisory lock),
 * and where each change goes — the live feed, the webhook (queued, retried, never awaited), the MQTT
 * topic (best effort, never awaited) — and the follower, which pushes the changes other replicas
 * made to this replica's live clients.
 */
function wireAlerts(
  app: FastifyInstance,
  deps: ApiDeps,
  o: ApiOptions['alerts'],
  timeZone: () => Promise<string>,
  now: () => number,
): void {
  const log = deps.log.child({ service: 'alerts' })
  const webhook = o.webhookUrl ? createWebhookNotifier({ url: o.webhookUrl }, log) : null
  const topic = withTopicPrefix(deps.topicPrefix, ALERTS_TOPIC)
  const publish = o.mqtt ? deps.alertPublish : undefined
  let evaluator: { stop(): Promise<void> } | null = null
  let follower: ReturnType<typeof startAlertFollower> | null = null
  app.addHook('onReady', async () => {
    // What this replica pushes (its evaluations, acknowledgements made here) is remembered, so the
    // follower, which pushes the changes other replicas made, does not push it twice.
    const push = app.liveHub.broadcastAlert.bind(app.liveHub)
    follower = startAlertFollower({
      db: deps.db,
      log,
      everyMs: o.followMs,
      broadcast: push,
      ready: () => (deps.starting?.() ?? null) === null,
    })
    app.liveHub.broadcastAlert = (alert) => {
      follower?.remember(alert)
      push(alert)
    }
    evaluator = startAlertEvaluator({
      db: deps.db,
      timeZone,
      now,
      log,
      intervalMs: o.intervalMs,
      firstDelayMs: o.firstDelayMs,
      onAlert: (alert, change) => {
        app.liveHub.broadcastAlert(alert)
        webhook?.notify({ change, alert })
        publish?.(topic, Buffer.from(JSON.stringify({ change, alert }))).catch((err: unknown) =>
          log.warn({ err: String(err) }, 'alert not published on MQTT'),
        )
      },
    })
  })
  app.addHook('onClose', async () => {
    follower?.stop()
    await evaluator?.stop()
    await webhook?.stop()
  })
}
