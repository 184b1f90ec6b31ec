// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import { measureColours } from './chart-kit.ts'
import {
  deviceColours,
  renderDeviceCounts,
  type DeviceCountsData,
  type DeviceCountsOptions,
  type DevicePoint,
} from './device-counts.ts'
import { goldenOf, pathNumbers, seededRandom } from './svg-markup.ts'

const HOUR = 3_600_000
// Saturday 21 Nov 2026, 00:00 in Rome (UTC+1).
const FROM = Date.parse('2026-11-20T23:00:00.000Z')

/** A day of hourly means; the BLE series misses three hours (the device restarted). */
function day(): DeviceCountsData {
  const random = seededRandom(7)
  const points = (scale: number, gap: boolean): DevicePoint[] =>
    Array.from({ length: 24 }, (_, hour) => {
      const open = hour >= 8 && hour < 20 ? Math.sin(((hour - 8) / 12) * Math.PI) : 0
      return {
        t: new Date(FROM + hour * HOUR).toISOString(),
        value:
          gap && hour >= 13 && hour < 16
            ? null
            : Math.round(scale * (4 + 60 * open) * (0.85 + 0.3 * random()) * 10) / 10,
      }
    })
  return {
    from: new Date(FROM).toISOString(),
    to: new Date(FROM + 24 * HOUR).toISOString(),
    stepMs: HOUR,
    wifi: points(1, false),
    ble: points(0.4, true).filter((p) => p.value !== null),
  }
}

const en: DeviceCountsOptions = {
  width: 640,
  locale: 'en-GB',
  timeZone: 'Europe/Rome',
  labels: {
    loading: 'Loading…',
    empty: 'No device counts in this range yet',
    notice: 'Device counts, not pedestrians',
    wifi: 'Wi-Fi devices',
    ble: 'BLE devices',
    yAxis: 'Devices per report (mean)',
    peak: 'peak',
  },
}

describe(renderDeviceCounts.name, () => {
  it('draws Wi-Fi solid and BLE dashed, in colours that are not the footfall ones', async () => {
    const sut = renderDeviceCounts(document.createElement('div'), day(), en)

    const wifi = sut.querySelector('path.series-wifi')
    const ble = sut.querySelector('path.series-ble')
    expect(wifi?.getAttribute('stroke')).toBe(deviceColours.wifi)
    expect(wifi?.hasAttribute('stroke-dasharray')).toBe(false)
    expect(ble?.getAttribute('stroke')).toBe(deviceColours.ble)
    expect(ble?.getAttribute('stroke-dasharray')).toBe('6 4')
    for (const colour of Object.values(deviceColours))
      expect(Object.values(measureColours)).not.toContain(colour)
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/device-counts.svg')
  })

  it('says first that these are device counts, not pedestrians', () => {
    const sut = renderDeviceCounts(document.createElement('div'), day(), en)
    expect(sut.getAttribute('aria-label')).toMatch(
      /^Device counts, not pedestrians\. Devices per report \(mean\)\. Wi-Fi devices: peak \d+(\.\d)?; BLE devices: peak \d+(\.\d)?$/,
    )
    expect(sut.querySelector('.axis-label')?.textContent).toBe('Devices per report (mean)')
  })

  it('breaks a line where buckets are missing instead of bridging the gap', () => {
    const sut = renderDeviceCounts(document.createElement('div'), day(), en)
    const moves = (selector: string) =>
      (sut.querySelector(selector)?.getAttribute('d')?.match(/M/g) ?? []).length
    expect(moves('path.series-wifi')).toBe(1)
    expect(moves('path.series-ble')).toBe(2)
    expect(sut.querySelectorAll('g.radio-wifi path.mark')).toHaveLength(24)
    expect(sut.querySelectorAll('g.radio-ble path.mark')).toHaveLength(21)
  })

  it('marks every bucket, so a single report is visible, with its value in its title', () => {
    const one = {
      ...day(),
      wifi: [{ t: new Date(FROM + 10 * HOUR).toISOString(), value: 12.25 }],
      ble: [],
    }
    const sut = renderDeviceCounts(document.createElement('div'), one, { ...en, locale: 'it-IT' })
    const mark = sut.querySelector('g.radio-wifi path.mark')
    expect(mark?.querySelector('title')?.textContent).toMatch(/: Wi-Fi devices 12,3$/)
    expect(sut.querySelector('path.series-ble')).toBeNull()
  })

  it('places points by time on the range', () => {
    const sut = renderDeviceCounts(document.createElement('div'), day(), en)
    const [x0] = pathNumbers(sut.querySelector('path.series-wifi')?.getAttribute('d') ?? '')
    const axisStart = Number(sut.querySelector('g.x-axis line')?.getAttribute('x1'))
    expect(x0).toBeCloseTo(axisStart, 0)
  })

  it('has a loading state and an empty state', () => {
    const loading = renderDeviceCounts(document.createElement('div'), null, en)
    const empty = renderDeviceCounts(
      document.createElement('div'),
      { ...day(), wifi: [], ble: [{ t: new Date(FROM).toISOString(), value: null }] },
      en,
    )
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe(
      'No device counts in this range yet',
    )
  })

  it('renders the same markup twice', () => {
    const first = renderDeviceCounts(document.createElement('div'), day(), en)
    expect(renderDeviceCounts(document.createElement('div'), day(), en).outerHTML).toBe(
      first.outerHTML,
    )
  })
})
