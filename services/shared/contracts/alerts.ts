import { z } from 'zod'

/**
 * An alert record as the API serves it and the live feed pushes it (issue #17). Its own module so
 * that api.ts (the live feed's messages) and ranges-api.ts can both use it.
 */
const Instant = z.iso.datetime({ offset: true })

export const AlertKindSchema = z.enum([
  'zone_outside_band',
  'shop_outside_band',
  'gateway_silent',
  'gateway_rate_collapse',
  'dead_letters_rising',
])
export type AlertKind = z.infer<typeof AlertKindSchema>

export const AlertSchema = z.object({
  id: z.string(),
  kind: AlertKindSchema,
  zoneId: z.string().nullable(),
  shopId: z.string().nullable(),
  gatewayId: z.string().nullable(),
  raisedAt: Instant,
  clearedAt: Instant.nullable(),
  /** The figures that raised it (observed values, band, rates): kind-specific. */
  details: z.record(z.string(), z.unknown()),
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: Instant.nullable(),
  /** One line for people: "Piazza Ferretto above its usual range for 3 buckets". */
  summary: z.string(),
})
export type Alert = z.infer<typeof AlertSchema>

/** Where the API publishes alert changes when ALERTS_MQTT is on (QoS 1, under MQTT_TOPIC_PREFIX). */
export const ALERTS_TOPIC = 'miglio/v1/alerts'
