import { z } from 'zod'
import { SIMULATE_FORMATS } from './formats/stream.ts'
import { GATEWAY_ID_PATTERN, TOPIC_PREFIX_PATTERN } from '../services/shared/contracts/topics.ts'
import { parseFaults } from './faults.ts'
import type { StreetEvent } from './street-model.ts'
import { DEFAULT_TIME_ZONE, TimeZoneSchema } from '../services/shared/contracts/district.ts'

const RELATIVE_TIME = /^([+-])(\d+(?:\.\d+)?)(s|m|h|d)$/
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T.*)?$/
const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'])

const TIME_SPEC_HELP = "an ISO-8601 time, 'now', or a relative time like -2h, -30m, +90s, -1d"
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/
const EVENT_HELP =
  "must be <zone>,<from>,<to>,<factor>: from/to an ISO time or an offset from the run's start like +1h, factor >= 1 (e.g. piazza-ferretto,+1h,+3h,2.5)"

const SPEED_HELP = "must be 'max' or a number in (0, 100000] (1 = real time, 60 = 60× faster)"
const SpeedSchema = z
  .union([z.literal('max'), z.coerce.number().positive(SPEED_HELP).max(100_000, SPEED_HELP)], {
    error: SPEED_HELP,
  })
  .default(1)
const SeedSchema = z.coerce
  .number({ error: 'must be an integer' })
  .int('must be an integer')
  .min(0, 'must be between 0 and 4294967295')
  .max(0xffffffff, 'must be between 0 and 4294967295')
  .default(1)
const TopicPrefixSchema = z
  .string()
  .regex(TOPIC_PREFIX_PATTERN, 'must be topic levels of letters, digits, _ and -, like district-a')
  .optional()
const MqttUrlSchema = z
  .string()
  .refine(isMqttUrl, 'must be a broker URL such as mqtt://127.0.0.1:1883')
  .default('mqtt://127.0.0.1:1883')

export const SimulateOptionsSchema = z.object({
  district: z
    .string({ error: 'path to a district JSON file is required' })
    .min(1, 'path to a district JSON file is required'),
  seed: SeedSchema,
  speed: SpeedSchema,
  from: z
    .string()
    .refine((s) => parseTimeSpec(s, 0) !== null && s !== 'never', `must be ${TIME_SPEC_HELP}`)
    .default('now'),
  to: z
    .string()
    .refine((s) => parseTimeSpec(s, 0) !== null, `must be ${TIME_SPEC_HELP}, or 'never'`)
    .default('never'),
  scenario: z
    .enum(['simple', 'demo', 'realistic'], { error: "must be 'simple', 'demo' or 'realistic'" })
    .default('demo'),
  truthOut: z.string().min(1, 'must be a file path').optional(),
  /** A fault spec (see faults.ts); gateway ids are checked against the district later. */
  faults: z
    .string()
    .superRefine((spec, ctx) => {
      try {
        parseFaults(spec)
      } catch (err) {
        for (const line of (err as Error).message.split('\n').slice(1, -1))
          ctx.addIssue({ code: 'custom', message: line.replace(/^\s*- /, '') })
      }
    })
    .optional(),
  /** Where to write the injected faults as JSONL (default: next to truthOut, .faults.jsonl). */
  faultsOut: z.string().min(1, 'must be a file path').optional(),
  events: z
    .array(z.string().refine((e) => parseEventSpec(e, 0, 0) !== null, EVENT_HELP))
    .optional(),
  /**
   * The time zone of a district file that names none (the CLI passes MIGLIO_TZ; unset: MIGLIO_TZ's
   * default); the district's own `timezone` sets the local hours and weekdays of the traffic.
   */
  defaultTimeZone: TimeZoneSchema.optional(),
  /**
   * Every gateway speaks this format (sources named after the gateway ids, formats/stream.ts);
   * unset: each gateway as its district entry's `source` says (native without one).
   */
  format: z
    .enum(SIMULATE_FORMATS, { error: `must be one of ${SIMULATE_FORMATS.join(', ')}` })
    .optional(),
  /** The shared secret put in simulated Meraki posts (ingest does not check it: the API does). */
  merakiSecret: z.string().min(1).max(256).default('miglio-simulated-secret'),
  /** Write the district as simulated (with the --format sources) for `miglio district load`. */
  districtOut: z.string().min(1, 'must be a file path').optional(),
  topicPrefix: TopicPrefixSchema,
  mqttUrl: MqttUrlSchema,
})
export type SimulateOptions = z.output<typeof SimulateOptionsSchema>
export type SimulateOptionsInput = z.input<typeof SimulateOptionsSchema>

/** Validates simulate options, throwing one error that names every invalid option. */
export function parseSimulateOptions(input: unknown): SimulateOptions {
  return parseWith(SimulateOptionsSchema, input, 'simulate')
}

function parseWith<T extends z.ZodType>(
  schema: T,
  input: unknown,
  what: string,
  labels: Readonly<Record<string, string>> = {},
): z.output<T> {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((i) => {
    const path = i.path.join('.') || 'options'
    return `  - ${labels[path] ?? path}: ${i.message}`
  })
  throw new Error(`invalid ${what} options:\n${lines.join('\n')}`)
}

/**
 * An event spec `<zone>,<from>,<to>,<factor>`: from/to are ISO times or offsets from the run's
 * start (`+90m`, `+1.5h`; also `now`/`-2h` relative to `nowMs`). Null when malformed.
 */
export function parseEventSpec(spec: string, runFromMs: number, nowMs: number): StreetEvent | null {
  const parts = spec.split(',').map((p) => p.trim())
  if (parts.length !== 4) return null
  const [zoneId = '', from = '', to = '', factorText = ''] = parts
  if (!/^[a-z0-9-]{1,64}$/.test(zoneId)) return null
  const at = (t: string) =>
    t.startsWith('+') ? parseTimeSpec(t, runFromMs) : parseTimeSpec(t, nowMs)
  const fromMs = at(from)
  const toMs = at(to)
  const factor = Number(factorText)
  if (fromMs === null || toMs === null || !Number.isFinite(fromMs) || !Number.isFinite(toMs))
    return null
  if (!(toMs > fromMs) || !(factor >= 1 && factor <= 100)) return null
  return { zoneId, fromMs, toMs, factor }
}

/** Seconds of a duration such as `90`, `90s`, `10m`, `1.5h`, `1d`; null when malformed. */
export function parseDurationS(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? text : null
  const m = DURATION.exec(text.trim())
  if (!m) return null
  const s = (Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS]) / 1000
  return s > 0 ? s : null
}

const DurationSchema = (what: string, maxS: number) =>
  z
    .union([z.string(), z.number()], { error: `${what} must be a duration like 90s, 10m or 2h` })
    .transform((v, ctx) => {
      const s = parseDurationS(v)
      if (s === null || s > maxS) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration like 90s, 10m or 2h, at most ${maxS / 3600} h`,
        })
        return z.NEVER
      }
      return s
    })

const PositiveInt = (what: string, max: number) =>
  z.coerce
    .number({ error: `${what} must be an integer` })
    .int(`must be an integer`)
    .min(1, `must be between 1 and ${max}`)
    .max(max, `must be between 1 and ${max}`)

/** `miglio simulate --load`: synthetic gateways at a configured rate (see load.ts). */
export const LoadOptionsSchema = z.object({
  gateways: PositiveInt('gateways', 10_000).default(10),
  sightingsPerSecond: z.coerce
    .number({ error: 'must be a number' })
    .positive('must be > 0')
    .max(1_000_000, 'must be at most 1000000')
    .default(100),
  devices: PositiveInt('devices', 100_000_000).default(1000),
  durationS: DurationSchema('duration', 7 * 86_400).default(60),
  batchIntervalS: z.coerce.number().positive().max(3600).default(5),
  seed: SeedSchema,
  speed: SpeedSchema,
  from: z
    .string()
    .refine((s) => parseTimeSpec(s, 0) !== null && s !== 'never', `must be ${TIME_SPEC_HELP}`)
    .default('now'),
  districtOut: z.string().min(1, 'must be a file path').optional(),
  topicPrefix: TopicPrefixSchema,
  mqttUrl: MqttUrlSchema,
})
export type LoadOptions = z.output<typeof LoadOptionsSchema>
export type LoadOptionsInput = z.input<typeof LoadOptionsSchema>

export function parseLoadOptions(input: unknown): LoadOptions {
  return parseWith(LoadOptionsSchema, input, 'load', {
    sightingsPerSecond: 'rate (sightings per second)',
    durationS: 'duration',
    batchIntervalS: 'batch interval',
  })
}

/** `miglio replay <file>`. */
export const ReplayOptionsSchema = z.object({
  file: z.string({ error: 'a recording file is required' }).min(1, 'a recording file is required'),
  format: z
    .enum(['auto', 'jsonl', 'csv'], { error: "must be 'auto', 'jsonl' or 'csv'" })
    .default('auto'),
  gateway: z
    .string()
    .regex(GATEWAY_ID_PATTERN, 'must be a gateway id: 1-64 lowercase letters, digits and dashes')
    .optional(),
  speed: SpeedSchema,
  keepTime: z.boolean().default(false),
  /** Time zone of the CSV's wall-clock times (the CLI's default: MIGLIO_TZ). */
  tz: TimeZoneSchema.default(DEFAULT_TIME_ZONE),
  batchIntervalS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be > 0')
    .max(3600, 'must be at most 3600')
    .default(5),
  topicPrefix: TopicPrefixSchema,
  mqttUrl: MqttUrlSchema,
})
export type ReplayOptions = z.output<typeof ReplayOptionsSchema>
export type ReplayOptionsInput = z.input<typeof ReplayOptionsSchema>

export function parseReplayOptions(input: unknown): ReplayOptions {
  return parseWith(ReplayOptionsSchema, input, 'replay', { batchIntervalS: 'batch interval' })
}

/**
 * Epoch ms of a time spec relative to `nowMs`: ISO-8601, 'now', '±<n><s|m|h|d>', or 'never'
 * (Infinity). Null when the spec is not one of these.
 */
export function parseTimeSpec(spec: string, nowMs: number): number | null {
  const s = spec.trim()
  if (s === 'now') return nowMs
  if (s === 'never') return Infinity
  const relative = RELATIVE_TIME.exec(s)
  if (relative) {
    const [, sign, amount, unit] = relative
    const ms = Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]
    return Math.round(sign === '-' ? nowMs - ms : nowMs + ms)
  }
  if (!ISO_DATE.test(s)) return null
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? null : ms
}

/** The simulated window [fromMs, toMs); toMs is Infinity for an endless run. */
export function resolveWindow(
  options: Pick<SimulateOptions, 'from' | 'to'>,
  nowMs: number,
): { fromMs: number; toMs: number } {
  const fromMs = parseTimeSpec(options.from, nowMs)
  const toMs = parseTimeSpec(options.to, nowMs)
  if (fromMs === null || !Number.isFinite(fromMs))
    throw new Error(`invalid simulate options:\n  - from: must be ${TIME_SPEC_HELP}`)
  if (toMs === null) throw new Error(`invalid simulate options:\n  - to: must be ${TIME_SPEC_HELP}`)
  if (!(toMs > fromMs))
    throw new Error(
      `invalid simulate options:\n  - to: must be after from (${new Date(fromMs).toISOString()})`,
    )
  return { fromMs, toMs }
}

function isMqttUrl(value: string): boolean {
  try {
    return MQTT_PROTOCOLS.has(new URL(value).protocol)
  } catch {
    return false
  }
}
