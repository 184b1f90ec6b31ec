import type {
  FootfallDetailResponse,
  GatewayDto,
  ZoneDto,
} from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderZoneMap } from '../../charts/zone-map.ts'
import type { Messages } from '../../i18n.ts'
import type { LiveState } from '../../live-feed.ts'
import type { Params } from '../panel.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/** The mile as a map: zones by footfall, gateways by health, the last 15 minutes live. */
export const id = 'map'
export const dependsOn = ['range'] as const
export const redrawOn = ['live', 'resize'] as const

export interface MapData {
  zones: ZoneDto[]
  gateways: GatewayDto[]
  footfall: FootfallDetailResponse
}

export const title = (m: Messages) => m.district.mapHeading
export const note = (m: Messages) => m.district.mapNote

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<MapData> {
  const [zones, gateways, footfall] = await Promise.all([
    api.zones(),
    api.gateways(),
    api.footfallDetail(rangeRequest(params)),
  ])
  return { zones: zones.zones, gateways: gateways.gateways, footfall }
}

/** Transits per zone in the last 15 minutes, once the feed has counted. */
export function liveByZone(live: LiveState): Record<string, number> | undefined {
  if (!live.counts) return undefined
  return Object.fromEntries(
    live.counts.zones.map((z) => [z.zoneId, z.last15m.passersBy + z.last15m.visitors]),
  )
}

export function render(body: HTMLElement, { m, data, live, width }: DistrictState<MapData>) {
  renderZoneMap(
    body,
    data
      ? {
          zones: data.zones,
          footfall: Object.fromEntries(
            data.footfall.totals.map((total) => [total.zoneId, total.passersBy + total.visitors]),
          ),
          gateways: data.gateways.map((g) => ({
            id: g.id,
            zoneId: g.zoneId,
            health: g.health,
            position: g.position,
          })),
          live: liveByZone(live),
        }
      : null,
    {
      width,
      locale: m.locale,
      labels: {
        loading: m.chart.loading,
        empty: m.chart.empty,
        footfall: m.district.footfallLegend,
        live: m.live.last15m,
        gateways: m.district.gateways,
        health: m.district.health,
        north: m.district.north,
      },
    },
  )
}
