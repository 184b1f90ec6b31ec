import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Db } from '../../shared/db/create-db.ts'
import { findPrincipalByKey, type ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import { AppError } from '../../shared/errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal | null
  }
}

function bearerKey(req: FastifyRequest): string | null {
  const h = req.headers.authorization
  if (!h) return null
  const m = /^Bearer\s+(\S{8,200})$/i.exec(h)
  return m?.[1] ?? null
}

/** Every route registered after this plugin (in the same scope) requires a valid API key. */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { db: Db }) {
    app.decorateRequest('principal', null)
    app.addHook('onRequest', async (req) => {
      const key = bearerKey(req)
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
