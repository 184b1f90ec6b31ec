import { z } from 'zod'
import { GATEWAY_ID_PATTERN } from './topics.ts'
import { containsMac } from './mac.ts'

export const MAX_PAYLOAD_BYTES = 256 * 1024
export const MAX_SIGHTINGS_PER_BATCH = 5000

/** The largest time a JavaScript Date holds (epoch ms). */
const MAX_EPOCH_MS = 8_640_000_000_000_000
/** A probe's information-element ids: decimal, comma-separated. */
const IE_PATTERN = /^\s*(?:\d{1,3}(?:\s*,\s*\d{1,3})*)?\s*$/

const TimestampSchema = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().nonnegative().max(MAX_EPOCH_MS),
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
  ie: z.string().max(512).regex(IE_PATTERN, 'comma-separated decimal element ids').optional(),
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
  if (typeof t === 'number') return t
  const ms = utcIsoMs(t)
  return Number.isNaN(ms) ? Date.parse(t) : ms
}

/** Days of `month` (1–12) in `year` (proleptic Gregorian, as ISO 8601 and the schema count them). */
function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** Two decimal digits at `i` as a number, or -1. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

/**
 * Epoch ms of the one timestamp form gateways send almost always, `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`,
 * read by hand: a real date and time of day, or NaN for anything else (other forms, offsets, more
 * fraction digits) — then the schema and `Date.parse` decide. Every string it reads is one
 * `TimestampSchema` accepts, with the value `Date.parse` gives (gateway-messages.test.ts checks both).
 */
export function utcIsoMs(s: string): number {
  const n = s.length
  if (n < 20 || n > 24 || s.charCodeAt(n - 1) !== 90 /* Z */) return NaN
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return NaN
  const y1 = digits2(s, 0)
  const y2 = digits2(s, 2)
  const month = digits2(s, 5)
  const day = digits2(s, 8)
  const hour = digits2(s, 11)
  const minute = digits2(s, 14)
  const second = digits2(s, 17)
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return NaN
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return NaN
  const year = y1 * 100 + y2
  // Date.UTC reads years 0–99 as 1900–1999: those are left to Date.parse.
  if (year < 100 || day > daysIn(year, month)) return NaN
  let ms = 0
  if (n > 20) {
    // `.` and one to three digits: tenths, hundredths, thousandths.
    if (s[19] !== '.' || n === 21) return NaN
    let scale = 100
    for (let i = 20; i < n - 1; i++) {
      const d = s.charCodeAt(i) - 48
      if (d < 0 || d > 9) return NaN
      ms += d * scale
      scale /= 10
    }
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms)
}

const isIntIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max

/** A batch the hand check took, with the epoch ms of its `sentAt` and of each sighting's `t`. */
export type FastBatch = { batch: SightingsBatch; sentAtMs: number; times: Float64Array }

/** Epoch ms of a timestamp the schema accepts in the forms `utcIsoMs` reads, or NaN. */
const fastTime = (v: unknown): number =>
  typeof v === 'string' ? utcIsoMs(v) : isIntIn(v, 0, MAX_EPOCH_MS) ? v : NaN

/**
 * The sightings batch without zod, for the shape gateways send nearly always: the batch (with its
 * times read) when every field is one `SightingsBatchSchema` accepts, else undefined — then the
 * schema decides and says why. It accepts a subset of what the schema accepts (timestamps only in
 * the `utcIsoMs` form or as epoch ms), never more; unknown fields are left on the value (the schema
 * would strip them; nobody reads them). Ingest's hot path: zod's checks and copies and `Date.parse`
 * were ~13 % of ingest's CPU a sighting.
 */
export function sightingsBatchFast(json: unknown): FastBatch | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const b = json as Record<string, unknown>
  if (b.v !== 1) return undefined
  const { gatewayId, bootId, sightings } = b
  if (typeof gatewayId !== 'string' || !GATEWAY_ID_PATTERN.test(gatewayId)) return undefined
  if (typeof bootId !== 'string' || !GATEWAY_TEXT_PATTERN.test(bootId) || containsMac(bootId))
    return undefined
  if (!isIntIn(b.seq, 0, Number.MAX_SAFE_INTEGER)) return undefined
  const sentAtMs = fastTime(b.sentAt)
  if (Number.isNaN(sentAtMs)) return undefined
  if (!Array.isArray(sightings) || sightings.length > MAX_SIGHTINGS_PER_BATCH) return undefined
  const times = new Float64Array(sightings.length)
  let i = 0
  for (const item of sightings as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined
    const s = item as Record<string, unknown>
    const t = fastTime(s.t)
    if (Number.isNaN(t)) return undefined
    times[i++] = t
    if (typeof s.mac !== 'string' || s.mac.length > 17) return undefined
    if (!isIntIn(s.rssi, -127, 0)) return undefined
    if (s.radio !== 'wifi' && s.radio !== 'ble') return undefined
    if (s.seqNum !== undefined && !isIntIn(s.seqNum, 0, 4095)) return undefined
    if (
      s.ie !== undefined &&
      (typeof s.ie !== 'string' || s.ie.length > 512 || !IE_PATTERN.test(s.ie))
    )
      return undefined
  }
  return { batch: json as SightingsBatch, sentAtMs, times }
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
