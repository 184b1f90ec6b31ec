import type { CompareResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { createCountFormat, createMinutesFormat, createPercentFormat } from '../../format.ts'
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

export function load(api: ApiClient, params: Params<DistrictParams>): Promise<CompareResponse> {
  const { from, to } = rangeRequest(params)
  return api.compare({ from, to, mode: 'wow' })
}

export function render(body: HTMLElement, { doc, m, data, error }: DistrictState<CompareResponse>) {
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
    ]),
  )
}
