import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { HealthResponseSchema, type HealthResponse } from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { sql } from 'kysely'

export type HealthChecks = {
  /** Null when this process has no broker connection to report. */
  broker: () => { up: boolean; error?: string }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export default async function healthRoutes(
  app: FastifyInstance,
  opts: { db: Db; checks: HealthChecks; starting?: () => string | null },
) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Database and broker reachability (no key needed)',
        security: [],
        response: { 200: HealthResponseSchema, 503: HealthResponseSchema },
      },
    },
    async (_req, reply) => {
      let database: HealthResponse['database']
      try {
        await withTimeout(sql`SELECT 1`.execute(opts.db), 2000)
        database = { up: true }
      } catch (err) {
        database = { up: false, error: (err as Error).message.slice(0, 200) }
      }
      const broker = opts.checks.broker()
      // Still starting (e.g. waiting for the database, then migrating): 503 whatever the checks say.
      const starting = opts.starting?.() ?? null
      const ok = database.up && broker.up && starting === null
      const status = starting !== null ? 'starting' : ok ? 'ok' : 'degraded'
      return reply.code(ok ? 200 : 503).send({ status, database, broker })
    },
  )
}
