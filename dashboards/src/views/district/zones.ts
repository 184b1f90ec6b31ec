import type { FootfallDetailResponse, ZoneDto } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { renderFootfallBars } from '../../charts/footfall-bars.ts'
import { h } from '../../dom.ts'
import { createCountFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { orderedZones, rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/** Footfall per street zone as bars, and every zone's totals as a table. */
export const id = 'zones'
export const dependsOn = ['range'] as const
export const redrawOn = ['resize'] as const

export interface ZonesData {
  zones: ZoneDto[]
  footfall: FootfallDetailResponse
}

export const title = (m: Messages) => m.footfall.heading
export const note = (m: Messages) => m.footfall.note

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<ZonesData> {
  const [zones, footfall] = await Promise.all([
    api.zones(),
    api.footfallDetail(rangeRequest(params)),
  ])
  return { zones: zones.zones, footfall }
}

export function render(body: HTMLElement, state: DistrictState<ZonesData>) {
  const { doc, m, data } = state
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, state.error))
    return
  }
  const wasOpen = body.querySelector<HTMLDetailsElement>('details.table-details')?.open
  const chart = h(doc, 'div', { class: 'chart-inner' })
  body.replaceChildren(chart)
  renderFootfallBars(
    chart,
    {
      zones: orderedZones(data.zones).filter((z) => z.kind !== 'shop'),
      totals: data.footfall.totals,
    },
    {
      width: state.width,
      locale: m.locale,
      labels: {
        passersBy: m.footfall.passersBy,
        visitors: m.footfall.visitors,
        axis: m.footfall.axis,
        empty: m.footfall.empty,
      },
    },
  )
  if (data.footfall.totals.some((total) => total.passersBy + total.visitors > 0)) {
    const table = totalsTable(state, data)
    table.open = wasOpen ?? false
    body.append(table)
  }
}

function totalsTable({ doc, m, params }: DistrictState<ZonesData>, data: ZonesData) {
  const format = createCountFormat(m.locale)
  const totalsById = new Map(data.footfall.totals.map((total) => [total.zoneId, total]))
  const number = (value: number) => h(doc, 'td', { class: 'num' }, [format(value)])
  return h(doc, 'details', { class: 'table-details' }, [
    h(doc, 'summary', {}, [m.footfall.tableCaption(m.footfall.ranges[params.range])]),
    h(doc, 'div', { class: 'table-wrap' }, [
      h(doc, 'table', { class: 'totals' }, [
        h(doc, 'thead', {}, [
          h(doc, 'tr', {}, [
            h(doc, 'th', { scope: 'col' }, [m.footfall.zone]),
            h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.passersBy]),
            h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.visitors]),
          ]),
        ]),
        h(
          doc,
          'tbody',
          {},
          orderedZones(data.zones).map((zone) => {
            const total = totalsById.get(zone.id)
            return h(doc, 'tr', {}, [
              h(doc, 'th', { scope: 'row' }, [zone.name]),
              number(total?.passersBy ?? 0),
              number(total?.visitors ?? 0),
            ])
          }),
        ),
      ]),
    ]),
  ])
}
