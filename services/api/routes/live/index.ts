import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { ErrorBodySchema, LiveClientMessageSchema } from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import {
  findPrincipalByKey,
  type ApiPrincipal,
} from '../../../shared/registry/api-key-repository.ts'
import { bearerKey } from '../../plugins/auth.ts'
import type { LiveClient } from '../../plugins/live-feed.ts'
import { listZoneOwners } from '../../queries/zone-queries.ts'
import type { TokenBuckets } from '../../lib/token-bucket.ts'

/** The subprotocol a browser offers next to its key, and the one the server answers with. */
export const LIVE_PROTOCOL = 'miglio.v1'

const CLOSE_UNAUTHORISED = 4401
const CLOSE_AUTH_TIMEOUT = 4408
const CLOSE_RATE_LIMITED = 4429

/** A key offered as a `Sec-WebSocket-Protocol` value (any value but miglio.v1). */
function protocolKey(header: string | string[] | undefined): string | null {
  const values = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v && v !== LIVE_PROTOCOL)
  return values[0] ?? null
}

export type LiveRouteOptions = { db: Db; authTimeoutMs: number; buckets: TokenBuckets | null }

/**
 * `GET /api/v1/live`: the WebSocket live feed. The key comes in the first message
 * (`{"type":"auth","key":…}`), as a Sec-WebSocket-Protocol value next to `miglio.v1`, or in an
 * Authorization header; never in the URL (any query string is refused before the upgrade).
 */
export default async function liveRoutes(app: FastifyInstance, opts: LiveRouteOptions) {
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>()
  const hub = app.liveHub

  function take(p: ApiPrincipal): boolean {
    return opts.buckets?.take(p.keyId).ok ?? true
  }

  app.route({
    method: 'GET',
    url: '/live',
    schema: {
      tags: ['live'],
      summary: 'Live per-zone counts over a WebSocket (all roles; shopkeeper: its zone only)',
      description:
        'Connect with a WebSocket and send `{"type":"auth","key":"mgl_…"}` first (or offer the subprotocols `miglio.v1` and the key). The server answers `{"type":"ready",…}` and then `{"type":"counts","zones":[{"zoneId","today":{passersBy,visitors},"last15m":{…}}]}` whenever the counts of your zones change, at most once a second. `{"type":"subscribe","zones":[…]}` narrows the zones; another shop\'s zone answers `{"type":"error","code":"forbidden"}`. The key is never accepted in the URL. Close codes: 4401 unauthorised, 4408 no auth in time, 4429 rate limited. A plain GET answers 426.',
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
      const p = await findPrincipalByKey(opts.db, key)
      if (!p)
        throw new AppError('unauthorised', 'the API key is unknown or revoked', { statusCode: 401 })
      if (!take(p))
        return reply
          .code(429)
          .header('retry-after', '1')
          .send({ error: { code: 'rate_limited', message: 'too many requests for this key' } })
      principals.set(req, p)
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
      const authTimer = setTimeout(() => {
        if (!client) socket.close(CLOSE_AUTH_TIMEOUT, 'no auth message in time')
      }, opts.authTimeoutMs)

      const error = (code: string, message: string) =>
        socket.send(JSON.stringify({ type: 'error', code, message }))

      async function start(p: ApiPrincipal) {
        clearTimeout(authTimer)
        const owners = await listZoneOwners(opts.db)
        const zones = [...owners]
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
          const p = await findPrincipalByKey(opts.db, m.key)
          if (!p) {
            error('unauthorised', 'the API key is unknown or revoked')
            return socket.close(CLOSE_UNAUTHORISED, 'unauthorised')
          }
          if (!take(p)) {
            error('rate_limited', 'too many requests for this key')
            return socket.close(CLOSE_RATE_LIMITED, 'rate limited')
          }
          return start(p)
        }
        if (!client) {
          error('unauthorised', 'authenticate first: {"type":"auth","key":"…"}')
          return socket.close(CLOSE_UNAUTHORISED, 'unauthorised')
        }
        const owners = await listZoneOwners(opts.db)
        const p = client.principal
        for (const z of m.zones) {
          if (!owners.has(z)) return error('not_found', `zone ${z} does not exist`)
          if (p.role === 'shopkeeper' && owners.get(z) !== p.shopId)
            return error('forbidden', `zone ${z} is not your shop's`)
        }
        hub.subscribe(client, m.zones)
      }

      socket.on('message', (data, isBinary) => {
        const text = isBinary ? '' : String(data)
        queue = queue
          .then(() => handle(text))
          .catch((err: unknown) => {
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
