// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { flowColours, renderFlowsArcs, type FlowsData, type FlowsOptions } from './flows-arcs.ts'
import { goldenOf, pathNumbers } from './svg-markup.ts'

const zones = [
  { id: 'via-carducci', name: 'Via Carducci', streetFromM: 0, streetToM: 480 },
  { id: 'piazza-ferretto', name: 'Piazza Ferretto', streetFromM: 480, streetToM: 720 },
  { id: 'via-palazzo', name: 'Via Palazzo', streetFromM: 720, streetToM: 1260 },
  { id: 'corte-legrenzi', name: 'Corte Legrenzi', streetFromM: 1260, streetToM: 1600 },
  { id: 'unused', name: 'Nowhere', streetFromM: 2000, streetToM: 2100 },
]

const cell = (o: string, d: string, flows: number | null, travel: number | null = 300) => ({
  originZoneId: o,
  destZoneId: d,
  suppressed: flows === null,
  flows,
  travelSMedian: flows === null ? null : travel,
})

const data: FlowsData = {
  zones,
  k: 5,
  cells: [
    cell('via-carducci', 'piazza-ferretto', 420, 240),
    cell('piazza-ferretto', 'via-palazzo', 380, 200),
    cell('via-carducci', 'corte-legrenzi', 120, 960),
    cell('corte-legrenzi', 'via-palazzo', 210, 300),
    cell('via-palazzo', 'via-carducci', 60, 700),
    cell('piazza-ferretto', 'corte-legrenzi', null),
    cell('corte-legrenzi', 'via-carducci', null),
  ],
}

const en: FlowsOptions = {
  width: 720,
  locale: 'en-GB',
  labels: {
    loading: 'Loading…',
    empty: 'No flows published for this range yet',
    forward: 'Along the mile (→)',
    backward: 'Back along the mile (←)',
    suppressed: (k, cells) =>
      `${cells} ${cells === 1 ? 'pair' : 'pairs'} under ${k} devices: withheld`,
    flow: (o, d) => `${o} → ${d}`,
    flowsUnit: 'flows',
    travel: 'median walk',
  },
}

const arc = (svg: SVGSVGElement, o: string, d: string) =>
  svg.querySelector(`path.flow[data-origin="${o}"][data-dest="${d}"]`)

describe(renderFlowsArcs.name, () => {
  it('lays the zones that have flows along a line in street order', async () => {
    const sut = renderFlowsArcs(document.createElement('div'), data, en)

    expect([...sut.querySelectorAll('g.node')].map((n) => n.getAttribute('data-zone-id'))).toEqual([
      'via-carducci',
      'piazza-ferretto',
      'via-palazzo',
      'corte-legrenzi',
    ])
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/flows-arcs.svg')
  })

  it('arcs flows along the mile above the line and flows back below it', () => {
    const sut = renderFlowsArcs(document.createElement('div'), data, en)

    const baseline = Number(sut.querySelector('line.street-line')?.getAttribute('y1'))
    const forward = arc(sut, 'via-carducci', 'piazza-ferretto')
    const backward = arc(sut, 'via-palazzo', 'via-carducci')
    expect(forward?.getAttribute('class')).toContain('flow-forward')
    expect(forward?.getAttribute('stroke')).toBe(flowColours.forward)
    expect(backward?.getAttribute('class')).toContain('flow-backward')
    expect(backward?.getAttribute('stroke')).toBe(flowColours.backward)
    const [x1, , , , , , , x2] = pathNumbers(forward?.getAttribute('d'))
    expect(x1).toBeLessThan(x2 ?? 0)
    // Sweep flag 1 from left to right runs above (smaller y) the baseline.
    expect(forward?.getAttribute('d')).toMatch(
      new RegExp(`^M[\\d.]+,${baseline}A[\\d.]+,[\\d.]+ 0 0,1 `),
    )
  })

  it('widens arcs with flows', () => {
    const sut = renderFlowsArcs(document.createElement('div'), data, en)

    const width = (o: string, d: string) => Number(arc(sut, o, d)?.getAttribute('stroke-width'))
    expect(width('via-carducci', 'piazza-ferretto')).toBe(14)
    expect(width('via-carducci', 'piazza-ferretto')).toBeGreaterThan(
      width('corte-legrenzi', 'via-palazzo'),
    )
    expect(width('corte-legrenzi', 'via-palazzo')).toBeGreaterThan(
      width('via-palazzo', 'via-carducci'),
    )
    expect(arc(sut, 'via-carducci', 'piazza-ferretto')?.querySelector('title')?.textContent).toBe(
      'Via Carducci → Piazza Ferretto: 420 flows, median walk 4.0 min',
    )
  })

  it('shows suppressed cells as thin dashed arcs without a figure, and counts them in the legend', () => {
    const sut = renderFlowsArcs(document.createElement('div'), data, en)

    const hidden = arc(sut, 'piazza-ferretto', 'corte-legrenzi')
    expect(hidden?.getAttribute('class')).toContain('flow-suppressed')
    expect(hidden?.getAttribute('stroke-dasharray')).toBe('3 3')
    expect(hidden?.querySelector('title')?.textContent).toBe(
      'Piazza Ferretto → Corte Legrenzi: 1 pair under 5 devices: withheld',
    )
    expect(sut.querySelector('g.legend-suppressed')?.textContent).toBe(
      '2 pairs under 5 devices: withheld',
    )
    expect(sut.getAttribute('aria-label')).toContain('2 pairs under 5 devices')
  })

  it('leaves the suppressed entry out of the legend when nothing is suppressed', () => {
    const sut = renderFlowsArcs(
      document.createElement('div'),
      { ...data, cells: data.cells.filter((c) => !c.suppressed) },
      en,
    )
    expect(sut.querySelector('g.legend-suppressed')).toBeNull()
  })

  it('has a loading state and an empty state', () => {
    const loading = renderFlowsArcs(document.createElement('div'), null, en)
    const empty = renderFlowsArcs(document.createElement('div'), { ...data, cells: [] }, en)
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe(
      'No flows published for this range yet',
    )
  })

  it('renders the same markup twice', () => {
    const first = renderFlowsArcs(document.createElement('div'), data, en)
    expect(renderFlowsArcs(document.createElement('div'), data, en).outerHTML).toBe(first.outerHTML)
  })
})
