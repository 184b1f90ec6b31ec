import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiPrincipal, ApiRole } from '../../shared/registry/api-key-repository.ts'
import { AppError } from '../../shared/errors.ts'
import type { AuthGuard } from '../lib/auth-guard.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null
  }
}

/** The key of an `Authorization: Bearer <key>` header, or null. */
export function bearerKey(authorization: string | undefined): string | null {
  if (!authorization) return null
  const m = /^Bearer\s+(\S{8,200})$/i.exec(authorization)
  return m?.[1] ?? null
}

/**
 * Every route registered after this plugin (in the same scope) requires a valid API key. Refused
 * credentials count against the client address (`guard`); an address that failed too often is
 * answered 429 with Retry-After before any database lookup.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { guard: AuthGuard }) {
    const { guard } = opts
    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (req, reply) => {
      const key = bearerKey(req.headers.authorization)
      if (!key) {
        if (req.headers.authorization !== undefined) {
          // A malformed credential is a failure too, though it needs no lookup.
          const wait = guard.blocked(req.ip)
          if (wait !== null) return tooManyFailures(reply, wait)
          guard.fail(req.ip)
        }
        throw new AppError('unauthorised', 'an API key is required (Authorization: Bearer <key>)', {
          statusCode: 401,
        })
      }
      const outcome = await guard.authenticate(req.ip, key)
      if (outcome.ok) {
        req.principal = outcome.principal
        return
      }
      if (outcome.reason === 'limited') return tooManyFailures(reply, outcome.retryAfterS)
      throw new AppError('unauthorised', 'the API key is unknown or revoked', { statusCode: 401 })
    })
  },
  { name: 'miglio-auth', encapsulate: false },
)

/** 429 for an address that failed authentication too often. */
export function tooManyFailures(reply: FastifyReply, retryAfterS: number): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(retryAfterS))
    .send({
      error: {
        code: 'rate_limited',
        message: `too many failed authentications from this address; retry in ${retryAfterS} s`,
      },
    })
}

export function requirePrincipal(req: FastifyRequest): ApiPrincipal {
  if (!req.principal)
    throw new AppError('unauthorised', 'an API key is required', { statusCode: 401 })
  return req.principal
}

/** The caller, if its role is one of `roles`; 403 otherwise. */
export function requireRole(req: FastifyRequest, ...roles: ApiRole[]): ApiPrincipal {
  const p = requirePrincipal(req)
  if (!roles.includes(p.role))
    throw new AppError('forbidden', `this needs the ${roles.join(' or ')} role`, {
      statusCode: 403,
    })
  return p
}

/** 403 unless the caller may see this shop's data (a shopkeeper sees only its own shop). */
export function assertShopAccess(p: ApiPrincipal, shopId: string): void {
  if (p.role === 'shopkeeper' && p.shopId !== shopId)
    throw new AppError('forbidden', `shop ${shopId} is not your shop`, { statusCode: 403 })
}
