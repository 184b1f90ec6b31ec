import type { ApiClient } from '../../api-client.ts'
import { renderOutlook, type OutlookData } from '../../charts/outlook.ts'
import { h } from '../../dom.ts'
import { createCountFormat, createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS, HOUR_MS, localMidnight } from '../../ranges.ts'
import { drawChartAndTable, type TableSpec } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { shopFootfall, shopSummary, type ShopParams, type ShopState } from './params.ts'

/**
 * The shop's next 7 days by hour (issue #17): today so far (solid), then the API's forecast of the
 * shop's footfall (dashed) inside its 90 % interval, drawn by the district's outlook chart. Asked
 * only for this page's shop, and only once its summary allows (a shopkeeper: its own shop).
 */
export const id = 'forecast'
export const redrawOn = ['resize'] as const

export const FORECAST_DAYS = 7

export const title = (m: Messages) => m.shop.forecastHeading
export const note = (m: Messages) => m.shop.forecastNote

export async function load(api: ApiClient, params: Params<ShopParams>): Promise<OutlookData> {
  // The summary first: a shop the key may not see gets no forecast request.
  await shopSummary(api, params)
  const [today, forecast] = await Promise.all([
    shopFootfall(api, params, { daysBack: 0, bucket: '1h' }),
    api.forecast({ shop: params.shopId, days: FORECAST_DAYS }),
  ])
  const from = localMidnight(params.now, params.timeZone).getTime()
  const origin = Date.parse(forecast.origin)
  const iso = (ms: number) => new Date(ms).toISOString()
  const sums = new Map<number, number>()
  for (const row of today.rows) {
    const t = Date.parse(row.bucketStart)
    sums.set(t, (sums.get(t) ?? 0) + row.passersBy + row.visitors)
  }
  const actual = []
  for (let t = from; t < origin; t += HOUR_MS) actual.push({ t: iso(t), value: sums.get(t) ?? 0 })
  return {
    from: iso(from),
    to: iso(origin + FORECAST_DAYS * DAY_MS),
    now: forecast.origin,
    actual,
    forecast: forecast.points,
    context: null,
  }
}

export function render(body: HTMLElement, { m, params, data, width }: ShopState<OutlookData>) {
  drawChartAndTable(
    body,
    (container) =>
      renderOutlook(container, data, {
        width,
        height: 260,
        locale: m.locale,
        timeZone: params.timeZone,
        labels: {
          loading: m.chart.loading,
          empty: m.shop.forecastEmpty,
          actual: m.shop.forecastToday,
          forecast: m.outlook.forecast,
          interval: m.outlook.interval,
          now: m.outlook.now,
          yAxis: m.outlook.yAxis,
          context: m.outlook.context,
        },
      }),
    data ? forecastTable(data, m, params.timeZone) : null,
  )
  // Observed hours but no forecast hour (less than a week of history): say why the line is missing.
  if (
    data &&
    data.actual.some((p) => p.value > 0) &&
    data.forecast.every((p) => p.value === null)
  ) {
    body.append(h(body.ownerDocument, 'p', { class: 'note forecast-none' }, [m.shop.forecastEmpty]))
  }
}

/** The forecast by local day: its total and its busiest hour (the chart's figures, for the table). */
export function forecastTable(data: OutlookData, m: Messages, timeZone: string): TableSpec {
  const dates = createDateFormats(m.locale, timeZone)
  const count = createCountFormat(m.locale)
  const days = new Map<string, { total: number; top: { t: Date; value: number } | null }>()
  for (const p of data.forecast) {
    if (p.value === null) continue
    const t = new Date(p.t)
    const day = days.get(dates.day(t)) ?? { total: 0, top: null }
    day.total += p.value
    if (!day.top || p.value > day.top.value) day.top = { t, value: p.value }
    days.set(dates.day(t), day)
  }
  return {
    className: 'data-forecast',
    summary: m.tables.forecast,
    head: [
      { label: m.tables.day },
      { label: m.tables.forecastTotal, numeric: true },
      { label: m.tables.forecastPeak },
    ],
    rows: [...days].map(([day, { total, top }]) => ({
      header: day,
      cells: [
        count(Math.round(total)),
        top ? `${dates.time(top.t)} (${count(Math.round(top.value))})` : '',
      ],
    })),
  }
}
