import { z } from 'zod'
import { InstantSchema, ResourceIdSchema } from './api.ts'
import { AlertSchema } from './alerts.ts'

/**
 * API contracts of issue #17 part A: expected ranges (bands), the demo history's progress and
 * alerts. Shared by the API and the dashboards.
 */

export const ExpectedBucketSchema = z.enum(['15m', '1h'])
export type ExpectedBucket = z.infer<typeof ExpectedBucketSchema>
/** What the band is of: footfall (passers-by + visitors), visitors or passers-by. */
export const ExpectedMetricSchema = z.enum(['footfall', 'visitors', 'passersBy'])
export type ExpectedMetric = z.infer<typeof ExpectedMetricSchema>

export const ExpectedQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  bucket: ExpectedBucketSchema.default('1h'),
  metric: ExpectedMetricSchema.default('footfall'),
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
})
export type ExpectedQuery = z.infer<typeof ExpectedQuerySchema>

/** One bucket of one zone: its value, and the usual value and band from comparable weeks. */
export const ExpectedRowSchema = z.object({
  zoneId: z.string(),
  bucketStart: InstantSchema,
  value: z.number(),
  /** Null when fewer than `minSamples` comparable weeks are known. */
  usual: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  /** Comparable weeks the band stands on. */
  samples: z.number().int().nonnegative(),
  side: z.enum(['below', 'within', 'above']).nullable(),
  /** "usual for a Monday at 11": ISO weekday (1 = Monday) and local hour of the bucket. */
  weekday: z.number().int().min(1).max(7),
  hour: z.number().int().min(0).max(23),
})
export type ExpectedRow = z.infer<typeof ExpectedRowSchema>

export const ExcludedDaySchema = z.object({
  date: z.string(),
  /** `flagged`: a day a user flagged (`/context/excluded-days`), its reason as the name. */
  reason: z.enum(['holiday', 'event', 'flagged']),
  name: z.string(),
  /** A flagged day of one zone only (absent: every zone). */
  zoneId: z.string().optional(),
})

/**
 * `GET /api/v1/footfall/expected`: `{ "bucket": "1h", "metric": "footfall", "weeks": 8, "rows": [ExpectedRow…], "excluded": [{ "date": "2026-12-08", "reason": "holiday", "name": "Immacolata Concezione" }] }`
 */
export const ExpectedResponseSchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  bucket: ExpectedBucketSchema,
  metric: ExpectedMetricSchema,
  timezone: z.string(),
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  weeks: z.number().int().positive(),
  minSamples: z.number().int().positive(),
  /** Band = usual ± z robust standard deviations. */
  z: z.number(),
  rows: z.array(ExpectedRowSchema),
  /** Days left out of the comparable periods (holidays, event days, flagged days) in the weeks looked at. */
  excluded: z.array(ExcludedDaySchema),
})
export type ExpectedResponse = z.infer<typeof ExpectedResponseSchema>

/** `GET /api/v1/demo-history`: how much of the demo's simulated history is written. */
export const DemoHistoryResponseSchema = z.object({
  /** False when this database has no demo history (real data, or SIM_HISTORY=0). */
  present: z.boolean(),
  from: InstantSchema.nullable(),
  to: InstantSchema.nullable(),
  daysTotal: z.number().int().nonnegative(),
  daysDone: z.number().int().nonnegative(),
  weeksTotal: z.number().int().nonnegative(),
  weeksDone: z.number().int().nonnegative(),
  transits: z.number().int().nonnegative(),
  finished: z.boolean(),
})
export type DemoHistoryResponse = z.infer<typeof DemoHistoryResponseSchema>

export { AlertKindSchema, AlertSchema, type Alert, type AlertKind } from './alerts.ts'

export const AlertsQuerySchema = z.object({
  state: z.enum(['open', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
})

/** `GET /api/v1/alerts`: `{ "alerts": [Alert…] }`, newest first. */
export const AlertsResponseSchema = z.object({ alerts: z.array(AlertSchema) })
export type AlertsResponse = z.infer<typeof AlertsResponseSchema>

export const AlertIdParamsSchema = z.object({ id: z.string().regex(/^\d{1,18}$/) })
