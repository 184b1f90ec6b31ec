import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

/**
 * CORS for an explicit list of origins; with none (the default) the API sends no CORS header and
 * browsers on other origins cannot read it. Preflights are answered before authentication.
 */
export default fp(
  async function corsPlugin(app: FastifyInstance, opts: { origins: string[] }) {
    if (!opts.origins.length) return
    const allowed = new Set(opts.origins)
    app.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin
      if (!origin || !allowed.has(origin)) return
      reply.header('access-control-allow-origin', origin)
      reply.header('vary', 'Origin')
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type, accept')
          .header('access-control-max-age', '600')
          .send()
      }
    })
  },
  { name: 'miglio-cors', encapsulate: false },
)
