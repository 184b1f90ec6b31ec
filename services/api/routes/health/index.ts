import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { HealthResponseSchema, type HealthResponse } from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { sql } from 'kysely'
import type { OutageLog } from '../../lib/database-outage.ts'

export type HealthChecks = {
  /** Null when this process has no broker connection to report. */
  broker: () => { up: boolean; error?: string }
}

class HealthTimeout extends Error {}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HealthTimeout(`no answer in ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export type HealthRouteOptions = {
  db: Db
  checks: HealthChecks
  /** Where a failed check is logged (once per interval while the outage lasts). */
  outage: OutageLog
  /** While it returns a message, the process is starting: 503 `starting`. */
  starting: () => string | null
  timeoutMs?: number
}

/**
 * `GET /api/v1/health`, no key. The database's state is a fixed word (`unreachable`,
 * `timeout`): the driver's text (addresses, user names) goes to the log, not to anonymous callers.
 */
export default async function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Database and broker reachability (no key needed)',
        description:
          '200 `ok` when the database and the broker answer; 503 `degraded` when one does not (`database.error` is `unreachable` or `timeout`), or `starting` (with a `message`) while the process starts.',
        security: [],
        response: { 200: HealthResponseSchema, 503: HealthResponseSchema },
      },
    },
    async (_req, reply) => {
      const starting = opts.starting()
      let database: HealthResponse['database']
      try {
        await withTimeout(sql`SELECT 1`.execute(opts.db), opts.timeoutMs ?? 2000)
        database = { up: true }
        if (starting === null) opts.outage.recovered()
      } catch (err) {
        const timeout = err instanceof HealthTimeout
        database = { up: false, error: timeout ? 'timeout' : 'unreachable' }
        // A database still coming up while the process starts is no outage.
        if (starting === null) opts.outage.report(err, 'health')
      }
      const broker = opts.checks.broker()
      if (starting !== null)
        return reply.code(503).send({ status: 'starting', message: starting, database, broker })
      const ok = database.up && broker.up
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', database, broker })
    },
  )
}
