import { z } from 'zod'
import { GATEWAY_ID_PATTERN } from './topics.ts'
import { containsMac } from './mac.ts'

export const MAX_PAYLOAD_BYTES = 256 * 1024
export const MAX_SIGHTINGS_PER_BATCH = 5000

const TimestampSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().nonnegative().max(8_640_000_000_000_000),
])

/** What a short text a gateway sends may hold: letters, digits, `.`, `_`, `+` and `-`, 1–32 of them. */
export const GATEWAY_TEXT_PATTERN = /^[A-Za-z0-9._+-]{1,32}$/

/**
 * A short text a gateway sends that Miglio stores or logs (boot id, firmware version): a strict
 * shape, and never anything that reads as a device address (`7efd7ae43166`, `7e.fd.7a.e4.31.66`,
 * `7efd.7ae4.3166`…) — some firmwares name things after MACs, and a MAC must not reach storage
 * through a field that is not `mac`.
 */
function gatewayText(what: string) {
  return z
    .string()
    .regex(GATEWAY_TEXT_PATTERN, `${what}: 1–32 of A–Z a–z 0–9 . _ + -`)
    .refine((v) => !containsMac(v), `${what}: reads as a device address (MAC); send another id`)
}

/** One device heard once: `{ "t": "2026-11-21T10:15:01.503Z", "mac": "7e:fd:7a:e4:31:66", "rssi": -71, "radio": "wifi" }` */
export const SightingSchema = z.object({
  t: TimestampSchema,
  mac: z.string().max(17),
  rssi: z.number().int().min(-127).max(0),
  radio: z.enum(['wifi', 'ble']),
  seqNum: z.number().int().min(0).max(4095).optional(),
  /** Information-element ids of a probe request, decimal, comma-separated: `0,1,50,3,45,127`. */
  ie: z
    .string()
    .max(512)
    .regex(/^\s*(?:\d{1,3}(?:\s*,\s*\d{1,3})*)?\s*$/, 'comma-separated decimal element ids')
    .optional(),
})
export type Sighting = z.infer<typeof SightingSchema>

/** A batch on `miglio/v1/gw/{gw}/sightings`: `{ "v": 1, "gatewayId": "gw-1", "bootId": "5f0c2a9e", "seq": 1842, "sentAt": "…", "sightings": [] }` */
export const SightingsBatchSchema = z.object({
  v: z.literal(1),
  gatewayId: z.string().regex(GATEWAY_ID_PATTERN),
  bootId: gatewayText('bootId'),
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
  fw: gatewayText('fw').optional(),
  uptimeS: z.number().int().nonnegative().optional(),
  queue: z.number().int().nonnegative().optional(),
})
export type GatewayStatus = z.infer<typeof GatewayStatusSchema>

/** Epoch milliseconds of a protocol timestamp (ISO-8601 with zone, or epoch ms). */
export function toEpochMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t)
}

/**
 * The live feed's time buckets: a transit counts in the bucket of its `first_seen`, floored to this
 * many milliseconds since the epoch. Ingest's announcements (v2) carry their counts per bucket, and
 * the live feed's "last 15 minutes" are the buckets from `liveWindowStart` on, so the window slides
 * by whole buckets without asking the database.
 */
export const LIVE_BUCKET_MS = 10_000
/** The live feed's rolling window ("last 15 minutes"). */
export const LIVE_WINDOW_MS = 15 * 60_000

/** The bucket (its start, epoch ms) of a transit first heard at `firstSeenMs`. */
export function liveBucketOf(firstSeenMs: number): number {
  return Math.floor(firstSeenMs / LIVE_BUCKET_MS) * LIVE_BUCKET_MS
}

/**
 * The first bucket of the live window at `nowMs`: the window holds the bucket of `nowMs` and the
 * buckets of the 15 minutes before it (15 min to 15 min + one bucket of transits, by first_seen).
 */
export function liveWindowStart(nowMs: number): number {
  return liveBucketOf(nowMs) - LIVE_WINDOW_MS
}

const zoneIds = z.array(z.string().max(64)).max(10_000)

/** v1 (an older ingest): these zones' transits changed; the API reads them again (a resync). */
export const TransitsChangedV1Schema = z.object({ v: z.literal(1), zones: zoneIds })

/**
 * v2: what one commit stored, per zone and live bucket, as `[bucketStartMs, passersBy, visitors]`;
 * `instance` is the publishing ingest process (random per start) and `seq` its announcement
 * number (consecutive from a random start; a gap means an announcement was lost — QoS 0), `xid`
 * the committed transaction's id (`pg_current_xact_id()`), so a reader can tell whether a snapshot
 * of the database already holds these transits. `resync`: zones whose transits changed without
 * counts here (read them again).
 */
export const TransitsChangedV2Schema = z.object({
  v: z.literal(2),
  instance: z.string().min(1).max(64),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  xid: z
    .string()
    .regex(/^[0-9]{1,20}$/)
    .optional(),
  zones: z
    .array(
      z.object({
        id: z.string().max(64),
        b: z
          .array(
            z.tuple([
              z.number().int().multipleOf(LIVE_BUCKET_MS),
              z.number().int().nonnegative(),
              z.number().int().nonnegative(),
            ]),
          )
          .max(10_000),
      }),
    )
    .max(10_000),
  resync: zoneIds.optional(),
})

/** The payload on TRANSITS_CHANGED_TOPIC (topics.ts): v2 from this ingest, v1 from an older one. */
export const TransitsChangedSchema = z.discriminatedUnion('v', [
  TransitsChangedV1Schema,
  TransitsChangedV2Schema,
])
export type TransitsChanged = z.infer<typeof TransitsChangedSchema>
export type TransitsChangedV2 = z.infer<typeof TransitsChangedV2Schema>
