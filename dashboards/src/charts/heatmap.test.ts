// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { NO_DATA_COLOUR, sequentialBlues } from './chart-kit.ts'
import { renderHeatmap, type HeatmapData, type HeatmapOptions } from './heatmap.ts'
import { goldenOf, seededRandom } from './svg-markup.ts'

const shape = [0, 0, 0, 0, 0, 0, 1, 2, 4, 6, 8, 9, 8, 7, 7, 8, 9, 10, 8, 5, 3, 1, 0, 0]

function fixture(): HeatmapData {
  const random = seededRandom(7)
  const cells: HeatmapData['cells'][number][] = []
  for (let weekday = 1; weekday <= 7; weekday += 1) {
    for (let hour = 0; hour < 24; hour += 1) {
      const factor = weekday === 6 ? 1.5 : weekday === 7 ? 0.6 : 1
      const value = Math.round((shape[hour] ?? 0) * 20 * factor * (0.8 + 0.4 * random()) * 10) / 10
      // The spring-forward hour: a Sunday 02:00 that the range never held.
      cells.push({ weekday, hour, value: weekday === 7 && hour === 2 ? null : value })
    }
  }
  return { cells }
}

const en: HeatmapOptions = {
  width: 720,
  locale: 'en-GB',
  labels: {
    loading: 'Loading…',
    empty: 'No transits in this range yet',
    weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
    hourAxis: 'Hour of day',
    value: 'Mean transits per hour',
    noData: 'No data',
    busiest: 'Busiest',
  },
}

const it_: HeatmapOptions = {
  ...en,
  locale: 'it-IT',
  labels: {
    ...en.labels,
    weekdays: ['lun', 'mar', 'mer', 'gio', 'ven', 'sab', 'dom'],
    value: 'Media transiti all’ora',
    busiest: 'Ora di punta',
    noData: 'Nessun dato',
  },
}

const cellRect = (svg: SVGSVGElement, weekday: number, hour: number) =>
  svg.querySelector(`g.cell[data-weekday="${weekday}"][data-hour="${hour}"] rect`)

describe(renderHeatmap.name, () => {
  it('draws all 7 × 24 cells, Monday on top', async () => {
    const sut = renderHeatmap(document.createElement('div'), fixture(), en)

    expect(sut.querySelectorAll('g.cell')).toHaveLength(168)
    const mondayY = Number(cellRect(sut, 1, 0)?.getAttribute('y'))
    const sundayY = Number(cellRect(sut, 7, 0)?.getAttribute('y'))
    expect(mondayY).toBeLessThan(sundayY)
    expect([...sut.querySelectorAll('g.y-axis text')].map((t) => t.textContent)).toEqual(
      en.labels.weekdays,
    )
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/heatmap.svg')
  })

  it('darkens with the value and outlines the busiest cell', () => {
    const data = fixture()
    const sut = renderHeatmap(document.createElement('div'), data, en)

    const busiest = data.cells.reduce((a, b) => ((b.value ?? 0) > (a.value ?? 0) ? b : a))
    const outline = sut.querySelector('rect.busiest')
    expect(outline?.getAttribute('x')).toBe(
      String(Number(cellRect(sut, busiest.weekday, busiest.hour)?.getAttribute('x')) - 1),
    )
    const step = (weekday: number, hour: number) =>
      sequentialBlues.indexOf(
        cellRect(sut, weekday, hour)?.getAttribute('fill') as (typeof sequentialBlues)[number],
      )
    expect(step(busiest.weekday, busiest.hour)).toBe(sequentialBlues.length - 1)
    expect(step(1, 3)).toBe(0)
    expect(step(6, 17)).toBeGreaterThan(step(6, 7))
    expect(sut.getAttribute('aria-label')).toContain(
      `Busiest: Sat ${String(busiest.hour).padStart(2, '0')}–`,
    )
  })

  it('marks hours the range did not hold as no data, with a legend entry', () => {
    const sut = renderHeatmap(document.createElement('div'), fixture(), en)

    expect(cellRect(sut, 7, 2)?.getAttribute('fill')).toBe(NO_DATA_COLOUR)
    expect(sut.querySelector('g.cell[data-weekday="7"][data-hour="2"] title')?.textContent).toBe(
      'Sun 02–03: No data',
    )
    expect(sut.querySelector('.legend-no-data text')?.textContent).toBe('No data')
  })

  it('labels axes and legend, with numbers in the locale', () => {
    const sut = renderHeatmap(document.createElement('div'), fixture(), it_)

    expect(sut.querySelector('.axis-label')?.textContent).toBe('Hour of day')
    expect(sut.querySelector('g.legend > text')?.textContent).toBe('Media transiti all’ora')
    const max = sut.querySelectorAll('g.ramp > text')[1]?.textContent ?? ''
    expect(max).toMatch(/^\d{1,3}(\.\d{3})*(,\d)?$/)
    expect(
      sut.querySelector('g.cell[data-weekday="6"][data-hour="11"] title')?.textContent,
    ).toMatch(/^sab 11–12: \d+(,\d)?$/)
  })

  it('shows hour ticks every two hours when wide and every six when narrow', () => {
    const wide = renderHeatmap(document.createElement('div'), fixture(), { ...en, width: 960 })
    const narrow = renderHeatmap(document.createElement('div'), fixture(), { ...en, width: 320 })

    expect(wide.querySelectorAll('g.x-axis text')).toHaveLength(13)
    expect([...narrow.querySelectorAll('g.x-axis text')].map((t) => t.textContent)).toEqual([
      '00',
      '06',
      '12',
      '18',
      '00',
    ])
  })

  it('has a loading state and an empty state', () => {
    const loading = renderHeatmap(document.createElement('div'), null, en)
    const empty = renderHeatmap(
      document.createElement('div'),
      { cells: fixture().cells.map((c) => ({ ...c, value: 0 })) },
      en,
    )

    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(loading.querySelector('text.loading')?.textContent).toBe('Loading…')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No transits in this range yet')
    expect(empty.querySelectorAll('g.cell')).toHaveLength(0)
  })

  it('renders the same markup twice', () => {
    const first = renderHeatmap(document.createElement('div'), fixture(), en)
    const second = renderHeatmap(document.createElement('div'), fixture(), en)
    expect(second.outerHTML).toBe(first.outerHTML)
  })
})
