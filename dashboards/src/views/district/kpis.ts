import type { CompareResponse } from '../../../../services/shared/contracts/api.ts'
import type { ExpectedResponse } from '../../../../services/shared/contracts/ranges-api.ts'
import type { ApiClient } from '../../api-client.ts'
import {
  createCountFormat,
  createDateFormats,
  createMinutesFormat,
  createPercentFormat,
} from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import { createTiles, deltaText, loadingNote } from '../view-kit.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/** The range's headline figures against the same time a week before. */
export const id = 'kpis'
export const dependsOn = ['range'] as const

export function title(m: Messages, params: DistrictParams): string {
  return m.footfall.ranges[params.range]
}

export interface KpisData {
  compare: CompareResponse
  /** This hour so far against the usual for this weekday and hour (null: no band yet). */
  usual: UsualNow | null
}

export interface UsualNow {
  value: number
  usual: number
  low: number
  high: number
  weekday: number
  hour: number
}

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<KpisData> {
  const { from, to } = rangeRequest(params)
  const hourStart = Math.floor(params.now.getTime() / 3_600_000) * 3_600_000
  const [compare, expected] = await Promise.all([
    api.compare({ from, to, mode: 'wow' }),
    api
      .expected({
        from: new Date(hourStart).toISOString(),
        to: new Date(hourStart + 3_600_000).toISOString(),
        bucket: '1h',
      })
      .catch(() => null),
  ])
  return { compare, usual: expected ? usualNow(expected) : null }
}

/** The district's hour: the zones summed; null while any zone has no band. */
export function usualNow(e: ExpectedResponse): UsualNow | null {
  const first = e.rows[0]
  if (!first || e.rows.some((r) => r.usual === null)) return null
  const sum = (k: 'value' | 'usual' | 'low' | 'high') => e.rows.reduce((a, r) => a + (r[k] ?? 0), 0)
  return {
    value: sum('value'),
    usual: sum('usual'),
    low: sum('low'),
    high: sum('high'),
    weekday: first.weekday,
    hour: first.hour,
  }
}

export function render(
  body: HTMLElement,
  { doc, m, data: loaded, error }: DistrictState<KpisData>,
) {
  const data = loaded?.compare
  const usual = loaded?.usual ?? null
  const row = data?.rows.find((r) => r.zoneId === null)
  if (!row) {
    body.replaceChildren(loadingNote(doc, m, error))
    return
  }
  const count = createCountFormat(m.locale)
  const percent = createPercentFormat(m.locale, 1)
  const minutes = createMinutesFormat(m.locale)
  const versus = m.kpi.vsLastWeek
  body.replaceChildren(
    createTiles(doc, [
      {
        key: 'passers-by',
        label: m.kpi.passersBy,
        value: count(row.passersBy.current ?? 0),
        delta: deltaText(m, row.passersBy, versus),
      },
      {
        key: 'visitors',
        label: m.kpi.visitors,
        value: count(row.visitors.current ?? 0),
        delta: deltaText(m, row.visitors, versus),
      },
      {
        key: 'capture-rate',
        label: m.kpi.captureRate,
        value: row.captureRate.current === null ? '–' : percent(row.captureRate.current),
        delta: deltaText(m, row.captureRate, versus, { share: true }),
      },
      {
        key: 'dwell',
        label: m.kpi.dwell,
        value: row.dwellMeanS.current === null ? '–' : minutes(row.dwellMeanS.current),
        delta: deltaText(m, row.dwellMeanS, versus),
      },
      // Transits × calibration factors, with the band of chance in the count (docs/metrics.md).
      {
        key: 'people',
        label: m.kpi.people,
        value: count(Math.round(row.estimatedPeople.current ?? 0)),
        delta: deltaText(m, row.estimatedPeople, versus),
        sub: m.kpi.band(
          count(Math.floor(row.estimatedPeopleBand.low)),
          count(Math.ceil(row.estimatedPeopleBand.high)),
        ),
      },
      ...(usual
        ? [
            {
              key: 'usual',
              label: m.kpi.thisHour,
              value: count(usual.value),
              delta: { text: '', tone: 'none' as const },
              sub: m.kpi.usualFor(
                createDateFormats(m.locale, 'UTC').weekdaysLong[usual.weekday - 1] ?? '',
                usual.hour,
                count(Math.round(usual.usual)),
                `${count(Math.floor(usual.low))}–${count(Math.ceil(usual.high))}`,
              ),
            },
          ]
        : []),
    ]),
  )
}
