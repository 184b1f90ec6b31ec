import { z } from 'zod'
import { DEFAULT_TIME_ZONE, TimeZoneSchema } from '../shared/contracts/district.ts'

/** Options of the API process; every one has a default, so `buildApp` works with none. */
export const ApiOptionsSchema = z.object({
  /**
   * Time zone of local days, weeks, hours and weekdays while the database holds no district (MIGLIO_TZ);
   * once one is loaded, the API follows the district's `timezone`.
   */
  tz: TimeZoneSchema.default(DEFAULT_TIME_ZONE),
  /** `/metrics` without a key (true) or for admin keys only. */
  metricsPublic: z.boolean().default(true),
  /** Flow cells with fewer devices than this are published as suppressed. */
  flowsK: z.number().int().min(1).max(1000).default(5),
  /** A gateway whose calibration is older than this many days is reminded (GET /calibration). */
  calibrationMaxAgeDays: z.number().int().min(1).max(3650).default(90),
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(64 * 1024),
  /** Origins allowed to call the API from a browser; empty: CORS off (no CORS headers at all). */
  corsOrigins: z.array(z.string().url()).default([]),
  rateLimit: z
    .object({
      enabled: z.boolean().default(true),
      /** Burst per key, in requests. */
      capacity: z.number().positive().default(120),
      /** Sustained requests per second per key. */
      refillPerSecond: z.number().positive().default(10),
    })
    .prefault({}),
  /**
   * Fastify's `trustProxy`: whether the client address comes from `X-Forwarded-For` (and the
   * protocol and host from `X-Forwarded-Proto`/`-Host`). `false`: the socket's peer is the client.
   * `true`: trust every hop (a client can then claim any address by sending the header itself).
   * A list: trust these proxy addresses, CIDR ranges or names (`loopback`, `uniquelocal`…).
   */
  trustProxy: z.union([z.boolean(), z.array(z.string().min(1)).min(1)]).default(false),
  /**
   * Failed authentications (an unknown, revoked or malformed key; REST and the live feed) per
   * client address: a token bucket. Once empty, the address is answered 429 without a lookup.
   */
  authFailureLimit: z
    .object({
      capacity: z.number().positive().default(20),
      refillPerSecond: z.number().positive().default(1),
    })
    .prefault({}),
  /** Live-feed messages per client address (a token bucket); excess answers `rate_limited`. */
  liveMessageLimit: z
    .object({
      capacity: z.number().positive().default(20),
      refillPerSecond: z.number().positive().default(2),
      /** A socket whose messages were refused this many times is closed with 4429. */
      closeAfter: z.number().int().min(1).default(10),
    })
    .prefault({}),
  /** Serve `GET /api/v1/public/crowd` (crowd level per street zone, no key) for in-shop screens. */
  publicStreetView: z.boolean().default(false),
  /** Chromium that renders the monthly reports' PDFs (`API_REPORT_CHROMIUM`). */
  reportChromium: z.string().min(1).default('/usr/bin/chromium'),
  /** The Cisco Meraki receiver (`/api/v1/ingest/meraki`); absent: off (404). */
  meraki: z
    .object({
      validator: z.string().min(1),
      secret: z.string().min(1),
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .default(4 * 1024 * 1024),
    })
    .optional(),
  /** A gateway without a batch for longer than this is `silent`. */
  gatewaySilentAfterS: z.number().positive().default(120),
  /**
   * Alerts (issue #17): evaluated every `intervalMs` by one replica at a time (an advisory lock),
   * pushed on the live feed, optionally to a webhook and an MQTT topic. Off unless enabled (the
   * processes enable it from ALERTS; tests that do not test alerts keep it off).
   */
  alerts: z
    .object({
      enabled: z.boolean().default(false),
      intervalMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      /** First evaluation this long after the app is ready. */
      firstDelayMs: z.number().int().min(0).default(15_000),
      webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** Publish each alert change to `<prefix>/miglio/v1/alerts` (QoS 1) on the API's connection. */
      mqtt: z.boolean().default(false),
      /** How often this replica reads the alert changes other replicas made, for its live clients. */
      followMs: z.number().int().min(100).max(600_000).default(5000),
    })
    .prefault({}),
  live: z
    .object({
      /** One database poll per API process per interval, for all clients. */
      pollMs: z.number().int().min(50).max(60_000).default(1000),
      pingMs: z.number().int().min(50).max(300_000).default(15_000),
      /**
       * With ingest's announcements (an MQTT connection): counts are kept in memory from them and
       * pushed at most this often per client (no query); every zone is read again from the
       * database at least every `resyncEveryMs` (a safety net; lost announcements resync at once).
       */
      minPushMs: z.number().int().min(10).max(60_000).default(100),
      resyncEveryMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      /**
       * "People present now" (the people estimator over the last 15 minutes, every zone) is
       * recomputed beside the feed at most this often (lib/people-now.ts); counts go out with the
       * last figures meanwhile, and new figures get a push of their own.
       */
      peopleEveryMs: z.number().int().min(0).max(300_000).default(10_000),
      /** A client that has not authenticated within this is closed. */
      authTimeoutMs: z.number().int().min(50).max(120_000).default(5000),
      /** Updates are skipped for a client whose socket buffers more than this. */
      maxBufferedBytes: z
        .number()
        .int()
        .min(0)
        .default(256 * 1024),
    })
    .prefault({}),
})
export type ApiOptions = z.infer<typeof ApiOptionsSchema>
export type ApiOptionsInput = z.input<typeof ApiOptionsSchema>
