import { line, max, scaleLinear, scaleUtc, type ScaleLinear, type ScaleTime } from 'd3'
import { createDateFormats, createDecimalFormat, type DateFormats } from '../format.ts'
import { chartWidth, okabeIto, round, textWidth, type StateLabels } from './chart-kit.ts'
import { createFrame, drawChart, type Frame, type LegendItem } from './frame.ts'
import { drawLocalTimeAxis } from './time-axis.ts'

/** One bucket of a count source series: its start and the mean devices per report (null: none). */
export interface DevicePoint {
  t: string
  value: number | null
}

export interface DeviceCountsData {
  /** The period on the x axis: [from, to). */
  from: string
  to: string
  /** The bucket width: points further apart than one and a half widths are not joined. */
  stepMs: number
  wifi: readonly DevicePoint[]
  ble: readonly DevicePoint[]
}

export interface DeviceCountsOptions {
  width: number
  height?: number
  locale: string
  timeZone: string
  labels: StateLabels & {
    /** Said first in the description: "Device counts, not pedestrians". */
    notice: string
    wifi: string
    ble: string
    yAxis: string
    peak: string
  }
}

type Radio = 'wifi' | 'ble'

/**
 * Not the footfall colours (blue passers-by, orange visitors): device counts must not read as
 * people. Wi-Fi is a solid line with round marks, BLE a dashed line with square marks.
 */
export const deviceColours: Record<Radio, string> = {
  wifi: okabeIto.bluishGreen,
  ble: okabeIto.reddishPurple,
}
const DASH: Record<Radio, string | null> = { wifi: null, ble: '6 4' }
const MARK: Record<Radio, string> = {
  wifi: 'M0,-3A3,3 0 1,1 0,3A3,3 0 1,1 0,-3Z',
  ble: 'M-3,-3H3V3H-3Z',
}

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

const values = (d: DeviceCountsData) =>
  [...d.wifi, ...d.ble].flatMap((p) => (p.value === null ? [] : [p.value]))

/**
 * Devices counted by count sources (Paxcounter) over time: the mean devices per report in each
 * bucket, one line per radio. Device counts, not pedestrians — the description says so first.
 */
export function renderDeviceCounts(
  container: Element,
  data: DeviceCountsData | null,
  opts: DeviceCountsOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const height = Math.max(180, Math.round(opts.height ?? 240))
  return drawChart(
    container,
    data,
    {
      className: 'device-counts',
      width,
      loadingHeight: height,
      labels: opts.labels,
      isEmpty: (d) => values(d).length === 0,
    },
    (d) =>
      drawDeviceCounts(
        createFrame(container, { className: 'device-counts', width, height }),
        d,
        height,
        opts,
      ),
  )
}

function drawDeviceCounts(
  frame: Frame,
  data: DeviceCountsData,
  height: number,
  opts: DeviceCountsOptions,
): SVGSVGElement {
  const { labels } = opts
  const whole = createDecimalFormat(opts.locale, 0)
  const format = createDecimalFormat(opts.locale, 1)
  const y = scaleLinear()
    .domain([0, Math.max(1, max(values(data)) ?? 0)])
    .nice()
  const yTicks = y.ticks(Math.max(2, Math.floor((height - 90) / 40))).filter(Number.isInteger)
  const left = 24 + Math.max(...yTicks.map((v) => textWidth(whole(v))), 14)
  const plotWidth = frame.width - left - MARGIN.right
  const legend: LegendItem[] = (['wifi', 'ble'] as const).map((radio) => ({
    key: radio,
    label: labels[radio],
    swatch: {
      kind: 'line',
      stroke: deviceColours[radio],
      width: 2.5,
      ...(DASH[radio] ? { dash: DASH[radio] } : {}),
    },
  }))
  const top = Math.max(
    MARGIN.top,
    frame.legend(legend, { x: left, y: 4, maxWidth: plotWidth }) + 14,
  )
  const plotHeight = height - top - MARGIN.bottom
  const plot: Plot = {
    left,
    top,
    width: plotWidth,
    height: plotHeight,
    x: scaleUtc()
      .domain([Date.parse(data.from), Date.parse(data.to)])
      .range([left, left + plotWidth]),
    y: y.range([top + plotHeight, top]),
    format,
    dates: createDateFormats(opts.locale, opts.timeZone),
  }
  const peak = (points: readonly DevicePoint[]) => {
    const top = max(points, (p) => p.value ?? undefined)
    return top === undefined ? '–' : format(top)
  }
  frame.label(
    `${labels.notice}. ${labels.yAxis}. ${labels.wifi}: ${labels.peak} ${peak(data.wifi)}; ${labels.ble}: ${labels.peak} ${peak(data.ble)}`,
  )
  frame
    .grid(yTicks, (v) => [left, left + plotWidth, round(plot.y(v)), round(plot.y(v))])
    .yTicks(yTicks, { x: left - 6, y: (v) => round(plot.y(v)), format: whole })
    .yTitle(labels.yAxis, plot)
  drawXAxis(frame, plot, data, opts.timeZone)
  for (const radio of ['wifi', 'ble'] as const) drawRadio(frame, plot, data, radio, labels[radio])
  return frame.node()
}

/** Ticks on local wall-clock hours (or midnights over several days) in the district's zone. */
function drawXAxis(frame: Frame, plot: Plot, data: DeviceCountsData, timeZone: string): void {
  const span = { fromMs: Date.parse(data.from), toMs: Date.parse(data.to), timeZone }
  drawLocalTimeAxis(frame, plot, span, plot.dates)
}

/** One radio's line, broken where a bucket has no report, with a mark per bucket. */
function drawRadio(
  frame: Frame,
  plot: Plot,
  data: DeviceCountsData,
  radio: Radio,
  label: string,
): void {
  const points = data[radio]
    .filter((p): p is { t: string; value: number } => p.value !== null)
    .map((p) => ({ ...p, ms: Date.parse(p.t) }))
    .sort((a, b) => a.ms - b.ms)
  if (points.length === 0) return
  // A gap (a count source silent for a while) breaks the line instead of bridging it.
  const joined: ({ ms: number; value: number } | null)[] = []
  for (const [i, p] of points.entries()) {
    const previous = points[i - 1]
    if (previous && p.ms - previous.ms > 1.5 * data.stepMs) joined.push(null)
    joined.push(p)
  }
  const g = frame.svg.append('g').attr('class', `radio radio-${radio}`)
  const path = line<{ ms: number; value: number } | null>()
    .defined((p) => p !== null)
    .x((p) => round(plot.x(p?.ms ?? 0)))
    .y((p) => round(plot.y(p?.value ?? 0)))
  const stroke = g
    .append('path')
    .attr('class', `series series-${radio}`)
    .attr('d', path(joined) ?? '')
    .attr('fill', 'none')
    .attr('stroke', deviceColours[radio])
    .attr('stroke-width', 2.5)
  const dash = DASH[radio]
  if (dash) stroke.attr('stroke-dasharray', dash)
  for (const p of points) {
    g.append('path')
      .attr('class', 'mark')
      .attr('transform', `translate(${round(plot.x(p.ms))},${round(plot.y(p.value))})`)
      .attr('d', MARK[radio])
      .attr('fill', deviceColours[radio])
      .append('title')
      .text(`${plot.dates.dayTime(new Date(p.ms))}: ${label} ${plot.format(p.value)}`)
  }
}
