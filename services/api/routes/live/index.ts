import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { ErrorBodySchema, LiveClientMessageSchema } from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import type { ApiPrincipal } from '../../../shared/registry/api-key-repository.ts'
import { bearerKey, tooManyFailures } from '../../plugins/auth.ts'
import type { LiveClient } from '../../plugins/live-feed.ts'
import { listZoneOwners } from '../../queries/zone-queries.ts'
import { TokenBuckets } from '../../lib/token-bucket.ts'
import type { AuthGuard } from '../../lib/auth-guard.ts'
import { isDatabaseUnavailable } from '../../../shared/db/database-errors.ts'

/** The subprotocol a browser offers next to its key, and the one the server answers with. */
export const LIVE_PROTOCOL = 'miglio.v1'

const CLOSE_UNAUTHORISED = 4401
// 4403 key revoked: CLOSE_KEY_REVOKED in plugins/live-feed.ts (the hub closes those sockets).
const CLOSE_AUTH_TIMEOUT = 4408
const CLOSE_RATE_LIMITED = 4429

/** Zone owners are read at most once per this (subscriptions are checked against them). */
const ZONE_OWNERS_TTL_MS = 5000

/** A key offered as a `Sec-WebSocket-Protocol` value (any value but miglio.v1). */
function protocolKey(header: string | string[] | undefined): string | null {
  const values = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v && v !== LIVE_PROTOCOL)
  return values[0] ?? null
}

export type LiveRouteOptions = {
  db: Db
  authTimeoutMs: number
  /** Per-key request buckets (shared with REST); null when rate limiting is off. */
  buckets: TokenBuckets | null
  /** Failed authentications per client address (shared with REST). */
  guard: AuthGuard
  /** Messages per client address. */
  messageLimit: { capacity: number; refillPerSecond: number; closeAfter: number }
  /** A 429 or rate-limited close (the API's rate-limited counter). */
  onRateLimited: () => void
  /** The database could not be reached while handling a message (logged once per interval). */
  onDatabaseUnavailable: (err: unknown) => void
}

/**
 * `GET /api/v1/live`: the WebSocket live feed. The key comes in the first message
 * (`{"type":"auth","key":…}`), as a Sec-WebSocket-Protocol value next to `miglio.v1`, or in an
 * Authorization header; never in the URL (any query string is refused before the upgrade).
 */
export default async function liveRoutes(app: FastifyInstance, opts: LiveRouteOptions) {
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>()
  const hub = app.liveHub
  const messages = new TokenBuckets(opts.messageLimit)
  let owners: { at: number; value: Promise<Map<string, string | null>> } | null = null

  function take(p: ApiPrincipal): boolean {
    return opts.buckets?.take(p.keyId).ok ?? true
  }

  /** Every zone and its shop, read at most once per ZONE_OWNERS_TTL_MS for all clients. */
  function zoneOwners(): Promise<Map<string, string | null>> {
    const now = Date.now()
    if (!owners || now - owners.at >= ZONE_OWNERS_TTL_MS) {
      const value = listZoneOwners(opts.db)
      const entry = { at: now, value }
      owners = entry
      // A failed read is not kept.
      value.catch(() => {
        if (owners === entry) owners = null
      })
    }
    return owners.value
  }

  app.route({
    method: 'GET',
    url: '/live',
    schema: {
      tags: ['live'],
      summary: 'Live per-zone counts over a WebSocket (all roles; shopkeeper: its zone only)',
      description:
        'Connect with a WebSocket and send `{"type":"auth","key":"mgl_…"}` first (or offer the subprotocols `miglio.v1` and the key). The server answers `{"type":"ready",…}` and then `{"type":"counts","zones":[{"zoneId","today":{passersBy,visitors},"last15m":{…}}]}` whenever the counts of your zones change (at most every 100 ms; fed by ingest\'s announcements when the API has MQTT). `{"type":"subscribe","zones":[…]}` narrows the zones; another shop\'s zone answers `{"type":"error","code":"forbidden"}`. The key is never accepted in the URL. Close codes: 4401 unauthorised, 4403 key revoked (its sockets close within a second on every replica), 4408 no auth in time, 4429 rate limited (the key\'s request budget, too many failed authentications from the address, or a message flood). Messages are limited per client address: excess answers `{"type":"error","code":"rate_limited"}`. A plain GET answers 426.',
      response: {
        400: ErrorBodySchema,
        401: ErrorBodySchema,
        426: ErrorBodySchema,
        429: ErrorBodySchema,
      },
    },
    onRequest: async (req, reply) => {
      if (req.url.includes('?'))
        throw new AppError(
          'bad_request',
          'the live feed takes no query parameters: send the key in the first message ({"type":"auth","key":"…"}) or as a Sec-WebSocket-Protocol value, never in the URL',
          { statusCode: 400 },
        )
      const key =
        bearerKey(req.headers.authorization) ?? protocolKey(req.headers['sec-websocket-protocol'])
      if (!key) return
      const outcome = await opts.guard.authenticate(req.ip, key)
      if (!outcome.ok && outcome.reason === 'limited')
        return tooManyFailures(reply, outcome.retryAfterS)
      if (!outcome.ok)
        throw new AppError('unauthorised', 'the API key is unknown or revoked', { statusCode: 401 })
      if (!take(outcome.principal)) {
        opts.onRateLimited()
        return reply
          .code(429)
          .header('retry-after', '1')
          .send({ error: { code: 'rate_limited', message: 'too many requests for this key' } })
      }
      principals.set(req, outcome.principal)
    },
    handler: async (_req, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send({
          error: {
            code: 'upgrade_required',
            message: 'the live feed is a WebSocket: connect with Upgrade: websocket',
          },
        }),
    wsHandler: (socket: WebSocket, req: FastifyRequest) => {
      let client: LiveClient | null = null
      let queue: Promise<void> = Promise.resolve()
      let refused = 0
      const authTimer = setTimeout(() => {
        if (!client) socket.close(CLOSE_AUTH_TIMEOUT, 'no auth message in time')
      }, opts.authTimeoutMs)

      const error = (code: string, message: string) =>
        socket.send(JSON.stringify({ type: 'error', code, message }))

      async function start(p: ApiPrincipal) {
        clearTimeout(authTimer)
        const zones = [...(await zoneOwners())]
          .filter(([, shop]) => p.role !== 'shopkeeper' || shop === p.shopId)
          .map(([z]) => z)
        if (socket.readyState !== socket.OPEN) return
        client = {
          socket,
          principal: p,
          zones: new Set(zones),
          alive: true,
          lastBody: null,
          lastSentAt: 0,
        }
        hub.send(client, { type: 'ready', role: p.role, shopId: p.shopId, zones })
        hub.add(client)
      }

      async function handle(raw: string) {
        let json: unknown
        try {
          json = JSON.parse(raw)
        } catch {
          return error('bad_request', 'messages are JSON objects')
        }
        const parsed = LiveClientMessageSchema.safeParse(json)
        if (!parsed.success)
          return error(
            'bad_request',
            'expected {"type":"auth","key":"…"} or {"type":"subscribe","zones":["…"]}',
          )
        const m = parsed.data
        if (m.type === 'auth') {
          if (client) return error('bad_request', 'already authenticated')
          const outcome = await opts.guard.authenticate(req.ip, m.key)
          if (!outcome.ok && outcome.reason === 'limited') {
            error(
              'rate_limited',
              `too many failed authentications from this address; retry in ${outcome.retryAfterS} s`,
            )
            return socket.close(CLOSE_RATE_LIMITED, 'rate limited')
          }
          if (!outcome.ok) {
            error('unauthorised', 'the API key is unknown or revoked')
            return socket.close(CLOSE_UNAUTHORISED, 'unauthorised')
          }
          if (!take(outcome.principal)) {
            opts.onRateLimited()
            error('rate_limited', 'too many requests for this key')
            return socket.close(CLOSE_RATE_LIMITED, 'rate limited')
          }
          return start(outcome.principal)
        }
        if (!client) {
          error('unauthorised', 'authenticate first: {"type":"auth","key":"…"}')
          return socket.close(CLOSE_UNAUTHORISED, 'unauthorised')
        }
        const owners = await zoneOwners()
        const p = client.principal
        for (const z of m.zones) {
          if (!owners.has(z)) return error('not_found', `zone ${z} does not exist`)
          if (p.role === 'shopkeeper' && owners.get(z) !== p.shopId)
            return error('forbidden', `zone ${z} is not your shop's`)
        }
        hub.subscribe(client, m.zones)
      }

      socket.on('message', (data, isBinary) => {
        if (socket.readyState !== socket.OPEN) return
        // Per client address, before any work: a flood costs neither queries nor a queue.
        if (!messages.take(req.ip).ok) {
          refused++
          error('rate_limited', 'too many messages from this address; slow down')
          if (refused >= opts.messageLimit.closeAfter) {
            opts.onRateLimited()
            socket.close(CLOSE_RATE_LIMITED, 'rate limited')
          }
          return
        }
        const text = isBinary ? '' : String(data)
        queue = queue
          .then(() => handle(text))
          .catch((err: unknown) => {
            if (isDatabaseUnavailable(err)) {
              opts.onDatabaseUnavailable(err)
              return error('database_unavailable', 'the database cannot be reached; retry later')
            }
            req.log.warn({ err }, 'live feed: message handling failed')
            error('internal', 'internal error')
          })
      })
      socket.on('close', () => {
        clearTimeout(authTimer)
        if (client) hub.remove(client)
      })
      const pre = principals.get(req)
      if (pre) queue = queue.then(() => start(pre))
    },
  })
}
