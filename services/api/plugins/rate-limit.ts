import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Counter } from 'prom-client'
import type { TokenBuckets } from '../lib/token-bucket.ts'

/**
 * A token bucket per API key (per process: N replicas allow N × the rate). Registered after the
 * auth plugin, so it limits the authenticated key; 429 with Retry-After when the bucket is empty.
 */
export default fp(
  async function rateLimitPlugin(
    app: FastifyInstance,
    opts: { buckets: TokenBuckets | null; rejected: Counter },
  ) {
    const { buckets } = opts
    if (!buckets) return
    app.addHook('onRequest', async (req, reply) => {
      if (!req.principal) return
      const t = buckets.take(req.principal.keyId)
      if (t.ok) return
      opts.rejected.inc()
      return reply
        .code(429)
        .header('retry-after', String(t.retryAfterS))
        .send({
          error: {
            code: 'rate_limited',
            message: `too many requests for this key; retry in ${t.retryAfterS} s`,
          },
        })
    })
  },
  { name: 'miglio-rate-limit', dependencies: ['miglio-auth'], encapsulate: false },
)
