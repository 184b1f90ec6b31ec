import { h } from '../dom.ts'
import { createDateFormats } from '../format.ts'
import { rangeKinds } from '../ranges.ts'
import * as calibration from './district/calibration.ts'
import * as context from './district/context.ts'
import * as alerts from './district/alerts.ts'
import * as deviceCounts from './district/device-counts.ts'
import * as downloads from './district/downloads.ts'
import * as events from './district/events.ts'
import * as flows from './district/flows.ts'
import * as heatmap from './district/heatmap.ts'
import * as kpis from './district/kpis.ts'
import * as people from './district/people.ts'
import * as outlook from './district/outlook.ts'
import { initialDistrictParams, type DistrictParams } from './district/params.ts'
import * as quality from './district/quality.ts'
import * as report from './district/report.ts'
import * as series from './district/series.ts'
import * as shops from './district/shops.ts'
import * as zoneMap from './district/zone-map.ts'
import * as zones from './district/zones.ts'
import type { AnyPanel } from './panel.ts'
import { createPanelView, liveLine, type LayoutKit } from './panel-view.ts'
import { createChoice, type View, type ViewContext } from './view-kit.ts'

export { invalidFields } from './district/event-form.ts'
export { DEAD_LETTERS_PAGE_SIZE } from './district/quality.ts'
export { sumByBucket } from './district/series.ts'

export const DISTRICT_REFRESH_MS = 60_000

/** The panels in page order, with the room each takes in the grid. */
const cards: readonly [AnyPanel<DistrictParams>, string?][] = [
  [kpis, 'wide kpis'],
  [alerts, 'wide'],
  [zoneMap, 'wide'],
  [zones],
  [shops],
  [series, 'wide'],
  [people, 'wide'],
  [outlook, 'wide'],
  [deviceCounts, 'wide'],
  [heatmap],
  [flows],
  [events, 'wide'],
  [context, 'wide'],
  [calibration, 'wide'],
  [quality, 'wide'],
  [downloads, 'wide'],
  [report, 'wide'],
]

/**
 * The analyst's district page: KPIs, live map, footfall per zone, trends, the outlook (forecast with
 * a context overlay), device counts (only with count sources), heatmap, shops, flows, events, context
 * imports and flagged days, data quality.
 */
export function createDistrictView(ctx: ViewContext): View {
  return createPanelView<DistrictParams>(ctx, {
    params: initialDistrictParams,
    panels: cards.map(([panel]) => panel),
    refreshMs: DISTRICT_REFRESH_MS,
    live: true,
    layout: (main, kit) => {
      const { doc, m } = kit
      main.replaceChildren(
        h(doc, 'div', { class: 'view-head' }, [
          h(doc, 'div', {}, [
            h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [
              m.district.heading(ctx.districtName),
            ]),
            liveLine(kit, ctx.timeZone),
          ]),
          rangeChoice(kit),
        ]),
        updatedLine(kit, ctx.timeZone),
        h(
          doc,
          'div',
          { class: 'grid' },
          cards.map(([panel, className]) => kit.card(panel, className)),
        ),
      )
    },
  })
}

function rangeChoice({ doc, m, state, setParams }: LayoutKit<DistrictParams>): HTMLElement {
  return createChoice(doc, {
    name: 'range',
    legend: m.footfall.range,
    values: rangeKinds,
    labels: m.footfall.ranges,
    selected: state.params.range,
    onChange: (range) => void setParams({ range }),
  })
}

/** "Updated 11:00 · Refreshes every minute" */
function updatedLine(kit: LayoutKit<DistrictParams>, timeZone: string): HTMLElement {
  const { m } = kit
  const dates = createDateFormats(m.locale, timeZone)
  return kit.bind(h(kit.doc, 'p', { class: 'status' }), (line, { updatedAt }) => {
    line.textContent = [
      updatedAt ? m.footfall.updatedAt(dates.time(updatedAt)) : m.footfall.loading,
      m.footfall.autoRefresh,
    ].join(' · ')
  })
}
