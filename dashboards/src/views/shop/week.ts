import type { FootfallDetailResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import type { Column } from '../../charts/stacked-columns.ts'
import { createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS, localMidnight } from '../../ranges.ts'
import type { Params } from '../panel.ts'
import { drawColumns } from './columns.ts'
import { shopFootfall, type ShopParams, type ShopState } from './params.ts'

/** The last seven local days, today marked. */
export const id = 'week'
export const redrawOn = ['resize'] as const

export const title = (m: Messages) => m.shop.weekHeading

export function load(api: ApiClient, params: Params<ShopParams>): Promise<FootfallDetailResponse> {
  return shopFootfall(api, params, { daysBack: 6, bucket: '1d' })
}

export function render(
  body: HTMLElement,
  { m, params, data, width }: ShopState<FootfallDetailResponse>,
) {
  let columns: Column[] | null = null
  let todayKey = ''
  if (data) {
    const dates = createDateFormats(m.locale, params.timeZone)
    const byDay = new Map(data.rows.map((row) => [Date.parse(row.bucketStart), row]))
    columns = []
    for (let back = 6; back >= 0; back -= 1) {
      const start = localMidnight(params.now, params.timeZone, back)
      const row = byDay.get(start.getTime())
      const key = start.toISOString()
      if (back === 0) todayKey = key
      columns.push({
        key,
        label: back === 0 ? m.shop.today : dates.day(new Date(start.getTime() + DAY_MS / 2)),
        passersBy: row?.passersBy ?? 0,
        visitors: row?.visitors ?? 0,
      })
    }
  }
  drawColumns(
    body,
    m,
    columns,
    {
      width,
      labelEvery: 1,
      highlight: [todayKey],
      labels: { empty: m.chart.empty, yAxis: m.shop.weekAxis, xAxis: m.shop.dayAxis },
    },
    { className: 'data-week', summary: m.tables.week, first: m.tables.day },
  )
}
