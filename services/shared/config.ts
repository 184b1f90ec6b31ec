import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { z } from 'zod'
import { AppError } from './errors.ts'
import { TOPIC_PREFIX_PATTERN } from './contracts/topics.ts'
import { DEFAULT_TIME_ZONE, TimeZoneSchema } from './contracts/district.ts'

const UrlWithScheme = (schemes: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return schemes.includes(new URL(v).protocol.replace(/:$/, ''))
        } catch {
          return false
        }
      },
      `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    )
    .optional()

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v)

/** proxy-addr's names for address ranges, accepted next to addresses and CIDR ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** An IP address, a CIDR range (`10.0.0.0/8`, `fd00::/8`) or a range name (`loopback`). */
function isProxyAddress(text: string): boolean {
  if (PROXY_RANGE_NAMES.has(text)) return true
  const [address = '', prefix, ...rest] = text.split('/')
  const family = isIP(address)
  if (!family || rest.length) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/**
 * `API_TRUST_PROXY` as fastify's `trustProxy`: `false`, `true`, or a comma-separated list of
 * proxy addresses, CIDR ranges and range names (`loopback`, `linklocal`, `uniquelocal`); null when
 * the text is none of these. (Fastify trusts no hop for a hop count, so none is accepted.)
 */
export function parseTrustProxy(text: string): boolean | string[] | null {
  const t = text.trim().toLowerCase()
  if (t === 'false') return false
  if (t === 'true') return true
  const list = t
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
  return list.length && list.every(isProxyAddress) ? list : null
}

/** Every environment key Miglio reads, with its default. `.env.example` and README list the same. */
export const EnvSchema = z.object({
  DATABASE_URL: z.preprocess(emptyAsUndefined, UrlWithScheme(['postgres', 'postgresql'])),
  /** A read replica of DATABASE_URL: the API's analytics reads go there (writes and keys do not). */
  DATABASE_READ_URL: z.preprocess(emptyAsUndefined, UrlWithScheme(['postgres', 'postgresql'])),
  MQTT_URL: z.preprocess(emptyAsUndefined, UrlWithScheme(['mqtt', 'mqtts', 'tcp', 'ws', 'wss'])),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MIGLIO_DATA_DIR: z.string().trim().min(1).default('./.miglio'),
  /** The time zone of a district file that names none (the district's `timezone` wins). */
  MIGLIO_TZ: TimeZoneSchema.default(DEFAULT_TIME_ZONE),
  MIGLIO_DISTRICT_FILE: z.string().trim().min(1).default('simulator/districts/mestre.json'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MQTT_CLIENT_ID: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -')
    .optional(),
  MQTT_PROTOCOL_VERSION: z.enum(['4', '5']).default('4'),
  MQTT_TOPIC_PREFIX: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .trim()
      .regex(
        TOPIC_PREFIX_PATTERN,
        'must be topic levels of letters, digits, _ and -, like district-a',
      )
      .optional(),
  ),
  INGEST_SHARE_GROUP: z
    .string()
    .trim()
    .regex(/^[a-z0-9-]{1,32}$/, 'must be 1–32 lowercase letters, digits or -')
    .optional(),
  TRANSIT_GAP_S: z.coerce.number().int().min(10).max(3600).default(120),
  GATEWAY_IDLE_CLOSE_S: z.coerce.number().int().min(1).max(86400).default(180),
  INGEST_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  STATIC_DEVICE_AFTER_H: z.coerce.number().min(0).max(24).default(4),
  MIGLIO_DEVICE_LIST_FILE: z.string().trim().min(1).optional(),
  KEY_GRACE_H: z.coerce.number().min(0).max(24).default(2),
  INGEST_MICROBATCH_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  INGEST_MICROBATCH_SIGHTINGS: z.coerce.number().int().min(1).max(20_000).default(500),
  INGEST_FLOOD_MESSAGES_PER_S: z.coerce.number().min(0).max(1_000_000).default(100),
  INGEST_FLOOD_SIGHTINGS_PER_S: z.coerce.number().min(0).max(10_000_000).default(2000),
  INGEST_COMMIT_LANES: z.coerce.number().int().min(1).max(16).default(4),
  INGEST_CHECKPOINT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  API_METRICS_PUBLIC: z.stringbool().default(true),
  API_PUBLIC_STREET_VIEW: z.stringbool().default(false),
  API_REPORT_CHROMIUM: z.string().min(1).default('/usr/bin/chromium'),
  API_FLOWS_K: z.coerce.number().int().min(1).max(1000).default(5),
  API_CALIBRATION_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(64 * 1024),
  API_CORS_ORIGINS: z
    .string()
    .trim()
    .refine(
      (v) => v.split(',').every((o) => URL.canParse(o.trim())),
      'must be a comma-separated list of origins like https://dashboards.example',
    )
    .optional(),
  API_TRUST_PROXY: z
    .string()
    .trim()
    .default('false')
    .refine(
      (v) => parseTrustProxy(v) !== null,
      'must be false, true, or a comma-separated list of proxy addresses, CIDR ranges or loopback/linklocal/uniquelocal',
    ),
  API_RATE_LIMIT: z.stringbool().default(true),
  API_RATE_LIMIT_BURST: z.coerce.number().positive().default(120),
  API_RATE_LIMIT_PER_S: z.coerce.number().positive().default(10),
  API_LIVE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  API_LIVE_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(256 * 1024),
  /**
   * Cisco Meraki Scanning API receiver (`/api/v1/ingest/meraki`), on only when both are set: the
   * validator Meraki's GET must read back, and the shared secret every POST carries. Neither is
   * trimmed (a secret is taken as it is) and neither is ever echoed or logged.
   */
  MERAKI_VALIDATOR: z
    .string()
    .regex(/^[\x21-\x7e]{1,256}$/, 'must be 1–256 printable characters without spaces')
    .optional(),
  MERAKI_SECRET: z
    .string()
    .min(8, 'must be at least 8 characters')
    .max(256, 'must be at most 256 characters')
    .optional(),
  MERAKI_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  JOBS_MODE: z.enum(['auto', 'embedded', 'server']).default('auto'),
  SIMULATOR: z.stringbool().default(true),
  SIM_SEED: z.coerce.number().int().default(42),
  SIM_BACKFILL: z
    .string()
    .regex(/^\d+[mhd]$/, 'must look like 30m, 2h or 1d')
    .default('2h'),
  ALERTS: z.stringbool().default(true),
  ALERTS_INTERVAL_S: z.coerce.number().int().min(1).max(3600).default(60),
  ALERTS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALERTS_MQTT: z.stringbool().default(false),
  SIM_HISTORY: z
    .string()
    .regex(/^(0|\d+[dw])$/, 'must look like 8w, 30d or 0 (off)')
    .refine((v) => v === '0' || parseDuration(v) <= 400 * 86_400_000, 'must be at most 400 days')
    .default('8w'),
  SIM_FLAT_DAY: z.stringbool().default(false),
  DEMO_KEYS: z.stringbool().default(true),
})
export type Env = z.infer<typeof EnvSchema>

export type Config = Readonly<{
  db: {
    url: string | undefined
    /** DATABASE_READ_URL: a read replica for the API's analytics reads (only with `url`). */
    readUrl: string | undefined
    dataDir: string
  }
  mqtt: {
    url: string | undefined
    clientId: string
    protocolVersion: 4 | 5
    shareGroup: string | undefined
    topicPrefix: string | undefined
  }
  http: { host: string; port: number }
  api: {
    metricsPublic: boolean
    publicStreetView: boolean
    reportChromium: string
    flowsK: number
    /** A gateway calibrated longer ago than this is reminded (GET /api/v1/calibration). */
    calibrationMaxAgeDays: number
    bodyLimitBytes: number
    corsOrigins: string[]
    trustProxy: boolean | string[]
    rateLimit: { enabled: boolean; capacity: number; refillPerSecond: number }
    live: { pollMs: number; maxBufferedBytes: number }
    alerts: { enabled: boolean; intervalMs: number; webhookUrl?: string; mqtt: boolean }
  }
  /**
   * MIGLIO_TZ: the time zone of a district file that names none. Ingest, the API and the simulator
   * follow the loaded district's zone (`districts.timezone`); this is only its default.
   */
  tz: string
  districtFile: string
  log: { level: string }
  ingest: {
    gapMs: number
    idleCloseMs: number
    keyGraceMs: number
    metricsPort: number
    staticAfterMs: number
    deviceListFile: string | undefined
    /** One-message-per-device formats held per gateway at most this long (0: off) or this many sightings. */
    microBatch: { windowMs: number; maxSightings: number }
    /** Per gateway ceilings (0: off); see services/ingest/intake/flood-control.ts. */
    flood: { messagesPerS: number; sightingsPerS: number }
    /** Transactions committing at once, each for a fixed share of the gateways (committer.ts). */
    commitLanes: number
    checkpointMs: number
  }
  jobs: { mode: 'auto' | 'embedded' | 'server' }
  /** The Meraki receiver; null (off: its path answers 404) unless MERAKI_VALIDATOR and MERAKI_SECRET are set. */
  meraki: MerakiConfig | null
  simulator: {
    enabled: boolean
    seed: number
    backfillMs: number
    /** Whole days of history written once per database before the backfill (0: off). */
    historyDays: number
    flatDay: boolean
  }
  demoKeys: boolean
}>

export type MerakiConfig = { validator: string; secret: string; bodyLimitBytes: number }

/** `parseDuration('2h')` → 7 200 000 ms (units m, h, d, w). */
export function parseDuration(text: string): number {
  const n = Number(text.slice(0, -1))
  const unit = text.at(-1)
  const ms =
    unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : unit === 'w' ? 7 * 86_400_000 : 86_400_000
  return n * ms
}

/**
 * Parses the environment into a nested config. On failure throws an AppError whose message has one
 * line per bad key, naming the key and the rule, never the value (it may be a secret).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // `KEY=` (as in .env.example or a compose file) means unset, for every key.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  )
  const parsed = EnvSchema.safeParse(present)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new AppError('config_invalid', `invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  if ((e.MERAKI_VALIDATOR === undefined) !== (e.MERAKI_SECRET === undefined)) {
    const missing = e.MERAKI_VALIDATOR === undefined ? 'MERAKI_VALIDATOR' : 'MERAKI_SECRET'
    throw new AppError(
      'config_invalid',
      `invalid configuration:\n  ${missing}: needed as well (the Meraki receiver takes both MERAKI_VALIDATOR and MERAKI_SECRET)`,
    )
  }
  if (e.DATABASE_READ_URL && !e.DATABASE_URL) {
    throw new AppError(
      'config_invalid',
      'invalid configuration:\n  DATABASE_READ_URL: needs DATABASE_URL as well (a read replica of the primary; the embedded database has none)',
    )
  }
  if (e.INGEST_SHARE_GROUP && e.MQTT_PROTOCOL_VERSION !== '5') {
    throw new AppError(
      'config_invalid',
      'invalid configuration:\n  INGEST_SHARE_GROUP: needs MQTT_PROTOCOL_VERSION=5 (shared subscriptions are MQTT v5)',
    )
  }
  return {
    db: { url: e.DATABASE_URL, readUrl: e.DATABASE_READ_URL, dataDir: resolve(e.MIGLIO_DATA_DIR) },
    mqtt: {
      url: e.MQTT_URL,
      clientId:
        e.MQTT_CLIENT_ID ??
        `miglio-ingest-${hostname().replace(/[^A-Za-z0-9_-]/g, '')}`.slice(0, 64),
      protocolVersion: e.MQTT_PROTOCOL_VERSION === '5' ? 5 : 4,
      shareGroup: e.INGEST_SHARE_GROUP,
      topicPrefix: e.MQTT_TOPIC_PREFIX,
    },
    http: { host: e.HOST, port: e.PORT },
    api: {
      metricsPublic: e.API_METRICS_PUBLIC,
      publicStreetView: e.API_PUBLIC_STREET_VIEW,
      reportChromium: e.API_REPORT_CHROMIUM,
      flowsK: e.API_FLOWS_K,
      calibrationMaxAgeDays: e.API_CALIBRATION_MAX_AGE_DAYS,
      bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
      corsOrigins: (e.API_CORS_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      trustProxy: parseTrustProxy(e.API_TRUST_PROXY) ?? false,
      rateLimit: {
        enabled: e.API_RATE_LIMIT,
        capacity: e.API_RATE_LIMIT_BURST,
        refillPerSecond: e.API_RATE_LIMIT_PER_S,
      },
      live: { pollMs: e.API_LIVE_POLL_MS, maxBufferedBytes: e.API_LIVE_MAX_BUFFERED_BYTES },
      alerts: {
        enabled: e.ALERTS,
        intervalMs: e.ALERTS_INTERVAL_S * 1000,
        ...(e.ALERTS_WEBHOOK_URL ? { webhookUrl: e.ALERTS_WEBHOOK_URL } : {}),
        mqtt: e.ALERTS_MQTT,
      },
    },
    tz: e.MIGLIO_TZ,
    districtFile: e.MIGLIO_DISTRICT_FILE,
    log: { level: e.LOG_LEVEL },
    ingest: {
      gapMs: e.TRANSIT_GAP_S * 1000,
      idleCloseMs: e.GATEWAY_IDLE_CLOSE_S * 1000,
      keyGraceMs: e.KEY_GRACE_H * 3_600_000,
      metricsPort: e.INGEST_METRICS_PORT,
      staticAfterMs: e.STATIC_DEVICE_AFTER_H * 3_600_000,
      deviceListFile: e.MIGLIO_DEVICE_LIST_FILE,
      microBatch: { windowMs: e.INGEST_MICROBATCH_MS, maxSightings: e.INGEST_MICROBATCH_SIGHTINGS },
      flood: {
        messagesPerS: e.INGEST_FLOOD_MESSAGES_PER_S,
        sightingsPerS: e.INGEST_FLOOD_SIGHTINGS_PER_S,
      },
      commitLanes: e.INGEST_COMMIT_LANES,
      checkpointMs: e.INGEST_CHECKPOINT_MS,
    },
    jobs: { mode: e.JOBS_MODE },
    meraki:
      e.MERAKI_VALIDATOR !== undefined && e.MERAKI_SECRET !== undefined
        ? {
            validator: e.MERAKI_VALIDATOR,
            secret: e.MERAKI_SECRET,
            bodyLimitBytes: e.MERAKI_BODY_LIMIT_BYTES,
          }
        : null,
    simulator: {
      enabled: e.SIMULATOR,
      seed: e.SIM_SEED,
      backfillMs: parseDuration(e.SIM_BACKFILL),
      historyDays: e.SIM_HISTORY === '0' ? 0 : parseDuration(e.SIM_HISTORY) / 86_400_000,
      flatDay: e.SIM_FLAT_DAY,
    },
    demoKeys: e.DEMO_KEYS,
  }
}
