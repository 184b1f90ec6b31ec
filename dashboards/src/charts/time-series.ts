import {
  area,
  axisLeft,
  line,
  max,
  scaleLinear,
  scaleUtc,
  type ScaleLinear,
  type ScaleTime,
} from 'd3'
import { createCountFormat, createDateFormats, type DateFormats } from '../format.ts'
import { chartWidth, okabeIto, round, textWidth, type StateLabels } from './chart-kit.ts'
import { createFrame, drawChart, type Frame } from './frame.ts'
import { drawLocalTimeAxis } from './time-axis.ts'

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
  /** The expected range per bucket of the current period (usual low–high), drawn shaded behind. */
  band?: readonly BandPoint[]
}

export interface BandPoint {
  /** Bucket start, ISO 8601. */
  t: string
  low: number
  high: number
}

export interface TimeSeriesOptions {
  width: number
  height?: number
  locale: string
  timeZone: string
  labels: StateLabels & { current: string; baseline: string; yAxis: string; band?: string }
}

export const seriesColours = {
  current: okabeIto.blue,
  baseline: '#3e4c59',
  band: '#9aa5b1',
} as const

const MARGIN = { top: 34, right: 16, bottom: 30 }

interface Plot {
  left: number
  top: number
  width: number
  height: number
  x: ScaleTime<number, number>
  y: ScaleLinear<number, number>
  count: (value: number) => string
  dates: DateFormats
}

/** A footfall line for the current period against a dashed line for the comparison period. */
export function renderTimeSeries(
  container: Element,
  data: TimeSeriesData | null,
  opts: TimeSeriesOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 260))
  return drawChart(
    container,
    data,
    {
      className: 'time-series',
      width,
      loadingHeight: height,
      labels: opts.labels,
      isEmpty: (d) => (max([...d.current, ...d.baseline], (p) => p.value) ?? 0) === 0,
    },
    (d) =>
      drawSeries(
        createFrame(container, { className: 'time-series', width, height, label: '' }),
        d,
        height,
        opts,
      ),
  )
}

function drawSeries(frame: Frame, data: TimeSeriesData, height: number, opts: TimeSeriesOptions) {
  const { labels } = opts
  const count = createCountFormat(opts.locale)
  const band = data.band ?? []
  const maxValue = Math.max(
    max([...data.current, ...data.baseline], (p) => p.value) ?? 0,
    max(band, (p) => p.high) ?? 0,
  )
  const y = scaleLinear().domain([0, maxValue]).nice().range([0, 1])
  const yTicks = y.ticks(Math.max(2, Math.floor((height - 90) / 40))).filter(Number.isInteger)
  const left = 24 + Math.max(...yTicks.map((v) => textWidth(count(v))), 14)
  const plotWidth = frame.width - left - MARGIN.right
  const legendHeight = frame.legend(
    [
      {
        key: 'current',
        label: labels.current,
        swatch: { kind: 'line', stroke: seriesColours.current },
      },
      {
        key: 'baseline',
        label: labels.baseline,
        swatch: { kind: 'line', stroke: seriesColours.baseline, dash: '6 4', width: 2 },
      },
      ...(band.length > 0 && labels.band
        ? [
            {
              key: 'band',
              label: labels.band,
              swatch: { kind: 'rect' as const, fill: seriesColours.band },
            },
          ]
        : []),
    ],
    { x: left, y: 4, maxWidth: plotWidth },
  )
  const top = Math.max(MARGIN.top, legendHeight + 14)
  const plotHeight = height - top - MARGIN.bottom
  y.range([top + plotHeight, top])
  const plot: Plot = {
    left,
    top,
    width: plotWidth,
    height: plotHeight,
    x: scaleUtc()
      .domain([Date.parse(data.from), Date.parse(data.to)])
      .range([left, left + plotWidth]),
    y,
    count,
    dates: createDateFormats(opts.locale, opts.timeZone),
  }
  const sum = (points: readonly TimePoint[]) => count(points.reduce((n, p) => n + p.value, 0))
  frame.label(
    `${labels.yAxis}. ${labels.current}: ${sum(data.current)}; ${labels.baseline}: ${sum(data.baseline)}`,
  )
  frame.grid(yTicks, (v) => [left, left + plotWidth, round(y(v)), round(y(v))])
  drawYAxis(frame, plot, yTicks, labels.yAxis)
  drawXAxis(frame, plot, data, opts.timeZone)
  drawBand(frame, plot, band)
  drawLines(frame, plot, data)
  return frame.node()
}

function drawYAxis(frame: Frame, plot: Plot, ticks: readonly number[], title: string): void {
  const yAxis = frame.svg
    .append('g')
    .attr('class', 'y-axis')
    .attr('transform', `translate(${plot.left},0)`)
    .call(
      axisLeft(plot.y)
        .tickValues(ticks)
        .tickSize(0)
        .tickPadding(6)
        .tickFormat((v) => plot.count(v.valueOf())),
    )
  yAxis.attr('font-size', null).attr('font-family', null)
  yAxis.select('.domain').remove()
  frame.yTitle(title, plot)
}

/** Ticks on local wall-clock hours (or midnights over several days) in the district's zone. */
function drawXAxis(frame: Frame, plot: Plot, data: TimeSeriesData, timeZone: string): void {
  const span = { fromMs: Date.parse(data.from), toMs: Date.parse(data.to), timeZone }
  drawLocalTimeAxis(frame, plot, span, plot.dates)
}

/** The expected range as a shaded step band behind the lines (one step per bucket). */
function drawBand(frame: Frame, plot: Plot, band: readonly BandPoint[]): void {
  if (band.length === 0) return
  const step = band.length > 1 ? Date.parse(band[1]?.t ?? '') - Date.parse(band[0]?.t ?? '') : 0
  const shape = area<BandPoint>()
    .x((p) => round(plot.x(Date.parse(p.t))))
    .y0((p) => round(plot.y(p.low)))
    .y1((p) => round(plot.y(p.high)))
  const points = band.flatMap((p) => {
    const end = Date.parse(p.t) + step
    return [
      p,
      { ...p, t: new Date(Math.min(end, plot.x.domain()[1]?.getTime() ?? end)).toISOString() },
    ]
  })
  frame.svg
    .append('path')
    .attr('class', 'band-expected')
    .attr('d', shape(points) ?? '')
    .attr('fill', seriesColours.band)
    .attr('fill-opacity', 0.35)
}

function drawLines(frame: Frame, plot: Plot, data: TimeSeriesData): void {
  const { svg } = frame
  const toXY = (p: TimePoint): [number, number] => [
    round(plot.x(Date.parse(p.t))),
    round(plot.y(p.value)),
  ]
  const path = line<TimePoint>()
    .x((p) => toXY(p)[0])
    .y((p) => toXY(p)[1])
  const fill = area<TimePoint>()
    .x((p) => toXY(p)[0])
    .y0(plot.top + plot.height)
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
  const last = data.current[data.current.length - 1]
  if (!last) return
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
  const [lx, ly] = toXY(last)
  svg
    .append('circle')
    .attr('class', 'last-point')
    .attr('cx', lx)
    .attr('cy', ly)
    .attr('r', 4)
    .attr('fill', seriesColours.current)
    .append('title')
    .text(`${plot.dates.dayTime(new Date(last.t))}: ${plot.count(last.value)}`)
}
