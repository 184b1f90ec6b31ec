import { axisBottom, max, scaleLinear, type ScaleLinear } from 'd3'
import { createCountFormat } from '../format.ts'
import {
  CHAR_WIDTH,
  TEXT_COLOUR,
  chartWidth,
  clamp,
  measureColours,
  round,
  truncate,
} from './chart-kit.ts'
import { createFrame, measureLegend, type Frame } from './frame.ts'

export interface FootfallBarsData {
  zones: readonly { id: string; name: string }[]
  totals: readonly { zoneId: string; passersBy: number; visitors: number }[]
}

export interface FootfallBarsOptions {
  width: number
  locale: string
  labels: { passersBy: string; visitors: string; axis: string; empty: string }
}

/** Okabe–Ito blue and orange: distinguishable with every common form of colour blindness. */
export const footfallColours = measureColours

const LEGEND_HEIGHT = 28
const ROW_HEIGHT = 32
const BAR_HEIGHT = 20
const AXIS_HEIGHT = 48
const EMPTY_HEIGHT = 80

interface ZoneRow {
  id: string
  name: string
  passersBy: number
  visitors: number
  total: number
}

interface Layout {
  marginLeft: number
  innerWidth: number
  barsTop: number
  axisY: number
  x: ScaleLinear<number, number>
  ticks: number[]
  format: (value: number) => string
  describe: (row: ZoneRow) => string
}

/** Passers-by and visitors stacked per zone, zones in the order given; always has data to draw. */
export function renderFootfallBars(
  container: Element,
  data: FootfallBarsData,
  opts: FootfallBarsOptions,
): SVGSVGElement {
  const { labels } = opts
  const frame = createFrame(container, {
    className: 'footfall-bars',
    width: chartWidth(opts.width),
  })
  const rows = zoneRows(data)
  if ((max(rows, (row) => row.total) ?? 0) === 0) {
    return frame
      .size(EMPTY_HEIGHT)
      .label(labels.empty)
      .message(labels.empty, false, EMPTY_HEIGHT)
      .node()
  }
  const layout = layOut(frame.width, rows, opts)
  frame
    .size(layout.axisY + AXIS_HEIGHT)
    .label(`${labels.axis}. ${rows.map(layout.describe).join('; ')}`)
  frame.legend(measureLegend(labels), { x: layout.marginLeft, y: 4, maxWidth: Infinity, gap: 20 })
  frame.grid(layout.ticks, (value) => {
    const x = layout.marginLeft + round(layout.x(value))
    return [x, x, layout.barsTop, layout.axisY]
  })
  drawBars(frame, rows, layout)
  drawAxis(frame, layout, labels.axis)
  return frame.node()
}

function zoneRows(data: FootfallBarsData): ZoneRow[] {
  const totalsById = new Map(data.totals.map((total) => [total.zoneId, total]))
  return data.zones.map((zone) => {
    const total = totalsById.get(zone.id)
    const passersBy = total?.passersBy ?? 0
    const visitors = total?.visitors ?? 0
    return { id: zone.id, name: zone.name, passersBy, visitors, total: passersBy + visitors }
  })
}

function layOut(width: number, rows: readonly ZoneRow[], opts: FootfallBarsOptions): Layout {
  const format = createCountFormat(opts.locale)
  const { labels } = opts
  const maxTotal = max(rows, (row) => row.total) ?? 0
  const longestName = max(rows, (row) => row.name.length) ?? 0
  const marginLeft = clamp(longestName * CHAR_WIDTH + 12, 64, Math.round(width * 0.4))
  const marginRight = Math.max(32, format(maxTotal).length * CHAR_WIDTH + 12)
  const innerWidth = width - marginLeft - marginRight
  const barsTop = LEGEND_HEIGHT + 8
  const x = scaleLinear().domain([0, maxTotal]).nice().range([0, innerWidth])
  return {
    marginLeft,
    innerWidth,
    barsTop,
    axisY: barsTop + rows.length * ROW_HEIGHT,
    x,
    ticks: x.ticks(Math.max(2, Math.floor(innerWidth / 80))).filter(Number.isInteger),
    format,
    describe: (row) =>
      `${row.name}: ${labels.passersBy} ${format(row.passersBy)}, ${labels.visitors} ${format(row.visitors)}`,
  }
}

function drawBars(frame: Frame, rows: readonly ZoneRow[], layout: Layout): void {
  const { marginLeft, x, format } = layout
  const maxNameChars = Math.floor((marginLeft - 12) / CHAR_WIDTH)
  const zones = frame.svg
    .append('g')
    .attr('class', 'zones')
    .selectAll('g')
    .data(rows)
    .join('g')
    .attr('class', 'zone')
    .attr('data-zone-id', (row) => row.id)
    .attr(
      'transform',
      (_row, i) =>
        `translate(0,${layout.barsTop + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2})`,
    )
  zones.append('title').text(layout.describe)
  zones
    .append('text')
    .attr('class', 'zone-label')
    .attr('x', marginLeft - 8)
    .attr('y', BAR_HEIGHT / 2)
    .attr('dy', '0.35em')
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text((row) => truncate(row.name, maxNameChars))
  zones
    .append('rect')
    .attr('class', 'bar bar-passers-by')
    .attr('x', marginLeft)
    .attr('width', (row) => round(x(row.passersBy)))
    .attr('height', BAR_HEIGHT)
    .attr('fill', footfallColours.passersBy)
  zones
    .append('rect')
    .attr('class', 'bar bar-visitors')
    .attr('x', (row) => marginLeft + round(x(row.passersBy)))
    .attr('width', (row) => round(x(row.total) - x(row.passersBy)))
    .attr('height', BAR_HEIGHT)
    .attr('fill', footfallColours.visitors)
  zones
    .append('text')
    .attr('class', 'value')
    .attr('x', (row) => marginLeft + round(x(row.total)) + 6)
    .attr('y', BAR_HEIGHT / 2)
    .attr('dy', '0.35em')
    .attr('fill', TEXT_COLOUR)
    .text((row) => format(row.total))
}

function drawAxis(frame: Frame, layout: Layout, title: string): void {
  const axis = frame.svg
    .append('g')
    .attr('class', 'x-axis')
    .attr('transform', `translate(${layout.marginLeft},${layout.axisY})`)
    .call(
      axisBottom(layout.x)
        .tickValues(layout.ticks)
        .tickFormat((value) => layout.format(value.valueOf())),
    )
  axis.attr('font-size', null).attr('font-family', null)
  frame.xTitle(title, {
    x: layout.marginLeft + layout.innerWidth / 2,
    y: layout.axisY + 40,
    fill: TEXT_COLOUR,
  })
}
