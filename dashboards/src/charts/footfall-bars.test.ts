// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { footfallColours, renderFootfallBars, type FootfallBarsOptions } from './footfall-bars.ts'

const zones = [
  { id: 'piazza-ferretto', name: 'Piazza Ferretto' },
  { id: 'via-palazzo', name: 'Via Palazzo' },
  { id: 'bar-al-ponte', name: 'Bar al Ponte' },
  { id: 'libreria-san-michele', name: 'Libreria San Michele' },
]

const totals = [
  { zoneId: 'piazza-ferretto', passersBy: 1234, visitors: 87 },
  { zoneId: 'via-palazzo', passersBy: 2210, visitors: 305 },
  { zoneId: 'bar-al-ponte', passersBy: 0, visitors: 0 },
  { zoneId: 'libreria-san-michele', passersBy: 412, visitors: 96 },
]

const en: FootfallBarsOptions = {
  width: 640,
  locale: 'en',
  labels: {
    passersBy: 'Passers-by',
    visitors: 'Visitors',
    axis: 'Pedestrians (transits)',
    empty: 'No transits in this range yet',
  },
}

const it_: FootfallBarsOptions = {
  width: 640,
  locale: 'it-IT',
  labels: {
    passersBy: 'Passanti',
    visitors: 'Visitatori',
    axis: 'Pedoni (transiti)',
    empty: 'Ancora nessun transito in questo periodo',
  },
}

function formatMarkup(node: Element, depth = 0): string {
  const indent = '  '.repeat(depth)
  const attributes = [...node.attributes].map((attr) => ` ${attr.name}="${escapeXml(attr.value)}"`)
  const open = `${indent}<${node.tagName}${attributes.join('')}`
  const elements = [...node.children]
  const text = node.textContent ?? ''
  if (elements.length === 0) {
    return text === '' ? `${open}/>` : `${open}>${escapeXml(text)}</${node.tagName}>`
  }
  const inner = elements.map((child) => formatMarkup(child, depth + 1)).join('\n')
  return `${open}>\n${inner}\n${indent}</${node.tagName}>`
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

function widthOf(svg: SVGSVGElement, zoneId: string, part: 'passers-by' | 'visitors'): number {
  const rect = svg.querySelector(`g.zone[data-zone-id="${zoneId}"] rect.bar-${part}`)
  return Number(rect?.getAttribute('width'))
}

function barLength(svg: SVGSVGElement, zoneId: string): number {
  return widthOf(svg, zoneId, 'passers-by') + widthOf(svg, zoneId, 'visitors')
}

describe(renderFootfallBars.name, () => {
  it('draws stacked bars per zone in the given order', async () => {
    const container = document.createElement('div')

    const sut = renderFootfallBars(container, { zones, totals }, en)

    expect(container.firstElementChild).toBe(sut)
    expect([...sut.querySelectorAll('g.zone')].map((g) => g.getAttribute('data-zone-id'))).toEqual(
      zones.map((zone) => zone.id),
    )
    await expect(formatMarkup(sut) + '\n').toMatchFileSnapshot('./__snapshots__/footfall-bars.svg')
  })

  it('gives the longest bar to the zone with the largest total, proportionally', () => {
    const sut = renderFootfallBars(document.createElement('div'), { zones, totals }, en)

    const lengths = zones.map((zone) => barLength(sut, zone.id))
    expect(Math.max(...lengths)).toBe(barLength(sut, 'via-palazzo'))
    expect(barLength(sut, 'bar-al-ponte')).toBe(0)
    expect(barLength(sut, 'piazza-ferretto') / barLength(sut, 'via-palazzo')).toBeCloseTo(
      (1234 + 87) / (2210 + 305),
      2,
    )
    expect(
      widthOf(sut, 'via-palazzo', 'visitors') / widthOf(sut, 'via-palazzo', 'passers-by'),
    ).toBeCloseTo(305 / 2210, 2)
  })

  it('has a two-entry legend in the colour-blind-safe palette', () => {
    const sut = renderFootfallBars(document.createElement('div'), { zones, totals }, en)

    const items = [...sut.querySelectorAll('g.legend > g.legend-item')]
    expect(items.map((item) => item.textContent)).toEqual(['Passers-by', 'Visitors'])
    expect(items.map((item) => item.querySelector('rect')?.getAttribute('fill'))).toEqual([
      footfallColours.passersBy,
      footfallColours.visitors,
    ])
  })

  it('is an accessible image with an axis label and tooltips', () => {
    const sut = renderFootfallBars(document.createElement('div'), { zones, totals }, en)

    expect(sut.getAttribute('role')).toBe('img')
    expect(sut.getAttribute('aria-label')).toContain('Via Palazzo: Passers-by 2,210, Visitors 305')
    expect(sut.querySelector('.axis-label')?.textContent).toBe('Pedestrians (transits)')
    expect(sut.querySelector('g.zone[data-zone-id="piazza-ferretto"] > title')?.textContent).toBe(
      'Piazza Ferretto: Passers-by 1,234, Visitors 87',
    )
  })

  it('formats numbers for the locale', () => {
    const english = renderFootfallBars(document.createElement('div'), { zones, totals }, en)
    const italian = renderFootfallBars(document.createElement('div'), { zones, totals }, it_)

    const valueOf = (svg: SVGSVGElement) =>
      svg.querySelector('g.zone[data-zone-id="via-palazzo"] text.value')?.textContent
    expect(valueOf(english)).toBe('2,515')
    expect(valueOf(italian)).toBe('2.515')
    expect(
      italian.querySelector('g.zone[data-zone-id="piazza-ferretto"] > title')?.textContent,
    ).toBe('Piazza Ferretto: Passanti 1.234, Visitatori 87')
    expect(
      english.querySelector('g.zone[data-zone-id="piazza-ferretto"] > title')?.textContent,
    ).toContain('1,234')
  })

  it('replaces what the container held before', () => {
    const container = document.createElement('div')
    renderFootfallBars(container, { zones, totals }, en)

    renderFootfallBars(container, { zones, totals }, it_)

    expect(container.querySelectorAll('svg')).toHaveLength(1)
  })

  it('renders the same markup twice', () => {
    const first = renderFootfallBars(document.createElement('div'), { zones, totals }, en)
    const second = renderFootfallBars(document.createElement('div'), { zones, totals }, en)

    expect(second.outerHTML).toBe(first.outerHTML)
  })

  it('shows the empty state when every total is zero', async () => {
    const zeroTotals = totals.map((total) => ({ ...total, passersBy: 0, visitors: 0 }))

    const sut = renderFootfallBars(document.createElement('div'), { zones, totals: zeroTotals }, en)

    expect(sut.querySelectorAll('rect')).toHaveLength(0)
    expect(sut.getAttribute('aria-label')).toBe('No transits in this range yet')
    await expect(formatMarkup(sut) + '\n').toMatchFileSnapshot(
      './__snapshots__/footfall-bars-empty.svg',
    )
  })

  it('shows the empty state when there are no zones', () => {
    const sut = renderFootfallBars(document.createElement('div'), { zones: [], totals: [] }, en)

    expect(sut.querySelector('text.empty')?.textContent).toBe('No transits in this range yet')
  })
})
