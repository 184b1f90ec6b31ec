import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  PublicCrowdResponseSchema,
  type CrowdLevel,
  type PublicCrowdResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { findDistrict } from '../../queries/district-queries.ts'
import { listZones } from '../../queries/zone-queries.ts'
import {
  peoplePresentNow,
  PRESENT_NOW_MINUTES,
  type CalibrationProvider,
} from '../../lib/people.ts'

const CACHE_MS = 5_000

/**
 * People present now in a street zone (the estimator's mean over the last 15 minutes) from which it
 * counts as moderate or busy. They replace 45 and 180 transits begun in 15 minutes: a passer-by is
 * heard for one to two minutes on a street, so those were about 5 and 20 people there at a time.
 */
export const CROWD_THRESHOLDS = { moderateFrom: 5, busyFrom: 20 } as const

/**
 * A crowd level from a zone's people present now. Fewer than `k` is always quiet, so a level never
 * says more about a handful of people than "few".
 */
export function crowdLevel(
  people: number,
  k: number,
  thresholds: { moderateFrom: number; busyFrom: number } = CROWD_THRESHOLDS,
): CrowdLevel {
  if (people < k || people < thresholds.moderateFrom) return 'quiet'
  return people < thresholds.busyFrom ? 'moderate' : 'busy'
}

export type PublicRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
  k: number
  now: () => number
  /** The gateways' calibrations (see lib/people.ts); uncalibrated gateways count devices as people. */
  calibrations: CalibrationProvider
}

/**
 * The public street view's only data: a crowd level per street or square zone, no key needed.
 * Shop zones are left out (no per-shop figure is public) and no count is published. One database
 * read per 5 s whatever the number of screens polling.
 */
export default async function publicRoutes(app: FastifyInstance, opts: PublicRouteOptions) {
  let cached: { at: number; body: Promise<PublicCrowdResponse> } | null = null

  async function read(nowMs: number): Promise<PublicCrowdResponse> {
    const tz = await opts.timeZone()
    const [zones, present, district] = await Promise.all([
      listZones(opts.db),
      peoplePresentNow(opts.db, { nowMs, tz, calibrations: opts.calibrations }),
      findDistrict(opts.db),
    ])
    return {
      at: new Date(nowMs).toISOString(),
      district: district?.name ?? '',
      windowMinutes: PRESENT_NOW_MINUTES,
      zones: zones.flatMap((zone) =>
        zone.kind === 'shop' || zone.shopId !== null
          ? []
          : [
              {
                zoneId: zone.id,
                name: zone.name,
                kind: zone.kind,
                level: crowdLevel(present.get(zone.id)?.people ?? 0, opts.k),
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
          'Enabled by the `publicStreetView` option. Each street or square zone is `quiet`, `moderate` (from 5) or `busy` (from 20) from its people present now (the people estimator: the mean over the last 15 minutes); shop zones and counts are never published.',
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
