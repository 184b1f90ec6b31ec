// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { measureColours } from './chart-kit.ts'
import {
  renderStackedColumns,
  type StackedColumnsData,
  type StackedColumnsOptions,
} from './stacked-columns.ts'
import { goldenOf, seededRandom } from './svg-markup.ts'

function hours(): StackedColumnsData {
  const random = seededRandom(3)
  const columns = Array.from({ length: 24 }, (_, hour) => {
    const day = hour >= 8 && hour < 20 ? Math.sin(((hour - 8) / 12) * Math.PI) : 0
    return {
      key: String(hour),
      label: String(hour).padStart(2, '0'),
      passersBy: Math.round(200 * day * (0.8 + 0.4 * random()) * 10) / 10,
      visitors: Math.round(30 * day * (0.8 + 0.4 * random()) * 10) / 10,
    }
  })
  return { columns, highlight: ['11', '13', '16'] }
}

const en: StackedColumnsOptions = {
  width: 560,
  locale: 'en-GB',
  digits: 1,
  labels: {
    loading: 'Loading…',
    empty: 'No history for this weekday yet',
    passersBy: 'Passers-by',
    visitors: 'Visitors',
    yAxis: 'Mean per hour',
    xAxis: 'Hour of day',
    highlight: 'Busiest hours',
  },
}

const bar = (svg: SVGSVGElement, key: string, part: string) =>
  svg.querySelector(`g.column[data-key="${key}"] rect.bar-${part}`)

describe(renderStackedColumns.name, () => {
  it('stacks visitors on passers-by per column', async () => {
    const data = hours()
    const sut = renderStackedColumns(document.createElement('div'), data, en)

    const passers = bar(sut, '12', 'passers-by')
    const visitors = bar(sut, '12', 'visitors')
    expect(passers?.getAttribute('fill')).toBe(measureColours.passersBy)
    expect(visitors?.getAttribute('fill')).toBe(measureColours.visitors)
    expect(
      Number(visitors?.getAttribute('y')) + Number(visitors?.getAttribute('height')),
    ).toBeCloseTo(Number(passers?.getAttribute('y')), 0)
    const noon = data.columns[12]
    expect(
      Number(visitors?.getAttribute('height')) / Number(passers?.getAttribute('height')),
    ).toBeCloseTo((noon?.visitors ?? 0) / (noon?.passersBy ?? 1), 1)
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/stacked-columns.svg')
  })

  it('outlines highlighted columns and names them in the legend and description', () => {
    const sut = renderStackedColumns(document.createElement('div'), hours(), en)

    expect(
      [...sut.querySelectorAll('g.column')]
        .filter((g) => g.querySelector('rect.highlight'))
        .map((g) => g.getAttribute('data-key')),
    ).toEqual(['11', '13', '16'])
    expect(sut.querySelector('g.legend-highlight')?.textContent).toBe('Busiest hours')
    expect(sut.getAttribute('aria-label')).toContain('Busiest hours: 11, 13, 16')
  })

  it('thins out column labels that would not fit', () => {
    const wide = renderStackedColumns(document.createElement('div'), hours(), { ...en, width: 960 })
    const narrow = renderStackedColumns(document.createElement('div'), hours(), {
      ...en,
      width: 320,
    })
    expect(wide.querySelectorAll('text.column-label')).toHaveLength(24)
    expect(narrow.querySelectorAll('text.column-label').length).toBeLessThanOrEqual(8)
  })

  it('formats values in the locale with the requested decimals', () => {
    const sut = renderStackedColumns(document.createElement('div'), hours(), {
      ...en,
      locale: 'it-IT',
    })
    expect(sut.querySelector('g.column[data-key="14"] title')?.textContent).toMatch(
      /^14: Passers-by \d+(,\d)?, Visitors \d+(,\d)?$/,
    )
  })

  it('keeps whole-count axes on whole numbers', () => {
    const week = {
      columns: ['Mon', 'Tue', 'Today'].map((label, i) => ({
        key: label,
        label,
        passersBy: i === 2 ? 1 : 0,
        visitors: 0,
      })),
    }
    const sut = renderStackedColumns(document.createElement('div'), week, { ...en, digits: 0 })
    expect([...sut.querySelectorAll('g.y-axis text')].map((t) => t.textContent)).toEqual(['0', '1'])
  })

  it('has a loading state and an empty state', () => {
    const loading = renderStackedColumns(document.createElement('div'), null, en)
    const empty = renderStackedColumns(
      document.createElement('div'),
      { columns: hours().columns.map((c) => ({ ...c, passersBy: 0, visitors: 0 })) },
      en,
    )
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No history for this weekday yet')
  })

  it('renders the same markup twice', () => {
    const first = renderStackedColumns(document.createElement('div'), hours(), en)
    expect(renderStackedColumns(document.createElement('div'), hours(), en).outerHTML).toBe(
      first.outerHTML,
    )
  })
})
