import type { FlowsResponse, ZoneDto } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderFlowsArcs } from '../../charts/flows-arcs.ts'
import type { Messages } from '../../i18n.ts'
import { drawChartAndTable, flowsTable } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/** Where people go next: flows between zones along the mile, small cells withheld. */
export const id = 'flows'
export const dependsOn = ['range'] as const
export const redrawOn = ['resize'] as const

export interface FlowsPanelData {
  zones: ZoneDto[]
  flows: FlowsResponse
}

export const title = (m: Messages) => m.district.flowsHeading
export const note = (m: Messages) => m.district.flowsNote

export async function load(
  api: ApiClient,
  params: Params<DistrictParams>,
): Promise<FlowsPanelData> {
  const { from, to } = rangeRequest(params)
  const [zones, flows] = await Promise.all([api.zones(), api.flows({ from, to })])
  return { zones: zones.zones, flows }
}

export function render(
  body: HTMLElement,
  { m, data: loaded, width }: DistrictState<FlowsPanelData>,
) {
  const data = loaded ? { zones: loaded.zones, cells: loaded.flows.cells, k: loaded.flows.k } : null
  drawChartAndTable(
    body,
    (container) =>
      renderFlowsArcs(container, data, {
        width,
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          empty: m.district.noFlows,
          forward: m.district.forward,
          backward: m.district.backward,
          suppressed: m.district.suppressed,
          flow: m.district.flow,
          flowsUnit: m.district.flowsUnit,
          travel: m.district.travel,
        },
      }),
    data ? flowsTable(data, m) : null,
  )
}
