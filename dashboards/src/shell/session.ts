import type { MeResponse } from '../../../services/shared/contracts/api.ts'
import { DEFAULT_TIME_ZONE } from '../../../services/shared/contracts/district.ts'
import type { ApiClient } from '../api-client.ts'

export interface Session {
  me: MeResponse
  districtName: string
  /** The district's time zone (local days, hours and weekdays). */
  timeZone: string
  /** The first shop along the street, for an analyst's "Shops" link. */
  firstShopId: string | null
}

/**
 * What a key opens: who it is (a refused key throws), and the district's name, time zone and
 * first shop — those three are nice to have, so their failure is not the session's.
 */
export async function openSession(client: ApiClient): Promise<Session> {
  const me = await client.me()
  const [district, shops] = await Promise.all([
    client.district().catch(() => null),
    me.role === 'shopkeeper' ? Promise.resolve(null) : client.shops().catch(() => null),
  ])
  return {
    me,
    districtName: district?.name ?? '',
    timeZone: district?.timezone ?? DEFAULT_TIME_ZONE,
    firstShopId:
      [...(shops?.shops ?? [])].sort((a, b) => a.streetOffsetM - b.streetOffsetM)[0]?.id ?? null,
  }
}
