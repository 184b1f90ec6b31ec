// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { measureColours } from './chart-kit.ts'
import { deviceColours } from './device-counts.ts'
import {
  peopleColours,
  renderPeople,
  type PeopleChartData,
  type PeopleChartOptions,
  type PeoplePoint,
} from './people.ts'
import { goldenOf, pathNumbers, seededRandom } from './svg-markup.ts'

const HOUR = 3_600_000
// Saturday 21 Nov 2026, 00:00 in Rome (UTC+1).
const FROM = Date.parse('2026-11-20T23:00:00.000Z')

/** A shopping day: people present with a band that widens with the crowd, arrivals per hour. */
function day(calibrated = true): PeopleChartData {
  const random = seededRandom(11)
  const points: PeoplePoint[] = Array.from({ length: 24 }, (_, hour) => {
    const open = hour >= 8 && hour < 20 ? Math.sin(((hour - 8) / 12) * Math.PI) : 0
    const present = Math.round((1 + 30 * open) * (0.85 + 0.3 * random()) * 10) / 10
    const half = 1.6 * Math.sqrt(present + 1 + (0.15 * present) ** 2)
    return {
      t: new Date(FROM + hour * HOUR).toISOString(),
      present,
      low: Math.max(0, Math.round((present - half) * 10) / 10),
      high: Math.round((present + half) * 10) / 10,
      arrivals: Math.round(present * 2.4),
    }
  })
  return {
    from: new Date(FROM).toISOString(),
    to: new Date(FROM + 24 * HOUR).toISOString(),
    stepMs: HOUR,
    points,
    calibrated,
  }
}

const en: PeopleChartOptions = {
  width: 640,
  locale: 'en-GB',
  timeZone: 'Europe/Rome',
  labels: {
    loading: 'Loading…',
    empty: 'No people figures in this range yet',
    present: 'People present',
    interval: '90 % interval',
    arrivals: 'People arriving',
    yAxis: 'People (estimated)',
    uncalibrated: 'Not calibrated: devices counted as people, with a wide interval.',
    peak: 'peak',
  },
}

describe(renderPeople.name, () => {
  it('draws presence inside its band and arrivals as columns, in colours of their own', async () => {
    const sut = renderPeople(document.createElement('div'), day(), en)
    expect(sut.querySelector('path.series-present')?.getAttribute('stroke')).toBe(
      peopleColours.present,
    )
    expect(sut.querySelector('path.band')?.getAttribute('fill')).toBe(peopleColours.present)
    expect(sut.querySelectorAll('rect.arrival')).toHaveLength(24)
    expect(sut.querySelectorAll('g.present circle.mark')).toHaveLength(24)
    for (const colour of Object.values(peopleColours)) {
      expect(Object.values(measureColours)).not.toContain(colour)
      expect(Object.values(deviceColours)).not.toContain(colour)
    }
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/people.svg')
  })

  it('puts the band around the line: its upper edge above every point and its lower one below', () => {
    const sut = renderPeople(document.createElement('div'), day(), en)
    const line = pathNumbers(sut.querySelector('path.series-present')?.getAttribute('d') ?? '')
    const band = pathNumbers(sut.querySelector('path.band')?.getAttribute('d') ?? '')
    const ys = (xs: number[]) => xs.filter((_, i) => i % 2 === 1)
    const lineY = ys(line)
    const upper = ys(band.slice(0, line.length))
    const lower = ys(band.slice(line.length)).reverse()
    lineY.forEach((y, i) => {
      expect(upper[i]).toBeLessThanOrEqual(y)
      expect(lower[i]).toBeGreaterThanOrEqual(y)
    })
  })

  it('describes the peaks, and says when the figures are not calibrated', () => {
    const calibrated = renderPeople(document.createElement('div'), day(), en)
    expect(calibrated.getAttribute('aria-label')).toMatch(
      /^People \(estimated\)\. People present: peak \d+(\.\d)?; People arriving: peak \d+(\.\d)?\.$/,
    )
    const not = renderPeople(document.createElement('div'), day(false), en)
    expect(not.getAttribute('aria-label')).toMatch(/Not calibrated: devices counted as people/)
  })

  it('gives each mark its value and interval, in the locale', () => {
    const one: PeopleChartData = {
      ...day(),
      points: [
        {
          t: new Date(FROM + 10 * HOUR).toISOString(),
          present: 12.25,
          low: 8,
          high: 16.5,
          arrivals: 30,
        },
      ],
    }
    const sut = renderPeople(document.createElement('div'), one, { ...en, locale: 'it-IT' })
    expect(sut.querySelector('circle.mark title')?.textContent).toMatch(
      /: People present 12,3 \(90 % interval 8–16,5\)$/,
    )
    expect(sut.querySelector('rect.arrival title')?.textContent).toMatch(/: People arriving 30$/)
  })

  it('has a loading state and an empty state', () => {
    const loading = renderPeople(document.createElement('div'), null, en)
    const empty = renderPeople(document.createElement('div'), { ...day(), points: [] }, en)
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe(
      'No people figures in this range yet',
    )
  })

  it('renders the same markup twice', () => {
    const a = goldenOf(renderPeople(document.createElement('div'), day(), en))
    const b = goldenOf(renderPeople(document.createElement('div'), day(), en))
    expect(a).toBe(b)
  })
})
