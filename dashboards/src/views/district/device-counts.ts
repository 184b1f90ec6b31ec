import type {
  DeviceCountRow,
  DeviceCountsResponse,
  FootfallBucket,
  ZoneDto,
} from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import {
  renderDeviceCounts,
  type DeviceCountsData as ChartData,
  type DevicePoint,
} from '../../charts/device-counts.ts'
import { h } from '../../dom.ts'
import { createCountFormat, createDateFormats, createDecimalFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS, HOUR_MS } from '../../ranges.ts'
import { drawChartAndTable, type TableSpec } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/**
 * What count-source gateways (Paxcounter) counted over the range: devices, not pedestrians. The
 * card shows only in a district that has count sources (or when loading them failed).
 */
export const id = 'deviceCounts'
export const dependsOn = ['range'] as const
export const redrawOn = ['resize'] as const

export interface DeviceCountsData {
  counts: DeviceCountsResponse
  zones: ZoneDto[]
}

export const title = (m: Messages) => m.deviceCounts.heading
export const note = (m: Messages) => m.deviceCounts.note

export async function load(
  api: ApiClient,
  params: Params<DistrictParams>,
): Promise<DeviceCountsData> {
  const [counts, zones] = await Promise.all([api.deviceCounts(rangeRequest(params)), api.zones()])
  return { counts, zones: zones.zones }
}

const STEP_MS: Record<FootfallBucket, number> = {
  '15m': 15 * 60_000,
  '1h': HOUR_MS,
  '1d': DAY_MS,
  week: 7 * DAY_MS,
}

/** The district's series: per bucket, the sum of every count source's mean (null: no report). */
export function deviceSeries(response: DeviceCountsResponse): ChartData {
  const byBucket = new Map<string, { wifi: number | null; ble: number | null }>()
  const add = (a: number | null, b: number | null) => (b === null ? a : (a ?? 0) + b)
  for (const r of response.rows) {
    const sums = byBucket.get(r.bucketStart) ?? { wifi: null, ble: null }
    sums.wifi = add(sums.wifi, r.wifiDevicesMean)
    sums.ble = add(sums.ble, r.bleDevicesMean)
    byBucket.set(r.bucketStart, sums)
  }
  const buckets = [...byBucket].sort(([a], [b]) => Date.parse(a) - Date.parse(b))
  const points = (radio: 'wifi' | 'ble'): DevicePoint[] =>
    buckets.map(([t, sums]) => ({ t, value: sums[radio] }))
  return {
    from: response.from,
    to: response.to,
    stepMs: STEP_MS[response.bucket],
    wifi: points('wifi'),
    ble: points('ble'),
  }
}

export function render(body: HTMLElement, state: DistrictState<DeviceCountsData>) {
  const { doc, m, data, params } = state
  // No card in a district without count sources; an error shows whatever the data.
  const card = body.closest('section')
  if (card)
    card.hidden = state.error === null && (data === null || data.counts.gateways.length === 0)
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, state.error))
    return
  }
  const series = deviceSeries(data.counts)
  drawChartAndTable(
    body,
    (container) =>
      renderDeviceCounts(container, series, {
        width: state.width,
        locale: m.locale,
        timeZone: params.timeZone,
        labels: {
          loading: m.chart.loading,
          empty: m.deviceCounts.empty,
          notice: m.deviceCounts.notice,
          wifi: m.deviceCounts.wifi,
          ble: m.deviceCounts.ble,
          yAxis: m.deviceCounts.yAxis,
          peak: m.deviceCounts.peak,
        },
      }),
    series.wifi.length > 0 ? timeTable(series, m, params.timeZone) : null,
  )
  body.append(sourcesTable(doc, m, data))
}

function timeTable(series: ChartData, m: Messages, timeZone: string): TableSpec {
  const dates = createDateFormats(m.locale, timeZone)
  const decimal = createDecimalFormat(m.locale, 1)
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? '–' : decimal(v))
  return {
    className: 'data-device-counts',
    summary: m.deviceCounts.table,
    head: [
      { label: m.deviceCounts.time },
      { label: m.deviceCounts.wifiMean, numeric: true },
      { label: m.deviceCounts.bleMean, numeric: true },
    ],
    rows: series.wifi.map((p, i) => ({
      header: dates.dayTime(new Date(p.t)),
      cells: [cell(p.value), cell(series.ble[i]?.value)],
    })),
  }
}

/** Per count source over the range: its reports and its mean devices per report, per radio. */
function sourcesTable(doc: Document, m: Messages, data: DeviceCountsData): HTMLElement {
  const count = createCountFormat(m.locale)
  const decimal = createDecimalFormat(m.locale, 1)
  const zoneName = new Map(data.zones.map((z) => [z.id, z.name]))
  const rowsOf = new Map<string, DeviceCountRow[]>()
  for (const r of data.counts.rows) rowsOf.set(r.gatewayId, [...(rowsOf.get(r.gatewayId) ?? []), r])
  const mean = (rows: readonly DeviceCountRow[], pick: (r: DeviceCountRow) => number | null) => {
    const weighted = rows.filter((r) => pick(r) !== null)
    const reports = weighted.reduce((n, r) => n + r.reports, 0)
    return reports === 0
      ? '–'
      : decimal(weighted.reduce((n, r) => n + (pick(r) ?? 0) * r.reports, 0) / reports)
  }
  return h(doc, 'div', { class: 'table-wrap' }, [
    h(doc, 'table', { class: 'count-sources' }, [
      h(doc, 'caption', {}, [m.deviceCounts.sources]),
      h(doc, 'thead', {}, [
        h(doc, 'tr', {}, [
          h(doc, 'th', { scope: 'col' }, [m.deviceCounts.gateway]),
          h(doc, 'th', { scope: 'col' }, [m.deviceCounts.zone]),
          h(doc, 'th', { scope: 'col', class: 'num' }, [m.deviceCounts.reports]),
          h(doc, 'th', { scope: 'col', class: 'num' }, [m.deviceCounts.wifiMean]),
          h(doc, 'th', { scope: 'col', class: 'num' }, [m.deviceCounts.bleMean]),
        ]),
      ]),
      h(
        doc,
        'tbody',
        {},
        data.counts.gateways.map((g) => {
          const rows = rowsOf.get(g.id) ?? []
          return h(doc, 'tr', { 'data-gateway-id': g.id }, [
            h(doc, 'th', { scope: 'row' }, [g.id]),
            h(doc, 'td', {}, [zoneName.get(g.zoneId) ?? g.zoneId]),
            h(doc, 'td', { class: 'num' }, [count(rows.reduce((n, r) => n + r.reports, 0))]),
            h(doc, 'td', { class: 'num' }, [mean(rows, (r) => r.wifiDevicesMean)]),
            h(doc, 'td', { class: 'num' }, [mean(rows, (r) => r.bleDevicesMean)]),
          ])
        }),
      ),
    ]),
  ])
}
