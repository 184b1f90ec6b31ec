import { max, scaleLinear, type ScaleLinear } from 'd3'
import { createCountFormat, createDecimalFormat } from '../format.ts'
import {
  TEXT_COLOUR,
  chartWidth,
  measureColours,
  round,
  textWidth,
  type StateLabels,
} from './chart-kit.ts'
import { createFrame, drawChart, measureLegend, type Frame } from './frame.ts'

export interface Column {
  key: string
  label: string
  passersBy: number
  visitors: number
}

export interface StackedColumnsData {
  columns: readonly Column[]
  /** Columns drawn with a dark outline and named in the description (busiest hours, today). */
  highlight?: readonly string[]
}

export interface StackedColumnsOptions {
  width: number
  height?: number
  locale: string
  /** Decimals of the values (0 for counts, 1 for means). */
  digits?: number
  /** Show every n-th column label (1 = all); by default as many as fit. */
  labelEvery?: number
  labels: StateLabels & {
    passersBy: string
    visitors: string
    yAxis: string
    xAxis: string
    highlight?: string
  }
}

const MARGIN = { top: 34, right: 8, bottom: 44 }

const total = (c: Column) => c.passersBy + c.visitors

interface Plot {
  left: number
  top: number
  width: number
  height: number
  y: ScaleLinear<number, number>
  format: (value: number) => string
  highlight: ReadonlySet<string>
}

/** Passers-by and visitors stacked per column (hours of a day, days of a week). */
export function renderStackedColumns(
  container: Element,
  data: StackedColumnsData | null,
  opts: StackedColumnsOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 240))
  return drawChart(
    container,
    data,
    {
      className: 'stacked-columns',
      width,
      loadingHeight: height,
      labels: opts.labels,
      isEmpty: (d) => (max(d.columns, total) ?? 0) === 0,
    },
    (d) => drawColumns(container, d, { width, height }, opts),
  )
}

function drawColumns(
  container: Element,
  data: StackedColumnsData,
  size: { width: number; height: number },
  opts: StackedColumnsOptions,
): SVGSVGElement {
  const { labels } = opts
  const digits = opts.digits ?? 0
  const format =
    digits === 0 ? createCountFormat(opts.locale) : createDecimalFormat(opts.locale, digits)
  const y = scaleLinear()
    .domain([0, max(data.columns, total) ?? 0])
    .nice()
  // Whole counts get whole ticks (no "0, 0, 1, 1" from rounded fractions).
  const ticks = y.ticks(4).filter((v) => digits > 0 || Number.isInteger(v))
  const left = 30 + Math.max(...ticks.map((v) => textWidth(format(v))))
  const plotWidth = size.width - left - MARGIN.right
  const highlight = new Set(data.highlight ?? [])
  const highlighted = data.columns.filter((c) => highlight.has(c.key))
  const named = highlighted.length > 0 && labels.highlight ? labels.highlight : null
  const frame = createFrame(container, {
    className: 'stacked-columns',
    ...size,
    label: [
      `${labels.yAxis}: ${data.columns.map((c) => `${c.label} ${format(total(c))}`).join(', ')}`,
      named ? `${named}: ${highlighted.map((c) => c.label).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('. '),
  })
  const legendHeight = frame.legend(legendItems(labels, named), {
    x: left,
    y: 4,
    maxWidth: plotWidth,
  })
  const top = Math.max(MARGIN.top, legendHeight + 14)
  const plot: Plot = {
    left,
    top,
    width: plotWidth,
    height: size.height - top - MARGIN.bottom,
    y: y.range([size.height - MARGIN.bottom, top]),
    format,
    highlight,
  }
  frame
    .grid(ticks, (v) => [left, left + plotWidth, round(y(v)), round(y(v))])
    .yTicks(ticks, { x: left - 6, y: (v) => round(y(v)), format })
    .yTitle(labels.yAxis, plot)
  drawBars(frame, data.columns, plot, opts)
  return frame
    .baseline({ x1: left, x2: left + plotWidth, y: top + plot.height })
    .xTitle(labels.xAxis, { x: round(left + plotWidth / 2), y: size.height - 8 })
    .node()
}

function legendItems(labels: StackedColumnsOptions['labels'], highlight: string | null) {
  const items = measureLegend(labels)
  if (highlight) {
    items.push({
      key: 'highlight',
      label: highlight,
      swatch: { kind: 'rect', fill: '#ffffff', stroke: TEXT_COLOUR },
    })
  }
  return items
}

function drawBars(
  frame: Frame,
  columns: readonly Column[],
  plot: Plot,
  opts: StackedColumnsOptions,
): void {
  const { labels } = opts
  const { y, format, highlight } = plot
  const bottom = plot.top + plot.height
  const band = plot.width / Math.max(1, columns.length)
  const barWidth = round(Math.max(2, Math.min(band * 0.72, 56)))
  const longestLabel = Math.max(...columns.map((c) => textWidth(c.label)))
  const every = opts.labelEvery ?? Math.max(1, Math.ceil((longestLabel + 8) / band))
  const group = frame.svg.append('g').attr('class', 'columns')
  columns.forEach((column, i) => {
    const cx = plot.left + band * (i + 0.5)
    const x = round(cx - barWidth / 2)
    const g = group.append('g').attr('class', 'column').attr('data-key', column.key)
    g.append('title').text(
      `${column.label}: ${labels.passersBy} ${format(column.passersBy)}, ${labels.visitors} ${format(column.visitors)}`,
    )
    const yPassers = round(y(column.passersBy))
    const yTotal = round(y(total(column)))
    const bar = (part: string, top: number, height: number, fill: string) =>
      g
        .append('rect')
        .attr('class', `bar bar-${part}`)
        .attr('x', x)
        .attr('y', top)
        .attr('width', barWidth)
        .attr('height', height)
        .attr('fill', fill)
    bar('passers-by', yPassers, round(bottom - yPassers), measureColours.passersBy)
    bar('visitors', yTotal, round(yPassers - yTotal), measureColours.visitors)
    if (highlight.has(column.key)) {
      g.append('rect')
        .attr('class', 'highlight')
        .attr('x', x - 1.5)
        .attr('y', yTotal - 1.5)
        .attr('width', barWidth + 3)
        .attr('height', round(bottom - yTotal + 1.5))
        .attr('fill', 'none')
        .attr('stroke', TEXT_COLOUR)
        .attr('stroke-width', 2)
    }
    if (i % every !== 0) return
    g.append('text')
      .attr('class', 'column-label')
      .attr('x', round(cx))
      .attr('y', bottom + 16)
      .attr('text-anchor', 'middle')
      .attr('font-weight', highlight.has(column.key) ? 700 : null)
      .attr('fill', TEXT_COLOUR)
      .text(column.label)
  })
}
