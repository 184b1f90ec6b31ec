// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { goldenOf, pathNumbers } from './svg-markup.ts'
import { outlookColours, renderOutlook, type OutlookData, type OutlookOptions } from './outlook.ts'

const HOUR = 3_600_000
// Monday 16 Nov 2026, 00:00 in Rome (UTC+1); "now" is Thursday 19 Nov, 00:00.
const FROM = Date.parse('2026-11-15T23:00:00.000Z')
const NOW = FROM + 3 * 24 * HOUR
const TO = NOW + 3 * 24 * HOUR

const shape = (i: number) => {
  const hour = i % 24
  return hour >= 8 && hour < 20 ? Math.round(20 + 200 * Math.sin(((hour - 8) / 12) * Math.PI)) : 5
}

function fixture(context = true): OutlookData {
  return {
    from: new Date(FROM).toISOString(),
    to: new Date(TO).toISOString(),
    now: new Date(NOW).toISOString(),
    actual: Array.from({ length: 72 }, (_, i) => ({
      t: new Date(FROM + i * HOUR).toISOString(),
      value: shape(i) + (i % 5),
    })),
    forecast: Array.from({ length: 72 }, (_, i) => ({
      t: new Date(NOW + i * HOUR).toISOString(),
      value: shape(i),
      low: i < 48 ? shape(i) * 0.7 : null,
      high: i < 48 ? shape(i) * 1.3 : null,
    })),
    context: context
      ? {
          variable: 'rain_mm',
          points: [
            { t: new Date(FROM + 10 * HOUR).toISOString(), value: 2.4 },
            { t: new Date(FROM + 11 * HOUR).toISOString(), value: 0.5 },
            { t: new Date(NOW + 30 * HOUR).toISOString(), value: 4 },
          ],
        }
      : null,
  }
}

const en: OutlookOptions = {
  width: 720,
  height: 280,
  locale: 'en-GB',
  timeZone: 'Europe/Rome',
  labels: {
    loading: 'Loading…',
    empty: 'No transits in this range yet',
    actual: 'Last 3 days',
    forecast: 'Forecast',
    interval: '90 % interval',
    now: 'now',
    yAxis: 'Transits per hour',
    context: (v) => `${v} (context)`,
  },
}

describe(renderOutlook.name, () => {
  it('draws the past solid, the forecast dashed inside its interval, now, and the context bars', async () => {
    const sut = renderOutlook(document.createElement('div'), fixture(), en)

    expect(sut.querySelector('path.actual')?.getAttribute('stroke')).toBe(outlookColours.actual)
    expect(sut.querySelector('path.forecast')?.getAttribute('stroke-dasharray')).toBe('5 3')
    expect(sut.querySelector('path.forecast-interval')).not.toBeNull()
    expect(sut.querySelectorAll('rect.context-bar')).toHaveLength(3)
    expect(sut.querySelector('rect.context-bar title')?.textContent).toBe('rain_mm: 2.4')
    expect([...sut.querySelectorAll('g.legend-item')].map((i) => i.textContent)).toEqual([
      'Last 3 days',
      'Forecast',
      '90 % interval',
      'rain_mm (context)',
    ])
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/outlook.svg')
  })

  it('starts the forecast where now is, and draws the interval only where there is one', () => {
    const sut = renderOutlook(document.createElement('div'), fixture(false), en)
    const nowX = Number(sut.querySelector('g.now line')?.getAttribute('x1'))
    const forecastStart = pathNumbers(sut.querySelector('path.forecast')?.getAttribute('d'))[0]
    expect(forecastStart).toBe(nowX)
    const bandXs = pathNumbers(
      sut.querySelector('path.forecast-interval')?.getAttribute('d'),
    ).filter((_, i) => i % 2 === 0)
    const forecastXs = pathNumbers(sut.querySelector('path.forecast')?.getAttribute('d')).filter(
      (_, i) => i % 2 === 0,
    )
    expect(Math.max(...bandXs)).toBeLessThan(Math.max(...forecastXs))
    expect(sut.querySelector('g.context')).toBeNull()
  })

  it('draws a shop’s page: today so far, then 7 days of forecast, the interval where there is one', async () => {
    // Thursday 19 Nov, 10:00 in Rome: today from local midnight, the forecast to the 26th.
    const now = NOW + 10 * HOUR
    const sut = renderOutlook(
      document.createElement('div'),
      {
        from: new Date(NOW).toISOString(),
        to: new Date(now + 7 * 24 * HOUR).toISOString(),
        now: new Date(now).toISOString(),
        actual: Array.from({ length: 10 }, (_, i) => ({
          t: new Date(NOW + i * HOUR).toISOString(),
          value: Math.round(shape(i) / 4) + (i % 3),
        })),
        forecast: Array.from({ length: 7 * 24 }, (_, i) => {
          const value = Math.round(shape(i + 10) / 4)
          return {
            t: new Date(now + i * HOUR).toISOString(),
            value: i % 24 === 13 ? null : value,
            low: i < 96 ? Math.round(value * 0.6) : null,
            high: i < 96 ? Math.round(value * 1.5) : null,
          }
        }),
        context: null,
      },
      { ...en, height: 260, labels: { ...en.labels, actual: 'Today so far' } },
    )

    expect(sut.querySelector('g.context')).toBeNull()
    expect([...sut.querySelectorAll('g.legend-item')].map((i) => i.textContent)).toEqual([
      'Today so far',
      'Forecast',
      '90 % interval',
    ])
    const nowX = Number(sut.querySelector('g.now line')?.getAttribute('x1'))
    const actualXs = pathNumbers(sut.querySelector('path.actual')?.getAttribute('d')).filter(
      (_, i) => i % 2 === 0,
    )
    expect(Math.max(...actualXs)).toBeLessThan(nowX)
    expect(pathNumbers(sut.querySelector('path.forecast')?.getAttribute('d'))[0]).toBe(nowX)
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/outlook-shop.svg')
  })

  it('names no observed line when there is none yet (the first hour of the day)', () => {
    const data = fixture(false)
    const sut = renderOutlook(
      document.createElement('div'),
      { ...data, from: data.now, actual: [] },
      en,
    )
    expect(sut.querySelector('path.actual')).toBeNull()
    expect([...sut.querySelectorAll('g.legend-item')].map((i) => i.textContent)).toEqual([
      'Forecast',
      '90 % interval',
    ])
  })

  it('has a loading state and an empty state', () => {
    const loading = renderOutlook(document.createElement('div'), null, en)
    const zero = fixture(false)
    const empty = renderOutlook(
      document.createElement('div'),
      {
        ...zero,
        actual: zero.actual.map((p) => ({ ...p, value: 0 })),
        forecast: zero.forecast.map((p) => ({ ...p, value: 0, low: 0, high: 0 })),
      },
      en,
    )
    expect(loading.textContent).toContain('Loading…')
    expect(empty.textContent).toContain('No transits in this range yet')
  })
})
