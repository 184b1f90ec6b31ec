import { max, scaleLinear } from 'd3'
import { createCountFormat, createDecimalFormat } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  createSvg,
  drawLegend,
  measureColours,
  nodeOf,
  renderState,
  round,
  textWidth,
  type StateLabels,
} from './chart-kit.ts'

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

/** Passers-by and visitors stacked per column (hours of a day, days of a week). */
export function renderStackedColumns(
  container: Element,
  data: StackedColumnsData | null,
  opts: StackedColumnsOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 240))
  const { labels } = opts
  if (!data) {
    return renderState(container, {
      className: 'stacked-columns',
      width,
      height,
      text: labels.loading,
      loading: true,
    })
  }
  const total = (c: Column) => c.passersBy + c.visitors
  const maxValue = max(data.columns, total) ?? 0
  if (maxValue === 0) {
    return renderState(container, {
      className: 'stacked-columns',
      width,
      text: labels.empty,
      loading: false,
    })
  }
  const digits = opts.digits ?? 0
  const format =
    digits === 0 ? createCountFormat(opts.locale) : createDecimalFormat(opts.locale, digits)
  const y = scaleLinear().domain([0, maxValue]).nice()
  // Whole counts get whole ticks (no "0, 0, 1, 1" from rounded fractions).
  const ticks = y.ticks(4).filter((v) => digits > 0 || Number.isInteger(v))
  const marginLeft = 30 + Math.max(...ticks.map((v) => textWidth(format(v))))
  const margin = { top: 34, right: 8, bottom: 44 }
  const innerWidth = width - marginLeft - margin.right

  const highlight = new Set(data.highlight ?? [])
  const highlighted = data.columns.filter((c) => highlight.has(c.key))
  const svg = createSvg(container, {
    className: 'stacked-columns',
    width,
    height,
    label: [
      `${labels.yAxis}: ${data.columns.map((c) => `${c.label} ${format(total(c))}`).join(', ')}`,
      highlighted.length > 0 && labels.highlight
        ? `${labels.highlight}: ${highlighted.map((c) => c.label).join(', ')}`
        : '',
    ]
      .filter(Boolean)
      .join('. '),
  })
  const legendHeight = drawLegend(
    svg,
    [
      {
        key: 'passers-by',
        label: labels.passersBy,
        swatch: { kind: 'rect', fill: measureColours.passersBy },
      },
      {
        key: 'visitors',
        label: labels.visitors,
        swatch: { kind: 'rect', fill: measureColours.visitors },
      },
      ...(highlighted.length > 0 && labels.highlight
        ? [
            {
              key: 'highlight',
              label: labels.highlight,
              swatch: { kind: 'rect' as const, fill: '#ffffff', stroke: TEXT_COLOUR },
            },
          ]
        : []),
    ],
    { x: marginLeft, y: 4, maxWidth: innerWidth },
  )
  const top = Math.max(margin.top, legendHeight + 14)
  const innerHeight = height - top - margin.bottom
  y.range([top + innerHeight, top])

  svg
    .append('g')
    .attr('class', 'grid')
    .attr('aria-hidden', 'true')
    .selectAll('line')
    .data(ticks)
    .join('line')
    .attr('x1', marginLeft)
    .attr('x2', marginLeft + innerWidth)
    .attr('y1', (v) => round(y(v)))
    .attr('y2', (v) => round(y(v)))
    .attr('stroke', GRID_COLOUR)
  svg
    .append('g')
    .attr('class', 'y-axis')
    .selectAll('text')
    .data(ticks)
    .join('text')
    .attr('x', marginLeft - 6)
    .attr('y', (v) => round(y(v)))
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text((v) => format(v))
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('transform', `translate(12,${round(top + innerHeight / 2)}) rotate(-90)`)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.yAxis)

  const band = innerWidth / Math.max(1, data.columns.length)
  const barWidth = round(Math.max(2, Math.min(band * 0.72, 56)))
  const longestLabel = Math.max(...data.columns.map((c) => textWidth(c.label)))
  const every = opts.labelEvery ?? Math.max(1, Math.ceil((longestLabel + 8) / band))
  const columns = svg.append('g').attr('class', 'columns')
  data.columns.forEach((column, i) => {
    const cx = marginLeft + band * (i + 0.5)
    const x = round(cx - barWidth / 2)
    const g = columns.append('g').attr('class', 'column').attr('data-key', column.key)
    g.append('title').text(
      `${column.label}: ${labels.passersBy} ${format(column.passersBy)}, ${labels.visitors} ${format(column.visitors)}`,
    )
    const yPassers = round(y(column.passersBy))
    const yTotal = round(y(total(column)))
    g.append('rect')
      .attr('class', 'bar bar-passers-by')
      .attr('x', x)
      .attr('y', yPassers)
      .attr('width', barWidth)
      .attr('height', round(top + innerHeight - yPassers))
      .attr('fill', measureColours.passersBy)
    g.append('rect')
      .attr('class', 'bar bar-visitors')
      .attr('x', x)
      .attr('y', yTotal)
      .attr('width', barWidth)
      .attr('height', round(yPassers - yTotal))
      .attr('fill', measureColours.visitors)
    if (highlight.has(column.key)) {
      g.append('rect')
        .attr('class', 'highlight')
        .attr('x', x - 1.5)
        .attr('y', yTotal - 1.5)
        .attr('width', barWidth + 3)
        .attr('height', round(top + innerHeight - yTotal + 1.5))
        .attr('fill', 'none')
        .attr('stroke', TEXT_COLOUR)
        .attr('stroke-width', 2)
    }
    if (i % every === 0) {
      g.append('text')
        .attr('class', 'column-label')
        .attr('x', round(cx))
        .attr('y', top + innerHeight + 16)
        .attr('text-anchor', 'middle')
        .attr('font-weight', highlight.has(column.key) ? 700 : null)
        .attr('fill', TEXT_COLOUR)
        .text(column.label)
    }
  })
  svg
    .append('line')
    .attr('x1', marginLeft)
    .attr('x2', marginLeft + innerWidth)
    .attr('y1', top + innerHeight)
    .attr('y2', top + innerHeight)
    .attr('stroke', TEXT_COLOUR)
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('x', round(marginLeft + innerWidth / 2))
    .attr('y', height - 8)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.xAxis)
  return nodeOf(svg)
}
