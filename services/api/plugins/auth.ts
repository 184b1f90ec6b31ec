import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Db } from '../../shared/db/create-db.ts'
import {
  findPrincipalByKey,
  type ApiPrincipal,
  type ApiRole,
} from '../../shared/registry/api-key-repository.ts'
import { AppError } from '../../shared/errors.ts'

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

/** Every route registered after this plugin (in the same scope) requires a valid API key. */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { db: Db }) {
    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (req) => {
      const key = bearerKey(req.headers.authorization)
      if (!key)
        throw new AppError('unauthorised', 'an API key is required (Authorization: Bearer <key>)', {
          statusCode: 401,
        })
      const principal = await findPrincipalByKey(opts.db, key)
      if (!principal)
        throw new AppError('unauthorised', 'the API key is unknown or revoked', { statusCode: 401 })
      req.principal = principal
    })
  },
  { name: 'miglio-auth', encapsulate: false },
)

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
