import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  GatewaysResponseSchema,
  ListQuerySchema,
  type GatewaysResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import { listGateways } from '../../queries/gateway-queries.ts'
import { AUTH_ERRORS } from '../../lib/responses.ts'

export default async function gatewayRoutes(
  app: FastifyInstance,
  opts: { db: Db; silentAfterS: number },
) {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/gateways',
    {
      schema: {
        tags: ['district'],
        summary: "Gateways with their health (shopkeeper: its shop's gateways only)",
        description: `format: the protocol the gateway speaks (native, omg, espresense, sniffer, meraki, paxcounter; a paxcounter is a count source: device counts, not pedestrians). lastMessageAt: its last message of any kind. health: ok; silent (no batch — a paxcounter: no message — for more than ${opts.silentAfterS} s); offline (the gateway's last will or status); unknown (never heard); inactive (no longer in the district file).`,
        querystring: ListQuerySchema,
        response: { 200: GatewaysResponseSchema, ...AUTH_ERRORS },
      },
      config: {
        csv: csvOf('gateways', (b: GatewaysResponse) => ({
          columns: [
            'id',
            'zoneId',
            'shopId',
            'placement',
            'format',
            'active',
            'health',
            'state',
            'fw',
            'lastBatchAt',
            'lastMessageAt',
            'silentS',
            'seqGaps',
            'clockSkewMs',
            'queue',
            'lon',
            'lat',
          ],
          rows: b.gateways.map((g) => [
            g.id,
            g.zoneId,
            g.shopId,
            g.placement,
            g.format,
            g.active,
            g.health,
            g.state,
            g.fw,
            g.lastBatchAt,
            g.lastMessageAt,
            g.silentS,
            g.seqGaps,
            g.clockSkewMs,
            g.queue,
            g.position[0],
            g.position[1],
          ]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      return {
        gateways: await listGateways(opts.db, {
          onlyShopId: p.role === 'shopkeeper' ? (p.shopId ?? '\u0000') : undefined,
          silentAfterS: opts.silentAfterS,
        }),
      }
    },
  )
}
