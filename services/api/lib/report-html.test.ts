import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { REPORT_CSP, escapeHtml, hourBars, renderReportHtml } from './report-html.ts'
import type { PeriodFigures, ReportModel } from './report-data.ts'

const empty: PeriodFigures = {
  passersBy: 0,
  visitors: 0,
  dwellSecondsSum: 0,
  estimatedPeople: 0,
  dwellHistogram: { lt1m: 0, m1to5: 0, m5to15: 0, m15to60: 0, gt60m: 0 },
  footfall: 0,
  from: 0,
  to: 0,
}

function model(patch: Partial<ReportModel> = {}): ReportModel {
  const month = {
    month: '2026-10',
    from: Date.parse('2026-09-30T22:00:00Z'),
    to: Date.parse('2026-10-31T23:00:00Z'),
  }
  return {
    kind: 'shop',
    lang: 'en',
    title: 'Bar <al> "Ponte"',
    districtName: 'Miglio',
    zoneName: 'Via Palazzo',
    timezone: 'Europe/Rome',
    month,
    partial: false,
    generatedAt: Date.parse('2026-11-10T10:30:00Z'),
    current: { ...empty, passersBy: 90, visitors: 10, footfall: 100, dwellSecondsSum: 1200 },
    previous: { ...empty, passersBy: 40, visitors: 10, footfall: 50 },
    lastYear: empty,
    hours: Array.from({ length: 24 }, (_, h) => (h >= 9 && h < 19 ? 10 : 0)),
    busiest: [{ weekday: 6, hour: 11, footfall: 9 }],
    events: [],
    rank: { position: 2, of: 5 },
    shops: [],
    zones: [],
    next: { month: '2026-11', from: month.to, to: month.to + 30 * 86_400_000 },
    forecast: { value: 1234, low: 1000, high: 1500, missing: 0, backtestWeeks: 4 },
    ...patch,
  }
}

describe(renderReportHtml.name, () => {
  it('escapes every name it prints', () => {
    const html = renderReportHtml(
      model({
        events: [
          {
            name: '<img src=x onerror=alert(1)>',
            from: 0,
            to: 1,
            footfall: 5,
            baseline: null,
            weeks: 0,
          },
        ],
      }),
    )
    expect(html).toContain('Bar &lt;al&gt; &quot;Ponte&quot;')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(html).not.toContain('<img')
    expect(html).not.toContain('<script')
  })

  it('compares with the previous month, says when a comparison has no data, and gives the forecast range', () => {
    const html = renderReportHtml(model())
    expect(html).toMatch(
      /<td>100<\/td><td>50<span class="change">\+100%<\/span><\/td><td>no data<\/td>/,
    )
    expect(html).toContain('ranks 2 of 5 shops')
    expect(html).toContain(
      'November 2026: about 1,234 footfall (range 1,000–1,500, from the last 4 weeks',
    )
  })

  it('says so for a month without data, and shows nothing else', () => {
    const html = renderReportHtml(model({ current: empty, lang: 'it', kind: 'district' }))
    expect(html).toContain('Nessun dato per ottobre 2026')
    expect(html).not.toContain('data-testid="overview"')
    expect(html).not.toContain('data-testid="forecast"')
  })

  it('marks a running month as month to date', () => {
    expect(renderReportHtml(model({ partial: true }))).toContain('Month to date')
  })

  it('allows exactly its own stylesheet in its CSP', () => {
    const html = renderReportHtml(model())
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? ''
    const hash = createHash('sha256').update(style).digest('base64')
    expect(REPORT_CSP).toContain(`style-src 'sha256-${hash}'`)
    expect(REPORT_CSP).not.toMatch(/script-src|unsafe/)
  })
})

describe(hourBars.name, () => {
  it('draws 24 bars scaled to the busiest hour', () => {
    const svg = hourBars([...Array.from({ length: 23 }, () => 5), 10], 'hours')
    const heights = [...svg.matchAll(/height="(\d+)"/g)].map((m) => Number(m[1]))
    expect(heights).toHaveLength(24)
    expect(heights[23]).toBe(2 * (heights[0] ?? 0))
  })
})

describe(escapeHtml.name, () => {
  it('escapes the five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    )
  })
})
