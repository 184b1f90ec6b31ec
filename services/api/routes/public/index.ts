import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  PublicCrowdResponseSchema,
  type CrowdLevel,
  type PublicCrowdResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { findDistrict } from '../../queries/district-queries.ts'
import { liveZoneCounts } from '../../queries/live-queries.ts'
import { listZones } from '../../queries/zone-queries.ts'
import { startOfLocalDay } from '../../../shared/contracts/local-time.ts'

const WINDOW_MS = 15 * 60_000
const CACHE_MS = 5_000

/** Transits in a street zone over the last 15 minutes from which it counts as moderate or busy. */
export const CROWD_THRESHOLDS = { moderateFrom: 45, busyFrom: 180 } as const

/**
 * A crowd level from a zone's transits in the window. Fewer than `k` is always quiet, so a level
 * never says more about a handful of people than "few".
 */
export function crowdLevel(
  transits: number,
  k: number,
  thresholds: { moderateFrom: number; busyFrom: number } = CROWD_THRESHOLDS,
): CrowdLevel {
  if (transits < k || transits < thresholds.moderateFrom) return 'quiet'
  return transits < thresholds.busyFrom ? 'moderate' : 'busy'
}

export type PublicRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
  k: number
  now: () => number
}

/**
 * The public street view's only data: a crowd level per street or square zone, no key needed.
 * Shop zones are left out (no per-shop figure is public) and no count is published. One database
 * read per 5 s whatever the number of screens polling.
 */
export default async function publicRoutes(app: FastifyInstance, opts: PublicRouteOptions) {
  let cached: { at: number; body: Promise<PublicCrowdResponse> } | null = null

  async function read(nowMs: number): Promise<PublicCrowdResponse> {
    const dayStart = startOfLocalDay(nowMs, await opts.timeZone())
    const [zones, counts, district] = await Promise.all([
      listZones(opts.db),
      liveZoneCounts(opts.db, new Date(dayStart), new Date(nowMs - WINDOW_MS)),
      findDistrict(opts.db),
    ])
    const recent = new Map(
      counts.map((c) => [c.zoneId, c.last15m.passersBy + c.last15m.visitors] as const),
    )
    return {
      at: new Date(nowMs).toISOString(),
      district: district?.name ?? '',
      windowMinutes: WINDOW_MS / 60_000,
      zones: zones.flatMap((zone) =>
        zone.kind === 'shop' || zone.shopId !== null
          ? []
          : [
              {
                zoneId: zone.id,
                name: zone.name,
                kind: zone.kind,
                level: crowdLevel(recent.get(zone.id) ?? 0, opts.k),
              },
            ],
      ),
    }
  }

  app.withTypeProvider<ZodTypeProvider>().get(
    '/public/crowd',
    {
      schema: {
        tags: ['public'],
        summary: 'Crowd level per street zone for public screens (no key; opt-in)',
        description:
          'Enabled by the `publicStreetView` option. Each street or square zone is `quiet`, `moderate` or `busy` from its transits in the last 15 minutes; shop zones and counts are never published.',
        security: [],
        response: { 200: PublicCrowdResponseSchema },
      },
    },
    async (_req, reply) => {
      const nowMs = opts.now()
      if (!cached || nowMs - cached.at >= CACHE_MS || nowMs < cached.at) {
        const body = read(nowMs)
        cached = { at: nowMs, body }
        body.catch(() => {
          if (cached?.body === body) cached = null
        })
      }
      reply.header('cache-control', 'public, max-age=5')
      return cached.body
    },
  )
}
