import { max, scaleLinear } from 'd3'
import { createCountFormat, createPercentFormat } from '../format.ts'
import { TEXT_COLOUR, chartWidth, okabeIto, round, type StateLabels } from './chart-kit.ts'
import { createFrame, drawChart, type Frame } from './frame.ts'

export const DWELL_BINS = ['lt1m', 'm1to5', 'm5to15', 'm15to60', 'gt60m'] as const
export type DwellBin = (typeof DWELL_BINS)[number]

export interface DwellHistogramData {
  /** Visitors per dwell bin (the API's histogram). */
  bins: Readonly<Record<DwellBin, number>>
}

export interface DwellHistogramOptions {
  width: number
  locale: string
  labels: StateLabels & { bins: Record<DwellBin, string>; yAxis: string; xAxis: string }
}

export const dwellColour = okabeIto.bluishGreen

const HEIGHT = 240
const MARGIN = { top: 28, right: 8, bottom: 46, left: 48 }

/** Visitors by time inside, five fixed bins (< 1, 1–5, 5–15, 15–60, > 60 min), count and share. */
export function renderDwellHistogram(
  container: Element,
  data: DwellHistogramData | null,
  opts: DwellHistogramOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  return drawChart(
    container,
    data,
    {
      className: 'dwell-histogram',
      width,
      loadingHeight: HEIGHT,
      labels: opts.labels,
      isEmpty: (d) => DWELL_BINS.every((bin) => d.bins[bin] === 0),
    },
    (d) => drawHistogram(container, d, width, opts),
  )
}

function drawHistogram(
  container: Element,
  data: DwellHistogramData,
  width: number,
  opts: DwellHistogramOptions,
): SVGSVGElement {
  const { labels } = opts
  const values = DWELL_BINS.map((bin) => ({ bin, value: data.bins[bin] }))
  const count = createCountFormat(opts.locale)
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: HEIGHT - MARGIN.top - MARGIN.bottom,
  }
  const bottom = plot.top + plot.height
  const y = scaleLinear()
    .domain([0, max(values, (v) => v.value) ?? 1])
    .nice()
    .range([bottom, plot.top])
  const frame = createFrame(container, {
    className: 'dwell-histogram',
    width,
    height: HEIGHT,
    label: `${labels.yAxis}: ${values.map((v) => `${labels.bins[v.bin]} ${count(v.value)}`).join(', ')}`,
  })
  const ticks = y.ticks(4).filter(Number.isInteger)
  frame
    .grid(ticks, (v) => [plot.left, plot.left + plot.width, round(y(v)), round(y(v))])
    .yTicks(ticks, { x: plot.left - 6, y: (v) => round(y(v)), format: count })
    .yTitle(labels.yAxis, plot)
  drawBins(frame, values, {
    ...plot,
    y,
    count,
    percent: createPercentFormat(opts.locale, 0),
    labels,
  })
  return frame
    .baseline({ x1: plot.left, x2: plot.left + plot.width, y: bottom })
    .xTitle(labels.xAxis, { x: round(plot.left + plot.width / 2), y: HEIGHT - 8 })
    .node()
}

function drawBins(
  frame: Frame,
  values: readonly { bin: DwellBin; value: number }[],
  plot: {
    left: number
    top: number
    width: number
    height: number
    y: (value: number) => number
    count: (value: number) => string
    percent: (share: number) => string
    labels: DwellHistogramOptions['labels']
  },
): void {
  const { count, percent, labels } = plot
  const total = values.reduce((n, v) => n + v.value, 0)
  const bottom = plot.top + plot.height
  const band = plot.width / DWELL_BINS.length
  const barWidth = round(Math.min(band * 0.7, 90))
  const bars = frame.svg.append('g').attr('class', 'bins')
  values.forEach((v, i) => {
    const cx = plot.left + band * (i + 0.5)
    const top = round(plot.y(v.value))
    const g = bars.append('g').attr('class', 'bin').attr('data-bin', v.bin)
    g.append('title').text(`${labels.bins[v.bin]}: ${count(v.value)} (${percent(v.value / total)})`)
    g.append('rect')
      .attr('x', round(cx - barWidth / 2))
      .attr('y', top)
      .attr('width', barWidth)
      .attr('height', round(bottom - top))
      .attr('fill', dwellColour)
    g.append('text')
      .attr('class', 'value')
      .attr('x', round(cx))
      .attr('y', top - 6)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(`${count(v.value)} · ${percent(v.value / total)}`)
    g.append('text')
      .attr('class', 'bin-label')
      .attr('x', round(cx))
      .attr('y', bottom + 16)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(labels.bins[v.bin])
  })
}
