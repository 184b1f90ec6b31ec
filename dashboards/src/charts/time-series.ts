import { area, axisLeft, line, max, scaleLinear, scaleUtc } from 'd3'
import { createCountFormat, createDateFormats } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  createSvg,
  drawLegend,
  nodeOf,
  okabeIto,
  renderState,
  round,
  textWidth,
  tickCount,
  type StateLabels,
} from './chart-kit.ts'
import { localTicks } from './time-axis.ts'

export interface TimePoint {
  /** Bucket start, ISO 8601. */
  t: string
  value: number
}

export interface TimeSeriesData {
  /** The period shown on the x axis: [from, to). */
  from: string
  to: string
  current: readonly TimePoint[]
  /** The comparison period, already shifted onto the current period's times. */
  baseline: readonly TimePoint[]
}

export interface TimeSeriesOptions {
  width: number
  height?: number
  locale: string
  timeZone: string
  labels: StateLabels & { current: string; baseline: string; yAxis: string }
}

export const seriesColours = { current: okabeIto.blue, baseline: '#3e4c59' } as const

const MARGIN = { top: 34, right: 16, bottom: 30 }

/** A footfall line for the current period against a dashed line for the comparison period. */
export function renderTimeSeries(
  container: Element,
  data: TimeSeriesData | null,
  opts: TimeSeriesOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 260))
  const { labels } = opts
  if (!data) {
    return renderState(container, {
      className: 'time-series',
      width,
      height,
      text: labels.loading,
      loading: true,
    })
  }
  const all = [...data.current, ...data.baseline]
  const maxValue = max(all, (p) => p.value) ?? 0
  if (maxValue === 0) {
    return renderState(container, {
      className: 'time-series',
      width,
      text: labels.empty,
      loading: false,
    })
  }

  const count = createCountFormat(opts.locale)
  const dates = createDateFormats(opts.locale, opts.timeZone)
  const fromMs = Date.parse(data.from)
  const toMs = Date.parse(data.to)
  const y = scaleLinear().domain([0, maxValue]).nice().range([0, 1])
  const yTicks = y.ticks(Math.max(2, Math.floor((height - 90) / 40))).filter(Number.isInteger)
  const marginLeft = 24 + Math.max(...yTicks.map((v) => textWidth(count(v))), 14)
  const innerWidth = width - marginLeft - MARGIN.right

  const legendItems = [
    {
      key: 'current',
      label: labels.current,
      swatch: { kind: 'line' as const, stroke: seriesColours.current },
    },
    {
      key: 'baseline',
      label: labels.baseline,
      swatch: { kind: 'line' as const, stroke: seriesColours.baseline, dash: '6 4', width: 2 },
    },
  ]
  const svg = createSvg(container, {
    className: 'time-series',
    width,
    height,
    label: '',
  })
  const legendHeight = drawLegend(svg, legendItems, { x: marginLeft, y: 4, maxWidth: innerWidth })
  const top = Math.max(MARGIN.top, legendHeight + 14)
  const innerHeight = height - top - MARGIN.bottom
  y.range([top + innerHeight, top])
  const x = scaleUtc()
    .domain([fromMs, toMs])
    .range([marginLeft, marginLeft + innerWidth])

  const sumCurrent = data.current.reduce((n, p) => n + p.value, 0)
  const sumBaseline = data.baseline.reduce((n, p) => n + p.value, 0)
  svg.attr(
    'aria-label',
    `${labels.yAxis}. ${labels.current}: ${count(sumCurrent)}; ${labels.baseline}: ${count(sumBaseline)}`,
  )

  svg
    .append('g')
    .attr('class', 'grid')
    .attr('aria-hidden', 'true')
    .selectAll('line')
    .data(yTicks)
    .join('line')
    .attr('x1', marginLeft)
    .attr('x2', marginLeft + innerWidth)
    .attr('y1', (v) => round(y(v)))
    .attr('y2', (v) => round(y(v)))
    .attr('stroke', GRID_COLOUR)

  const yAxis = svg
    .append('g')
    .attr('class', 'y-axis')
    .attr('transform', `translate(${marginLeft},0)`)
    .call(
      axisLeft(y)
        .tickValues(yTicks)
        .tickSize(0)
        .tickPadding(6)
        .tickFormat((v) => count(v.valueOf())),
    )
  yAxis.attr('font-size', null).attr('font-family', null)
  yAxis.select('.domain').remove()
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('transform', `translate(12,${round(top + innerHeight / 2)}) rotate(-90)`)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.yAxis)

  const { ticks, daily } = localTicks(fromMs, toMs, opts.timeZone, tickCount(innerWidth, 90))
  const xAxis = svg
    .append('g')
    .attr('class', 'x-axis')
    .attr('transform', `translate(0,${top + innerHeight})`)
  xAxis
    .append('line')
    .attr('x1', marginLeft)
    .attr('x2', marginLeft + innerWidth)
    .attr('stroke', TEXT_COLOUR)
  for (const tick of ticks) {
    const tx = round(x(tick))
    xAxis.append('line').attr('x1', tx).attr('x2', tx).attr('y2', 5).attr('stroke', TEXT_COLOUR)
    xAxis
      .append('text')
      .attr('x', tx)
      .attr('y', 18)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(daily ? dates.day(new Date(tick)) : dates.time(new Date(tick)))
  }

  const toXY = (p: TimePoint): [number, number] => [round(x(Date.parse(p.t))), round(y(p.value))]
  const path = line<TimePoint>()
    .x((p) => toXY(p)[0])
    .y((p) => toXY(p)[1])
  const fill = area<TimePoint>()
    .x((p) => toXY(p)[0])
    .y0(top + innerHeight)
    .y1((p) => toXY(p)[1])

  if (data.baseline.length > 0) {
    svg
      .append('path')
      .attr('class', 'series series-baseline')
      .attr('d', path([...data.baseline]) ?? '')
      .attr('fill', 'none')
      .attr('stroke', seriesColours.baseline)
      .attr('stroke-width', 2)
      .attr('stroke-dasharray', '6 4')
  }
  if (data.current.length > 0) {
    svg
      .append('path')
      .attr('class', 'area-current')
      .attr('d', fill([...data.current]) ?? '')
      .attr('fill', seriesColours.current)
      .attr('fill-opacity', 0.12)
    svg
      .append('path')
      .attr('class', 'series series-current')
      .attr('d', path([...data.current]) ?? '')
      .attr('fill', 'none')
      .attr('stroke', seriesColours.current)
      .attr('stroke-width', 2.5)
    const last = data.current[data.current.length - 1]
    if (last) {
      const [lx, ly] = toXY(last)
      svg
        .append('circle')
        .attr('class', 'last-point')
        .attr('cx', lx)
        .attr('cy', ly)
        .attr('r', 4)
        .attr('fill', seriesColours.current)
        .append('title')
        .text(`${dates.dayTime(new Date(last.t))}: ${count(last.value)}`)
    }
  }
  return nodeOf(svg)
}
