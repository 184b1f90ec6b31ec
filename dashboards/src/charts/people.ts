import { area, line, max, scaleLinear, scaleUtc, type ScaleLinear, type ScaleTime } from 'd3'
import { createDateFormats, createDecimalFormat, type DateFormats } from '../format.ts'
import { chartWidth, okabeIto, round, textWidth, type StateLabels } from './chart-kit.ts'
import { createFrame, drawChart, type Frame, type LegendItem } from './frame.ts'
import { drawLocalTimeAxis } from './time-axis.ts'

/** One bucket: people present (mean) with its 90 % interval, and people arriving in it. */
export interface PeoplePoint {
  /** Bucket start. */
  t: string
  present: number
  low: number
  high: number
  arrivals: number
}

export interface PeopleChartData {
  /** The period on the x axis: [from, to). */
  from: string
  to: string
  stepMs: number
  points: readonly PeoplePoint[]
  /** false: at least one figure came from an uncalibrated gateway (wide default interval). */
  calibrated: boolean
}

export interface PeopleChartOptions {
  width: number
  height?: number
  locale: string
  timeZone: string
  labels: StateLabels & {
    present: string
    interval: string
    arrivals: string
    yAxis: string
    /** Said in the description when `calibrated` is false. */
    uncalibrated: string
    peak: string
  }
}

/**
 * People, not devices: vermillion for presence (line and its band) and grey-blue columns for
 * arrivals, apart from the footfall pair (blue, orange) and the device counts (green, purple).
 */
export const peopleColours = { present: okabeIto.vermillion, arrivals: okabeIto.skyBlue } as const
/** The band's and the columns' opacities, and the colours they give on white (for the legend). */
const BAND_OPACITY = 0.18
const ARRIVALS_OPACITY = 0.45
const BAND_ON_WHITE = '#f7e2d1'
const ARRIVALS_ON_WHITE = '#b3ddf5'

const MARGIN = { top: 34, right: 16, bottom: 30 }

interface Plot {
  left: number
  top: number
  width: number
  height: number
  x: ScaleTime<number, number>
  y: ScaleLinear<number, number>
  format: (value: number) => string
  dates: DateFormats
}

/**
 * People present over time as a line inside its 90 % interval band, with the people arriving per
 * bucket as columns behind it, on one axis of people. Without a calibration the description says
 * the figures are devices counted as people with a wide interval.
 */
export function renderPeople(
  container: Element,
  data: PeopleChartData | null,
  opts: PeopleChartOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 240))
  return drawChart(
    container,
    data,
    {
      className: 'people',
      width,
      loadingHeight: height,
      labels: opts.labels,
      isEmpty: (d) => d.points.length === 0,
    },
    (d) =>
      drawPeople(createFrame(container, { className: 'people', width, height }), d, height, opts),
  )
}

function drawPeople(
  frame: Frame,
  data: PeopleChartData,
  height: number,
  opts: PeopleChartOptions,
): SVGSVGElement {
  const { labels } = opts
  const whole = createDecimalFormat(opts.locale, 0)
  const format = createDecimalFormat(opts.locale, 1)
  const top = max(data.points, (p) => Math.max(p.high, p.arrivals)) ?? 0
  const y = scaleLinear()
    .domain([0, Math.max(1, top)])
    .nice()
  const yTicks = y.ticks(Math.max(2, Math.floor((height - 90) / 40))).filter(Number.isInteger)
  const left = 24 + Math.max(...yTicks.map((v) => textWidth(whole(v))), 14)
  const plotWidth = frame.width - left - MARGIN.right
  const legend: LegendItem[] = [
    {
      key: 'present',
      label: labels.present,
      swatch: { kind: 'line', stroke: peopleColours.present, width: 2.5 },
    },
    {
      key: 'interval',
      label: labels.interval,
      swatch: { kind: 'rect', fill: BAND_ON_WHITE, stroke: peopleColours.present },
    },
    {
      key: 'arrivals',
      label: labels.arrivals,
      swatch: { kind: 'rect', fill: ARRIVALS_ON_WHITE },
    },
  ]
  const legendBottom = frame.legend(legend, { x: left, y: 4, maxWidth: plotWidth })
  const plotTop = Math.max(MARGIN.top, legendBottom + 14)
  const plotHeight = height - plotTop - MARGIN.bottom
  const plot: Plot = {
    left,
    top: plotTop,
    width: plotWidth,
    height: plotHeight,
    x: scaleUtc()
      .domain([Date.parse(data.from), Date.parse(data.to)])
      .range([left, left + plotWidth]),
    y: y.range([plotTop + plotHeight, plotTop]),
    format,
    dates: createDateFormats(opts.locale, opts.timeZone),
  }
  const peakPresent = max(data.points, (p) => p.present)
  const peakArrivals = max(data.points, (p) => p.arrivals)
  frame.label(
    [
      `${labels.yAxis}.`,
      `${labels.present}: ${labels.peak} ${peakPresent === undefined ? '–' : format(peakPresent)};`,
      `${labels.arrivals}: ${labels.peak} ${peakArrivals === undefined ? '–' : format(peakArrivals)}.`,
      data.calibrated ? '' : labels.uncalibrated,
    ]
      .filter(Boolean)
      .join(' '),
  )
  frame
    .grid(yTicks, (v) => [left, left + plotWidth, round(plot.y(v)), round(plot.y(v))])
    .yTicks(yTicks, { x: left - 6, y: (v) => round(plot.y(v)), format: whole })
    .yTitle(labels.yAxis, plot)
  drawXAxis(frame, plot, data, opts.timeZone)
  drawArrivals(frame, plot, data, labels.arrivals)
  drawPresent(frame, plot, data, labels)
  return frame.node()
}

function drawXAxis(frame: Frame, plot: Plot, data: PeopleChartData, timeZone: string): void {
  const span = { fromMs: Date.parse(data.from), toMs: Date.parse(data.to), timeZone }
  drawLocalTimeAxis(frame, plot, span, plot.dates)
}

/** A column per bucket, a pixel narrower than the bucket on each side. */
function drawArrivals(frame: Frame, plot: Plot, data: PeopleChartData, label: string): void {
  const g = frame.svg.append('g').attr('class', 'arrivals')
  for (const p of data.points) {
    const from = Date.parse(p.t)
    const x0 = plot.x(from)
    const x1 = plot.x(Math.min(from + data.stepMs, Date.parse(data.to)))
    const w = Math.max(1, x1 - x0 - 2)
    const yTop = plot.y(p.arrivals)
    g.append('rect')
      .attr('class', 'arrival')
      .attr('x', round(x0 + 1))
      .attr('y', round(yTop))
      .attr('width', round(w))
      .attr('height', round(plot.top + plot.height - yTop))
      .attr('fill', peopleColours.arrivals)
      .attr('fill-opacity', ARRIVALS_OPACITY)
      .append('title')
      .text(`${plot.dates.dayTime(new Date(from))}: ${label} ${plot.format(p.arrivals)}`)
  }
}

/** The 90 % band and the line of people present, at the middle of each bucket. */
function drawPresent(
  frame: Frame,
  plot: Plot,
  data: PeopleChartData,
  labels: PeopleChartOptions['labels'],
): void {
  const mid = (p: PeoplePoint) =>
    round(plot.x(Math.min(Date.parse(p.t) + data.stepMs / 2, Date.parse(data.to))))
  const g = frame.svg.append('g').attr('class', 'present')
  const band = area<PeoplePoint>()
    .x(mid)
    .y0((p) => round(plot.y(p.low)))
    .y1((p) => round(plot.y(p.high)))
  g.append('path')
    .attr('class', 'band')
    .attr('d', band([...data.points]) ?? '')
    .attr('fill', peopleColours.present)
    .attr('fill-opacity', BAND_OPACITY)
  const path = line<PeoplePoint>()
    .x(mid)
    .y((p) => round(plot.y(p.present)))
  g.append('path')
    .attr('class', 'series series-present')
    .attr('d', path([...data.points]) ?? '')
    .attr('fill', 'none')
    .attr('stroke', peopleColours.present)
    .attr('stroke-width', 2.5)
  for (const p of data.points) {
    g.append('circle')
      .attr('class', 'mark')
      .attr('cx', mid(p))
      .attr('cy', round(plot.y(p.present)))
      .attr('r', 3)
      .attr('fill', peopleColours.present)
      .append('title')
      .text(
        `${plot.dates.dayTime(new Date(Date.parse(p.t)))}: ${labels.present} ${plot.format(p.present)} (${labels.interval} ${plot.format(p.low)}–${plot.format(p.high)})`,
      )
  }
}
