import type { HeatmapResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import type { Column } from '../../charts/stacked-columns.ts'
import { createDateFormats, hourRange } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { localMidnight } from '../../ranges.ts'
import { isoWeekdayOf } from '../../../../services/shared/contracts/local-time.ts'
import type { Params } from '../panel.ts'
import { drawColumns } from './columns.ts'
import { shopSummary, type ShopParams, type ShopState } from './params.ts'

/** Today's weekday hour by hour, averaged over the last four weeks, the three busiest marked. */
export const id = 'busiest'
export const redrawOn = ['resize'] as const

export function title(m: Messages, params: Params<ShopParams>): string {
  const weekdays = createDateFormats(m.locale, params.timeZone).weekdaysLong
  return m.shop.busiestHeading(
    weekdays[isoWeekdayOf(params.now.getTime(), params.timeZone) - 1] ?? '',
  )
}
export const note = (m: Messages) => m.shop.busiestNote

export async function load(api: ApiClient, params: Params<ShopParams>): Promise<HeatmapResponse> {
  await shopSummary(api, params)
  return api.heatmap({
    from: localMidnight(params.now, params.timeZone, 28).toISOString(),
    to: localMidnight(params.now, params.timeZone).toISOString(),
    shop: params.shopId,
  })
}

export function render(body: HTMLElement, { m, params, data, width }: ShopState<HeatmapResponse>) {
  let columns: Column[] | null = null
  let highlight: string[] = []
  if (data) {
    const weekday = isoWeekdayOf(params.now.getTime(), params.timeZone)
    columns = data.cells
      .filter((cell) => cell.weekday === weekday)
      .sort((a, b) => a.hour - b.hour)
      .map((cell) => ({
        key: String(cell.hour),
        label: String(cell.hour).padStart(2, '0'),
        passersBy: cell.meanPassersBy ?? 0,
        visitors: cell.meanVisitors ?? 0,
      }))
    highlight = [...columns]
      .filter((c) => c.passersBy + c.visitors > 0)
      .sort((a, b) => b.passersBy + b.visitors - (a.passersBy + a.visitors))
      .slice(0, 3)
      .map((c) => c.key)
  }
  drawColumns(
    body,
    m,
    columns,
    {
      width,
      digits: 1,
      highlight,
      labels: {
        empty: m.shop.noHistory,
        yAxis: m.shop.busiestAxis,
        xAxis: m.shop.hourAxis,
        highlight: m.shop.busiest,
      },
    },
    {
      className: 'data-busiest',
      summary: m.tables.busiest,
      first: m.tables.hour,
      digits: 1,
      label: (c) => hourRange(Number(c.key)),
    },
  )
}
