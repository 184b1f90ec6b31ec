import { z } from 'zod'

/** Buckets the footfall endpoint answers in. */
export const FootfallBucketSchema = z.enum(['15m', '1h', '1d'])
export type FootfallBucket = z.infer<typeof FootfallBucketSchema>

/** `GET /api/v1/footfall?from=…&to=…&bucket=1h[&zone=…]` query. */
export const FootfallQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  bucket: FootfallBucketSchema.default('1h'),
  zone: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/)
    .optional(),
})
export type FootfallQuery = z.infer<typeof FootfallQuerySchema>

/** One zone in one bucket: `{ "zoneId": "via-palazzo", "bucketStart": "2026-11-21T10:00:00.000Z", "passersBy": 120, "visitors": 14, "dwellSecondsSum": 5400 }` */
export const FootfallRowSchema = z.object({
  zoneId: z.string(),
  bucketStart: z.iso.datetime({ offset: true }),
  passersBy: z.number().int().nonnegative(),
  visitors: z.number().int().nonnegative(),
  dwellSecondsSum: z.number().nonnegative(),
  /** Transits × the calibration factor in force for each gateway (people per device). */
  estimatedPeople: z.number().nonnegative(),
})
export type FootfallRow = z.infer<typeof FootfallRowSchema>

/** Totals of one zone over the whole range. */
export const FootfallTotalSchema = z.object({
  zoneId: z.string(),
  passersBy: z.number().int().nonnegative(),
  visitors: z.number().int().nonnegative(),
})
export type FootfallTotal = z.infer<typeof FootfallTotalSchema>

export const FootfallResponseSchema = z.object({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  bucket: FootfallBucketSchema,
  rows: z.array(FootfallRowSchema),
  totals: z.array(FootfallTotalSchema),
})
export type FootfallResponse = z.infer<typeof FootfallResponseSchema>

/** `GET /api/v1/zones`: `{ "zones": [{ "id": "via-palazzo", "name": "Via Palazzo", "kind": "street", "shopId": null, "geometry": {…} }] }` */
export const ZoneDtoSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['street', 'shop', 'square']),
  shopId: z.string().nullable(),
  streetFromM: z.number(),
  streetToM: z.number(),
  geometry: z.object({
    type: z.literal('Polygon'),
    coordinates: z.array(z.array(z.array(z.number()))),
  }),
})
export type ZoneDto = z.infer<typeof ZoneDtoSchema>
export const ZonesResponseSchema = z.object({ zones: z.array(ZoneDtoSchema) })
export type ZonesResponse = z.infer<typeof ZonesResponseSchema>

/** `GET /api/v1/health`: 200 when every dependency is up, 503 otherwise. */
export const HealthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.object({ up: z.boolean(), error: z.string().optional() }),
  broker: z.object({ up: z.boolean(), error: z.string().optional() }),
})
export type HealthResponse = z.infer<typeof HealthResponseSchema>

/** `GET /api/v1/me`: who the presented key belongs to. */
export const MeResponseSchema = z.object({
  role: z.enum(['admin', 'analyst', 'shopkeeper']),
  shopId: z.string().nullable(),
  label: z.string(),
})
export type MeResponse = z.infer<typeof MeResponseSchema>

/** Every error body: `{ "error": { "code": "bad_request", "message": "from: must be before to" } }` */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
})
export type ErrorBody = z.infer<typeof ErrorBodySchema>
