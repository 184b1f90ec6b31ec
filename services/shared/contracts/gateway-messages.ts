import { z } from 'zod'
import { GATEWAY_ID_PATTERN } from './topics.ts'

export const MAX_PAYLOAD_BYTES = 256 * 1024
export const MAX_SIGHTINGS_PER_BATCH = 5000

const TimestampSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().nonnegative().max(8_640_000_000_000_000),
])

/** One device heard once: `{ "t": "2026-11-21T10:15:01.503Z", "mac": "7e:fd:7a:e4:31:66", "rssi": -71, "radio": "wifi" }` */
export const SightingSchema = z.object({
  t: TimestampSchema,
  mac: z.string().max(17),
  rssi: z.number().int().min(-127).max(0),
  radio: z.enum(['wifi', 'ble']),
  seqNum: z.number().int().min(0).max(4095).optional(),
  ie: z.string().max(512).optional(),
})
export type Sighting = z.infer<typeof SightingSchema>

/** A batch on `miglio/v1/gw/{gw}/sightings`: `{ "v": 1, "gatewayId": "gw-1", "bootId": "5f0c2a9e", "seq": 1842, "sentAt": "…", "sightings": [] }` */
export const SightingsBatchSchema = z.object({
  v: z.literal(1),
  gatewayId: z.string().regex(GATEWAY_ID_PATTERN),
  bootId: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, 'printable ASCII without spaces, 1–64 characters'),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sentAt: TimestampSchema,
  sightings: z.array(SightingSchema).max(MAX_SIGHTINGS_PER_BATCH),
})
export type SightingsBatch = z.infer<typeof SightingsBatchSchema>

/** Retained status on `miglio/v1/gw/{gw}/status`: `{ "v": 1, "gatewayId": "gw-1", "state": "online", "fw": "1.4.2", "uptimeS": 3600, "queue": 0 }` */
export const GatewayStatusSchema = z.object({
  v: z.literal(1),
  gatewayId: z.string().regex(GATEWAY_ID_PATTERN),
  state: z.enum(['online', 'offline']),
  fw: z
    .string()
    .regex(/^[\x20-\x7e]{0,64}$/, 'printable ASCII, at most 64 characters')
    .optional(),
  uptimeS: z.number().int().nonnegative().optional(),
  queue: z.number().int().nonnegative().optional(),
})
export type GatewayStatus = z.infer<typeof GatewayStatusSchema>

/** Epoch milliseconds of a protocol timestamp (ISO-8601 with zone, or epoch ms). */
export function toEpochMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t)
}

/** The payload on TRANSITS_CHANGED_TOPIC (topics.ts): the zones whose transits just changed. */
export const TransitsChangedSchema = z.object({
  v: z.literal(1),
  zones: z.array(z.string().max(64)).max(10_000),
})
export type TransitsChanged = z.infer<typeof TransitsChangedSchema>
