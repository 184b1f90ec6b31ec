// @vitest-environment jsdom
import { describe, expect, it } from 'vitest'
import {
  DWELL_BINS,
  dwellColour,
  renderDwellHistogram,
  type DwellHistogramData,
  type DwellHistogramOptions,
} from './dwell-histogram.ts'
import { goldenOf } from './svg-markup.ts'

const data: DwellHistogramData = { bins: { lt1m: 12, m1to5: 48, m5to15: 31, m15to60: 9, gt60m: 0 } }

const en: DwellHistogramOptions = {
  width: 560,
  locale: 'en-GB',
  labels: {
    loading: 'Loading…',
    empty: 'No transits in this range yet',
    bins: {
      lt1m: '< 1 min',
      m1to5: '1–5 min',
      m5to15: '5–15 min',
      m15to60: '15–60 min',
      gt60m: '> 60 min',
    },
    yAxis: 'Visitors',
    xAxis: 'Time inside',
  },
}

const rect = (svg: SVGSVGElement, bin: string) => svg.querySelector(`g.bin[data-bin="${bin}"] rect`)

describe(renderDwellHistogram.name, () => {
  it('draws the five dwell bins in order, shortest first', async () => {
    const sut = renderDwellHistogram(document.createElement('div'), data, en)

    expect([...sut.querySelectorAll('g.bin')].map((g) => g.getAttribute('data-bin'))).toEqual([
      ...DWELL_BINS,
    ])
    expect([...sut.querySelectorAll('text.bin-label')].map((t) => t.textContent)).toEqual([
      '< 1 min',
      '1–5 min',
      '5–15 min',
      '15–60 min',
      '> 60 min',
    ])
    await expect(goldenOf(sut)).toMatchFileSnapshot('./__snapshots__/dwell-histogram.svg')
  })

  it('makes bar heights proportional to visitors and labels count and share', () => {
    const sut = renderDwellHistogram(document.createElement('div'), data, en)

    const height = (bin: string) => Number(rect(sut, bin)?.getAttribute('height'))
    expect(height('m5to15') / height('m1to5')).toBeCloseTo(31 / 48, 1)
    expect(height('gt60m')).toBe(0)
    expect(rect(sut, 'm1to5')?.getAttribute('fill')).toBe(dwellColour)
    expect(sut.querySelector('g.bin[data-bin="m1to5"] text.value')?.textContent).toBe('48 · 48%')
    expect([...sut.querySelectorAll('text.axis-label')].map((t) => t.textContent)).toEqual([
      'Visitors',
      'Time inside',
    ])
  })

  it('formats in the locale', () => {
    const big = { bins: { ...data.bins, m1to5: 1480 } }
    const sut = renderDwellHistogram(document.createElement('div'), big, { ...en, locale: 'it-IT' })
    expect(sut.querySelector('g.bin[data-bin="m1to5"] text.value')?.textContent).toBe('1.480 · 97%')
  })

  it('has a loading state and an empty state', () => {
    const loading = renderDwellHistogram(document.createElement('div'), null, en)
    const empty = renderDwellHistogram(
      document.createElement('div'),
      { bins: { lt1m: 0, m1to5: 0, m5to15: 0, m15to60: 0, gt60m: 0 } },
      en,
    )
    expect(loading.getAttribute('aria-busy')).toBe('true')
    expect(empty.querySelector('text.empty')?.textContent).toBe('No transits in this range yet')
  })

  it('renders the same markup twice', () => {
    const first = renderDwellHistogram(document.createElement('div'), data, en)
    expect(renderDwellHistogram(document.createElement('div'), data, en).outerHTML).toBe(
      first.outerHTML,
    )
  })
})
