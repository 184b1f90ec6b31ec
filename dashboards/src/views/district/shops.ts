import type { FootfallDetailResponse, ShopDto } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderShopMetrics } from '../../charts/shop-metrics.ts'
import type { Messages } from '../../i18n.ts'
import { drawChartAndTable, shopsTable } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/** Every shop's capture rate and visitors' dwell over the range, ranked. */
export const id = 'shops'
export const dependsOn = ['range'] as const
export const redrawOn = ['resize'] as const

export interface ShopsData {
  shops: ShopDto[]
  footfall: FootfallDetailResponse
}

export const title = (m: Messages) => m.district.shopsHeading
export const note = (m: Messages) => m.district.shopsNote

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<ShopsData> {
  const [shops, footfall] = await Promise.all([
    api.shops(),
    api.footfallDetail(rangeRequest(params)),
  ])
  return { shops: shops.shops, footfall }
}

export function render(body: HTMLElement, { m, data: loaded, width }: DistrictState<ShopsData>) {
  const totals = new Map((loaded?.footfall.totals ?? []).map((t) => [t.zoneId, t]))
  const data = loaded
    ? {
        shops: loaded.shops.map((shop) => ({
          id: shop.id,
          name: shop.name,
          captureRate: totals.get(shop.zoneId)?.captureRate ?? null,
          dwellMeanS: totals.get(shop.zoneId)?.dwellMeanS ?? null,
        })),
      }
    : null
  drawChartAndTable(
    body,
    (container) =>
      renderShopMetrics(container, data, {
        width,
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          empty: m.chart.empty,
          captureRate: m.district.captureRate,
          dwell: m.district.dwell,
          noVisitors: m.district.noVisitors,
        },
      }),
    data ? shopsTable(data, m) : null,
  )
}
