import type { FootfallDetailResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderDwellHistogram } from '../../charts/dwell-histogram.ts'
import type { Messages } from '../../i18n.ts'
import { drawChartAndTable, dwellTable } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { shopFootfall, type ShopParams, type ShopState } from './params.ts'

/** How long today's visitors stayed, in five bins. */
export const id = 'dwell'
export const redrawOn = ['resize'] as const

export const title = (m: Messages) => m.shop.dwellHeading

/** Today's footfall of the shop, hour by hour. */
export function load(api: ApiClient, params: Params<ShopParams>): Promise<FootfallDetailResponse> {
  return shopFootfall(api, params, { daysBack: 0, bucket: '1h' })
}

export function render(
  body: HTMLElement,
  { m, data: today, width }: ShopState<FootfallDetailResponse>,
) {
  const empty = { lt1m: 0, m1to5: 0, m5to15: 0, m15to60: 0, gt60m: 0 }
  const data = today ? { bins: today.totals[0]?.dwellHistogram ?? empty } : null
  const hasVisitors = data ? Object.values(data.bins).some((n) => n > 0) : false
  drawChartAndTable(
    body,
    (container) =>
      renderDwellHistogram(container, data, {
        width,
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          empty: m.chart.empty,
          bins: m.shop.dwellBins,
          yAxis: m.shop.dwellAxis,
          xAxis: m.shop.dwellX,
        },
      }),
    data && hasVisitors ? dwellTable(data, m) : null,
  )
}
