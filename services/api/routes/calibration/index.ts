import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  CalibrationFitRequestSchema,
  CalibrationFitResponseSchema,
  CalibrationListResponseSchema,
  calibrationReminders,
  CountSessionCreateSchema,
  CountSessionDtoSchema,
  CountSessionsQuerySchema,
  CountSessionsResponseSchema,
  COVERAGE_RANGE,
  MAX_MAPE_PCT,
  type CalibrationListResponse,
  type CalibrationReminder,
  type CountSessionsResponse,
  type GatewayCalibrationDto,
} from '../../../shared/contracts/calibration.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import {
  CountSessionRefused,
  fitCalibrations,
  insertCountSessions,
  listCalibrationRefusals,
  listCalibrationVersions,
  listCountSessions,
  versionDto,
  type FittedCalibration,
} from '../../../shared/db/calibrations.ts'
import { AppError } from '../../../shared/errors.ts'
import { requireRole } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

const DAY_MS = 86_400_000

export type CalibrationRouteOptions = {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
  /** A calibration older than this many days is reminded (API_CALIBRATION_MAX_AGE_DAYS). */
  maxAgeDays: number
}

const sessionsCsv = csvOf('count-sessions', (b: CountSessionsResponse) => ({
  columns: ['id', 'zone', 'gateway', 'from', 'to', 'kind', 'people', 'countedBy', 'note'],
  rows: b.sessions.map((s) => [
    s.id,
    s.zone,
    s.gateway,
    s.from,
    s.to,
    s.kind,
    s.people,
    s.countedBy,
    s.note,
  ]),
}))

const REMINDER_TEXT: Record<
  CalibrationReminder,
  (g: GatewayCalibrationDto, days: number) => string
> = {
  never: () => 'never calibrated: record counting sessions and fit',
  old: (g, days) =>
    `calibrated ${Math.floor(g.ageDays ?? 0)} days ago (more than ${days}): count again and refit`,
  poor_coverage: (g) =>
    `interval coverage ${g.current?.quality.coveragePct.toFixed(0)} % is outside ${COVERAGE_RANGE[0]}–${COVERAGE_RANGE[1]} %: count more sessions`,
  poor_mape: (g) =>
    `held-out error ${g.current?.quality.mapePct?.toFixed(0)} % MAPE is above ${MAX_MAPE_PCT} %: count more sessions, on busier and quieter days`,
}

/** Refusals of the calibration module as HTTP errors: unknown ids 404, the rest 400. */
function refused(err: unknown, index?: (i: number) => string): never {
  if (err instanceof CountSessionRefused) {
    const where = index ? index(err.index) : ''
    throw new AppError(err.notFound ? 'not_found' : 'bad_request', `${where}${err.message}`, {
      statusCode: err.notFound ? 404 : 400,
    })
  }
  throw err
}

export default async function calibrationRoutes(
  app: FastifyInstance,
  opts: CalibrationRouteOptions,
) {
  const r = app.withTypeProvider<ZodTypeProvider>()
  // Counts and calibrations concern the whole district: analysts and admins only.
  app.addHook('preValidation', async (req) => {
    requireRole(req, 'admin', 'analyst')
  })

  r.post(
    '/calibration/sessions',
    {
      schema: {
        tags: ['calibration'],
        summary: 'Record a counting session (analyst, admin)',
        description:
          'A manual count: zone (and optionally the gateway it is for), window, kind (present: mean people in the zone; in/out: people who entered/left), people, who counted. Refused with the reason (400) when the window ends in the future, the count is negative (or fractional for in/out), or it overlaps a session of the same zone and kind that counted otherwise (or the same count twice); 404 for an unknown zone or gateway. Answers 201 with the session.',
        body: CountSessionCreateSchema,
        response: { 201: CountSessionDtoSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req, reply) => {
      const [s] = await insertCountSessions(opts.db, [req.body], opts.now()).catch((e: unknown) =>
        refused(e),
      )
      if (!s) throw new AppError('internal', 'the session was not recorded')
      return reply.code(201).send(s)
    },
  )

  r.get(
    '/calibration/sessions',
    {
      schema: {
        tags: ['calibration'],
        summary: 'Counting sessions overlapping a range, or all (analyst, admin)',
        querystring: CountSessionsQuerySchema,
        response: { 200: CountSessionsResponseSchema, ...AUTH_ERRORS },
      },
      config: { csv: sessionsCsv },
    },
    async (req) => ({
      sessions: await listCountSessions(opts.db, {
        ...(req.query.zone ? { zoneId: req.query.zone } : {}),
        ...(req.query.from ? { from: new Date(req.query.from) } : {}),
        ...(req.query.to ? { to: new Date(req.query.to) } : {}),
      }),
    }),
  )

  r.post(
    '/calibration/fit',
    {
      schema: {
        tags: ['calibration'],
        summary: 'Fit calibrations from the counting sessions (analyst, admin)',
        description:
          'Per gateway (the ones named, else every active gateway of a zone with counts): a new version in force from now on (never retroactive), or, when the sessions cannot support a fit (fewer than 8 of a kind, nobody counted, no device heard), no version and the reason.',
        body: CalibrationFitRequestSchema.optional(),
        response: { 200: CalibrationFitResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
    },
    async (req) => ({
      results: await fitCalibrations(opts.db, {
        timeZone: await opts.timeZone(),
        ...(req.body?.gateways ? { gatewayIds: req.body.gateways } : {}),
      }),
    }),
  )

  r.get(
    '/calibration',
    {
      schema: {
        tags: ['calibration'],
        summary: 'Calibration versions per gateway with quality and reminders (analyst, admin)',
        description:
          'Every active gateway: the version in force, all versions, the last refused fit, and reminders when the calibration is missing, older than API_CALIBRATION_MAX_AGE_DAYS, or poor (interval coverage outside 80–97 %, MAPE over 30 %).',
        response: { 200: CalibrationListResponseSchema, ...AUTH_ERRORS },
      },
    },
    async () => calibrationList(opts),
  )
}

async function calibrationList(opts: CalibrationRouteOptions): Promise<CalibrationListResponse> {
  const nowMs = opts.now()
  const gateways = await opts.db
    .selectFrom('gateways')
    .select(['id', 'zone_id'])
    .where('active', '=', true)
    .orderBy('id')
    .execute()
  const versions = await listCalibrationVersions(opts.db)
  const refusals = await listCalibrationRefusals(opts.db)
  const byGateway = new Map<string, FittedCalibration[]>()
  for (const v of versions) byGateway.set(v.gatewayId, [...(byGateway.get(v.gatewayId) ?? []), v])
  return {
    maxAgeDays: opts.maxAgeDays,
    coverageRange: COVERAGE_RANGE,
    maxMapePct: MAX_MAPE_PCT,
    gateways: gateways.map((g) => {
      const all = byGateway.get(g.id) ?? []
      const current = all.find((v) => v.validFrom.getTime() <= nowMs) ?? null
      const refusal = refusals.find((x) => x.gatewayId === g.id) ?? null
      const ageDays = current ? (nowMs - current.validFrom.getTime()) / DAY_MS : null
      const dto: GatewayCalibrationDto = {
        gateway: g.id,
        zone: g.zone_id,
        current: current ? versionDto(current) : null,
        versions: all.map(versionDto),
        refusal:
          refusal && (!current || refusal.at.getTime() > current.fittedAt.getTime())
            ? { at: refusal.at.toISOString(), sessions: refusal.sessions, reason: refusal.reason }
            : null,
        ageDays,
        reminders: [],
        reminderText: [],
      }
      dto.reminders = calibrationReminders(
        current && ageDays !== null ? { ageDays, quality: current.quality } : null,
        opts.maxAgeDays,
      )
      dto.reminderText = dto.reminders.map((k) => REMINDER_TEXT[k](dto, opts.maxAgeDays))
      return dto
    }),
  }
}
