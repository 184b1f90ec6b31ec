import { max } from 'd3'
import { createDecimalFormat, hourRange } from '../format.ts'
import {
  GRID_COLOUR,
  NO_DATA_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  round,
  sequentialBlues,
  sequentialColour,
  textWidth,
  type StateLabels,
} from './chart-kit.ts'
import { createFrame, drawChart, drawRamp, type Frame } from './frame.ts'

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

type Cell = HeatmapData['cells'][number]

const LEGEND_HEIGHT = 52
const AXIS_HEIGHT = 40
const GRID_TOP = 20
const MARGIN_RIGHT = 8

interface Grid {
  left: number
  cellWidth: number
  cellHeight: number
  axisY: number
  maxValue: number
  format: (value: number) => string
  nameOf: (weekday: number) => string
  describe: (cell: Cell) => string
}

/** Hour × weekday grid of one measure, on a light-to-dark blue ramp, busiest cell outlined. */
export function renderHeatmap(
  container: Element,
  data: HeatmapData | null,
  opts: HeatmapOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  return drawChart(
    container,
    data,
    {
      className: 'heatmap',
      width,
      loadingHeight: 200,
      labels: opts.labels,
      isEmpty: (d) => (max(d.cells, (cell) => cell.value ?? 0) ?? 0) === 0,
    },
    (d) => drawHeatmap(container, d, width, opts),
  )
}

function drawHeatmap(container: Element, data: HeatmapData, width: number, opts: HeatmapOptions) {
  const { labels } = opts
  const grid = layOut(width, data, opts)
  const busiest = data.cells.reduce<Cell | null>(
    (best, cell) => ((cell.value ?? 0) > (best?.value ?? 0) ? cell : best),
    null,
  )
  const frame = createFrame(container, {
    className: 'heatmap',
    width,
    height: Math.ceil(grid.axisY + AXIS_HEIGHT + LEGEND_HEIGHT),
    label: `${labels.value}. ${labels.busiest}: ${busiest ? grid.describe(busiest) : ''}`,
  })
  drawCells(frame, data, grid, busiest)
  drawAxes(frame, grid, labels.hourAxis)
  drawScale(frame, grid, labels)
  return frame.node()
}

function layOut(width: number, data: HeatmapData, opts: HeatmapOptions): Grid {
  const { labels } = opts
  const format = createDecimalFormat(opts.locale, 1)
  const left = clamp(Math.max(...labels.weekdays.map((d) => textWidth(d))) + 10, 36, 120)
  const cellWidth = (width - left - MARGIN_RIGHT) / 24
  const cellHeight = round(clamp(cellWidth * 0.75, 18, 30))
  const nameOf = (weekday: number) => labels.weekdays[weekday - 1] ?? String(weekday)
  return {
    left,
    cellWidth,
    cellHeight,
    axisY: GRID_TOP + cellHeight * 7,
    maxValue: max(data.cells, (cell) => cell.value ?? 0) ?? 0,
    format,
    nameOf,
    describe: (cell) =>
      `${nameOf(cell.weekday)} ${hourRange(cell.hour)}: ${cell.value === null ? labels.noData : format(cell.value)}`,
  }
}

function drawCells(frame: Frame, data: HeatmapData, grid: Grid, busiest: Cell | null): void {
  const { left, cellWidth, cellHeight } = grid
  const cells = frame.svg.append('g').attr('class', 'cells')
  const ordered = [...data.cells].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour)
  for (const cell of ordered) {
    const g = cells
      .append('g')
      .attr('class', 'cell')
      .attr('data-weekday', cell.weekday)
      .attr('data-hour', cell.hour)
    g.append('title').text(grid.describe(cell))
    g.append('rect')
      .attr('x', round(left + cell.hour * cellWidth))
      .attr('y', round(GRID_TOP + (cell.weekday - 1) * cellHeight))
      .attr('width', round(cellWidth - 1))
      .attr('height', round(cellHeight - 1))
      .attr(
        'fill',
        cell.value === null ? NO_DATA_COLOUR : sequentialColour(cell.value, grid.maxValue),
      )
  }
  if (!busiest) return
  frame.svg
    .append('rect')
    .attr('class', 'busiest')
    .attr('x', round(left + busiest.hour * cellWidth - 1))
    .attr('y', round(GRID_TOP + (busiest.weekday - 1) * cellHeight - 1))
    .attr('width', round(cellWidth + 1))
    .attr('height', round(cellHeight + 1))
    .attr('fill', 'none')
    .attr('stroke', TEXT_COLOUR)
    .attr('stroke-width', 2)
}

/** Weekdays down the side, hours along the bottom (every 2, 3 or 6 as room allows). */
function drawAxes(frame: Frame, grid: Grid, hourAxis: string): void {
  const { left, cellWidth, cellHeight, axisY } = grid
  const rows = frame.svg.append('g').attr('class', 'y-axis')
  for (let weekday = 1; weekday <= 7; weekday += 1) {
    rows
      .append('text')
      .attr('x', left - 6)
      .attr('y', round(GRID_TOP + (weekday - 0.5) * cellHeight))
      .attr('dy', '0.35em')
      .attr('text-anchor', 'end')
      .attr('fill', TEXT_COLOUR)
      .text(grid.nameOf(weekday))
  }
  const every = cellWidth >= 22 ? 2 : cellWidth >= 14 ? 3 : 6
  const hours = frame.svg.append('g').attr('class', 'x-axis')
  for (let hour = 0; hour <= 24; hour += every) {
    const x = round(left + hour * cellWidth)
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
  frame.xTitle(hourAxis, { x: round(left + 12 * cellWidth), y: axisY + 34 })
}

/** The ramp from 0 to the busiest value, and the swatch of hours the range does not hold. */
function drawScale(frame: Frame, grid: Grid, labels: HeatmapOptions['labels']): void {
  const legend = frame.svg
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${grid.left},${grid.axisY + AXIS_HEIGHT + 6})`)
  legend
    .append('text')
    .attr('x', 0)
    .attr('y', 6)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text(labels.value)
  const room = frame.width - grid.left - MARGIN_RIGHT - 90
  const ramp = legend.append('g').attr('class', 'ramp').attr('transform', 'translate(0,16)')
  const rampWidth = drawRamp(ramp, {
    x: 0,
    step: clamp(room / sequentialBlues.length, 12, 28),
    low: grid.format(0),
    high: grid.format(grid.maxValue),
  })
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
}
