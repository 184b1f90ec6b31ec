import type { CountSessionCreate } from '../contracts/calibration.ts'
import type { Db } from '../db/create-db.ts'

const HOUR = 3_600_000
const MIN = 60_000

/**
 * One counted day of synthetic traffic for calibration tests: six 15-minute windows from 10:00 of
 * the day (half an hour apart), p people present in each (0–10, set by `salt` and the window),
 * carrying about 1.6 devices each, heard for the whole window (one transit each, stable Wi-Fi
 * addresses, pseudonyms unique per salt). Inserts the transits and returns the counts to record.
 */
export async function seedCountedDay(
  db: Db,
  o: {
    dayStartMs: number
    gatewayId: string
    zoneId: string
    shopId?: string | null
    salt: number
  },
): Promise<CountSessionCreate[]> {
  const counts: CountSessionCreate[] = []
  const rows = []
  for (let w = 0; w < 6; w++) {
    const from = o.dayStartMs + 10 * HOUR + w * 30 * MIN
    const people = (w * 3 + o.salt) % 11
    const devices = Math.max(0, Math.round(people * 1.6 + ((w + o.salt) % 3) - 1))
    for (let d = 0; d < devices; d++)
      rows.push({
        first_seen: new Date(from + 20_000 + d * 1000),
        last_seen: new Date(from + 15 * MIN - 20_000),
        gateway_id: o.gatewayId,
        zone_id: o.zoneId,
        shop_id: o.shopId ?? null,
        pseudonym: String(o.salt * 1_000_000 + w * 1000 + d + 1),
        dwell_s: 800,
        peak_rssi: -60,
        samples: 40,
        radio: 'wifi',
        randomised: false,
        visitor: false,
        threshold_version: 1,
      })
    counts.push({
      zone: o.zoneId,
      from: new Date(from).toISOString(),
      to: new Date(from + 15 * MIN).toISOString(),
      kind: 'present',
      people,
      countedBy: 'Marco',
    })
  }
  if (rows.length) await db.insertInto('transits').values(rows).execute()
  return counts
}
