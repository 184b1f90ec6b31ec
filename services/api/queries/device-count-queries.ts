import { sql, type RawBuilder } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type {
  CountSource,
  DeviceCountRow,
  DeviceCountZoneRow,
  FootfallBucket,
} from '../../shared/contracts/api.ts'

/** Which count sources a request reads: one gateway, one zone, one shop's, or all. */
export type CountScope = {
  gatewayId?: string | undefined
  zoneId?: string | undefined
  shopId?: string | undefined
}

export type DeviceCountFilter = CountScope & {
  from: Date
  to: Date
  bucket: FootfallBucket
  tz: string
}

/** The longest a bucket of each width lasts (a local day or week may be an hour longer). */
const WIDEST = {
  '15m': sql`interval '15 minutes'`,
  '1h': sql`interval '1 hour'`,
  '1d': sql`interval '25 hours'`,
  week: sql`interval '7 days 1 hour'`,
} as const

/** The bucket a report falls in: UTC-aligned 15 minutes and hours, local days and ISO weeks. */
function bucketOf(bucket: FootfallBucket, tz: string): RawBuilder<Date> {
  switch (bucket) {
    case '15m':
      return sql<Date>`time_bucket(interval '15 minutes', d.at)`
    case '1h':
      return sql<Date>`time_bucket(interval '1 hour', d.at)`
    case '1d':
      return sql<Date>`(date_trunc('day', d.at AT TIME ZONE ${tz}) AT TIME ZONE ${tz})`
    case 'week':
      return sql<Date>`(date_trunc('week', d.at AT TIME ZONE ${tz}) AT TIME ZONE ${tz})`
  }
}

const scopeSql = (s: CountScope) =>
  sql.join(
    [
      sql`true`,
      ...(s.gatewayId ? [sql`g.id = ${s.gatewayId}`] : []),
      ...(s.zoneId ? [sql`g.zone_id = ${s.zoneId}`] : []),
      ...(s.shopId ? [sql`g.shop_id = ${s.shopId}`] : []),
    ],
    sql` AND `,
  )

/**
 * Device counts per count source and bucket, from `device_counts` (Paxcounter reports): per
 * radio the mean and the largest count of the bucket's reports — a report is how many distinct
 * devices the gateway counted over its own send cycle, so reports are averaged, never summed.
 * Buckets starting in [from, to) are counted, as footfall's are.
 */
export async function listDeviceCounts(db: Db, f: DeviceCountFilter): Promise<DeviceCountRow[]> {
  const b = bucketOf(f.bucket, f.tz)
  const { rows } = await sql<{
    gateway_id: string
    zone_id: string
    b: Date
    reports: number
    wifi_mean: number | null
    wifi_max: number | null
    ble_mean: number | null
    ble_max: number | null
  }>`
    SELECT d.gateway_id, g.zone_id, ${b} AS b, count(*)::int AS reports,
      avg(d.wifi)::float8 AS wifi_mean, max(d.wifi) AS wifi_max,
      avg(d.ble)::float8 AS ble_mean, max(d.ble) AS ble_max
    FROM device_counts d
    JOIN gateways g ON g.id = d.gateway_id
    WHERE d.at >= ${f.from} AND d.at < ${f.to}::timestamptz + ${WIDEST[f.bucket]}
      AND ${b} >= ${f.from} AND ${b} < ${f.to}
      AND ${scopeSql(f)}
    GROUP BY d.gateway_id, g.zone_id, b
    ORDER BY b, d.gateway_id
  `.execute(db)
  return rows.map((r) => ({
    gatewayId: r.gateway_id,
    zoneId: r.zone_id,
    bucketStart: r.b.toISOString(),
    reports: r.reports,
    wifiDevicesMean: r.wifi_mean,
    wifiDevicesMax: r.wifi_max,
    bleDevicesMean: r.ble_mean,
    bleDevicesMax: r.ble_max,
  }))
}

/** Per zone and bucket: the sum of the zone's count sources' means (null when none had the radio). */
export function sumDeviceCountsByZone(rows: readonly DeviceCountRow[]): DeviceCountZoneRow[] {
  const byKey = new Map<string, DeviceCountZoneRow>()
  const add = (a: number | null, b: number | null) => (b === null ? a : (a ?? 0) + b)
  for (const r of rows) {
    const key = `${r.zoneId}\u0000${r.bucketStart}`
    const z = byKey.get(key) ?? {
      zoneId: r.zoneId,
      bucketStart: r.bucketStart,
      gateways: 0,
      wifiDevicesMean: null,
      bleDevicesMean: null,
    }
    z.gateways++
    z.wifiDevicesMean = add(z.wifiDevicesMean, r.wifiDevicesMean)
    z.bleDevicesMean = add(z.bleDevicesMean, r.bleDevicesMean)
    byKey.set(key, z)
  }
  return [...byKey.values()].sort(
    (a, b) => a.bucketStart.localeCompare(b.bucketStart) || a.zoneId.localeCompare(b.zoneId),
  )
}

/** The count sources in scope: Paxcounter gateways, and any gateway with counts in [from, to). */
export async function listCountSources(
  db: Db,
  f: CountScope & { from: Date; to: Date },
): Promise<CountSource[]> {
  const { rows } = await sql<{
    id: string
    zone_id: string
    shop_id: string | null
    format: CountSource['format']
    active: boolean
  }>`
    SELECT g.id, g.zone_id, g.shop_id, g.format, g.active
    FROM gateways g
    WHERE (g.format = 'paxcounter' OR EXISTS (
        SELECT 1 FROM device_counts d WHERE d.gateway_id = g.id AND d.at >= ${f.from} AND d.at < ${f.to}
      ))
      AND ${scopeSql(f)}
    ORDER BY g.street_offset_m, g.id
  `.execute(db)
  return rows.map((r) => ({
    id: r.id,
    zoneId: r.zone_id,
    shopId: r.shop_id,
    format: r.format,
    active: r.active,
  }))
}

/** A gateway's zone and shop, or null when there is no such gateway. */
export async function findGatewayShop(
  db: Db,
  id: string,
): Promise<{ zoneId: string; shopId: string | null } | null> {
  const row = await db
    .selectFrom('gateways')
    .select(['zone_id', 'shop_id'])
    .where('id', '=', id)
    .executeTakeFirst()
  return row ? { zoneId: row.zone_id, shopId: row.shop_id } : null
}
