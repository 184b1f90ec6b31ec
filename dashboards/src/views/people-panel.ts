import type { PeopleBucketName, PeopleFigures } from '../../../services/shared/contracts/api.ts'
import { renderPeople, type PeopleChartData } from '../charts/people.ts'
import { createDateFormats, createDecimalFormat } from '../format.ts'
import type { Messages } from '../i18n.ts'
import { drawChartAndTable, type TableSpec } from './chart-tables.ts'

/** One bucket of a people series as the panels draw it. */
export interface PeopleRow {
  bucketStart: string
  figures: PeopleFigures
}

export const PEOPLE_STEP_MS: Record<PeopleBucketName, number> = {
  '15m': 15 * 60_000,
  '1h': 3_600_000,
}
/** The longest range the API serves per bucket (services/api/routes/people). */
export const PEOPLE_MAX_DAYS: Record<PeopleBucketName, number> = { '15m': 7, '1h': 31 }

/** 15-minute buckets up to a day, hourly beyond. */
export function peopleBucketFor(fromMs: number, toMs: number): PeopleBucketName {
  return toMs - fromMs <= 86_400_000 ? '15m' : '1h'
}

export function chartDataOf(
  rows: readonly PeopleRow[],
  range: { from: string; to: string; bucket: PeopleBucketName },
): PeopleChartData {
  return {
    from: range.from,
    to: range.to,
    stepMs: PEOPLE_STEP_MS[range.bucket],
    points: rows.map((r) => ({
      t: r.bucketStart,
      present: r.figures.present.people,
      low: r.figures.present.low,
      high: r.figures.present.high,
      arrivals: r.figures.arrivals.people,
    })),
    calibrated: rows.every((r) => r.figures.present.calibrated && r.figures.arrivals.calibrated),
  }
}

/** The chart with its table (time, present, its interval, arrivals) in a closed disclosure. */
export function drawPeople(
  body: HTMLElement,
  o: {
    m: Messages
    width: number
    timeZone: string
    data: PeopleChartData
    className: string
    /** The table's row header prefix (a shop's `Inside` / `In front`), if any. */
    heading?: string
  },
): void {
  const { m, data } = o
  const dates = createDateFormats(m.locale, o.timeZone)
  const decimal = createDecimalFormat(m.locale, 1)
  const table: TableSpec = {
    className: o.className,
    summary: o.heading ? `${m.people.table} — ${o.heading}` : m.people.table,
    head: [
      { label: m.people.time },
      { label: m.people.present, numeric: true },
      { label: m.people.presentLow, numeric: true },
      { label: m.people.presentHigh, numeric: true },
      { label: m.people.arrivals, numeric: true },
    ],
    rows: data.points.map((p) => ({
      header: dates.dayTime(new Date(p.t)),
      cells: [decimal(p.present), decimal(p.low), decimal(p.high), decimal(p.arrivals)],
    })),
  }
  drawChartAndTable(
    body,
    (container) =>
      renderPeople(container, data, {
        width: o.width,
        locale: m.locale,
        timeZone: o.timeZone,
        labels: {
          loading: m.chart.loading,
          empty: m.people.empty,
          present: m.people.present,
          interval: m.people.interval,
          arrivals: m.people.arrivals,
          yAxis: m.people.yAxis,
          uncalibrated: m.people.uncalibrated,
          peak: m.people.peak,
        },
      }),
    data.points.length > 0 ? table : null,
  )
}
