import { z } from 'zod'

/**
 * The calibration workflow's contracts (issue #16): manual counting sessions, fits, calibration
 * versions per gateway. Used by the API routes (validation in, serialisation out, OpenAPI), the CLI's
 * CSV import and the dashboards' form, so a count is refused for the same reason everywhere.
 */

const ResourceId = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, 'must be 1–64 lowercase letters, digits or dashes')
const Instant = z.iso.datetime({ offset: true })

/** The longest counting session accepted. */
export const MAX_COUNT_SESSION_MS = 24 * 3_600_000
/** A window may end this far after "now" (clock skew between the counter's device and the server). */
export const COUNT_FUTURE_SLACK_MS = 60_000

/**
 * What was counted: `present` — the mean number of people in the zone over the window (a head count
 * every few minutes, averaged); `in` — people who entered or arrived during the window; `out` —
 * people who left (recorded, not yet used by the fit: the estimator measures arrivals).
 */
export const CountKindSchema = z.enum(['present', 'in', 'out'])
export type CountKind = z.infer<typeof CountKindSchema>

/** `POST /api/v1/calibration/sessions`: one counting session. */
export const CountSessionCreateSchema = z
  .object({
    zone: ResourceId,
    /** The gateway the count is for; absent: every gateway of the zone. */
    gateway: ResourceId.optional(),
    from: Instant,
    to: Instant,
    kind: CountKindSchema,
    people: z
      .number()
      .min(0, 'a count of people cannot be negative')
      .max(999_999, 'a count above 999999 people is not a manual count'),
    countedBy: z.string().trim().min(1, 'say who counted').max(120),
    note: z.string().max(1000).optional(),
  })
  .superRefine((s, ctx) => {
    const from = Date.parse(s.from)
    const to = Date.parse(s.to)
    if (!(to > from)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' })
    else if (to - from > MAX_COUNT_SESSION_MS)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'a session may last at most 24 h' })
    if (s.kind !== 'present' && !Number.isInteger(s.people))
      ctx.addIssue({
        code: 'custom',
        path: ['people'],
        message: `people counted ${s.kind} must be a whole number`,
      })
  })
export type CountSessionCreate = z.infer<typeof CountSessionCreateSchema>

/** The reason a session whose window ends after `nowMs` is refused, or null. */
export function futureWindowReason(s: { to: string }, nowMs: number): string | null {
  return Date.parse(s.to) > nowMs + COUNT_FUTURE_SLACK_MS
    ? `the window ends in the future (${s.to}): record a count once it is over`
    : null
}

export const CountSessionDtoSchema = z.object({
  id: z.string(),
  zone: z.string(),
  gateway: z.string().nullable(),
  from: Instant,
  to: Instant,
  kind: CountKindSchema,
  people: z.number(),
  countedBy: z.string(),
  note: z.string().nullable(),
  createdAt: Instant,
})
export type CountSessionDto = z.infer<typeof CountSessionDtoSchema>

/** `GET /api/v1/calibration/sessions[?zone=…&from=…&to=…]`: sessions overlapping the range. */
export const CountSessionsQuerySchema = z.object({
  zone: ResourceId.optional(),
  from: Instant.optional(),
  to: Instant.optional(),
  format: z.enum(['json', 'csv']).optional(),
})
export const CountSessionsResponseSchema = z.object({ sessions: z.array(CountSessionDtoSchema) })
export type CountSessionsResponse = z.infer<typeof CountSessionsResponseSchema>

/** `POST /api/v1/calibration/fit`: the gateways to fit (absent: every gateway of a zone with counts). */
export const CalibrationFitRequestSchema = z.object({
  gateways: z.array(ResourceId).min(1).max(500).optional(),
})

export const CalibrationQualitySchema = z.object({
  /** Held-out mean absolute error, people. */
  maePeople: z.number(),
  /** Held-out MAPE over sessions with ≥ 3 people; null when none had 3. */
  mapePct: z.number().nullable(),
  /** Share of held-out sessions inside their 90 % interval, %. */
  coveragePct: z.number(),
  /** Count sessions the fit used. */
  sessions: z.number().int(),
})
export type CalibrationQuality = z.infer<typeof CalibrationQualitySchema>

const ModelFormSchema = z.enum(['factor', 'mix', 'floor+factor', 'floor+mix', 'knee'])

/**
 * A kind's model: people = max(0, intercept + stable·stable + randomised·randomised
 * − bend·max(0, stable + randomised − knee)). `knee` and `bend` only with the `knee` form.
 */
export const CalibrationCoefficientsSchema = z.object({
  form: ModelFormSchema,
  intercept: z.number(),
  stable: z.number(),
  randomised: z.number(),
  /** `knee` form: above this many device chains … */
  knee: z.number().optional(),
  /** … each further chain counts this many people less. */
  bend: z.number().optional(),
})
export type CalibrationCoefficients = z.infer<typeof CalibrationCoefficientsSchema>

export const CalibrationVersionDtoSchema = z.object({
  version: z.number().int(),
  fittedAt: Instant,
  /** Applies from here on; never to anything before. */
  validFrom: Instant,
  supersededBy: z.number().int().nullable(),
  quality: CalibrationQualitySchema,
  /** The model form chosen per kind of count (null: that kind had no model). */
  present: ModelFormSchema.nullable(),
  arrivals: ModelFormSchema.nullable(),
  /** The fitted coefficients per kind of count (null: that kind had no model). */
  coefficients: z.object({
    present: CalibrationCoefficientsSchema.nullable(),
    arrivals: CalibrationCoefficientsSchema.nullable(),
  }),
})
export type CalibrationVersionDto = z.infer<typeof CalibrationVersionDtoSchema>

export const CalibrationFitResultSchema = z.object({
  gateway: z.string(),
  zone: z.string(),
  applied: z.boolean(),
  /** The new version (applied). */
  version: CalibrationVersionDtoSchema.nullable(),
  /** Why no version was applied. */
  reason: z.string().nullable(),
  /** What the fit left out and why (count sessions of days whose transits lost their pseudonyms). */
  notes: z.array(z.string()),
})
export type CalibrationFitResult = z.infer<typeof CalibrationFitResultSchema>
export const CalibrationFitResponseSchema = z.object({
  results: z.array(CalibrationFitResultSchema),
})
export type CalibrationFitResponse = z.infer<typeof CalibrationFitResponseSchema>

/** Why a gateway's calibration needs attention. */
export const CalibrationReminderSchema = z.enum(['never', 'old', 'poor_coverage', 'poor_mape'])
export type CalibrationReminder = z.infer<typeof CalibrationReminderSchema>

export const GatewayCalibrationDtoSchema = z.object({
  gateway: z.string(),
  zone: z.string(),
  /** The version in force now, if any. */
  current: CalibrationVersionDtoSchema.nullable(),
  /** Every version, newest first. */
  versions: z.array(CalibrationVersionDtoSchema),
  /** The last fit that was not applied, when it is newer than the current version. */
  refusal: z.object({ at: Instant, sessions: z.number().int(), reason: z.string() }).nullable(),
  /** Age of the current version in days (null: none). */
  ageDays: z.number().nullable(),
  reminders: z.array(CalibrationReminderSchema),
  /** The reminders in words (English), for tools; the dashboards word them themselves. */
  reminderText: z.array(z.string()),
})
export type GatewayCalibrationDto = z.infer<typeof GatewayCalibrationDtoSchema>

/** `GET /api/v1/calibration`. */
export const CalibrationListResponseSchema = z.object({
  /** A calibration older than this many days is reminded (CALIBRATION_MAX_AGE_DAYS). */
  maxAgeDays: z.number().int(),
  /** Interval coverage outside this range (%) is poor. */
  coverageRange: z.tuple([z.number(), z.number()]),
  /** MAPE above this (%) is poor. */
  maxMapePct: z.number(),
  gateways: z.array(GatewayCalibrationDtoSchema),
})
export type CalibrationListResponse = z.infer<typeof CalibrationListResponseSchema>

/** A calibration's interval coverage outside this range (%) is poor. */
export const COVERAGE_RANGE: [number, number] = [80, 97]
/** A calibration's held-out MAPE above this (%) is poor. */
export const MAX_MAPE_PCT = 30

/** The reminders of a gateway's calibration (pure; the API and its tests share it). */
export function calibrationReminders(
  current: { ageDays: number; quality: CalibrationQuality } | null,
  maxAgeDays: number,
): CalibrationReminder[] {
  if (!current) return ['never']
  const out: CalibrationReminder[] = []
  if (current.ageDays > maxAgeDays) out.push('old')
  const c = current.quality.coveragePct
  if (c < COVERAGE_RANGE[0] || c > COVERAGE_RANGE[1]) out.push('poor_coverage')
  if (current.quality.mapePct !== null && current.quality.mapePct > MAX_MAPE_PCT)
    out.push('poor_mape')
  return out
}
