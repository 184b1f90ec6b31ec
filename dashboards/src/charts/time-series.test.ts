// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { goldenOf, pathNumbers, seededRandom } from './svg-markup.ts'
import {
  renderTimeSeries,
  seriesColours,
  type TimePoint,
  type TimeSeriesData,
  type TimeSeriesOptions,
} from './time-series.ts'

const HOUR = 3_600_000
// Monday 16 Nov 2026, 00:00 in Rome (UTC+1).
const FROM = Date.parse('2026-11-15T23:00:00.000Z')

function week(seed: number, scale: number): TimePoint[] {
  const random = seededRandom(seed)
  return Array.from({ length: 7 * 24 }, (_, i) => {
    const hour = i % 24
    const day = hour >= 8 && hour < 20 ? Math.sin(((hour - 8) / 12) * Math.PI) : 0
    return {
      t: new Date(FROM + i * HOUR).toISOString(),
      value: Math.round(scale * (10 + 300 * day) * (0.85 + 0.3 * random())),
    }
  })
}

function fixture(): TimeSeriesData {
  return {
    from: new Date(FROM).toISOString(),
    to: new Date(FROM + 7 * 24 * HOUR).toISOString(),
    current: week(1, 1.1),
    baseline: week(2, 1),
  }
}

const en: TimeSeriesOptions = {
  width: 720,
  height: 260,
  locale: 'en-GB',
  timeZone: 'Europe/Rome',
  labels: {
    loading: 'Loading…',
    empty: 'No transits in this range yet',
    current: 'Last 7 days',
    baseline: 'The 7 days before',
    yAxis: 'Transits per hour',
  },
}

describe(renderTimeSeries.name, () => {
  it('draws the current period solid over the comparison period dashed', async () => {
    const sut = renderTimeSeries(document.createElement('div'), fixture(), en)

    const current = sut.querySelector('path.series-current')
    const baseline = sut.querySelector('path.series-baseline')
    expect(current?.getAttribute('stroke')).toBe(seriesColours.current)
    expect(current?.hasAttribute('stroke-dasharray')).toBe(false)
    expect(baseline?.getAttribute('stroke-dasharray')).toBe('6 4')
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/time-series.svg')
  })

  it('shades the expected range behind the lines, in the legend and on the scale', async () => {
    const data = fixture()
    const band = data.baseline.map((p) => ({ t: p.t, low: p.value * 0.8, high: p.value * 1.5 }))
    const sut = renderTimeSeries(
      document.createElement('div'),
      { ...data, band },
      { ...en, labels: { ...en.labels, band: 'Usual range' } },
    )

    const shaded = sut.querySelector('path.band-expected')
    expect(shaded?.getAttribute('fill')).toBe(seriesColours.band)
    // Behind the lines: drawn before them.
    const paths = [...sut.querySelectorAll('path')].map((p) => p.getAttribute('class'))
    expect(paths.indexOf('band-expected')).toBeLessThan(paths.indexOf('series series-current'))
    expect(paths.indexOf('band-expected')).toBeGreaterThanOrEqual(0)
    expect([...sut.querySelectorAll('g.legend-item')].map((i) => i.textContent)).toEqual([
      'Last 7 days',
      'The 7 days before',
      'Usual range',
    ])
    // The top of the band fits on the axis.
    const top = Math.min(...pathNumbers(shaded?.getAttribute('d')).filter((_, i) => i % 2 === 1))
    expect(top).toBeGreaterThanOrEqual(0)
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/time-series-band.svg')
  })

  it('has a legend telling the periods apart by line style, and a unit on the y axis', () => {
    const sut = renderTimeSeries(document.createElement('div'), fixture(), en)

    const items = [...sut.querySelectorAll('g.legend-item')]
    expect(items.map((item) => item.textContent)).toEqual(['Last 7 days', 'The 7 days before'])
    expect(items[1]?.querySelector('line')?.getAttribute('stroke-dasharray')).toBe('6 4')
    expect(sut.querySelector('.axis-label')?.textContent).toBe('Transits per hour')
  })

  it('puts day ticks on local midnights, named in the locale', () => {
    const english = renderTimeSeries(document.createElement('div'), fixture(), en)
    const italian = renderTimeSeries(document.createElement('div'), fixture(), {
      ...en,
      locale: 'it-IT',
    })

    const ticks = (svg: SVGSVGElement) =>
      [...svg.querySelectorAll('g.x-axis text')].map((t) => t.textContent)
    expect(ticks(english)[0]).toBe('Mon 16 Nov')
    expect(ticks(italian)[0]).toBe('lun 16 nov')
    const firstTickX = Number(english.querySelector('g.x-axis line + line')?.getAttribute('x1'))
    const start = pathNumbers(english.querySelector('path.series-current')?.getAttribute('d'))[0]
    expect(firstTickX).toBe(start)
  })

  it('puts hour ticks on local hours for a day', () => {
    const day = fixture()
    const to = FROM + 24 * HOUR
    const sut = renderTimeSeries(
      document.createElement('div'),
      {
        from: day.from,
        to: new Date(to).toISOString(),
        current: day.current.slice(0, 24),
        baseline: day.baseline.slice(0, 24),
      },
      en,
    )

    expect([...sut.querySelectorAll('g.x-axis text')].map((t) => t.textContent)).toEqual([
      '00:00',
      '06:00',
      '12:00',
      '18:00',
      '00:00',
    ])
  })

  it('scales both series on one axis and sums them in the description', () => {
    const data = fixture()
    const sut = renderTimeSeries(document.createElement('div'), data, { ...en, locale: 'it-IT' })

    const sum = (points: readonly TimePoint[]) => points.reduce((n, p) => n + p.value, 0)
    const grouped = (n: number) =>
      new Intl.NumberFormat('it-IT', { useGrouping: 'always' }).format(n)
    expect(sut.getAttribute('aria-label')).toBe(
      `Transits per hour. Last 7 days: ${grouped(sum(data.current))}; The 7 days before: ${grouped(sum(data.baseline))}`,
    )
    const ys = (cls: string) =>
      pathNumbers(sut.querySelector(`path.${cls}`)?.getAttribute('d')).filter((_, i) => i % 2 === 1)
    expect(Math.min(...ys('series-current'))).toBeLessThan(Math.min(...ys('series-baseline')))
  })

  it('marks the latest value', () => {
    const sut = renderTimeSeries(document.createElement('div'), fixture(), en)
    expect(sut.querySelector('circle.last-point title')?.textContent).toMatch(
      /^Sun 22 Nov, 23:00: /,
    )
  })

  it('has a loading state and an empty state', () => {
    const loading = renderTimeSeries(document.createElement('div'), null, en)
    const zero = fixture()
    const empty = renderTimeSeries(
      document.createElement('div'),
      {
        ...zero,
        current: zero.current.map((p) => ({ ...p, value: 0 })),
        baseline: [],
      },
      en,
    )

    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No transits in this range yet')
  })

  it('renders the same markup twice', () => {
    const first = renderTimeSeries(document.createElement('div'), fixture(), en)
    const second = renderTimeSeries(document.createElement('div'), fixture(), en)
    expect(second.outerHTML).toBe(first.outerHTML)
  })
})
