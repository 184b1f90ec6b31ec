import { axisBottom, max, scaleLinear, select } from 'd3'
import { createCountFormat } from '../format.ts'

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
export const footfallColours = { passersBy: '#0072B2', visitors: '#E69F00' } as const

const SVG_NS = 'http://www.w3.org/2000/svg'
const MIN_WIDTH = 280
const FONT_SIZE = 12
// jsdom cannot measure text and snapshots must not depend on fonts, so widths are estimated per character.
const CHAR_WIDTH = 7
const LEGEND_HEIGHT = 28
const ROW_HEIGHT = 32
const BAR_HEIGHT = 20
const AXIS_HEIGHT = 48
const EMPTY_HEIGHT = 80
const TEXT_COLOUR = '#1f2933'
const GRID_COLOUR = '#d9dee3'

interface ZoneRow {
  id: string
  name: string
  passersBy: number
  visitors: number
  total: number
}

export function renderFootfallBars(
  container: Element,
  data: FootfallBarsData,
  opts: FootfallBarsOptions,
): SVGSVGElement {
  container.replaceChildren()
  const width = Math.max(MIN_WIDTH, Math.round(opts.width))
  const format = createCountFormat(opts.locale)
  const { labels } = opts

  const totalsById = new Map(data.totals.map((total) => [total.zoneId, total]))
  const rows: ZoneRow[] = data.zones.map((zone) => {
    const total = totalsById.get(zone.id)
    const passersBy = total?.passersBy ?? 0
    const visitors = total?.visitors ?? 0
    return { id: zone.id, name: zone.name, passersBy, visitors, total: passersBy + visitors }
  })
  const maxTotal = max(rows, (row) => row.total) ?? 0

  const svg = select(container)
    .append('svg')
    .attr('xmlns', SVG_NS)
    .attr('class', 'footfall-bars')
    .attr('role', 'img')
    .attr('width', width)
    .attr('font-family', 'system-ui, sans-serif')
    .attr('font-size', FONT_SIZE)

  if (maxTotal === 0) {
    svg
      .attr('height', EMPTY_HEIGHT)
      .attr('viewBox', `0 0 ${width} ${EMPTY_HEIGHT}`)
      .attr('aria-label', labels.empty)
    svg
      .append('text')
      .attr('class', 'empty')
      .attr('x', width / 2)
      .attr('y', EMPTY_HEIGHT / 2)
      .attr('dy', '0.35em')
      .attr('text-anchor', 'middle')
      .attr('fill', TEXT_COLOUR)
      .text(labels.empty)
    return nodeOf(svg)
  }

  const longestName = max(rows, (row) => row.name.length) ?? 0
  const marginLeft = clamp(longestName * CHAR_WIDTH + 12, 64, Math.round(width * 0.4))
  const marginRight = Math.max(32, format(maxTotal).length * CHAR_WIDTH + 12)
  const innerWidth = width - marginLeft - marginRight
  const barsTop = LEGEND_HEIGHT + 8
  const axisY = barsTop + rows.length * ROW_HEIGHT
  const height = axisY + AXIS_HEIGHT
  const maxNameChars = Math.floor((marginLeft - 12) / CHAR_WIDTH)

  const x = scaleLinear().domain([0, maxTotal]).nice().range([0, innerWidth])
  const tickValues = x.ticks(Math.max(2, Math.floor(innerWidth / 80))).filter(Number.isInteger)
  const describe = (row: ZoneRow): string =>
    `${row.name}: ${labels.passersBy} ${format(row.passersBy)}, ${labels.visitors} ${format(row.visitors)}`

  svg
    .attr('height', height)
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('aria-label', `${labels.axis}. ${rows.map(describe).join('; ')}`)

  const legend = svg
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${marginLeft},4)`)
  let legendX = 0
  for (const [key, label] of [
    ['passers-by', labels.passersBy],
    ['visitors', labels.visitors],
  ] as const) {
    const item = legend
      .append('g')
      .attr('class', `legend-item legend-${key}`)
      .attr('transform', `translate(${legendX},0)`)
    item
      .append('rect')
      .attr('width', 14)
      .attr('height', 14)
      .attr('fill', key === 'passers-by' ? footfallColours.passersBy : footfallColours.visitors)
    item
      .append('text')
      .attr('x', 20)
      .attr('y', 7)
      .attr('dy', '0.35em')
      .attr('fill', TEXT_COLOUR)
      .text(label)
    legendX += 20 + label.length * CHAR_WIDTH + 20
  }

  svg
    .append('g')
    .attr('class', 'grid')
    .attr('aria-hidden', 'true')
    .selectAll('line')
    .data(tickValues)
    .join('line')
    .attr('x1', (value) => marginLeft + round(x(value)))
    .attr('x2', (value) => marginLeft + round(x(value)))
    .attr('y1', barsTop)
    .attr('y2', axisY)
    .attr('stroke', GRID_COLOUR)

  const zones = svg
    .append('g')
    .attr('class', 'zones')
    .selectAll('g')
    .data(rows)
    .join('g')
    .attr('class', 'zone')
    .attr('data-zone-id', (row) => row.id)
    .attr(
      'transform',
      (_row, i) => `translate(0,${barsTop + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2})`,
    )

  zones.append('title').text(describe)
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

  const axis = svg
    .append('g')
    .attr('class', 'x-axis')
    .attr('transform', `translate(${marginLeft},${axisY})`)
    .call(
      axisBottom(x)
        .tickValues(tickValues)
        .tickFormat((value) => format(value.valueOf())),
    )
  axis.attr('font-size', null).attr('font-family', null)

  svg
    .append('text')
    .attr('class', 'axis-label')
    .attr('x', marginLeft + innerWidth / 2)
    .attr('y', axisY + 40)
    .attr('text-anchor', 'middle')
    .attr('fill', TEXT_COLOUR)
    .text(labels.axis)

  return nodeOf(svg)
}

function nodeOf(selection: { node(): SVGSVGElement | null }): SVGSVGElement {
  const node = selection.node()
  if (!node) throw new Error('renderFootfallBars: the SVG element was not created')
  return node
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high))
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}

function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`
}
