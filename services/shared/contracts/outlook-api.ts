import { z } from 'zod'
import { InstantSchema, ResourceIdSchema } from './api.ts'

// Issue 17 (part B): forecasts, context series and flagged days, monthly reports. The routes are
// services/api/routes/forecast, context and reports; docs/metrics.md says what the numbers mean.

/** A local date: `"2026-11-21"`. */
export const LocalDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((s) => {
    const [y, m, d] = s.split('-').map(Number) as [number, number, number]
    const date = new Date(Date.UTC(y, m - 1, d))
    return y >= 2000 && y < 9999 && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
  }, 'must be a real date between 2000 and 9999')

/** What a forecast counts: passers-by + visitors (`footfall`), or one class. */
export const ForecastMeasureSchema = z.enum(['footfall', 'visitors', 'passersBy'])
export type ForecastMeasure = z.infer<typeof ForecastMeasureSchema>

/** `GET /api/v1/forecast?shop=bar-roma&days=7&measure=footfall` (no zone or shop: the district). */
export const ForecastQuerySchema = z.object({
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
  days: z.coerce.number().int().min(1).max(14).default(7),
  measure: ForecastMeasureSchema.default('footfall'),
})

export const ForecastPointSchema = z.object({
  /** Start of the hour. */
  t: InstantSchema,
  /** Null: no usable past week for this hour. */
  value: z.number().nonnegative().nullable(),
  /** The interval (`level`); null until the backtest has enough errors. */
  low: z.number().nonnegative().nullable(),
  high: z.number().nonnegative().nullable(),
  /** Past weeks averaged. */
  weeks: z.number().int().nonnegative(),
})

export const ForecastResponseSchema = z.object({
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  measure: ForecastMeasureSchema,
  timezone: z.string(),
  /** The first hour forecast (history up to it). */
  origin: InstantSchema,
  /** Coverage the interval aims at (0.9). */
  level: z.number(),
  model: z.string(),
  /** Backtest errors behind the interval. */
  residuals: z.number().int().nonnegative(),
  /** Local days left out of the history (flagged days and event days). */
  excludedDays: z.array(z.string()),
  points: z.array(ForecastPointSchema),
})
export type ForecastResponse = z.infer<typeof ForecastResponseSchema>

/** `GET /api/v1/context/series?from=…&to=…&variable=rain_mm&zone=via-palazzo` */
export const ContextSeriesQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  variable: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be 1–40 of a–z 0–9 _ starting with a letter')
    .optional(),
  /** The district's values and this zone's; without it, the district's only. */
  zone: ResourceIdSchema.optional(),
})

export const ContextValueSchema = z.object({
  at: InstantSchema,
  /** The value holds for the whole local day starting at `at`. */
  wholeDay: z.boolean(),
  zoneId: z.string().nullable(),
  variable: z.string(),
  value: z.union([z.number(), z.string()]),
})
export const ContextSeriesResponseSchema = z.object({ values: z.array(ContextValueSchema) })
export type ContextSeriesResponse = z.infer<typeof ContextSeriesResponseSchema>

/** `POST /api/v1/context/imports?source=meteo-2026-11.csv` with a text/csv body. */
export const ContextImportQuerySchema = z.object({
  source: z.string().min(1).max(200).optional(),
})
export const ContextImportResponseSchema = z.object({
  id: z.string(),
  source: z.string(),
  rows: z.number().int().nonnegative(),
  variables: z.array(z.string()),
})

export const ExcludedDaySchema = z.object({
  id: z.string(),
  day: z.string(),
  /** Null: the whole district. */
  zoneId: z.string().nullable(),
  reason: z.string(),
  createdAt: InstantSchema,
})
export const ExcludedDaysResponseSchema = z.object({ days: z.array(ExcludedDaySchema) })
export const ExcludedDaysQuerySchema = z.object({
  from: LocalDateSchema.optional(),
  to: LocalDateSchema.optional(),
})
export const ExcludedDayCreateSchema = z.object({
  day: LocalDateSchema,
  zone: ResourceIdSchema.nullable().optional(),
  reason: z.string().trim().min(1).max(200),
})
export const ExcludedDayParamsSchema = z.object({ id: z.string().min(1).max(64) })

/** `2026-11.html`, `2026-11.pdf`. */
export const ReportFileSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])\.(html|pdf)$/, 'must be YYYY-MM.html or YYYY-MM.pdf')
export const ShopReportParamsSchema = z.object({ shopId: ResourceIdSchema, file: ReportFileSchema })
export const DistrictReportParamsSchema = z.object({ file: ReportFileSchema })
export const ReportLangSchema = z.enum(['it', 'en'])
export type ReportLang = z.infer<typeof ReportLangSchema>
export const ReportQuerySchema = z.object({ lang: ReportLangSchema.optional() })
