import { z } from 'zod'
import type { GatewayFormat } from './district.ts'
import { AlertSchema } from './alerts.ts'

/** Buckets the footfall endpoint answers in; `week` is the ISO week in the district's time zone. */
export const FootfallBucketSchema = z.enum(['15m', '1h', '1d', 'week'])
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

/**
 * `GET /api/v1/health`: 200 when every dependency is up, 503 otherwise (`degraded`, or `starting`
 * with a `message` while the process starts). `database.error` is a fixed word (`unreachable`,
 * `timeout`), never the driver's text.
 */
export const HealthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded', 'starting']),
  message: z.string().optional(),
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

// ---------------------------------------------------------------------------------------------
// Issue 6: the full REST API and the live feed. Every schema below is used by a route through the
// type provider (validation in, serialisation out) and by the OpenAPI document.
// ---------------------------------------------------------------------------------------------

/** A zone, shop or gateway id: `"via-palazzo"`. */
export const ResourceIdSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, 'must be 1–64 lowercase letters, digits or dashes')
/** An ISO 8601 instant with an offset: `"2026-11-21T10:00:00+01:00"`. */
export const InstantSchema = z.iso.datetime({ offset: true })

/** `?format=csv` on any tabular endpoint (or `Accept: text/csv`): `"csv"`. */
export const FormatSchema = z.enum(['json', 'csv'])

/** Same as FootfallBucketSchema (kept as its own name for the detailed endpoint). */
export const FootfallDetailBucketSchema = FootfallBucketSchema
export type FootfallDetailBucket = z.infer<typeof FootfallDetailBucketSchema>

/** `GET /api/v1/footfall?from=…&to=…&bucket=week&shop=bar-roma&format=csv` */
export const FootfallDetailQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  bucket: FootfallDetailBucketSchema.default('1h'),
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
  format: FormatSchema.optional(),
})
export type FootfallDetailQuery = z.infer<typeof FootfallDetailQuerySchema>

/** Visitors by dwell: `{ "lt1m": 2, "m1to5": 10, "m5to15": 4, "m15to60": 1, "gt60m": 0 }` */
export const DwellHistogramSchema = z.object({
  lt1m: z.number().int().nonnegative(),
  m1to5: z.number().int().nonnegative(),
  m5to15: z.number().int().nonnegative(),
  m15to60: z.number().int().nonnegative(),
  gt60m: z.number().int().nonnegative(),
})
export type DwellHistogram = z.infer<typeof DwellHistogramSchema>

/** 95 % counting band of an estimate of people (see `estimatedPeopleBand` on footfall rows). */
export const EstimateBandSchema = z.object({
  low: z.number().nonnegative(),
  high: z.number().nonnegative(),
})

const FootfallMeasuresShape = {
  /** visitors / (visitors + passers-by); null when both are 0. */
  captureRate: z.number().min(0).max(1).nullable(),
  /** Visitors' mean dwell in seconds; null without visitors. */
  dwellMeanS: z.number().nonnegative().nullable(),
  dwellHistogram: DwellHistogramSchema,
  /** Versions of the calibration factors behind `estimatedPeople`: `[1, 2]`. */
  calibrationVersions: z.array(z.number().int()),
  /**
   * 95 % counting band of `estimatedPeople`: the exact Poisson interval of the transits counted,
   * times their mean calibration factor (docs/metrics.md). `{ "low": 81.36, "high": 121.63 }`
   */
  estimatedPeopleBand: EstimateBandSchema,
}

/** A FootfallRow with the derived measures: `{ …FootfallRow, "captureRate": 0.1, "dwellMeanS": 385.7, "dwellHistogram": {…}, "calibrationVersions": [1] }` */
export const FootfallDetailRowSchema = FootfallRowSchema.extend(FootfallMeasuresShape)
export type FootfallDetailRow = z.infer<typeof FootfallDetailRowSchema>

/** A zone's totals over the range, with the derived measures. */
export const FootfallDetailTotalSchema = FootfallTotalSchema.extend({
  dwellSecondsSum: z.number().nonnegative(),
  estimatedPeople: z.number().nonnegative(),
  ...FootfallMeasuresShape,
})
export type FootfallDetailTotal = z.infer<typeof FootfallDetailTotalSchema>

/** `GET /api/v1/footfall`: FootfallResponse plus the derived measures; FootfallResponseSchema still parses it. */
export const FootfallDetailResponseSchema = FootfallResponseSchema.extend({
  bucket: FootfallDetailBucketSchema,
  timezone: z.string(),
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  rows: z.array(FootfallDetailRowSchema),
  totals: z.array(FootfallDetailTotalSchema),
})
export type FootfallDetailResponse = z.infer<typeof FootfallDetailResponseSchema>

/** `GET /api/v1/footfall/heatmap?from=…&to=…[&zone=…|&shop=…]` */
export const HeatmapQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
  format: FormatSchema.optional(),
})

/** One local weekday (1 = Monday … 7 = Sunday) × local hour: `{ "weekday": 6, "hour": 11, "passersBy": 420, "visitors": 51, "hours": 4, … }` */
export const HeatmapCellSchema = z.object({
  weekday: z.number().int().min(1).max(7),
  hour: z.number().int().min(0).max(23),
  passersBy: z.number().int().nonnegative(),
  visitors: z.number().int().nonnegative(),
  captureRate: z.number().min(0).max(1).nullable(),
  /** How many times this local weekday and hour occur in the range (the divisor of the means). */
  hours: z.number().int().nonnegative(),
  meanPassersBy: z.number().nonnegative().nullable(),
  meanVisitors: z.number().nonnegative().nullable(),
})
export type HeatmapCell = z.infer<typeof HeatmapCellSchema>

/** `{ "from": "…", "to": "…", "timezone": "America/New_York", "zoneId": null, "shopId": null, "cells": [HeatmapCell × 168] }` */
export const HeatmapResponseSchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  timezone: z.string(),
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  /** All 7 × 24 cells, Monday 00 first. */
  cells: z.array(HeatmapCellSchema),
})
export type HeatmapResponse = z.infer<typeof HeatmapResponseSchema>

/** Period comparison modes: week over week, year over year (52 weeks, same weekday), custom. */
export const CompareModeSchema = z.enum(['wow', 'yoy', 'custom'])

/** `GET /api/v1/footfall/compare?from=…&to=…&mode=wow` (custom: `&baseFrom=…&baseTo=…`) */
export const CompareQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  mode: CompareModeSchema.default('wow'),
  baseFrom: InstantSchema.optional(),
  baseTo: InstantSchema.optional(),
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
  format: FormatSchema.optional(),
})

/** A measure in two periods: `{ "current": 120, "baseline": 100, "delta": 20, "deltaPct": 20 }` (deltaPct null when baseline is 0). */
export const MetricDeltaSchema = z.object({
  current: z.number().nullable(),
  baseline: z.number().nullable(),
  delta: z.number().nullable(),
  deltaPct: z.number().nullable(),
})
export type MetricDelta = z.infer<typeof MetricDeltaSchema>

/** Every compared measure: `{ "passersBy": MetricDelta, "visitors": …, "captureRate": …, "dwellMeanS": …, "estimatedPeople": … }` */
export const CompareMetricsSchema = z.object({
  passersBy: MetricDeltaSchema,
  visitors: MetricDeltaSchema,
  captureRate: MetricDeltaSchema,
  dwellMeanS: MetricDeltaSchema,
  estimatedPeople: MetricDeltaSchema,
})

/**
 * One zone's comparison; `zoneId: null` is the whole scope (every zone asked for).
 * `estimatedPeopleBand` is the current period's 95 % counting band of `estimatedPeople.current`.
 */
export const CompareRowSchema = CompareMetricsSchema.extend({
  zoneId: z.string().nullable(),
  estimatedPeopleBand: EstimateBandSchema,
})
export type CompareRow = z.infer<typeof CompareRowSchema>

const PeriodSchema = z.object({ from: InstantSchema, to: InstantSchema })

/** `{ "mode": "wow", "current": { "from", "to" }, "baseline": { "from", "to" }, "rows": [CompareRow…] }` */
export const CompareResponseSchema = z.object({
  mode: CompareModeSchema,
  current: PeriodSchema,
  baseline: PeriodSchema,
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  rows: z.array(CompareRowSchema),
})
export type CompareResponse = z.infer<typeof CompareResponseSchema>

/** `GET /api/v1/flows?from=…&to=…[&zone=…][&source=hourly|daily]` */
export const FlowsQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  source: z.enum(['auto', 'hourly', 'daily']).default('auto'),
  zone: ResourceIdSchema.optional(),
  format: FormatSchema.optional(),
})

/** An origin → destination cell; a suppressed cell (fewer than k devices) carries no figures. */
export const FlowCellSchema = z.object({
  originZoneId: z.string(),
  destZoneId: z.string(),
  suppressed: z.boolean(),
  flows: z.number().int().nonnegative().nullable(),
  /** Flow-weighted median of the buckets' median travel times, seconds. */
  travelSMedian: z.number().nonnegative().nullable(),
})
export type FlowCell = z.infer<typeof FlowCellSchema>

/** `{ "from": "…", "to": "…", "source": "hourly", "k": 5, "cells": [FlowCell…] }` */
export const FlowsResponseSchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  source: z.enum(['hourly', 'daily']),
  k: z.number().int().positive(),
  cells: z.array(FlowCellSchema),
})
export type FlowsResponse = z.infer<typeof FlowsResponseSchema>

/** `POST /api/v1/events`: `{ "name": "Notte bianca", "zones": ["via-palazzo"], "from": "2026-06-20T18:00:00+02:00", "to": "2026-06-21T01:00:00+02:00" }` */
export const EventCreateSchema = z.object({
  name: z.string().trim().min(1).max(120),
  zones: z.array(ResourceIdSchema).min(1).max(64),
  from: InstantSchema,
  to: InstantSchema,
})
export type EventCreate = z.infer<typeof EventCreateSchema>

/** An event or campaign. */
export const EventDtoSchema = z.object({
  id: z.string(),
  name: z.string(),
  zones: z.array(z.string()),
  from: InstantSchema,
  to: InstantSchema,
  createdAt: InstantSchema,
})
export type EventDto = z.infer<typeof EventDtoSchema>

/** `GET /api/v1/events[?from=…&to=…]`: events overlapping the range (all when absent). */
export const EventsQuerySchema = z.object({
  from: InstantSchema.optional(),
  to: InstantSchema.optional(),
  format: FormatSchema.optional(),
})
/** `{ "events": [EventDto…] }` */
export const EventsResponseSchema = z.object({ events: z.array(EventDtoSchema) })
export type EventsResponse = z.infer<typeof EventsResponseSchema>

/** `/events/:id`: `{ "id": "6f1c…-uuid" }` */
export const EventIdParamsSchema = z.object({ id: z.uuid() })

/** `GET /api/v1/events/:id/uplift?weeks=4` */
export const UpliftQuerySchema = z.object({
  weeks: z.coerce.number().int().min(1).max(12).default(4),
  format: FormatSchema.optional(),
})

/** A baseline window: the event's window N weeks earlier (local wall-clock time). */
export const BaselineWindowSchema = z.object({
  weeksBefore: z.number().int().positive(),
  from: InstantSchema,
  to: InstantSchema,
  used: z.boolean(),
  /** Other events overlapping this window (the reason it is not used). */
  overlapsEvents: z.array(z.string()),
  /** Local days of this window flagged out of baselines (the other reason it is not used). */
  flaggedDays: z.array(z.string()).default([]),
})

/** Uplift of one measure in one zone (`zoneId: null`: all the event's zones together). */
export const UpliftRowSchema = z.object({
  zoneId: z.string().nullable(),
  metric: z.enum(['passersBy', 'visitors', 'estimatedPeople']),
  event: z.number().nonnegative(),
  baselineMean: z.number().nullable(),
  difference: z.number().nullable(),
  ratio: z.number().nullable(),
  baselineMin: z.number().nullable(),
  baselineMax: z.number().nullable(),
  /** Sample standard deviation across the baseline weeks (null with fewer than two). */
  baselineStddev: z.number().nullable(),
  baselineWeeks: z.number().int().nonnegative(),
})
export type UpliftRow = z.infer<typeof UpliftRowSchema>

/** `{ "event": EventDto, "status": "finished", "weeks": 4, "baseline": [BaselineWindow…], "rows": [UpliftRow…] }` */
export const UpliftResponseSchema = z.object({
  event: EventDtoSchema,
  status: z.enum(['upcoming', 'running', 'finished']),
  /** End of the measured part of the window (the event's end, or the last whole 15 minutes). */
  measuredTo: InstantSchema.nullable(),
  weeks: z.number().int().positive(),
  /** Baseline windows are this many weeks apart (events longer than a week use whole multiples). */
  stepWeeks: z.number().int().positive(),
  baseline: z.array(BaselineWindowSchema),
  rows: z.array(UpliftRowSchema),
})
export type UpliftResponse = z.infer<typeof UpliftResponseSchema>

/** A shop of the district: `{ "id": "bar-roma", "name": "Bar Roma", "category": "bistro", "zoneId": "bar-roma", "streetOffsetM": 420 }` */
export const ShopDtoSchema = z.object({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  zoneId: z.string(),
  streetOffsetM: z.number(),
})
export type ShopDto = z.infer<typeof ShopDtoSchema>
/** `{ "shops": [ShopDto…] }` */
export const ShopsResponseSchema = z.object({ shops: z.array(ShopDtoSchema) })
export type ShopsResponse = z.infer<typeof ShopsResponseSchema>
/** `/shops/:shopId`: `{ "shopId": "bar-roma" }` */
export const ShopParamsSchema = z.object({ shopId: ResourceIdSchema })
/** A list endpoint's query: `?format=csv`. */
export const ListQuerySchema = z.object({ format: FormatSchema.optional() })

const DayMeasuresSchema = z.object({
  passersBy: z.number().nonnegative(),
  visitors: z.number().nonnegative(),
  captureRate: z.number().min(0).max(1).nullable(),
  dwellMeanS: z.number().nonnegative().nullable(),
  estimatedPeople: z.number().nonnegative(),
})

/** `GET /api/v1/shops/:shopId/summary`: today so far vs the same weekday of previous weeks, and the anonymous rank. */
export const ShopSummarySchema = z.object({
  shopId: z.string(),
  zoneId: z.string(),
  timezone: z.string(),
  /** Local date: `"2026-11-21"`. */
  day: z.string(),
  from: InstantSchema,
  asOf: InstantSchema,
  today: DayMeasuresSchema,
  /** Mean over the same weekday of the previous `weeks` weeks, midnight to the same time of day. */
  sameWeekdayAverage: DayMeasuresSchema.extend({ weeks: z.number().int().positive() }),
  vsAverage: z.object({
    passersBy: MetricDeltaSchema,
    visitors: MetricDeltaSchema,
    captureRate: MetricDeltaSchema,
    dwellMeanS: MetricDeltaSchema,
  }),
  /** Rank by visitors today among the district's shops (1 = most); no other shop's figures. */
  rank: z.object({
    byVisitors: z.number().int().positive(),
    shops: z.number().int().positive(),
    /** Share of the other shops with fewer visitors, 0–100; null when the shop is alone. */
    percentile: z.number().min(0).max(100).nullable(),
  }),
})
export type ShopSummary = z.infer<typeof ShopSummarySchema>

/** `GET /api/v1/district` */
export const DistrictResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  timezone: z.string(),
  streetLengthM: z.number(),
  loadedAt: InstantSchema,
  zones: z.number().int().nonnegative(),
  shops: z.number().int().nonnegative(),
  gateways: z.number().int().nonnegative(),
})
export type DistrictResponse = z.infer<typeof DistrictResponseSchema>

/** `GET /api/v1/zones?format=geojson`: the zones as a GeoJSON FeatureCollection. */
export const ZonesQuerySchema = z.object({ format: z.enum(['json', 'csv', 'geojson']).optional() })
/** `{ "type": "FeatureCollection", "features": [{ "type": "Feature", "id": "bar-roma", "geometry": {…}, "properties": {…} }] }` */
export const ZoneFeatureCollectionSchema = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(
    z.object({
      type: z.literal('Feature'),
      id: z.string(),
      geometry: ZoneDtoSchema.shape.geometry,
      properties: ZoneDtoSchema.omit({ geometry: true }),
    }),
  ),
})
export type ZoneFeatureCollection = z.infer<typeof ZoneFeatureCollectionSchema>

/** Every format a gateway may speak (the district file's `source.format`; `native` without one). */
const GATEWAY_FORMATS = {
  native: true,
  omg: true,
  espresense: true,
  sniffer: true,
  meraki: true,
  paxcounter: true,
} satisfies Record<GatewayFormat, true>
/** The format a gateway speaks: `"native"`, `"omg"`, `"espresense"`, `"sniffer"`, `"meraki"`, `"paxcounter"`. */
export const GatewayFormatSchema = z.enum(
  Object.keys(GATEWAY_FORMATS) as [GatewayFormat, ...GatewayFormat[]],
)

/** A gateway with its health: `{ "id": "gw-bar-roma", "format": "native", "health": "ok", "silentS": 4.2, … }` */
export const GatewayDtoSchema = z.object({
  id: z.string(),
  zoneId: z.string(),
  shopId: z.string().nullable(),
  placement: z.enum(['indoor', 'street']),
  radios: z.array(z.string()),
  /** Where the gateway is installed, from the district file: `[lon, lat]` (WGS 84, GeoJSON order). */
  position: z.tuple([z.number(), z.number()]),
  /**
   * The format it speaks. `paxcounter` gateways are count sources: they report device counts
   * (`GET /api/v1/device-counts`), never sightings, so they have no transits or batches.
   */
  format: GatewayFormatSchema,
  active: z.boolean(),
  /**
   * ok, silent (no batch for longer than the threshold; a count source: no message), offline (last
   * will), unknown (never heard), inactive.
   */
  health: z.enum(['ok', 'silent', 'offline', 'unknown', 'inactive']),
  state: z.enum(['online', 'offline', 'unknown']),
  fw: z.string().nullable(),
  statusAt: InstantSchema.nullable(),
  lastBatchAt: InstantSchema.nullable(),
  /** The last message of any kind from it (sightings, status, counts, health), whatever its format. */
  lastMessageAt: InstantSchema.nullable(),
  /** Seconds since its last batch (a count source: since its last message); null if never. */
  silentS: z.number().nullable(),
  seqGaps: z.number().int().nonnegative(),
  clockSkewMs: z.number().int().nullable(),
  queue: z.number().int().nullable(),
  uptimeS: z.number().int().nullable(),
})
export type GatewayDto = z.infer<typeof GatewayDtoSchema>
/** `{ "gateways": [GatewayDto…] }` */
export const GatewaysResponseSchema = z.object({ gateways: z.array(GatewayDtoSchema) })
export type GatewaysResponse = z.infer<typeof GatewaysResponseSchema>

/** `GET /api/v1/admin/dead-letters?page=1&pageSize=50[&reason=schema][&gateway=gw-1][&from=…&to=…]` */
export const DeadLettersQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  reason: z
    .string()
    .regex(/^[a-z_]{1,40}$/, 'must be a reason such as malformed_json')
    .optional(),
  gateway: ResourceIdSchema.optional(),
  from: InstantSchema.optional(),
  to: InstantSchema.optional(),
  format: FormatSchema.optional(),
})

/** A rejected message, MACs redacted. */
export const DeadLetterDtoSchema = z.object({
  receivedAt: InstantSchema,
  topic: z.string(),
  gatewayId: z.string().nullable(),
  reason: z.string(),
  detail: z.string(),
  payloadBytes: z.number().int().nonnegative(),
  payloadRedacted: z.string(),
})
/** `{ "page": 1, "pageSize": 50, "total": 312, "items": [DeadLetterDto…] }` */
export const DeadLettersResponseSchema = z.object({
  page: z.number().int().positive(),
  pageSize: z.number().int().positive(),
  total: z.number().int().nonnegative(),
  items: z.array(DeadLetterDtoSchema),
})
export type DeadLettersResponse = z.infer<typeof DeadLettersResponseSchema>

/** `GET /api/v1/admin/ingest-stats?from=…&to=…` (at most 31 days). */
export const IngestStatsQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  format: FormatSchema.optional(),
})
/** `{ "rejects": [{ "reason": "schema", "count": 3 }], "hours": [{ "hour": "…", "batches": 720, "sightings": 9000, "transits": 410, "rejected": 2 }] }` */
export const IngestStatsResponseSchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  /** Dead letters by reason over the range, most frequent first. */
  rejects: z.array(z.object({ reason: z.string(), count: z.number().int().nonnegative() })),
  /** Every hour of the range: batches accepted (kept 3 days), sightings in them, transits (by first sighting), rejects. */
  hours: z.array(
    z.object({
      hour: InstantSchema,
      batches: z.number().int().nonnegative(),
      sightings: z.number().int().nonnegative(),
      transits: z.number().int().nonnegative(),
      rejected: z.number().int().nonnegative(),
    }),
  ),
})
export type IngestStatsResponse = z.infer<typeof IngestStatsResponseSchema>

/** A key's role: `"shopkeeper"`. */
export const ApiRoleSchema = z.enum(['admin', 'analyst', 'shopkeeper'])

/** `POST /api/v1/admin/keys`: `{ "role": "shopkeeper", "shopId": "bar-roma", "label": "Bar Roma till" }` */
export const ApiKeyCreateSchema = z
  .object({
    role: ApiRoleSchema,
    shopId: ResourceIdSchema.optional(),
    label: z.string().trim().min(1).max(80),
  })
  .refine((k) => (k.role === 'shopkeeper') === (k.shopId !== undefined), {
    path: ['shopId'],
    message: 'is required for a shopkeeper key and not allowed otherwise',
  })

/** An API key as listed: never its hash. */
export const ApiKeyDtoSchema = z.object({
  id: z.string(),
  role: ApiRoleSchema,
  shopId: z.string().nullable(),
  label: z.string(),
  createdAt: InstantSchema,
  revokedAt: InstantSchema.nullable(),
})
export type ApiKeyDto = z.infer<typeof ApiKeyDtoSchema>
/** The created key; `key` is shown this once: `{ "id": "…", "key": "mgl_…", … }` */
export const ApiKeyCreatedSchema = ApiKeyDtoSchema.extend({ key: z.string() })
/** `{ "keys": [ApiKeyDto…] }` */
export const ApiKeysResponseSchema = z.object({ keys: z.array(ApiKeyDtoSchema) })
export type ApiKeysResponse = z.infer<typeof ApiKeysResponseSchema>
/** `/admin/keys/:id`: `{ "id": "6f1c…-uuid" }` */
export const ApiKeyParamsSchema = z.object({ id: z.uuid() })

/** Live feed, client → server: `{ "type": "auth", "key": "mgl_…" }` or `{ "type": "subscribe", "zones": ["bar-roma"] }` */
export const LiveClientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth'), key: z.string().min(8).max(200) }),
  z.object({ type: z.literal('subscribe'), zones: z.array(ResourceIdSchema).min(1).max(256) }),
])
export type LiveClientMessage = z.infer<typeof LiveClientMessageSchema>

/**
 * An estimate of people with its 90 % interval (docs/metrics.md, "People present and people
 * arriving"). `calibrated: false`: at least one gateway has no fitted calibration, so the estimate
 * is one device = one person with a wide interval.
 * `{ "people": 12.4, "low": 8.1, "high": 16.7, "calibrated": true }`
 */
export const PeopleValueSchema = z.object({
  people: z.number().nonnegative(),
  low: z.number().nonnegative(),
  high: z.number().nonnegative(),
  calibrated: z.boolean(),
})
export type PeopleValueDto = z.infer<typeof PeopleValueSchema>

/** Counts of one zone in the live feed. */
export const LiveZoneCountsSchema = z.object({
  zoneId: z.string(),
  today: z.object({ passersBy: z.number().int(), visitors: z.number().int() }),
  last15m: z.object({ passersBy: z.number().int(), visitors: z.number().int() }),
  /**
   * People present now: the mean over the last 15 minutes, by the people estimator, with its 90 %
   * interval (refreshed every `live.peopleEveryMs`, 10 s by default); null until first computed.
   */
  presentNow: PeopleValueSchema.nullable(),
})
export type LiveZoneCounts = z.infer<typeof LiveZoneCountsSchema>
/** A zone's transit counts, as the live query reads them (the feed adds `presentNow`). */
export type LiveZoneTransitCounts = Omit<LiveZoneCounts, 'presentNow'>

/** Live feed, server → client: `ready` after auth, `counts` when they change (at most every `live.minPushMs`, 100 ms), `error`. */
export const LiveServerMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ready'),
    role: ApiRoleSchema,
    shopId: z.string().nullable(),
    zones: z.array(z.string()),
  }),
  z.object({
    type: z.literal('counts'),
    at: InstantSchema,
    /** Local date the `today` counts belong to. */
    day: z.string(),
    zones: z.array(LiveZoneCountsSchema),
    /**
     * When the API reads a replica (DATABASE_READ_URL): how far behind the primary these counts may
     * be, in ms (0: caught up). Absent when the API reads the primary.
     */
    readLagMs: z.number().int().nonnegative().optional(),
  }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  /** An alert raised or cleared (analysts and admins: all; a shopkeeper: its shop's). */
  z.object({ type: z.literal('alert'), alert: AlertSchema }),
])
export type LiveServerMessage = z.infer<typeof LiveServerMessageSchema>

/** Crowd level of a street zone on the public street screen: never a count. */
export const CrowdLevelSchema = z.enum(['quiet', 'moderate', 'busy'])
export type CrowdLevel = z.infer<typeof CrowdLevelSchema>

/** `GET /api/v1/public/crowd` (no key; only when the server enables the public street view). */
export const PublicCrowdResponseSchema = z.object({
  at: InstantSchema,
  district: z.string(),
  windowMinutes: z.number().int().positive(),
  zones: z.array(
    z.object({
      zoneId: z.string(),
      name: z.string(),
      kind: z.enum(['street', 'square']),
      level: CrowdLevelSchema,
    }),
  ),
})
export type PublicCrowdResponse = z.infer<typeof PublicCrowdResponseSchema>

/**
 * `POST /api/v1/ingest/meraki` (Cisco Meraki Scanning API v3 receiver): the post was taken — the
 * broker acknowledged every part of it. `messages` is how many MQTT messages it became (1 unless
 * it was over 256 KiB). `{ "accepted": true, "messages": 1 }`
 */
export const MerakiAcceptedSchema = z.object({
  accepted: z.literal(true),
  messages: z.number().int().positive(),
})
export type MerakiAccepted = z.infer<typeof MerakiAcceptedSchema>

/**
 * What every device-count answer says of itself, in the response, the OpenAPI description and
 * the dashboards: these are devices a gateway counted, not people.
 */
export const DEVICE_COUNTS_NOTICE =
  'Device counts, not pedestrians: how many distinct Wi-Fi and BLE addresses a count source (a Paxcounter) counted per report, with its own send cycle and signal limit. Phones change their addresses and a person carries several devices or none, so these are not people; they are never added to footfall and have no transits, dwell, visitors or flows.' as const

/** `GET /api/v1/device-counts?from=…&to=…&bucket=1h[&gateway=…|&zone=…|&shop=…]` */
export const DeviceCountsQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  bucket: FootfallBucketSchema.default('1h'),
  gateway: ResourceIdSchema.optional(),
  zone: ResourceIdSchema.optional(),
  shop: ResourceIdSchema.optional(),
  format: FormatSchema.optional(),
})
export type DeviceCountsQuery = z.infer<typeof DeviceCountsQuerySchema>

/**
 * One count source in one bucket: its reports in the bucket and, per radio, the mean and the
 * largest count of a report (null when no report carried that radio).
 * `{ "gatewayId": "gw-pax-1", "zoneId": "via-palazzo", "bucketStart": "…", "reports": 4, "wifiDevicesMean": 31.5, "wifiDevicesMax": 40, "bleDevicesMean": 12, "bleDevicesMax": 15 }`
 */
export const DeviceCountRowSchema = z.object({
  gatewayId: z.string(),
  zoneId: z.string(),
  bucketStart: InstantSchema,
  reports: z.number().int().nonnegative(),
  wifiDevicesMean: z.number().nonnegative().nullable(),
  wifiDevicesMax: z.number().int().nonnegative().nullable(),
  bleDevicesMean: z.number().nonnegative().nullable(),
  bleDevicesMax: z.number().int().nonnegative().nullable(),
})
export type DeviceCountRow = z.infer<typeof DeviceCountRowSchema>

/**
 * One zone in one bucket: the sum of its count sources' means (a device two of them heard is
 * counted by both). `{ "zoneId": "via-palazzo", "bucketStart": "…", "gateways": 2, "wifiDevicesMean": 60, "bleDevicesMean": null }`
 */
export const DeviceCountZoneRowSchema = z.object({
  zoneId: z.string(),
  bucketStart: InstantSchema,
  /** Count sources of the zone that reported in the bucket. */
  gateways: z.number().int().positive(),
  wifiDevicesMean: z.number().nonnegative().nullable(),
  bleDevicesMean: z.number().nonnegative().nullable(),
})
export type DeviceCountZoneRow = z.infer<typeof DeviceCountZoneRowSchema>

/** A count source in the scope of the request. */
export const CountSourceSchema = z.object({
  id: z.string(),
  zoneId: z.string(),
  shopId: z.string().nullable(),
  format: GatewayFormatSchema,
  active: z.boolean(),
})
export type CountSource = z.infer<typeof CountSourceSchema>

/**
 * `GET /api/v1/device-counts`: `{ "measure": "device_counts", "notice": "Device counts, not pedestrians: …", "bucket": "1h", "gateways": [CountSource…], "rows": [DeviceCountRow…], "zones": [DeviceCountZoneRow…] }`
 */
export const DeviceCountsResponseSchema = z.object({
  /** Always `device_counts`: these figures are devices, not pedestrians (see `notice`). */
  measure: z.literal('device_counts'),
  notice: z.literal(DEVICE_COUNTS_NOTICE),
  from: InstantSchema,
  to: InstantSchema,
  bucket: FootfallBucketSchema,
  timezone: z.string(),
  gatewayId: z.string().nullable(),
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  /** The count sources in scope (Paxcounter gateways, and any gateway with counts in the range). */
  gateways: z.array(CountSourceSchema),
  rows: z.array(DeviceCountRowSchema),
  zones: z.array(DeviceCountZoneRowSchema),
})
export type DeviceCountsResponse = z.infer<typeof DeviceCountsResponseSchema>

/** Buckets the people series answer in. */
export const PeopleBucketSchema = z.enum(['15m', '1h'])
export type PeopleBucketName = z.infer<typeof PeopleBucketSchema>

/** `GET /api/v1/zones/:zoneId/people` and `/shops/:shopId/people` query. */
export const PeopleQuerySchema = z.object({
  from: InstantSchema,
  to: InstantSchema,
  bucket: PeopleBucketSchema.default('1h'),
  format: FormatSchema.optional(),
})
export type PeopleQuery = z.infer<typeof PeopleQuerySchema>

export const ZoneParamsSchema = z.object({ zoneId: ResourceIdSchema })

/** People present (mean over the bucket) and people arriving (visits begun in it). */
export const PeopleFiguresSchema = z.object({
  present: PeopleValueSchema,
  arrivals: PeopleValueSchema,
})
export type PeopleFigures = z.infer<typeof PeopleFiguresSchema>

/** One bucket of a zone; the current bucket ends at `asOf`. */
export const ZonePeopleRowSchema = PeopleFiguresSchema.extend({
  bucketStart: InstantSchema,
  bucketEnd: InstantSchema,
})
export type ZonePeopleRow = z.infer<typeof ZonePeopleRowSchema>

/**
 * `GET /api/v1/zones/:zoneId/people`: `{ "zoneId": "via-palazzo", "bucket": "15m", "interval": 0.9, "rows": [{ "bucketStart": "…", "bucketEnd": "…", "present": PeopleValue, "arrivals": PeopleValue }] }`
 */
export const ZonePeopleResponseSchema = z.object({
  zoneId: z.string(),
  /** Set when a shopkeeper asked: the figures are its shop's gateways' only. */
  shopId: z.string().nullable(),
  from: InstantSchema,
  to: InstantSchema,
  asOf: InstantSchema,
  bucket: PeopleBucketSchema,
  timezone: z.string(),
  /** The intervals' coverage target. */
  interval: z.literal(0.9),
  rows: z.array(ZonePeopleRowSchema),
})
export type ZonePeopleResponse = z.infer<typeof ZonePeopleResponseSchema>

/**
 * `GET /api/v1/district/people`: every zone's people added up per bucket (analysts and admins), rows
 * as a zone's.
 */
export const DistrictPeopleResponseSchema = ZonePeopleResponseSchema.omit({
  zoneId: true,
  shopId: true,
})
export type DistrictPeopleResponse = z.infer<typeof DistrictPeopleResponseSchema>

/** One bucket of a shop: inside (visitor sessions) and in front (passers-by at its gateways). */
export const ShopPeopleRowSchema = z.object({
  bucketStart: InstantSchema,
  bucketEnd: InstantSchema,
  inside: PeopleFiguresSchema,
  inFront: PeopleFiguresSchema,
})
export type ShopPeopleRow = z.infer<typeof ShopPeopleRowSchema>

/** `GET /api/v1/shops/:shopId/people`: `{ "shopId": "bar-roma", "rows": [{ "inside": {…}, "inFront": {…} }] }` */
export const ShopPeopleResponseSchema = z.object({
  shopId: z.string(),
  zoneId: z.string(),
  from: InstantSchema,
  to: InstantSchema,
  asOf: InstantSchema,
  bucket: PeopleBucketSchema,
  timezone: z.string(),
  interval: z.literal(0.9),
  rows: z.array(ShopPeopleRowSchema),
})
export type ShopPeopleResponse = z.infer<typeof ShopPeopleResponseSchema>
