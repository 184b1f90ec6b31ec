import type { HeatmapResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderHeatmap } from '../../charts/heatmap.ts'
import { createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { localMidnight } from '../../ranges.ts'
import { drawChartAndTable, heatmapTable } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import type { DistrictParams, DistrictState } from './params.ts'

/** Mean footfall per weekday and hour over the last four weeks. */
export const id = 'heatmap'
export const redrawOn = ['resize'] as const

export const title = (m: Messages) => m.district.heatmapHeading
export const note = (m: Messages) => m.district.heatmapNote

/** The four weeks the heatmap (and its CSV) covers. */
export function heatmapWindow(params: Params<DistrictParams>): { from: string; to: string } {
  return {
    from: localMidnight(params.now, params.timeZone, 28).toISOString(),
    to: params.now.toISOString(),
  }
}

export function load(api: ApiClient, params: Params<DistrictParams>): Promise<HeatmapResponse> {
  return api.heatmap(heatmapWindow(params))
}

export function render(
  body: HTMLElement,
  { m, params, data: loaded, width }: DistrictState<HeatmapResponse>,
) {
  const weekdays = createDateFormats(m.locale, params.timeZone).weekdaysShort
  const data = loaded
    ? {
        cells: loaded.cells.map((cell) => ({
          weekday: cell.weekday,
          hour: cell.hour,
          value: cell.hours === 0 ? null : (cell.meanPassersBy ?? 0) + (cell.meanVisitors ?? 0),
        })),
      }
    : null
  const hasValues = data?.cells.some((c) => (c.value ?? 0) > 0) ?? false
  drawChartAndTable(
    body,
    (container) =>
      renderHeatmap(container, data, {
        width,
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          empty: m.chart.empty,
          weekdays,
          hourAxis: m.district.hourAxis,
          value: m.district.heatmapValue,
          noData: m.chart.noData,
          busiest: m.district.busiest,
        },
      }),
    data && hasValues ? heatmapTable(data, m, weekdays) : null,
  )
}
