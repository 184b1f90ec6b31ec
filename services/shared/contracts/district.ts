import { z } from 'zod'
import { AlertRulesSchema } from './alert-rules.ts'
import { LocalHolidaySchema } from './holidays.ts'
import { GATEWAY_ID_PATTERN } from './topics.ts'
import { isTimeZone, TIME_ZONE_PROBLEM } from './local-time.ts'

/**
 * MIGLIO_TZ's default: the time zone of a district whose file names none, when MIGLIO_TZ is unset.
 * The one place a zone is written into the code; everything else reads the district's.
 */
export const DEFAULT_TIME_ZONE = 'Europe/Rome'

/** An IANA time zone name this runtime knows (`America/New_York`); offsets like `+01:00` are refused. */
export const TimeZoneSchema = z.string().trim().refine(isTimeZone, TIME_ZONE_PROBLEM)

const IdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/, 'lowercase letters, digits and dashes')
const LonLatSchema = z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])

/** GeoJSON Polygon (one outer ring, closed) in WGS84 lon/lat. */
export const PolygonSchema = z.object({
  type: z.literal('Polygon'),
  coordinates: z.array(z.array(LonLatSchema).min(4)).min(1),
})

export const ZoneKindSchema = z.enum(['street', 'shop', 'square'])
export type ZoneKind = z.infer<typeof ZoneKindSchema>

/** A zone of the district: a street segment, a shop or a square; `streetFromM/ToM` place it along the mile. */
export const ZoneSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).max(120),
  kind: ZoneKindSchema,
  geometry: PolygonSchema,
  streetFromM: z.number().nonnegative(),
  streetToM: z.number().nonnegative(),
})

export const ShopSchema = z.object({
  id: IdSchema,
  name: z.string().min(1).max(120),
  category: z.enum([
    'shoes',
    'optician',
    'grocer',
    'bistro',
    'pastry',
    'clothing',
    'books',
    'other',
  ]),
  zoneId: IdSchema,
  /** Distance along the street of the shop's door, metres from the start of the mile. */
  streetOffsetM: z.number().nonnegative(),
})

/** Visitor thresholds of a gateway: a transit is a visit when its peak RSSI and dwell reach both. */
export const VisitorThresholdsSchema = z.object({
  minRssi: z.number().int().min(-127).max(0).default(-67),
  minDwellS: z.number().int().nonnegative().default(60),
})

/** A topic level a gateway format names itself with: no wildcard, no separator, 1–64 characters. */
const SourceNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, '1–64 of A–Z a–z 0–9 _ . : - (no / + #)')
/** A whole MQTT topic (levels of SourceNameSchema), for formats whose gateway is its topic. */
const SourceTopicSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_.:-]{1,64}(\/[A-Za-z0-9_.:-]{1,64}){0,15}$/,
    'an MQTT topic of 1–16 levels of A–Z a–z 0–9 _ . : - (no wildcards)',
  )

/**
 * How a gateway talks to Miglio and how its messages are recognised (docs/gateway-formats.md).
 * Absent means `native` (Miglio's own protocol, the gateway id is in the topic).
 */
export const GatewaySourceSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('native') }),
  /** OpenMQTTGateway / Theengs Gateway: `<baseTopic>/<name>/BTtoMQTT/…` (base `home` by default). */
  z.object({
    format: z.literal('omg'),
    name: SourceNameSchema,
    baseTopic: SourceTopicSchema.default('home'),
  }),
  /** ESPresense: the room slug of `espresense/devices/<id>/<room>`. */
  z.object({ format: z.literal('espresense'), room: SourceNameSchema }),
  /** ESP32 probe sniffer CSV bridged to MQTT: the topic it is published on. */
  z.object({ format: z.literal('sniffer'), topic: SourceTopicSchema }),
  /** Cisco Meraki Scanning API v3: the network and the access point (its MAC is configuration). */
  z.object({
    format: z.literal('meraki'),
    networkId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1–64 of A–Z a–z 0–9 _ -'),
    apMac: z
      .string()
      .regex(
        /^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/,
        'a MAC address: 12 hex digits, optionally separated by : or -',
      ),
  }),
  /** ESP32-Paxcounter: its MQTT out-topic; `encoding` is its PAYLOAD_ENCODER (packed by default). */
  z.object({
    format: z.literal('paxcounter'),
    deviceId: SourceNameSchema,
    encoding: z.enum(['packed', 'plain']).default('packed'),
  }),
])
export type GatewaySource = z.infer<typeof GatewaySourceSchema>
export type GatewayFormat = GatewaySource['format']

/**
 * The canonical key of a non-native source, unique per district: what a registry table would store
 * (`omg:home/OpenMQTTGateway`, `meraki:L_123/a8469d275663`). Null for native gateways.
 */
export function gatewaySourceKey(source: GatewaySource): string | null {
  switch (source.format) {
    case 'native':
      return null
    case 'omg':
      return `omg:${source.baseTopic}/${source.name}`
    case 'espresense':
      return `espresense:${source.room}`
    case 'sniffer':
      return `sniffer:${source.topic}`
    case 'meraki':
      return `meraki:${source.networkId}/${source.apMac.replace(/[:-]/g, '').toLowerCase()}`
    case 'paxcounter':
      return `paxcounter:${source.deviceId}`
  }
}

/** Topics that belong to a format Miglio decodes itself: a sniffer topic must not look like one. */
const RESERVED_TOPIC = /^miglio\/|^espresense\/|\/(BTtoMQTT|SYStoMQTT|LWT)(\/|$)/

export const GatewaySchema = z.object({
  id: z.string().regex(GATEWAY_ID_PATTERN),
  zoneId: IdSchema,
  shopId: IdSchema.optional(),
  placement: z.enum(['indoor', 'street']),
  radios: z.array(z.enum(['wifi', 'ble'])).min(1),
  position: LonLatSchema,
  streetOffsetM: z.number().nonnegative(),
  rssiFloor: z.number().int().min(-127).max(0).default(-92),
  visitor: VisitorThresholdsSchema.prefault({}),
  /** People per device seen (from manual counts); 1 until calibrated. */
  calibrationFactor: z.number().positive().max(10).default(1),
  /** The gateway's format and identity; native when absent. */
  source: GatewaySourceSchema.optional(),
})

/**
 * The district file loaded by `miglio district load <file>`: zones, shops and gateways, and the
 * district's time zone (`timezone`, an IANA name), which sets its local days (daily keys, daily
 * buckets, "today"), hours and weekdays. A file that names no zone gets `defaultTimeZone`, which
 * the CLI takes from MIGLIO_TZ.
 */
export function districtFileSchema(defaultTimeZone: string) {
  return z
    .object({
      v: z.literal(1),
      id: IdSchema,
      name: z.string().min(1).max(120),
      timezone: TimeZoneSchema.default(defaultTimeZone),
      streetLengthM: z.number().positive(),
      zones: z.array(ZoneSchema).min(1),
      shops: z.array(ShopSchema),
      gateways: z.array(GatewaySchema).min(1),
      /** Local public holidays on top of Italy's national ones (the patron saint's day…). */
      holidays: z.array(LocalHolidaySchema).max(200).optional(),
      /** Alert thresholds; each left out takes its default (alert-rules.ts). */
      alerts: AlertRulesSchema.optional(),
    })
    .superRefine((d, ctx) => {
      const zoneIds = new Set(d.zones.map((z) => z.id))
      const shopIds = new Set(d.shops.map((s) => s.id))
      const dup = (ids: string[]) => ids.find((id, i) => ids.indexOf(id) !== i)
      for (const [what, ids] of [
        ['zone', d.zones.map((z) => z.id)],
        ['shop', d.shops.map((s) => s.id)],
        ['gateway', d.gateways.map((g) => g.id)],
      ] as const) {
        const id = dup(ids)
        if (id) ctx.addIssue({ code: 'custom', message: `duplicate ${what} id ${id}` })
      }
      d.shops.forEach((s, i) => {
        if (!zoneIds.has(s.zoneId))
          ctx.addIssue({
            code: 'custom',
            path: ['shops', i, 'zoneId'],
            message: `unknown zone ${s.zoneId}`,
          })
      })
      checkGatewaySources(d.gateways, ctx)
      d.gateways.forEach((g, i) => {
        if (!zoneIds.has(g.zoneId))
          ctx.addIssue({
            code: 'custom',
            path: ['gateways', i, 'zoneId'],
            message: `unknown zone ${g.zoneId}`,
          })
        if (g.shopId && !shopIds.has(g.shopId))
          ctx.addIssue({
            code: 'custom',
            path: ['gateways', i, 'shopId'],
            message: `unknown shop ${g.shopId}`,
          })
      })
    })
}
/** A district file as loaded: its time zone resolved. */
export type DistrictFile = z.output<ReturnType<typeof districtFileSchema>>
/** A district file as written: `timezone` may be left out. */
export type DistrictFileInput = z.input<ReturnType<typeof districtFileSchema>>

/**
 * A source must name one gateway: two gateways declaring the same source would make its messages
 * ambiguous. Messages name gateways by id and never quote the source (an AP MAC is configuration,
 * but it stays out of error text).
 */
function checkGatewaySources(
  gateways: ReadonlyArray<{ id: string; source?: GatewaySource | undefined }>,
  ctx: z.RefinementCtx,
): void {
  const owner = new Map<string, string>()
  gateways.forEach((g, i) => {
    if (!g.source) return
    const key = gatewaySourceKey(g.source)
    if (key === null) return
    const first = owner.get(key)
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateways', i, 'source'],
        message: `gateway ${g.id} declares the same ${g.source.format} source as gateway ${first}: a source must name one gateway`,
      })
    } else owner.set(key, g.id)
    if (g.source.format === 'sniffer' && RESERVED_TOPIC.test(g.source.topic))
      ctx.addIssue({
        code: 'custom',
        path: ['gateways', i, 'source', 'topic'],
        message: `gateway ${g.id}: a sniffer topic must not be a native, OpenMQTTGateway or ESPresense topic`,
      })
  })
  // A sniffer topic inside another declared gateway's topics would be claimed by two formats.
  gateways.forEach((g, i) => {
    if (g.source?.format !== 'sniffer') return
    const topic = g.source.topic
    const other = gateways.find((o) => o !== g && o.source && claimsTopic(o.source, topic))
    if (other)
      ctx.addIssue({
        code: 'custom',
        path: ['gateways', i, 'source', 'topic'],
        message: `gateway ${g.id}: its sniffer topic is also a topic of gateway ${other.id} (${other.source?.format}); the messages would be ambiguous`,
      })
  })
}

/** True when `topic` is one that `source` publishes on (sniffer topics are checked against it). */
function claimsTopic(source: GatewaySource, topic: string): boolean {
  switch (source.format) {
    case 'paxcounter':
      return topic === source.deviceId || topic.startsWith(`${source.deviceId}/`)
    case 'omg':
      return (
        topic.startsWith(`${source.baseTopic}/${source.name}/`) ||
        topic === `${source.baseTopic}/presence/${source.name}`
      )
    default:
      return false
  }
}

export type Zone = z.infer<typeof ZoneSchema>
export type Shop = z.infer<typeof ShopSchema>
export type Gateway = z.infer<typeof GatewaySchema>

/**
 * The optional device list of a district (`MIGLIO_DEVICE_LIST_FILE`): `{ "deny": ["aa:bb:cc:dd:ee:ff"], "allow": [] }`.
 * `deny`: staff or known devices never counted; `allow`: devices never learned as static. It holds raw
 * MACs, so it stays a file on the ingest host (mode 600) and is never stored by Miglio.
 */
export const DeviceListFileSchema = z.object({
  deny: z.array(z.string().max(17)).max(100_000).default([]),
  allow: z.array(z.string().max(17)).max(100_000).default([]),
})
export type DeviceListFile = z.infer<typeof DeviceListFileSchema>

/**
 * Parses and validates a district file's text; `source` (usually the path) names it in the problem,
 * `defaultTimeZone` (MIGLIO_TZ) is the zone of a file that names none.
 * `parseDistrictFile('{…}', 'mestre.json', tz)` → `{ ok: true, district }` or `{ ok: false, problem }`
 * with one line per bad field.
 */
export function parseDistrictFile(
  text: string,
  source: string,
  defaultTimeZone: string,
): { ok: true; district: DistrictFile } | { ok: false; problem: string } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return {
      ok: false,
      problem: `district file ${source} is not valid JSON: ${(err as Error).message}`,
    }
  }
  const parsed = districtFileSchema(defaultTimeZone).safeParse(json)
  if (parsed.success) return { ok: true, district: parsed.data }
  const lines = parsed.error.issues
    .slice(0, 20)
    .map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
  return { ok: false, problem: `district file ${source} is invalid:\n${lines.join('\n')}` }
}
