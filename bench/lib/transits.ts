/** The transits the database holds, read as the people estimator's device sessions. */
import type { DeviceSession } from '../../services/shared/people/sessions.ts'
import type { IngestChild } from './child.ts'

type TransitRow = {
  first_ms: string
  last_ms: string
  gateway_id: string
  zone_id: string
  pseudonym: string | null
  samples: number
  peak_rssi: number
  radio: 'wifi' | 'ble'
  randomised: boolean
}

/**
 * The transits that began in [fromMs, toMs] (of one zone, or of every zone when `zoneId` is null),
 * with their times moved back by `shiftMs` (a replay shifted into ingest's window).
 */
export async function sessionsFromDb(
  c: IngestChild,
  zoneId: string | null,
  fromMs: number,
  toMs: number,
  shiftMs = 0,
): Promise<DeviceSession[]> {
  const rows = await c.query<TransitRow>(
    `SELECT (extract(epoch FROM first_seen) * 1000)::bigint AS first_ms,
            (extract(epoch FROM last_seen) * 1000)::bigint AS last_ms,
            gateway_id, zone_id, pseudonym::text AS pseudonym, samples, peak_rssi, radio, randomised
       FROM transits
      WHERE ($1::text IS NULL OR zone_id = $1) AND first_seen >= $2 AND first_seen <= $3
      ORDER BY first_seen`,
    [zoneId, new Date(fromMs), new Date(toMs)],
  )
  return rows.map((r) => ({
    gatewayId: r.gateway_id,
    zoneId: r.zone_id,
    pseudonym: r.pseudonym,
    firstMs: Number(r.first_ms) - shiftMs,
    lastMs: Number(r.last_ms) - shiftMs,
    samples: Number(r.samples),
    peakRssi: Number(r.peak_rssi),
    radio: r.radio,
    randomised: r.randomised,
  }))
}
