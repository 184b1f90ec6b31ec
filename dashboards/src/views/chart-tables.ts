import type { DwellHistogramData } from '../charts/dwell-histogram.ts'
import { DWELL_BINS } from '../charts/dwell-histogram.ts'
import type { FlowsData } from '../charts/flows-arcs.ts'
import type { HeatmapData } from '../charts/heatmap.ts'
import type { ShopMetricsData } from '../charts/shop-metrics.ts'
import type { Column } from '../charts/stacked-columns.ts'
import type { TimeSeriesData } from '../charts/time-series.ts'
import { h } from '../dom.ts'
import {
  createCountFormat,
  createDateFormats,
  createDecimalFormat,
  createMinutesFormat,
  createPercentFormat,
} from '../format.ts'
import type { Messages } from '../i18n.ts'

/**
 * A chart's figures as a table for screen-reader and keyboard users: the charts stay pure (data in,
 * SVG out) and each view builds the table from the very data it gave the chart.
 */
export interface TableSpec {
  /** Class of the `<table>`, e.g. `data-heatmap`. */
  className: string
  /** The disclosure's label. */
  summary: string
  /** Column headers; the first heads the row headers. */
  head: readonly { label: string; numeric?: boolean }[]
  rows: readonly { header: string; cells: readonly string[] }[]
}

/** The table inside a closed `<details>`, so it costs no room until asked for. */
export function renderTableDetails(doc: Document, spec: TableSpec, open = false): HTMLElement {
  const details = h(doc, 'details', { class: 'table-details', 'data-table': spec.className })
  details.open = open
  const numeric = spec.head.map((column) => column.numeric === true)
  details.append(
    h(doc, 'summary', {}, [spec.summary]),
    h(
      doc,
      'div',
      { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': spec.summary },
      [
        h(doc, 'table', { class: `data-table ${spec.className}` }, [
          h(doc, 'thead', {}, [
            h(
              doc,
              'tr',
              {},
              spec.head.map((column) =>
                h(doc, 'th', { scope: 'col', class: column.numeric ? 'num' : undefined }, [
                  column.label,
                ]),
              ),
            ),
          ]),
          h(
            doc,
            'tbody',
            {},
            spec.rows.map((row) =>
              h(doc, 'tr', {}, [
                h(doc, 'th', { scope: 'row' }, [row.header]),
                ...row.cells.map((cell, i) =>
                  h(doc, 'td', { class: numeric[i + 1] ? 'num' : undefined }, [cell]),
                ),
              ]),
            ),
          ),
        ]),
      ],
    ),
  )
  return details
}

/**
 * Draws a chart into `body` and its table under it. Redraws (new data, resize, the periodic refresh)
 * keep the chart's container and leave an opened table open.
 */
export function drawChartAndTable(
  body: HTMLElement,
  drawChart: (container: HTMLElement) => void,
  table: TableSpec | null,
): void {
  const doc = body.ownerDocument
  const wasOpen = body.querySelector<HTMLDetailsElement>(':scope > details.table-details')?.open
  let chart = body.querySelector<HTMLElement>(':scope > .chart-inner')
  if (!chart) {
    chart = h(doc, 'div', { class: 'chart-inner' })
    body.replaceChildren(chart)
  } else {
    for (const child of [...body.children]) if (child !== chart) child.remove()
  }
  drawChart(chart)
  if (table && table.rows.length > 0) body.append(renderTableDetails(doc, table, wasOpen ?? false))
}

const pad = (n: number) => String(n).padStart(2, '0')

export function heatmapTable(
  data: HeatmapData,
  m: Messages,
  weekdays: readonly string[],
): TableSpec {
  const decimal = createDecimalFormat(m.locale, 1)
  const byKey = new Map(data.cells.map((c) => [`${c.weekday}-${c.hour}`, c.value]))
  return {
    className: 'data-heatmap',
    summary: m.tables.heatmap,
    head: [
      { label: m.tables.weekday },
      ...Array.from({ length: 24 }, (_, hour) => ({ label: pad(hour), numeric: true })),
    ],
    rows: weekdays.map((name, i) => ({
      header: name,
      cells: Array.from({ length: 24 }, (_, hour) => {
        const value = byKey.get(`${i + 1}-${hour}`)
        return value === undefined || value === null ? '–' : decimal(value)
      }),
    })),
  }
}

export function seriesTable(
  data: TimeSeriesData,
  m: Messages,
  timeZone: string,
  labels: { current: string; baseline: string },
): TableSpec {
  const count = createCountFormat(m.locale)
  const dates = createDateFormats(m.locale, timeZone)
  const baseline = new Map(data.baseline.map((p) => [p.t, p.value]))
  return {
    className: 'data-series',
    summary: m.tables.series,
    head: [
      { label: m.tables.time },
      { label: labels.current, numeric: true },
      { label: labels.baseline, numeric: true },
    ],
    rows: data.current.map((point) => {
      const before = baseline.get(point.t)
      return {
        header: dates.dayTime(new Date(point.t)),
        cells: [count(point.value), before === undefined ? '–' : count(before)],
      }
    }),
  }
}

export function shopsTable(data: ShopMetricsData, m: Messages): TableSpec {
  const percent = createPercentFormat(m.locale, 1)
  const minutes = createMinutesFormat(m.locale)
  return {
    className: 'data-shops',
    summary: m.tables.shops,
    head: [
      { label: m.tables.shop },
      { label: m.district.captureRate, numeric: true },
      { label: m.district.dwell, numeric: true },
    ],
    rows: [...data.shops]
      .sort((a, b) => a.name.localeCompare(b.name, m.locale))
      .map((shop) => ({
        header: shop.name,
        cells: [
          shop.captureRate === null ? '–' : percent(shop.captureRate),
          shop.dwellMeanS === null ? m.district.noVisitors : minutes(shop.dwellMeanS),
        ],
      })),
  }
}

export function flowsTable(data: FlowsData, m: Messages): TableSpec {
  const count = createCountFormat(m.locale)
  const minutes = createMinutesFormat(m.locale)
  const name = new Map(data.zones.map((z) => [z.id, z.name]))
  const published = data.cells.filter((c) => !c.suppressed)
  const withheld = data.cells.filter((c) => c.suppressed)
  const ordered = [...published].sort((a, b) => (b.flows ?? 0) - (a.flows ?? 0))
  return {
    className: 'data-flows',
    summary: m.tables.flows,
    head: [
      { label: m.tables.origin },
      { label: m.tables.destination },
      { label: m.tables.flowsCount, numeric: true },
      { label: m.tables.medianWalk, numeric: true },
    ],
    rows: [...ordered, ...withheld].map((cell) => ({
      header: name.get(cell.originZoneId) ?? cell.originZoneId,
      cells: [
        name.get(cell.destZoneId) ?? cell.destZoneId,
        cell.suppressed || cell.flows === null ? m.tables.withheld : count(cell.flows),
        cell.travelSMedian === null ? '–' : minutes(cell.travelSMedian),
      ],
    })),
  }
}

export function dwellTable(data: DwellHistogramData, m: Messages): TableSpec {
  const count = createCountFormat(m.locale)
  return {
    className: 'data-dwell',
    summary: m.tables.dwell,
    head: [{ label: m.shop.dwellX }, { label: m.shop.dwellAxis, numeric: true }],
    rows: DWELL_BINS.map((bin) => ({
      header: m.shop.dwellBins[bin],
      cells: [count(data.bins[bin])],
    })),
  }
}

export function columnsTable(
  columns: readonly Column[],
  m: Messages,
  options: { className: string; summary: string; first: string; digits?: number },
): TableSpec {
  const format =
    options.digits === undefined
      ? createCountFormat(m.locale)
      : createDecimalFormat(m.locale, options.digits)
  return {
    className: options.className,
    summary: options.summary,
    head: [
      { label: options.first },
      { label: m.footfall.passersBy, numeric: true },
      { label: m.footfall.visitors, numeric: true },
    ],
    rows: columns.map((c) => ({
      header: c.label,
      cells: [format(c.passersBy), format(c.visitors)],
    })),
  }
}
