import { z } from 'zod'
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
