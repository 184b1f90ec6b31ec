import { max } from 'd3'
import { createDecimalFormat, hourRange } from '../format.ts'
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  NO_DATA_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  createSvg,
  nodeOf,
  renderState,
  round,
  sequentialBlues,
  sequentialColour,
  textWidth,
  type StateLabels,
} from './chart-kit.ts'

export interface HeatmapData {
  /** Weekday 1 = Monday … 7, local hour 0–23; `value` null when the range holds no such hour. */
  cells: readonly { weekday: number; hour: number; value: number | null }[]
}

export interface HeatmapOptions {
  width: number
  locale: string
  labels: StateLabels & {
    /** Monday first. */
    weekdays: readonly string[]
    hourAxis: string
    /** What a cell's value is, with its unit: "Mean transits per hour". */
    value: string
    noData: string
    busiest: string
  }
}

const LEGEND_HEIGHT = 52
const AXIS_HEIGHT = 40

/** Hour × weekday grid of one measure, on a light-to-dark blue ramp, busiest cell outlined. */
export function renderHeatmap(
  container: Element,
  data: HeatmapData | null,
  opts: HeatmapOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const { labels } = opts
  if (!data) {
    return renderState(container, {
      className: 'heatmap',
      width,
      height: 200,
      text: labels.loading,
      loading: true,
    })
  }
  const maxValue = max(data.cells, (cell) => cell.value ?? 0) ?? 0
  if (maxValue === 0) {
    return renderState(container, {
      className: 'heatmap',
      width,
      text: labels.empty,
      loading: false,
    })
  }

  const format = createDecimalFormat(opts.locale, 1)
  const marginLeft = clamp(Math.max(...labels.weekdays.map((d) => textWidth(d))) + 10, 36, 120)
  const marginRight = 8
  const cellWidth = (width - marginLeft - marginRight) / 24
  const cellHeight = round(clamp(cellWidth * 0.75, 18, 30))
  const gridTop = 20
  const gridHeight = cellHeight * 7
  const axisY = gridTop + gridHeight
  const height = Math.ceil(axisY + AXIS_HEIGHT + LEGEND_HEIGHT)
  const busiest = data.cells.reduce<HeatmapData['cells'][number] | null>(
    (best, cell) => ((cell.value ?? 0) > (best?.value ?? 0) ? cell : best),
    null,
  )
  const nameOf = (weekday: number) => labels.weekdays[weekday - 1] ?? String(weekday)
  const describe = (cell: HeatmapData['cells'][number]) =>
    `${nameOf(cell.weekday)} ${hourRange(cell.hour)}: ${cell.value === null ? labels.noData : format(cell.value)}`

  const svg = createSvg(container, {
    className: 'heatmap',
    width,
    height,
    label: `${labels.value}. ${labels.busiest}: ${busiest ? describe(busiest) : ''}`,
  })

  const grid = svg.append('g').attr('class', 'cells')
  const ordered = [...data.cells].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour)
  for (const cell of ordered) {
    const x = round(marginLeft + cell.hour * cellWidth)
    const y = round(gridTop + (cell.weekday - 1) * cellHeight)
    const fill = cell.value === null ? NO_DATA_COLOUR : sequentialColour(cell.value, maxValue)
    const g = grid
      .append('g')
      .attr('class', 'cell')
      .attr('data-weekday', cell.weekday)
      .attr('data-hour', cell.hour)
    g.append('title').text(describe(cell))
    g.append('rect')
      .attr('x', x)
      .attr('y', y)
      .attr('width', round(cellWidth - 1))
      .attr('height', round(cellHeight - 1))
      .attr('fill', fill)
  }
  if (busiest) {
    svg
      .append('rect')
      .attr('class', 'busiest')
      .attr('x', round(marginLeft + busiest.hour * cellWidth - 1))
      .attr('y', round(gridTop + (busiest.weekday - 1) * cellHeight - 1))
      .attr('width', round(cellWidth + 1))
      .attr('height', round(cellHeight + 1))
      .attr('fill', 'none')
      .attr('stroke', TEXT_COLOUR)
      .attr('stroke-width', 2)
  }

  const rows = svg.append('g').attr('class', 'y-axis')
  for (let weekday = 1; weekday <= 7; weekday += 1) {
    rows
      .append('text')
      .attr('x', marginLeft - 6)
      .attr('y', round(gridTop + (weekday - 0.5) * cellHeight))
      .attr('dy', '0.35em')
      .attr('text-anchor', 'end')
      .attr('fill', TEXT_COLOUR)
      .text(nameOf(weekday))
  }

  const every = cellWidth >= 22 ? 2 : cellWidth >= 14 ? 3 : 6
  const hours = svg.append('g').attr('class', 'x-axis')
  for (let hour = 0; hour <= 24; hour += every) {
    const x = round(marginLeft + hour * cellWidth)
    hours
      .append('line')
      .attr('x1', x)
      .attr('x2', x)
      .attr('y1', axisY)
      .attr('y2', axisY + 5)
      .attr('stroke', GRID_COLOUR)
    hours
      .append('text')
      .attr('x', x)
      .attr('y', axisY + 16)
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(String(hour % 24).padStart(2, '0'))
  }
  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('x', round(marginLeft + 12 * cellWidth))
    .attr('y', axisY + 34)
    .attr('text-anchor', 'middle')
    .attr('fill', MUTED_COLOUR)
    .text(labels.hourAxis)

  const legendY = axisY + AXIS_HEIGHT + 6
  const legend = svg
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${marginLeft},${legendY})`)
  legend
    .append('text')
    .attr('x', 0)
    .attr('y', 6)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.value)
  const stepWidth = clamp((width - marginLeft - marginRight - 90) / sequentialBlues.length, 12, 28)
  const ramp = legend.append('g').attr('class', 'ramp').attr('transform', 'translate(0,16)')
  sequentialBlues.slice(1).forEach((colour, i) => {
    ramp
      .append('rect')
      .attr('x', round(i * stepWidth))
      .attr('width', round(stepWidth))
      .attr('height', 10)
      .attr('fill', colour)
  })
  const rampWidth = round(stepWidth * (sequentialBlues.length - 1))
  ramp.append('text').attr('x', 0).attr('y', 24).attr('fill', TEXT_COLOUR).text(format(0))
  ramp
    .append('text')
    .attr('x', rampWidth)
    .attr('y', 24)
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text(format(maxValue))
  const noData = ramp
    .append('g')
    .attr('class', 'legend-no-data')
    .attr('transform', `translate(${rampWidth + 16},0)`)
  noData
    .append('rect')
    .attr('width', 10)
    .attr('height', 10)
    .attr('fill', NO_DATA_COLOUR)
    .attr('stroke', GRID_COLOUR)
  noData
    .append('text')
    .attr('x', 14)
    .attr('y', 5)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.noData)

  return nodeOf(svg)
}
