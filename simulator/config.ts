import { z } from 'zod'
import { TOPIC_PREFIX_PATTERN } from '../services/shared/contracts/topics.ts'

const RELATIVE_TIME = /^([+-])(\d+(?:\.\d+)?)(s|m|h|d)$/
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T.*)?$/
const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'])

const TIME_SPEC_HELP = "an ISO-8601 time, 'now', or a relative time like -2h, -30m, +90s, -1d"

export const SimulateOptionsSchema = z.object({
  district: z
    .string({ error: 'path to a district JSON file is required' })
    .min(1, 'path to a district JSON file is required'),
  seed: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(0, 'must be between 0 and 4294967295')
    .max(0xffffffff, 'must be between 0 and 4294967295')
    .default(1),
  speed: z
    .union([z.literal('max'), z.coerce.number().positive().max(100_000)], {
      error: "must be 'max' or a number in (0, 100000] (1 = real time, 60 = 60× faster)",
    })
    .default(1),
  from: z
    .string()
    .refine((s) => parseTimeSpec(s, 0) !== null && s !== 'never', `must be ${TIME_SPEC_HELP}`)
    .default('now'),
  to: z
    .string()
    .refine((s) => parseTimeSpec(s, 0) !== null, `must be ${TIME_SPEC_HELP}, or 'never'`)
    .default('never'),
  scenario: z.enum(['simple', 'demo'], { error: "must be 'simple' or 'demo'" }).default('demo'),
  truthOut: z.string().min(1, 'must be a file path').optional(),
  topicPrefix: z
    .string()
    .regex(
      TOPIC_PREFIX_PATTERN,
      'must be topic levels of letters, digits, _ and -, like district-a',
    )
    .optional(),
  mqttUrl: z
    .string()
    .refine(isMqttUrl, 'must be a broker URL such as mqtt://127.0.0.1:1883')
    .default('mqtt://127.0.0.1:1883'),
})
export type SimulateOptions = z.output<typeof SimulateOptionsSchema>
export type SimulateOptionsInput = z.input<typeof SimulateOptionsSchema>

/** Validates simulate options, throwing one error that names every invalid option. */
export function parseSimulateOptions(input: unknown): SimulateOptions {
  const parsed = SimulateOptionsSchema.safeParse(input)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || 'options'}: ${i.message}`)
  throw new Error(`invalid simulate options:\n${lines.join('\n')}`)
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
