import type { ApiClient } from '../../api-client.ts'
import { renderOutlook, type OutlookData } from '../../charts/outlook.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS, HOUR_MS } from '../../ranges.ts'
import { drawChartAndTable } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import type { DistrictParams, DistrictState } from './params.ts'

/**
 * The district's outlook (issue #17): footfall of the last 3 days by hour, the forecast of the next
 * 7 with its interval, and the first numeric context variable imported for that time (rain_mm…) as
 * an overlay.
 */
export const id = 'outlook'
export const redrawOn = ['resize'] as const

const PAST_DAYS = 3
const FORECAST_DAYS = 7

export const title = (m: Messages) => m.outlook.heading
export const note = (m: Messages) => m.outlook.note

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<OutlookData> {
  const nowMs = params.now.getTime()
  const now = Math.floor(nowMs / HOUR_MS) * HOUR_MS
  const from = now - PAST_DAYS * DAY_MS
  const to = now + FORECAST_DAYS * DAY_MS
  const iso = (ms: number) => new Date(ms).toISOString()
  const [past, forecast, context] = await Promise.all([
    api.footfallDetail({ from: iso(from), to: iso(now), bucket: '1h' }),
    api.forecast({ days: FORECAST_DAYS }),
    // Context is the analysts' (a shopkeeper's key is refused): without it, no overlay.
    api.contextSeries({ from: iso(from), to: iso(to) }).catch(() => ({ values: [] })),
  ])
  const sums = new Map<number, number>()
  for (const row of past.rows) {
    const t = Date.parse(row.bucketStart)
    sums.set(t, (sums.get(t) ?? 0) + row.passersBy + row.visitors)
  }
  const actual = []
  for (let t = from; t < now; t += HOUR_MS) actual.push({ t: iso(t), value: sums.get(t) ?? 0 })
  const numeric = context.values.flatMap((v) =>
    typeof v.value === 'number' && !v.wholeDay
      ? [{ variable: v.variable, t: v.at, value: v.value }]
      : [],
  )
  const variable = [...new Set(numeric.map((v) => v.variable))].sort()[0]
  return {
    from: iso(from),
    to: iso(to),
    now: forecast.origin,
    actual,
    forecast: forecast.points,
    context: variable
      ? {
          variable,
          points: numeric
            .filter((v) => v.variable === variable)
            .map((v) => ({ t: v.t, value: v.value })),
        }
      : null,
  }
}

export function render(body: HTMLElement, { m, params, data, width }: DistrictState<OutlookData>) {
  drawChartAndTable(
    body,
    (container) =>
      renderOutlook(container, data, {
        width,
        height: 280,
        locale: m.locale,
        timeZone: params.timeZone,
        labels: {
          loading: m.chart.loading,
          empty: m.chart.empty,
          actual: m.outlook.actual,
          forecast: m.outlook.forecast,
          interval: m.outlook.interval,
          now: m.outlook.now,
          yAxis: m.outlook.yAxis,
          context: m.outlook.context,
        },
      }),
    null,
  )
}
