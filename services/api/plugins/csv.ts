import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { toCsv, type CsvTable } from '../lib/csv.ts'

/** Turns a route's JSON body (as serialised, so already checked against its schema) into a table. */
export type CsvConverter = (body: never) => CsvTable

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Present on tabular routes: their 200 answer is CSV on `?format=csv` or `Accept: text/csv`. */
    csv?: { name: string; table: CsvConverter }
  }
}

/** Typed helper for a route's `config.csv`. */
export function csvOf<T>(
  name: string,
  table: (body: T) => CsvTable,
): { name: string; table: CsvConverter } {
  return { name, table: table as CsvConverter }
}

/** The media type the Accept header prefers most (the first of equals), lowercased. */
function preferredType(accept: string | undefined): string | null {
  if (!accept) return null
  let best: { type: string; q: number } | null = null
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';')
    if (!type) continue
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const q = qParam ? Number(qParam.slice(2)) : 1
    if (!Number.isFinite(q) || q <= 0) continue
    if (!best || q > best.q) best = { type, q }
  }
  return best?.type ?? null
}

export function wantsCsv(req: FastifyRequest): boolean {
  const format = (req.query as { format?: unknown } | undefined)?.format
  if (format === 'csv') return true
  if (format !== undefined) return false
  return preferredType(req.headers.accept) === 'text/csv'
}

/**
 * CSV export for every tabular route: the route's JSON answer is produced and validated as usual,
 * then converted in onSend. Errors stay JSON.
 */
export default fp(
  async function csvPlugin(app: FastifyInstance) {
    app.addHook('onSend', async (req, reply, payload) => {
      const spec = req.routeOptions.config.csv
      if (!spec) return payload
      const vary = reply.getHeader('vary')
      reply.header('vary', vary ? `${String(vary)}, Accept` : 'Accept')
      if (reply.statusCode !== 200 || typeof payload !== 'string' || !wantsCsv(req)) return payload
      const table = spec.table(JSON.parse(payload) as never)
      reply.header('content-type', 'text/csv; charset=utf-8')
      reply.header('content-disposition', `attachment; filename="${spec.name}.csv"`)
      return toCsv(table)
    })
  },
  { name: 'miglio-csv', encapsulate: false },
)
