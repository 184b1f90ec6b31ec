// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { measureColours, okabeIto } from './chart-kit.ts'
import { renderShopMetrics, type ShopMetricsData, type ShopMetricsOptions } from './shop-metrics.ts'
import { goldenOf } from './svg-markup.ts'

const data: ShopMetricsData = {
  shops: [
    { id: 'forno', name: 'Forno Legrenzi', captureRate: 0.143, dwellMeanS: 330 },
    { id: 'ottica', name: 'Ottica Palazzo', captureRate: 0.423, dwellMeanS: 282 },
    { id: 'libreria', name: 'Libreria del Miglio', captureRate: 0.167, dwellMeanS: 204 },
    { id: 'moda', name: 'Moda Legrenzi', captureRate: 0, dwellMeanS: null },
    { id: 'chiuso', name: 'Pasticceria ai Portici', captureRate: null, dwellMeanS: null },
  ],
  highlightId: 'libreria',
}

const en: ShopMetricsOptions = {
  width: 800,
  locale: 'en-GB',
  labels: {
    loading: 'Loading…',
    empty: 'No transits in this range yet',
    captureRate: 'Capture rate',
    dwell: 'Mean dwell',
    noVisitors: 'no visitors',
  },
}

const order = (svg: SVGSVGElement, panel: string) =>
  [...svg.querySelectorAll(`g.panel-${panel} g.shop`)].map((g) => g.getAttribute('data-shop-id'))
const bar = (svg: SVGSVGElement, panel: string, id: string) =>
  svg.querySelector(`g.panel-${panel} g.shop[data-shop-id="${id}"] rect.bar`)

describe(renderShopMetrics.name, () => {
  it('ranks shops by capture rate, in the same order in both small multiples', async () => {
    const sut = renderShopMetrics(document.createElement('div'), data, en)

    const expected = ['ottica', 'libreria', 'forno', 'moda', 'chiuso']
    expect(order(sut, 'capture-rate')).toEqual(expected)
    expect(order(sut, 'dwell')).toEqual(expected)
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/shop-metrics.svg')
  })

  it('draws bars proportional to the values, each measure in its own colour', () => {
    const sut = renderShopMetrics(document.createElement('div'), data, en)

    const width = (panel: string, id: string) => Number(bar(sut, panel, id)?.getAttribute('width'))
    expect(width('capture-rate', 'libreria') / width('capture-rate', 'ottica')).toBeCloseTo(
      0.167 / 0.423,
      2,
    )
    expect(width('dwell', 'forno') / width('dwell', 'libreria')).toBeCloseTo(330 / 204, 2)
    expect(bar(sut, 'capture-rate', 'ottica')?.getAttribute('fill')).toBe(measureColours.visitors)
    expect(bar(sut, 'dwell', 'ottica')?.getAttribute('fill')).toBe(okabeIto.bluishGreen)
  })

  it('writes values with units in the locale, and a dash where there is nothing to measure', () => {
    const sut = renderShopMetrics(document.createElement('div'), data, { ...en, locale: 'it-IT' })

    const value = (panel: string, id: string) =>
      sut.querySelector(`g.panel-${panel} g.shop[data-shop-id="${id}"] text.value`)?.textContent
    expect(value('capture-rate', 'ottica')).toBe('42,3%')
    expect(value('dwell', 'forno')).toBe('5,5 min')
    expect(value('dwell', 'moda')).toBe('–')
    expect(value('capture-rate', 'chiuso')).toBe('–')
    expect(bar(sut, 'dwell', 'moda')).toBeNull()
    expect(
      [...sut.querySelectorAll('g.panel-dwell text.tick')].map((t) => t.textContent),
    ).toContain('2 min')
  })

  it('outlines the highlighted shop and names every shop once', () => {
    const sut = renderShopMetrics(document.createElement('div'), data, en)

    expect(bar(sut, 'capture-rate', 'libreria')?.getAttribute('stroke-width')).toBe('2')
    expect(bar(sut, 'capture-rate', 'ottica')?.hasAttribute('stroke')).toBe(false)
    expect(sut.querySelectorAll('text.shop-name')).toHaveLength(5)
    expect(sut.getAttribute('aria-label')).toContain(
      'Moda Legrenzi: Capture rate 0%, Mean dwell no visitors',
    )
  })

  it('stacks the two panels on a phone', () => {
    const wide = renderShopMetrics(document.createElement('div'), data, en)
    const narrow = renderShopMetrics(document.createElement('div'), data, { ...en, width: 343 })

    const dwellY = (svg: SVGSVGElement) =>
      svg.querySelector('g.panel-dwell')?.getAttribute('transform')
    expect(dwellY(wide)).toBe('translate(0,0)')
    expect(dwellY(narrow)).not.toBe('translate(0,0)')
    expect(Number(narrow.getAttribute('height'))).toBeGreaterThan(
      Number(wide.getAttribute('height')),
    )
    expect(narrow.querySelectorAll('text.shop-name')).toHaveLength(10)
  })

  it('has a loading state and an empty state', () => {
    const loading = renderShopMetrics(document.createElement('div'), null, en)
    const empty = renderShopMetrics(
      document.createElement('div'),
      { shops: data.shops.map((s) => ({ ...s, captureRate: null, dwellMeanS: null })) },
      en,
    )
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No transits in this range yet')
  })

  it('renders the same markup twice', () => {
    const first = renderShopMetrics(document.createElement('div'), data, en)
    expect(renderShopMetrics(document.createElement('div'), data, en).outerHTML).toBe(
      first.outerHTML,
    )
  })
})
