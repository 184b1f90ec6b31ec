import { max, scaleLinear } from 'd3'
import { createCountFormat, createPercentFormat } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  createSvg,
  nodeOf,
  okabeIto,
  renderState,
  round,
  type StateLabels,
} from './chart-kit.ts'

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

/** Visitors by time inside, five fixed bins (< 1, 1–5, 5–15, 15–60, > 60 min), count and share. */
export function renderDwellHistogram(
  container: Element,
  data: DwellHistogramData | null,
  opts: DwellHistogramOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const { labels } = opts
  const height = 240
  if (!data) {
    return renderState(container, {
      className: 'dwell-histogram',
      width,
      height,
      text: labels.loading,
      loading: true,
    })
  }
  const values = DWELL_BINS.map((bin) => ({ bin, value: data.bins[bin] }))
  const total = values.reduce((n, v) => n + v.value, 0)
  if (total === 0) {
    return renderState(container, {
      className: 'dwell-histogram',
      width,
      text: labels.empty,
      loading: false,
    })
  }
  const count = createCountFormat(opts.locale)
  const percent = createPercentFormat(opts.locale, 0)
  const margin = { top: 28, right: 8, bottom: 46, left: 48 }
  const innerWidth = width - margin.left - margin.right
  const innerHeight = height - margin.top - margin.bottom
  const y = scaleLinear()
    .domain([0, max(values, (v) => v.value) ?? 1])
    .nice()
    .range([margin.top + innerHeight, margin.top])
  const band = innerWidth / DWELL_BINS.length
  const barWidth = round(Math.min(band * 0.7, 90))

  const svg = createSvg(container, {
    className: 'dwell-histogram',
    width,
    height,
    label: `${labels.yAxis}: ${values.map((v) => `${labels.bins[v.bin]} ${count(v.value)}`).join(', ')}`,
  })
  const ticks = y.ticks(4).filter(Number.isInteger)
  svg
    .append('g')
    .attr('class', 'grid')
    .attr('aria-hidden', 'true')
    .selectAll('line')
    .data(ticks)
    .join('line')
    .attr('x1', margin.left)
    .attr('x2', margin.left + innerWidth)
    .attr('y1', (v) => round(y(v)))
    .attr('y2', (v) => round(y(v)))
    .attr('stroke', GRID_COLOUR)
  svg
    .append('g')
    .attr('class', 'y-axis')
    .selectAll('text')
    .data(ticks)
    .join('text')
    .attr('x', margin.left - 6)
    .attr('y', (v) => round(y(v)))
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text((v) => count(v))
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('transform', `translate(12,${round(margin.top + innerHeight / 2)}) rotate(-90)`)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.yAxis)

  const bars = svg.append('g').attr('class', 'bins')
  values.forEach((v, i) => {
    const cx = margin.left + band * (i + 0.5)
    const top = round(y(v.value))
    const g = bars.append('g').attr('class', 'bin').attr('data-bin', v.bin)
    g.append('title').text(`${labels.bins[v.bin]}: ${count(v.value)} (${percent(v.value / total)})`)
    g.append('rect')
      .attr('x', round(cx - barWidth / 2))
      .attr('y', top)
      .attr('width', barWidth)
      .attr('height', round(margin.top + innerHeight - top))
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
      .attr('y', margin.top + innerHeight + 16)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(labels.bins[v.bin])
  })
  svg
    .append('line')
    .attr('x1', margin.left)
    .attr('x2', margin.left + innerWidth)
    .attr('y1', margin.top + innerHeight)
    .attr('y2', margin.top + innerHeight)
    .attr('stroke', TEXT_COLOUR)
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('x', round(margin.left + innerWidth / 2))
    .attr('y', height - 8)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.xAxis)
  return nodeOf(svg)
}
