import { max, scaleLinear } from 'd3'
import { createDecimalFormat, createMinutesFormat, createPercentFormat } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  measureColours,
  okabeIto,
  round,
  textWidth,
  truncate,
  type Group,
  type StateLabels,
} from './chart-kit.ts'
import { createFrame, drawChart } from './frame.ts'

export interface ShopMetric {
  id: string
  name: string
  /** visitors / (visitors + passers-by); null without transits. */
  captureRate: number | null
  /** Mean dwell of visitors, seconds; null without visitors. */
  dwellMeanS: number | null
}

export interface ShopMetricsData {
  shops: readonly ShopMetric[]
  /** Marks one shop (the shopkeeper's own, or the one an analyst opened). */
  highlightId?: string | undefined
}

export interface ShopMetricsOptions {
  width: number
  locale: string
  labels: StateLabels & { captureRate: string; dwell: string; noVisitors: string }
}

const ROW_HEIGHT = 26
const BAR_HEIGHT = 16
const PANEL_TITLE = 26
const AXIS_HEIGHT = 26
const PANEL_GAP = 24

/**
 * Two ranked small multiples sharing one row order (by capture rate, highest first): capture rate
 * in percent and visitors' mean dwell in minutes. Side by side when wide, stacked when narrow.
 */
export function renderShopMetrics(
  container: Element,
  data: ShopMetricsData | null,
  opts: ShopMetricsOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  return drawChart(
    container,
    data,
    {
      className: 'shop-metrics',
      width,
      loadingHeight: 220,
      labels: opts.labels,
      isEmpty: (d) => d.shops.every((s) => s.captureRate === null),
    },
    (d) => drawMetrics(container, d, width, opts),
  )
}

function drawMetrics(
  container: Element,
  data: ShopMetricsData,
  width: number,
  opts: ShopMetricsOptions,
): SVGSVGElement {
  const { labels } = opts
  const percent = createPercentFormat(opts.locale, 1)
  const minutes = createMinutesFormat(opts.locale)
  const decimal = createDecimalFormat(opts.locale, 1)
  const minutesValue = (value: number) => `${decimal(value)} min`
  const ranked = [...data.shops].sort(
    (a, b) =>
      (b.captureRate ?? -1) - (a.captureRate ?? -1) ||
      (b.dwellMeanS ?? -1) - (a.dwellMeanS ?? -1) ||
      a.name.localeCompare(b.name),
  )
  const stacked = width < 600
  const nameWidth = clamp(
    Math.max(...ranked.map((s) => textWidth(s.name))) + 12,
    80,
    stacked ? Math.round(width * 0.42) : Math.round(width * 0.24),
  )
  const panelWidth = stacked ? width - nameWidth : (width - nameWidth - PANEL_GAP) / 2
  const rowsHeight = ranked.length * ROW_HEIGHT
  const panelHeight = PANEL_TITLE + rowsHeight + AXIS_HEIGHT
  const height = stacked ? panelHeight * 2 + PANEL_GAP : panelHeight

  const frame = createFrame(container, {
    className: 'shop-metrics',
    width,
    height,
    label: ranked
      .map(
        (s) =>
          `${s.name}: ${labels.captureRate} ${s.captureRate === null ? '–' : percent(s.captureRate)}, ${labels.dwell} ${s.dwellMeanS === null ? labels.noVisitors : minutes(s.dwellMeanS)}`,
      )
      .join('; '),
  })

  const panels: {
    key: 'capture-rate' | 'dwell'
    title: string
    x: number
    y: number
    value: (s: ShopMetric) => number | null
    format: (v: number) => string
    colour: string
    maxValue: number
  }[] = [
    {
      key: 'capture-rate',
      title: labels.captureRate,
      x: nameWidth,
      y: 0,
      value: (s) => s.captureRate,
      format: percent,
      colour: measureColours.visitors,
      maxValue: Math.max(0.05, max(ranked, (s) => s.captureRate ?? 0) ?? 0),
    },
    {
      key: 'dwell',
      title: labels.dwell,
      x: stacked ? nameWidth : nameWidth + panelWidth + PANEL_GAP,
      y: stacked ? panelHeight + PANEL_GAP : 0,
      // In minutes, so the axis ticks fall on whole minutes.
      value: (s) => (s.dwellMeanS === null ? null : s.dwellMeanS / 60),
      format: minutesValue,
      colour: okabeIto.bluishGreen,
      maxValue: Math.max(1, (max(ranked, (s) => s.dwellMeanS ?? 0) ?? 0) / 60),
    },
  ]

  for (const panel of panels) {
    const g = frame.svg
      .append('g')
      .attr('class', `panel panel-${panel.key}`)
      .attr('transform', `translate(0,${panel.y})`)
    drawPanel(g, panel, ranked, {
      nameWidth,
      panelWidth,
      labels,
      highlightId: data.highlightId,
      showNames: panel.x === nameWidth,
    })
  }
  return frame.node()
}

function drawPanel(
  g: Group,
  panel: {
    key: string
    title: string
    x: number
    value: (s: ShopMetric) => number | null
    format: (v: number) => string
    colour: string
    maxValue: number
  },
  ranked: readonly ShopMetric[],
  layout: {
    nameWidth: number
    panelWidth: number
    labels: ShopMetricsOptions['labels']
    highlightId: string | undefined
    showNames: boolean
  },
): void {
  const valueRoom = 64
  const x = scaleLinear()
    .domain([0, panel.maxValue])
    .nice()
    .range([0, Math.max(40, layout.panelWidth - valueRoom)])
  g.append('text')
    .attr('class', 'panel-title')
    .attr('x', panel.x)
    .attr('y', 14)
    .attr('font-weight', 600)
    .attr('fill', TEXT_COLOUR)
    .text(panel.title)
  const ticks = x.ticks(Math.max(2, Math.floor(layout.panelWidth / 90)))
  const top = PANEL_TITLE
  const bottom = top + ranked.length * ROW_HEIGHT
  for (const tick of ticks) {
    const tx = round(panel.x + x(tick))
    g.append('line')
      .attr('class', 'grid')
      .attr('x1', tx)
      .attr('x2', tx)
      .attr('y1', top)
      .attr('y2', bottom)
      .attr('stroke', GRID_COLOUR)
    g.append('text')
      .attr('class', 'tick')
      .attr('x', tx)
      .attr('y', bottom + 16)
      .attr('text-anchor', 'middle')
      .attr('fill', MUTED_COLOUR)
      .text(panel.format(tick))
  }
  ranked.forEach((shop, i) => {
    const y = top + i * ROW_HEIGHT
    const row = g
      .append('g')
      .attr('class', 'shop')
      .attr('data-shop-id', shop.id)
      .attr('transform', `translate(0,${y})`)
    const value = panel.value(shop)
    const highlighted = shop.id === layout.highlightId
    row
      .append('title')
      .text(`${shop.name}: ${value === null ? layout.labels.noVisitors : panel.format(value)}`)
    if (layout.showNames) {
      row
        .append('text')
        .attr('class', 'shop-name')
        .attr('x', layout.nameWidth - 8)
        .attr('y', ROW_HEIGHT / 2)
        .attr('dy', '0.35em')
        .attr('text-anchor', 'end')
        .attr('font-weight', highlighted ? 700 : null)
        .attr('fill', TEXT_COLOUR)
        .text(truncate(shop.name, Math.floor((layout.nameWidth - 12) / 7)))
    }
    const barY = (ROW_HEIGHT - BAR_HEIGHT) / 2
    const barWidth = value === null ? 0 : round(x(value))
    if (value !== null) {
      row
        .append('rect')
        .attr('class', 'bar')
        .attr('x', panel.x)
        .attr('y', barY)
        .attr('width', barWidth)
        .attr('height', BAR_HEIGHT)
        .attr('fill', panel.colour)
        .attr('stroke', highlighted ? TEXT_COLOUR : null)
        .attr('stroke-width', highlighted ? 2 : null)
    }
    row
      .append('text')
      .attr('class', 'value')
      .attr('x', round(panel.x + barWidth + 6))
      .attr('y', ROW_HEIGHT / 2)
      .attr('dy', '0.35em')
      .attr('fill', value === null ? MUTED_COLOUR : TEXT_COLOUR)
      .text(value === null ? '–' : panel.format(value))
  })
}
