import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import {
  ErrorBodySchema,
  EventCreateSchema,
  EventDtoSchema,
  EventIdParamsSchema,
  EventsQuerySchema,
  EventsResponseSchema,
  UpliftQuerySchema,
  UpliftResponseSchema,
  type EventDto,
  type EventsResponse,
  type UpliftResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requireRole } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import {
  deleteEvent,
  existingZoneIds,
  findEvent,
  insertEvent,
  listEvents,
} from '../../queries/event-queries.ts'
import { sumFootfallByZone, type ZoneSums } from '../../queries/footfall-queries.ts'
import {
  localDateOf,
  localMidnightsIn,
  shiftLocalDays,
} from '../../../shared/contracts/local-time.ts'
import { listExcludedDays } from '../../../shared/registry/context-repository.ts'
import { DAY_MS, optionalRangeOf, rangeOf } from '../../lib/range.ts'
import { upliftRows } from '../../lib/uplift.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

const MAX_EVENT_MS = 92 * DAY_MS
const WEEK_MS = 7 * DAY_MS
const QUARTER_MS = 15 * 60_000

export type EventRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
  now: () => number
}

async function eventOr404(db: Db, id: string): Promise<EventDto> {
  const e = await findEvent(db, id)
  if (!e) throw new AppError('not_found', `event ${id} does not exist`, { statusCode: 404 })
  return e
}

const eventsCsv = csvOf('events', (b: EventsResponse) => ({
  columns: ['id', 'name', 'zones', 'from', 'to', 'createdAt'],
  rows: b.events.map((e) => [e.id, e.name, e.zones, e.from, e.to, e.createdAt]),
}))

export default async function eventRoutes(app: FastifyInstance, opts: EventRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  // Events name zones across the district: analysts and admins only.
  app.addHook('preValidation', async (req) => {
    requireRole(req, 'admin', 'analyst')
  })

  r.post(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Record an event or campaign: name, zones, time window (analyst, admin)',
        description: 'The window may span at most 92 days. Answers 201 with the event.',
        body: EventCreateSchema,
        response: { 201: EventDtoSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req, reply) => {
      const p = requireRole(req, 'admin', 'analyst')
      const { from, to } = rangeOf(req.body, MAX_EVENT_MS)
      const zones = [...new Set(req.body.zones)]
      const known = await existingZoneIds(opts.db, zones)
      const unknown = zones.find((z) => !known.has(z))
      if (unknown)
        throw new AppError('not_found', `zone ${unknown} does not exist`, { statusCode: 404 })
      const event = await insertEvent(opts.db, {
        id: randomUUID(),
        name: req.body.name,
        zoneIds: zones,
        from,
        to,
        createdBy: p.keyId,
      })
      return reply.code(201).send(event)
    },
  )

  r.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Events overlapping a range, or all (analyst, admin)',
        querystring: EventsQuerySchema,
        response: { 200: EventsResponseSchema, ...AUTH_ERRORS },
      },
      config: { csv: eventsCsv },
    },
    async (req) => ({ events: await listEvents(opts.db, optionalRangeOf(req.query)) }),
  )

  r.get(
    '/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'One event (analyst, admin)',
        params: EventIdParamsSchema,
        response: { 200: EventDtoSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => eventOr404(opts.db, req.params.id),
  )

  r.delete(
    '/events/:id',
    {
      schema: {
        tags: ['events'],
        summary: 'Delete an event (analyst, admin)',
        params: EventIdParamsSchema,
        response: {
          204: z.null().describe('Deleted'),
          ...AUTH_ERRORS,
          404: ErrorBodySchema.describe('No such event'),
        },
      },
    },
    async (req, reply) => {
      if (!(await deleteEvent(opts.db, req.params.id)))
        throw new AppError('not_found', `event ${req.params.id} does not exist`, {
          statusCode: 404,
        })
      return reply.code(204).send(null)
    },
  )

  r.get(
    '/events/:id/uplift',
    {
      schema: {
        tags: ['events'],
        summary: 'Uplift of an event against comparable days (analyst, admin)',
        description:
          "Footfall in the event's zones and window (buckets starting in it; a running event up to the last whole 15 minutes) against the same local weekday and hours of the previous `weeks` weeks (default 4; events longer than a week step back by whole multiples of their length in weeks). Baseline windows overlapping any other event, or on a day flagged out of baselines (`/context/excluded-days`, the district's or one of the event's zones), are left out. Difference = event − baseline mean; ratio = event / baseline mean; spread = min, max and sample standard deviation across the baseline weeks used.",
        params: EventIdParamsSchema,
        querystring: UpliftQuerySchema,
        response: { 200: UpliftResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('uplift', (b: UpliftResponse) => ({
          columns: [
            'zoneId',
            'metric',
            'event',
            'baselineMean',
            'difference',
            'ratio',
            'baselineMin',
            'baselineMax',
            'baselineStddev',
            'baselineWeeks',
          ],
          rows: b.rows.map((x) => [
            x.zoneId ?? 'all',
            x.metric,
            x.event,
            x.baselineMean,
            x.difference,
            x.ratio,
            x.baselineMin,
            x.baselineMax,
            x.baselineStddev,
            x.baselineWeeks,
          ]),
        })),
      },
    },
    async (req) => {
      const event = await eventOr404(opts.db, req.params.id)
      const { weeks } = req.query
      const from = Date.parse(event.from)
      const to = Date.parse(event.to)
      const now = opts.now()
      const tz = await opts.timeZone()
      const status = now < from ? 'upcoming' : now >= to ? 'finished' : 'running'
      const end = status === 'finished' ? to : Math.floor(now / QUARTER_MS) * QUARTER_MS
      const measuredTo = status !== 'upcoming' && end > from ? end : null
      const stepWeeks = Math.max(1, Math.ceil((to - from) / WEEK_MS))
      const windows = Array.from({ length: weeks }, (_, i) => {
        const days = -7 * stepWeeks * (i + 1)
        return {
          weeksBefore: stepWeeks * (i + 1),
          from: shiftLocalDays(from, days, tz),
          to: shiftLocalDays(measuredTo ?? to, days, tz),
        }
      })
      const earliest = Math.min(...windows.map((w) => w.from))
      const others = (
        await listEvents(opts.db, { from: new Date(earliest), to: new Date(from) })
      ).filter((e) => e.id !== event.id)
      // Days a user flagged out of baselines (the district's, or one of the event's zones).
      const flagged = new Set(
        (
          await listExcludedDays(opts.db, {
            from: localDateOf(earliest, tz),
            to: localDateOf(from, tz),
          })
        )
          .filter((d) => d.zoneId === null || event.zones.includes(d.zoneId))
          .map((d) => d.day),
      )
      const baseline = windows.map((w) => {
        const overlapsEvents = others
          .filter((e) => Date.parse(e.from) < w.to && Date.parse(e.to) > w.from)
          .map((e) => e.id)
        const days = [w.from, ...localMidnightsIn(w.from, w.to - 1, tz)].map((t) =>
          localDateOf(t, tz),
        )
        const flaggedDays = [...new Set(days.filter((d) => flagged.has(d)))]
        return {
          weeksBefore: w.weeksBefore,
          from: new Date(w.from).toISOString(),
          to: new Date(w.to).toISOString(),
          used: measuredTo !== null && overlapsEvents.length === 0 && flaggedDays.length === 0,
          overlapsEvents,
          flaggedDays,
        }
      })
      let rows: UpliftResponse['rows'] = []
      if (measuredTo !== null) {
        const sums = (a: number, b: number) =>
          sumFootfallByZone(opts.db, { from: new Date(a), to: new Date(b), zoneIds: event.zones })
        const eventSums = await sums(from, measuredTo)
        const baseSums: ZoneSums[][] = []
        for (const [i, w] of windows.entries()) {
          if (baseline[i]?.used) baseSums.push(await sums(w.from, w.to))
        }
        rows = upliftRows(event.zones, eventSums, baseSums)
      }
      return {
        event,
        status,
        measuredTo: measuredTo === null ? null : new Date(measuredTo).toISOString(),
        weeks,
        stepWeeks,
        baseline,
        rows,
      } satisfies UpliftResponse
    },
  )
}
