import { max, scaleLinear } from 'd3'
import { createCountFormat, createMinutesFormat } from '../format.ts'
import {
  GRID_COLOUR,
  TEXT_COLOUR,
  chartWidth,
  okabeIto,
  round,
  truncate,
  type StateLabels,
} from './chart-kit.ts'
import { createFrame, drawChart, type Frame, type LegendItem } from './frame.ts'

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
const PAD_X = 20

/** The zones that have flows, in street order, and the flows between two of them. */
interface Street {
  zones: FlowsZone[]
  cells: FlowsCell[]
  k: number
}

interface Arcs {
  xOf: ReadonlyMap<string, number>
  baseline: number
  labelTop: number
  innerWidth: number
  arcRoom: number
  labelChars: number
  nameOf: (id: string) => string
}

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
  return drawChart(
    container,
    data && street(data),
    {
      className: 'flows-arcs',
      width,
      loadingHeight: 240,
      labels: opts.labels,
      isEmpty: (s) => s.cells.length === 0,
    },
    (s) =>
      drawArcs(
        createFrame(container, { className: 'flows-arcs', width, height: 10, label: '' }),
        s,
        opts,
      ),
  )
}

function street(data: FlowsData): Street {
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
  return { zones, cells, k: data.k }
}

function drawArcs(frame: Frame, data: Street, opts: FlowsOptions): SVGSVGElement {
  const { labels } = opts
  const { width } = frame
  const count = createCountFormat(opts.locale)
  const suppressedCount = data.cells.filter((c) => c.suppressed).length
  const labelChars = width < 520 ? 16 : 24
  const longest = Math.max(...data.zones.map((z) => Math.min(z.name.length, labelChars)))
  const labelRun = Math.ceil(longest * 6.2 * Math.SQRT1_2)
  const innerWidth = width - 2 * PAD_X - Math.min(labelRun, width * 0.3)
  const step = data.zones.length > 1 ? innerWidth / (data.zones.length - 1) : 0
  const arcRoom = Math.min(150, Math.max(70, width * 0.16))
  const legendHeight = frame.legend(legendItems(labels, data.k, suppressedCount), {
    x: PAD_X,
    y: 4,
    maxWidth: innerWidth,
  })
  const baseline = legendHeight + 16 + arcRoom
  const labelTop = baseline + arcRoom + 10
  frame.size(Math.ceil(labelTop + labelRun + 16))
  const nameOf = new Map(data.zones.map((z) => [z.id, z.name]))
  const arcs: Arcs = {
    xOf: new Map(
      data.zones.map((z, i) => [
        z.id,
        round(PAD_X + (data.zones.length > 1 ? i * step : innerWidth / 2)),
      ]),
    ),
    baseline,
    labelTop,
    innerWidth,
    arcRoom,
    labelChars,
    nameOf: (id) => nameOf.get(id) ?? '',
  }
  const visible = data.cells
    .filter((c) => !c.suppressed)
    .sort((a, b) => (b.flows ?? 0) - (a.flows ?? 0))
  const top = visible
    .slice(0, 5)
    .map(
      (c) =>
        `${labels.flow(arcs.nameOf(c.originZoneId), arcs.nameOf(c.destZoneId))}: ${count(c.flows ?? 0)}`,
    )
  frame.label(
    [top.join('; '), suppressedCount > 0 ? labels.suppressed(data.k, suppressedCount) : '']
      .filter(Boolean)
      .join('. '),
  )
  drawStreet(frame, data.zones, arcs)
  drawFlows(frame, data, visible, arcs, opts)
  drawZones(frame, data.zones, arcs)
  return frame.node()
}

function legendItems(labels: FlowsOptions['labels'], k: number, suppressed: number): LegendItem[] {
  const line = (key: string, label: string, stroke: string, dash?: string) => ({
    key,
    label,
    swatch: {
      kind: 'line' as const,
      stroke,
      ...(dash ? { dash } : {}),
      width: dash ? 1.5 : 4,
    },
  })
  return [
    line('forward', labels.forward, flowColours.forward),
    line('backward', labels.backward, flowColours.backward),
    ...(suppressed > 0
      ? [line('suppressed', labels.suppressed(k, suppressed), flowColours.suppressed, '3 3')]
      : []),
  ]
}

/** The street as a line, with a dashed guide down from each zone to its name. */
function drawStreet(frame: Frame, zones: readonly FlowsZone[], arcs: Arcs): void {
  const guides = frame.svg.append('g').attr('class', 'guides').attr('aria-hidden', 'true')
  for (const zone of zones) {
    const x = arcs.xOf.get(zone.id) ?? 0
    guides
      .append('line')
      .attr('x1', x)
      .attr('x2', x)
      .attr('y1', arcs.baseline)
      .attr('y2', arcs.labelTop - 4)
      .attr('stroke', GRID_COLOUR)
      .attr('stroke-dasharray', '2 3')
  }
  frame.svg
    .append('line')
    .attr('class', 'street-line')
    .attr('x1', PAD_X)
    .attr('x2', PAD_X + arcs.innerWidth)
    .attr('y1', arcs.baseline)
    .attr('y2', arcs.baseline)
    .attr('stroke', TEXT_COLOUR)
    .attr('stroke-width', 1)
}

function drawFlows(
  frame: Frame,
  data: Street,
  visible: readonly FlowsCell[],
  arcs: Arcs,
  opts: FlowsOptions,
): void {
  const { labels } = opts
  const count = createCountFormat(opts.locale)
  const minutes = createMinutesFormat(opts.locale)
  const stroke = scaleLinear()
    .domain([0, Math.max(1, max(data.cells, (c) => c.flows ?? 0) ?? 0)])
    .range([MIN_STROKE, MAX_STROKE])
  const heightOf = (span: number) =>
    round(Math.max(10, (span / arcs.innerWidth) * arcs.arcRoom * 1.9))
  const group = frame.svg.append('g').attr('class', 'arcs').attr('fill', 'none')
  // Suppressed first, then the widest underneath the thinner ones.
  const ordered = [...data.cells.filter((c) => c.suppressed), ...visible]
  for (const cell of ordered) {
    const x1 = arcs.xOf.get(cell.originZoneId) ?? 0
    const x2 = arcs.xOf.get(cell.destZoneId) ?? 0
    const forward = x2 > x1
    const rx = round(Math.abs(x2 - x1) / 2)
    const ry = heightOf(Math.abs(x2 - x1))
    // Sweep 1 (clockwise on screen): left→right passes above the line, right→left below.
    const path = group
      .append('path')
      .attr(
        'class',
        `flow ${cell.suppressed ? 'flow-suppressed' : forward ? 'flow-forward' : 'flow-backward'}`,
      )
      .attr('data-origin', cell.originZoneId)
      .attr('data-dest', cell.destZoneId)
      .attr('d', `M${x1},${arcs.baseline}A${rx},${ry} 0 0,1 ${x2},${arcs.baseline}`)
    const title = labels.flow(arcs.nameOf(cell.originZoneId), arcs.nameOf(cell.destZoneId))
    if (cell.suppressed) {
      path
        .attr('stroke', flowColours.suppressed)
        .attr('stroke-width', 1.5)
        .attr('stroke-dasharray', '3 3')
        .append('title')
        .text(`${title}: ${labels.suppressed(data.k, 1)}`)
      continue
    }
    const travel =
      cell.travelSMedian === null ? '' : `, ${labels.travel} ${minutes(cell.travelSMedian)}`
    path
      .attr('stroke', forward ? flowColours.forward : flowColours.backward)
      .attr('stroke-opacity', 0.75)
      .attr('stroke-width', round(stroke(cell.flows ?? 0)))
      .append('title')
      .text(`${title}: ${count(cell.flows ?? 0)} ${labels.flowsUnit}${travel}`)
  }
}

/** A node per zone on the street line, its name slanted below. */
function drawZones(frame: Frame, zones: readonly FlowsZone[], arcs: Arcs): void {
  const fontSize = frame.width < 520 ? 11 : 12
  const nodes = frame.svg.append('g').attr('class', 'nodes')
  for (const zone of zones) {
    const x = arcs.xOf.get(zone.id) ?? 0
    const g = nodes.append('g').attr('class', 'node').attr('data-zone-id', zone.id)
    g.append('circle')
      .attr('cx', x)
      .attr('cy', arcs.baseline)
      .attr('r', 4)
      .attr('fill', '#ffffff')
      .attr('stroke', TEXT_COLOUR)
      .attr('stroke-width', 1.5)
    g.append('text')
      .attr('transform', `translate(${x},${arcs.labelTop}) rotate(45)`)
      .attr('font-size', fontSize)
      .attr('fill', TEXT_COLOUR)
      .text(truncate(zone.name, arcs.labelChars))
  }
}
