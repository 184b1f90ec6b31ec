import { area, line, max, scaleLinear, scaleUtc, type ScaleLinear, type ScaleTime } from 'd3'
import { createCountFormat, createDateFormats } from '../format.ts'
import {
  MUTED_COLOUR,
  chartWidth,
  okabeIto,
  round,
  textWidth,
  type StateLabels,
} from './chart-kit.ts'
import { createFrame, drawChart, type Frame } from './frame.ts'
import { drawLocalTimeAxis } from './time-axis.ts'
import type { TimePoint } from './time-series.ts'

/** One forecast hour: the value and its interval (null where the model has none). */
export interface ForecastPoint {
  t: string
  value: number | null
  low: number | null
  high: number | null
}

export interface OutlookData {
  /** [from, to) on the x axis: the past days, then the forecast days. */
  from: string
  to: string
  /** Where the observed series ends and the forecast begins. */
  now: string
  actual: readonly TimePoint[]
  forecast: readonly ForecastPoint[]
  /** One imported context variable (rain_mm, temperature_c…) drawn as bars along the bottom. */
  context: { variable: string; points: readonly TimePoint[] } | null
}

export interface OutlookOptions {
  width: number
  height?: number
  locale: string
  timeZone: string
  labels: StateLabels & {
    actual: string
    forecast: string
    interval: string
    now: string
    yAxis: string
    context: (variable: string) => string
  }
}

export const outlookColours = {
  actual: okabeIto.blue,
  forecast: okabeIto.vermillion,
  context: okabeIto.bluishGreen,
} as const

const MARGIN = { top: 34, right: 16, bottom: 30 }
/** The context bars take at most this share of the plot's height. */
const CONTEXT_SHARE = 0.25

interface Plot {
  left: number
  top: number
  width: number
  height: number
  x: ScaleTime<number, number>
  y: ScaleLinear<number, number>
}

/**
 * The district's (or a shop's) recent footfall (solid), the forecast of the next days (dashed) inside its shaded
 * interval, a line at "now", and an imported context series as bars on their own scale along the
 * bottom (the overlay of issue #17). Pure: the data in, the SVG out.
 */
export function renderOutlook(
  container: Element,
  data: OutlookData | null,
  opts: OutlookOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(200, Math.round(opts.height ?? 280))
  return drawChart(
    container,
    data,
    {
      className: 'outlook',
      width,
      loadingHeight: height,
      labels: opts.labels,
      isEmpty: (d) =>
        (max(d.actual, (p) => p.value) ?? 0) === 0 &&
        (max(d.forecast, (p) => p.value ?? 0) ?? 0) === 0,
    },
    (d) =>
      drawOutlook(
        createFrame(container, { className: 'outlook', width, height, label: '' }),
        d,
        height,
        opts,
      ),
  )
}

function drawOutlook(frame: Frame, data: OutlookData, height: number, opts: OutlookOptions) {
  const { labels } = opts
  const count = createCountFormat(opts.locale)
  const top = Math.max(
    ...[...data.actual.map((p) => p.value), ...data.forecast.map((p) => p.high ?? p.value ?? 0)],
    0,
  )
  const y = scaleLinear().domain([0, top]).nice().range([0, 1])
  const yTicks = y.ticks(Math.max(2, Math.floor((height - 90) / 40))).filter(Number.isInteger)
  const left = 24 + Math.max(...yTicks.map((v) => textWidth(count(v))), 14)
  const plotWidth = frame.width - left - MARGIN.right
  const legend = [
    // No observed hours yet (a page opened in the first hour of the day): no line to name.
    ...(data.actual.length
      ? [
          {
            key: 'actual',
            label: labels.actual,
            swatch: { kind: 'line' as const, stroke: outlookColours.actual },
          },
        ]
      : []),
    {
      key: 'forecast',
      label: labels.forecast,
      swatch: { kind: 'line' as const, stroke: outlookColours.forecast, dash: '5 3', width: 2 },
    },
    {
      key: 'interval',
      label: labels.interval,
      swatch: { kind: 'rect' as const, fill: '#f6c9a8' },
    },
    ...(data.context
      ? [
          {
            key: 'context',
            label: labels.context(data.context.variable),
            swatch: { kind: 'rect' as const, fill: outlookColours.context },
          },
        ]
      : []),
  ]
  const legendHeight = frame.legend(legend, { x: left, y: 4, maxWidth: plotWidth })
  const plotTop = Math.max(MARGIN.top, legendHeight + 14)
  const plotHeight = height - plotTop - MARGIN.bottom
  y.range([plotTop + plotHeight, plotTop])
  const plot: Plot = {
    left,
    top: plotTop,
    width: plotWidth,
    height: plotHeight,
    x: scaleUtc()
      .domain([Date.parse(data.from), Date.parse(data.to)])
      .range([left, left + plotWidth]),
    y,
  }
  const total = (values: readonly (number | null)[]) =>
    count(Math.round(values.reduce<number>((n, v) => n + (v ?? 0), 0)))
  frame.label(
    `${labels.yAxis}. ${labels.actual}: ${total(data.actual.map((p) => p.value))}; ${labels.forecast}: ${total(data.forecast.map((p) => p.value))}`,
  )
  frame.grid(yTicks, (v) => [left, left + plotWidth, round(y(v)), round(y(v))])
  frame.yTicks(yTicks, { x: left - 6, y: (v) => round(y(v)), format: count })
  frame.yTitle(labels.yAxis, plot)
  drawXAxis(frame, plot, data, opts)
  if (data.context) drawContext(frame, plot, data.context)
  drawMarks(frame, plot, data)
  drawNow(frame, plot, data, labels.now)
  return frame.node()
}

function drawXAxis(frame: Frame, plot: Plot, data: OutlookData, opts: OutlookOptions): void {
  const span = { fromMs: Date.parse(data.from), toMs: Date.parse(data.to), timeZone: opts.timeZone }
  drawLocalTimeAxis(frame, plot, span, createDateFormats(opts.locale, opts.timeZone))
}

function drawContext(frame: Frame, plot: Plot, context: NonNullable<OutlookData['context']>): void {
  const top = max(context.points, (p) => p.value) ?? 0
  if (top <= 0) return
  const barHeight = plot.height * CONTEXT_SHARE
  const g = frame.svg.append('g').attr('class', 'context')
  const step = Math.max(2, round(plot.x(3_600_000) - plot.x(0)) - 1)
  for (const p of context.points) {
    const t = Date.parse(p.t)
    const x = plot.x(t)
    if (x < plot.left || x > plot.left + plot.width || p.value <= 0) continue
    const h = round((p.value / top) * barHeight)
    g.append('rect')
      .attr('class', 'context-bar')
      .attr('x', round(x))
      .attr('y', round(plot.top + plot.height - h))
      .attr('width', step)
      .attr('height', h)
      .attr('fill', outlookColours.context)
      .attr('fill-opacity', 0.55)
      .append('title')
      .text(`${context.variable}: ${p.value}`)
  }
}

function drawMarks(frame: Frame, plot: Plot, data: OutlookData): void {
  const { svg } = frame
  const x = (p: { t: string }) => round(plot.x(Date.parse(p.t)))
  const withInterval = data.forecast.filter((p) => p.low !== null && p.high !== null)
  if (withInterval.length) {
    const band = area<ForecastPoint>()
      .x(x)
      .y0((p) => round(plot.y(p.low ?? 0)))
      .y1((p) => round(plot.y(p.high ?? 0)))
    svg
      .append('path')
      .attr('class', 'forecast-interval')
      .attr('d', band([...withInterval]) ?? '')
      .attr('fill', '#f6c9a8')
      .attr('fill-opacity', 0.7)
  }
  const withValue = data.forecast.filter((p) => p.value !== null)
  if (withValue.length) {
    const path = line<ForecastPoint>()
      .x(x)
      .y((p) => round(plot.y(p.value ?? 0)))
    svg
      .append('path')
      .attr('class', 'series forecast')
      .attr('d', path([...withValue]) ?? '')
      .attr('fill', 'none')
      .attr('stroke', outlookColours.forecast)
      .attr('stroke-width', 2)
      .attr('stroke-dasharray', '5 3')
  }
  if (data.actual.length) {
    const path = line<TimePoint>()
      .x(x)
      .y((p) => round(plot.y(p.value)))
    svg
      .append('path')
      .attr('class', 'series actual')
      .attr('d', path([...data.actual]) ?? '')
      .attr('fill', 'none')
      .attr('stroke', outlookColours.actual)
      .attr('stroke-width', 2)
  }
}

function drawNow(frame: Frame, plot: Plot, data: OutlookData, label: string): void {
  const nx = round(plot.x(Date.parse(data.now)))
  if (nx < plot.left || nx > plot.left + plot.width) return
  const g = frame.svg.append('g').attr('class', 'now')
  g.append('line')
    .attr('x1', nx)
    .attr('x2', nx)
    .attr('y1', plot.top)
    .attr('y2', plot.top + plot.height)
    .attr('stroke', MUTED_COLOUR)
    .attr('stroke-dasharray', '2 3')
  g.append('text')
    .attr('x', nx + 4)
    .attr('y', plot.top + 12)
    .attr('fill', MUTED_COLOUR)
    .text(label)
}
