import { select } from 'd3'
import {
  FONT_SIZE,
  GRID_COLOUR,
  MUTED_COLOUR,
  NO_DATA_COLOUR,
  SVG_NS,
  TEXT_COLOUR,
  measureColours,
  nodeOf,
  round,
  sequentialBlues,
  textWidth,
  type Group,
  type StateLabels,
  type Svg,
} from './chart-kit.ts'

/**
 * The frame every chart is drawn in: the `svg` (an image with its description), its loading and
 * empty states, axes (grid, tick labels, titles, base line) and legends (swatches, a colour ramp).
 * A chart computes its scales and draws its marks; the frame draws the rest the same way for all.
 */
export interface Frame {
  readonly svg: Svg
  readonly width: number
  /** Sets the height (and view box) of a chart that measures itself while drawing. */
  size(height: number): Frame
  /** The description read instead of the picture. */
  label(text: string): Frame
  /** Swatches in rows that wrap at `maxWidth`; returns their height. */
  legend(items: readonly LegendItem[], at: LegendPlace): number
  /** `g.grid` of light lines, one per value. */
  grid(values: readonly number[], line: (value: number) => GridLine): Frame
  /** `g.y-axis` of right-aligned tick labels. */
  yTicks(
    values: readonly number[],
    at: { x: number; y: (value: number) => number; format: (value: number) => string },
  ): Frame
  /** The y axis' title, turned to read bottom to top beside the plot from `top` over `height`. */
  yTitle(text: string, plot: { top: number; height: number }): Frame
  /** The x axis' title, centred on `x`. */
  xTitle(text: string, at: { x: number; y: number; fill?: string }): Frame
  /** The base line of a plot. */
  baseline(at: { x1: number; x2: number; y: number }): Frame
  /** A centred message: the loading (with `aria-busy`) or empty state. */
  message(text: string, loading: boolean, height: number): Frame
  node(): SVGSVGElement
}

export type GridLine = [x1: number, x2: number, y1: number, y2: number]

export interface LegendPlace {
  x: number
  y: number
  maxWidth: number
  /** Room after each item's label. */
  gap?: number
}

export type LegendSwatch =
  | { kind: 'rect'; fill: string; stroke?: string; dash?: string }
  | { kind: 'line'; stroke: string; dash?: string; width?: number }
  | { kind: 'symbol'; path: string; fill: string; stroke?: string }

export interface LegendItem {
  key: string
  label: string
  swatch: LegendSwatch
}

/** The legend of the two measures every footfall chart stacks: passers-by, then visitors. */
export function measureLegend(labels: { passersBy: string; visitors: string }): LegendItem[] {
  return [
    {
      key: 'passers-by',
      label: labels.passersBy,
      swatch: { kind: 'rect', fill: measureColours.passersBy },
    },
    {
      key: 'visitors',
      label: labels.visitors,
      swatch: { kind: 'rect', fill: measureColours.visitors },
    },
  ]
}

/**
 * A frame in `container` (whose content it replaces). Without `height` the chart measures itself
 * and calls `size` when it knows; without `label` it calls `label` once it can describe the data.
 */
export function createFrame(
  container: Element,
  options: { className: string; width: number; height?: number; label?: string },
): Frame {
  container.replaceChildren()
  const svg = select(container)
    .append('svg')
    .attr('xmlns', SVG_NS)
    .attr('class', options.className)
    .attr('role', 'img')
    .attr('width', options.width)
  const frame = frameOf(svg, options.width)
  if (options.height !== undefined) frame.size(options.height)
  svg.attr('font-family', 'system-ui, sans-serif').attr('font-size', FONT_SIZE)
  if (options.label !== undefined) frame.label(options.label)
  return frame
}

function frameOf(svg: Svg, width: number): Frame {
  const frame: Frame = {
    svg,
    width,
    size(height) {
      svg.attr('height', height).attr('viewBox', `0 0 ${width} ${height}`)
      return frame
    },
    label(text) {
      svg.attr('aria-label', text)
      return frame
    },
    legend: (items, at) => drawLegend(svg, items, at),
    grid(values, line) {
      svg
        .append('g')
        .attr('class', 'grid')
        .attr('aria-hidden', 'true')
        .selectAll('line')
        .data(values)
        .join('line')
        .attr('x1', (v) => line(v)[0])
        .attr('x2', (v) => line(v)[1])
        .attr('y1', (v) => line(v)[2])
        .attr('y2', (v) => line(v)[3])
        .attr('stroke', GRID_COLOUR)
      return frame
    },
    yTicks(values, at) {
      svg
        .append('g')
        .attr('class', 'y-axis')
        .selectAll('text')
        .data(values)
        .join('text')
        .attr('x', at.x)
        .attr('y', (v) => at.y(v))
        .attr('dy', '0.35em')
        .attr('text-anchor', 'end')
        .attr('fill', TEXT_COLOUR)
        .text((v) => at.format(v))
      return frame
    },
    yTitle(text, plot) {
      svg
        .append('text')
        .attr('class', 'axis-label')
        .attr('transform', `translate(12,${round(plot.top + plot.height / 2)}) rotate(-90)`)
        .attr('text-anchor', 'middle')
        .attr('fill', MUTED_COLOUR)
        .text(text)
      return frame
    },
    xTitle(text, at) {
      svg
        .append('text')
        .attr('class', 'axis-label')
        .attr('x', at.x)
        .attr('y', at.y)
        .attr('text-anchor', 'middle')
        .attr('fill', at.fill ?? MUTED_COLOUR)
        .text(text)
      return frame
    },
    baseline(at) {
      svg
        .append('line')
        .attr('x1', at.x1)
        .attr('x2', at.x2)
        .attr('y1', at.y)
        .attr('y2', at.y)
        .attr('stroke', TEXT_COLOUR)
      return frame
    },
    message(text, loading, height) {
      svg
        .append('text')
        .attr('class', loading ? 'loading' : 'empty')
        .attr('x', width / 2)
        .attr('y', height / 2)
        .attr('dy', '0.35em')
        .attr('text-anchor', 'middle')
        .attr('fill', loading ? MUTED_COLOUR : TEXT_COLOUR)
        .text(text)
      return frame
    },
    node: () => nodeOf(svg),
  }
  return frame
}

/** How a chart's frame shows no chart: while its data loads, and when there is nothing to draw. */
export interface ChartStates<D> {
  className: string
  width: number
  /** The loading skeleton's height: the chart's usual height. */
  loadingHeight: number
  labels: StateLabels
  /** Nothing worth drawing: the empty state says so. */
  isEmpty(data: D): boolean
}

/** The loading state while `data` is null, the empty state when it holds nothing, else `draw`. */
export function drawChart<D>(
  container: Element,
  data: D | null,
  states: ChartStates<D>,
  draw: (data: D) => SVGSVGElement,
): SVGSVGElement {
  const { className, width, labels } = states
  if (!data) {
    return renderState(container, {
      className,
      width,
      height: states.loadingHeight,
      text: labels.loading,
      loading: true,
    })
  }
  if (states.isEmpty(data)) {
    return renderState(container, { className, width, text: labels.empty, loading: false })
  }
  return draw(data)
}

/**
 * The loading or empty state of any chart: same size class, a centred message, and for loading
 * `aria-busy` so assistive technology waits.
 */
export function renderState(
  container: Element,
  options: { className: string; width: number; height?: number; text: string; loading: boolean },
): SVGSVGElement {
  const height = options.height ?? 120
  const frame = createFrame(container, {
    className: `${options.className} ${options.loading ? 'chart-loading' : 'chart-empty'}`,
    width: options.width,
    height,
    label: options.text,
  })
  if (options.loading) {
    frame.svg.attr('aria-busy', 'true')
    frame.svg
      .append('rect')
      .attr('class', 'skeleton')
      .attr('x', 0)
      .attr('y', 0)
      .attr('width', options.width)
      .attr('height', height)
      .attr('rx', 6)
      .attr('fill', NO_DATA_COLOUR)
  }
  return frame.message(options.text, options.loading, height).node()
}

/**
 * A legend in rows that wrap at `maxWidth`; returns its height. Items are `g.legend-item.legend-<key>`.
 */
export function drawLegend(
  parent: Group | Svg,
  items: readonly LegendItem[],
  at: LegendPlace,
): number {
  const legend = parent
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${at.x},${at.y})`)
  let x = 0
  let y = 0
  const rowHeight = 20
  for (const item of items) {
    const itemWidth = 20 + textWidth(item.label) + (at.gap ?? 18)
    if (x > 0 && x + itemWidth > at.maxWidth) {
      x = 0
      y += rowHeight
    }
    const g = legend
      .append('g')
      .attr('class', `legend-item legend-${item.key}`)
      .attr('transform', `translate(${x},${y})`)
    drawSwatch(g, item.swatch)
    g.append('text')
      .attr('x', 20)
      .attr('y', 7)
      .attr('dy', '0.35em')
      .attr('fill', TEXT_COLOUR)
      .text(item.label)
    x += itemWidth
  }
  return y + rowHeight
}

function drawSwatch(g: Group, s: LegendSwatch): void {
  if (s.kind === 'rect') {
    const rect = g
      .append('rect')
      .attr('width', 14)
      .attr('height', 14)
      .attr('fill', s.fill)
      .attr('stroke', s.stroke ?? null)
    if (s.dash) rect.attr('stroke-dasharray', s.dash)
  } else if (s.kind === 'line') {
    const line = g
      .append('line')
      .attr('x1', 0)
      .attr('x2', 14)
      .attr('y1', 7)
      .attr('y2', 7)
      .attr('stroke', s.stroke)
      .attr('stroke-width', s.width ?? 2.5)
    if (s.dash) line.attr('stroke-dasharray', s.dash)
  } else {
    g.append('path')
      .attr('transform', 'translate(7,7)')
      .attr('d', s.path)
      .attr('fill', s.fill)
      .attr('stroke', s.stroke ?? null)
  }
}

/**
 * The sequential ramp's legend (light to dark, zero left out): a swatch per step from `x`, the
 * lowest and highest value under its ends. Returns the ramp's width.
 */
export function drawRamp(
  parent: Group | Svg,
  at: { x: number; y?: number; step: number; low: string; high: string },
): number {
  sequentialBlues.slice(1).forEach((colour, i) => {
    const swatch = parent.append('rect').attr('x', round(at.x + i * at.step))
    if (at.y !== undefined) swatch.attr('y', at.y)
    swatch.attr('width', round(at.step)).attr('height', 10).attr('fill', colour)
  })
  const end = round(at.x + at.step * (sequentialBlues.length - 1))
  const labelY = (at.y ?? 0) + 24
  parent.append('text').attr('x', at.x).attr('y', labelY).attr('fill', TEXT_COLOUR).text(at.low)
  parent
    .append('text')
    .attr('x', end)
    .attr('y', labelY)
    .attr('text-anchor', 'end')
    .attr('fill', TEXT_COLOUR)
    .text(at.high)
  return end - at.x
}
