import type { FootfallDetailResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import type { ExpectedResponse } from '../../../../services/shared/contracts/ranges-api.ts'
import { renderTimeSeries, type BandPoint, type TimePoint } from '../../charts/time-series.ts'
import { h } from '../../dom.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS, HOUR_MS } from '../../ranges.ts'
import { drawChartAndTable, seriesTable } from '../chart-tables.ts'
import type { PanelActions, Params } from '../panel.ts'
import { createChoice } from '../view-kit.ts'
import type { DistrictParams, DistrictState } from './params.ts'

/** The last day (or week) of footfall against the same period a week (or a year) before. */
export const id = 'series'
export const dependsOn = ['period', 'mode'] as const
export const redrawOn = ['resize'] as const

export interface SeriesData {
  from: string
  to: string
  current: TimePoint[]
  baseline: TimePoint[]
  /** The district's expected range per bucket (the zones' bands summed); empty without history. */
  band: BandPoint[]
}

export const title = (m: Messages) => m.district.seriesHeading

export function controls(
  doc: Document,
  m: Messages,
  params: DistrictParams,
  act: PanelActions<DistrictParams, SeriesData, object>,
): Node[] {
  const period = createChoice(doc, {
    name: 'period',
    legend: m.district.period,
    values: ['day', 'week'] as const,
    labels: m.district.periods,
    selected: params.period,
    onChange: (value) => void act.setParams({ period: value }),
  })
  const mode = createChoice(doc, {
    name: 'compare',
    legend: m.district.compare,
    values: ['wow', 'yoy'] as const,
    labels: m.district.compareModes,
    selected: params.mode,
    onChange: (value) => void act.setParams({ mode: value }),
  })
  return [h(doc, 'div', { class: 'controls' }, [period, mode])]
}

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<SeriesData> {
  const now = params.now.getTime()
  const { period, mode } = params
  const step = period === 'day' ? 15 * 60_000 : HOUR_MS
  const to = now
  const from = Math.floor((now - (period === 'day' ? DAY_MS : 7 * DAY_MS)) / step) * step
  const shift = (mode === 'wow' ? 7 : 364) * DAY_MS
  const bucket = period === 'day' ? '15m' : '1h'
  const iso = (ms: number) => new Date(ms).toISOString()
  const [current, baseline, expected] = await Promise.all([
    api.footfallDetail({ from: iso(from), to: iso(to), bucket }),
    api.footfallDetail({ from: iso(from - shift), to: iso(to - shift), bucket }),
    // The band is extra: the chart stands without it (an older server, no history yet).
    api.expected({ from: iso(from), to: iso(to), bucket }).catch(() => null),
  ])
  return {
    from: iso(from),
    to: iso(to),
    current: sumByBucket(current, from, to, step, 0),
    baseline: sumByBucket(baseline, from - shift, to - shift, step, shift),
    band: expected ? bandByBucket(expected) : [],
  }
}

export function render(body: HTMLElement, { m, params, data, width }: DistrictState<SeriesData>) {
  const labels = {
    loading: m.chart.loading,
    empty: m.chart.empty,
    current: m.district.current[params.period],
    baseline: m.district.baseline[params.period][params.mode],
    yAxis: m.district.seriesAxis[params.period],
    band: m.district.usualRange,
  }
  drawChartAndTable(
    body,
    (container) =>
      renderTimeSeries(container, data, {
        width,
        height: 280,
        locale: m.locale,
        timeZone: params.timeZone,
        labels,
      }),
    data && data.current.some((p) => p.value > 0)
      ? seriesTable(data, m, params.timeZone, labels)
      : null,
  )
}

/** Sums all zones per bucket, fills empty buckets with 0 and shifts the times by `shiftMs`. */
export function sumByBucket(
  response: FootfallDetailResponse,
  fromMs: number,
  toMs: number,
  stepMs: number,
  shiftMs: number,
): TimePoint[] {
  const sums = new Map<number, number>()
  for (const row of response.rows) {
    const t = Date.parse(row.bucketStart)
    sums.set(t, (sums.get(t) ?? 0) + row.passersBy + row.visitors)
  }
  const points: TimePoint[] = []
  for (let t = fromMs; t < toMs; t += stepMs) {
    points.push({ t: new Date(t + shiftMs).toISOString(), value: sums.get(t) ?? 0 })
  }
  return points
}

/**
 * The district's expected range per bucket: the zones' usual lows and highs summed (a band as wide
 * as its parts, a little wider than the band of the total). Buckets where any zone has no band yet
 * (too little history) are left out.
 */
export function bandByBucket(response: ExpectedResponse): BandPoint[] {
  const sums = new Map<string, { low: number; high: number; missing: boolean }>()
  for (const row of response.rows) {
    const s = sums.get(row.bucketStart) ?? { low: 0, high: 0, missing: false }
    if (row.low === null || row.high === null) s.missing = true
    else {
      s.low += row.low
      s.high += row.high
    }
    sums.set(row.bucketStart, s)
  }
  return [...sums]
    .filter(([, s]) => !s.missing)
    .sort(([a], [b]) => Date.parse(a) - Date.parse(b))
    .map(([t, s]) => ({ t: new Date(t).toISOString(), low: s.low, high: s.high }))
}
