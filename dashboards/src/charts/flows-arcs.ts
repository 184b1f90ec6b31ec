import { max, scaleLinear } from 'd3'
import { createCountFormat, createMinutesFormat } from '../format.ts'
import {
  GRID_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  createSvg,
  drawLegend,
  nodeOf,
  okabeIto,
  renderState,
  round,
  truncate,
  type StateLabels,
} from './chart-kit.ts'

export interface FlowsZone {
  id: string
  name: string
  streetFromM: number
  streetToM: number
}

export interface FlowsCell {
  originZoneId: string
  destZoneId: string
  suppressed: boolean
  flows: number | null
  travelSMedian: number | null
}

export interface FlowsData {
  zones: readonly FlowsZone[]
  cells: readonly FlowsCell[]
  /** Cells under k devices are suppressed. */
  k: number
}

export interface FlowsOptions {
  width: number
  locale: string
  labels: StateLabels & {
    /** "Along the mile (→)" */
    forward: string
    /** "Back along the mile (←)" */
    backward: string
    suppressed: (k: number, cells: number) => string
    flow: (origin: string, dest: string) => string
    flowsUnit: string
    travel: string
  }
}

export const flowColours = {
  forward: okabeIto.blue,
  backward: okabeIto.vermillion,
  suppressed: '#8a96a3',
} as const

const MAX_STROKE = 14
const MIN_STROKE = 1.5

/**
 * Flows between zones as an arc diagram along the street: zones in street order on a line, a flow
 * further along the mile arcs above it, a flow back arcs below, width by flows. Suppressed cells
 * (fewer than k devices) are thin dashed grey arcs with no figure.
 */
export function renderFlowsArcs(
  container: Element,
  data: FlowsData | null,
  opts: FlowsOptions,
): SVGSVGElement {
  const width = chartWidth(opts.width)
  const { labels } = opts
  if (!data) {
    return renderState(container, {
      className: 'flows-arcs',
      width,
      height: 240,
      text: labels.loading,
      loading: true,
    })
  }
  const inCells = new Set(data.cells.flatMap((c) => [c.originZoneId, c.destZoneId]))
  const zones = data.zones
    .filter((z) => inCells.has(z.id))
    .sort((a, b) => a.streetFromM + a.streetToM - (b.streetFromM + b.streetToM))
  const cells = data.cells.filter(
    (c) =>
      c.originZoneId !== c.destZoneId &&
      zones.some((z) => z.id === c.originZoneId) &&
      zones.some((z) => z.id === c.destZoneId),
  )
  if (cells.length === 0) {
    return renderState(container, {
      className: 'flows-arcs',
      width,
      text: labels.empty,
      loading: false,
    })
  }

  const count = createCountFormat(opts.locale)
  const minutes = createMinutesFormat(opts.locale)
  const nameOf = new Map(zones.map((z) => [z.id, z.name]))
  const suppressedCount = cells.filter((c) => c.suppressed).length
  const legendItems = [
    {
      key: 'forward',
      label: labels.forward,
      swatch: { kind: 'line' as const, stroke: flowColours.forward, width: 4 },
    },
    {
      key: 'backward',
      label: labels.backward,
      swatch: { kind: 'line' as const, stroke: flowColours.backward, width: 4 },
    },
    ...(suppressedCount > 0
      ? [
          {
            key: 'suppressed',
            label: labels.suppressed(data.k, suppressedCount),
            swatch: {
              kind: 'line' as const,
              stroke: flowColours.suppressed,
              dash: '3 3',
              width: 1.5,
            },
          },
        ]
      : []),
  ]

  const padX = 20
  const labelChars = width < 520 ? 16 : 24
  const longest = Math.max(...zones.map((z) => Math.min(z.name.length, labelChars)))
  const labelRun = Math.ceil(longest * 6.2 * Math.SQRT1_2)
  const innerWidth = width - 2 * padX - Math.min(labelRun, width * 0.3)
  const step = zones.length > 1 ? innerWidth / (zones.length - 1) : 0
  const xOf = new Map(
    zones.map((z, i) => [z.id, round(padX + (zones.length > 1 ? i * step : innerWidth / 2))]),
  )
  const maxFlows = max(cells, (c) => c.flows ?? 0) ?? 0
  const stroke = scaleLinear()
    .domain([0, Math.max(1, maxFlows)])
    .range([MIN_STROKE, MAX_STROKE])
  const arcRoom = Math.min(150, Math.max(70, width * 0.16))
  const heightOf = (span: number) => round(Math.max(10, (span / innerWidth) * arcRoom * 1.9))

  const svg = createSvg(container, { className: 'flows-arcs', width, height: 10, label: '' })
  const legendHeight = drawLegend(svg, legendItems, { x: padX, y: 4, maxWidth: innerWidth })
  const baseline = legendHeight + 16 + arcRoom
  const fontSize = width < 520 ? 11 : 12
  const labelTop = baseline + arcRoom + 10
  const height = Math.ceil(labelTop + labelRun + 16)
  svg.attr('height', height).attr('viewBox', `0 0 ${width} ${height}`)

  const visible = cells.filter((c) => !c.suppressed).sort((a, b) => (b.flows ?? 0) - (a.flows ?? 0))
  const top = visible
    .slice(0, 5)
    .map(
      (c) =>
        `${labels.flow(nameOf.get(c.originZoneId) ?? '', nameOf.get(c.destZoneId) ?? '')}: ${count(c.flows ?? 0)}`,
    )
  svg.attr(
    'aria-label',
    [top.join('; '), suppressedCount > 0 ? labels.suppressed(data.k, suppressedCount) : '']
      .filter(Boolean)
      .join('. '),
  )

  const guides = svg.append('g').attr('class', 'guides').attr('aria-hidden', 'true')
  for (const zone of zones) {
    const x = xOf.get(zone.id) ?? 0
    guides
      .append('line')
      .attr('x1', x)
      .attr('x2', x)
      .attr('y1', baseline)
      .attr('y2', labelTop - 4)
      .attr('stroke', GRID_COLOUR)
      .attr('stroke-dasharray', '2 3')
  }
  svg
    .append('line')
    .attr('class', 'street-line')
    .attr('x1', padX)
    .attr('x2', padX + innerWidth)
    .attr('y1', baseline)
    .attr('y2', baseline)
    .attr('stroke', TEXT_COLOUR)
    .attr('stroke-width', 1)

  const arcs = svg.append('g').attr('class', 'arcs').attr('fill', 'none')
  // Suppressed first, then the widest underneath the thinner ones.
  const ordered = [
    ...cells.filter((c) => c.suppressed),
    ...visible.slice().sort((a, b) => (b.flows ?? 0) - (a.flows ?? 0)),
  ]
  for (const cell of ordered) {
    const x1 = xOf.get(cell.originZoneId) ?? 0
    const x2 = xOf.get(cell.destZoneId) ?? 0
    const forward = x2 > x1
    const rx = round(Math.abs(x2 - x1) / 2)
    const ry = heightOf(Math.abs(x2 - x1))
    // Sweep 1 (clockwise on screen): left→right passes above the line, right→left below.
    const d = `M${x1},${baseline}A${rx},${ry} 0 0,1 ${x2},${baseline}`
    const path = arcs
      .append('path')
      .attr(
        'class',
        `flow ${cell.suppressed ? 'flow-suppressed' : forward ? 'flow-forward' : 'flow-backward'}`,
      )
      .attr('data-origin', cell.originZoneId)
      .attr('data-dest', cell.destZoneId)
      .attr('d', d)
    const title = labels.flow(
      nameOf.get(cell.originZoneId) ?? '',
      nameOf.get(cell.destZoneId) ?? '',
    )
    if (cell.suppressed) {
      path
        .attr('stroke', flowColours.suppressed)
        .attr('stroke-width', 1.5)
        .attr('stroke-dasharray', '3 3')
        .append('title')
        .text(`${title}: ${labels.suppressed(data.k, 1)}`)
    } else {
      path
        .attr('stroke', forward ? flowColours.forward : flowColours.backward)
        .attr('stroke-opacity', 0.75)
        .attr('stroke-width', round(stroke(cell.flows ?? 0)))
        .append('title')
        .text(
          `${title}: ${count(cell.flows ?? 0)} ${labels.flowsUnit}${cell.travelSMedian === null ? '' : `, ${labels.travel} ${minutes(cell.travelSMedian)}`}`,
        )
    }
  }

  const nodes = svg.append('g').attr('class', 'nodes')
  for (const zone of zones) {
    const x = xOf.get(zone.id) ?? 0
    const g = nodes.append('g').attr('class', 'node').attr('data-zone-id', zone.id)
    g.append('circle')
      .attr('cx', x)
      .attr('cy', baseline)
      .attr('r', 4)
      .attr('fill', '#ffffff')
      .attr('stroke', TEXT_COLOUR)
      .attr('stroke-width', 1.5)
    g.append('text')
      .attr('transform', `translate(${x},${labelTop}) rotate(45)`)
      .attr('font-size', fontSize)
      .attr('fill', TEXT_COLOUR)
      .text(truncate(zone.name, labelChars))
  }
  return nodeOf(svg)
}
