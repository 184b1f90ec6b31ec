import type { PeopleBucketName } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import {
  chartDataOf,
  drawPeople,
  PEOPLE_MAX_DAYS,
  peopleBucketFor,
  type PeopleRow,
} from '../people-panel.ts'
import { loadingNote } from '../view-kit.ts'
import { rangeRequest, type DistrictParams, type DistrictState } from './params.ts'

/**
 * People present (with the 90 % band) and people arriving in the whole district over the range:
 * every zone's series from the people estimator, added up by the API (`GET /district/people`).
 */
export const id = 'people'
export const dependsOn = ['range'] as const
export const redrawOn = ['resize'] as const

export interface DistrictPeopleData {
  range: { from: string; to: string; bucket: PeopleBucketName }
  /** Null when the range is longer than the API serves. */
  rows: PeopleRow[] | null
}

export const title = (m: Messages) => m.people.heading
export const note = (m: Messages) => m.people.note

export async function load(
  api: ApiClient,
  params: Params<DistrictParams>,
): Promise<DistrictPeopleData> {
  const { from, to } = rangeRequest(params)
  const bucket = peopleBucketFor(Date.parse(from), Date.parse(to))
  const range = { from, to, bucket }
  if (Date.parse(to) - Date.parse(from) > PEOPLE_MAX_DAYS[bucket] * 86_400_000)
    return { range, rows: null }
  // One request for the district (the API adds the zones up): one per zone made a district of 16
  // zones spend its rate-limit burst on this panel alone.
  const rows = (await api.districtPeople(range)).rows.map((r) => ({
    bucketStart: r.bucketStart,
    figures: { present: r.present, arrivals: r.arrivals },
  }))
  return { range, rows }
}

export function render(body: HTMLElement, state: DistrictState<DistrictPeopleData>) {
  const { doc, m, data, params } = state
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, state.error))
    return
  }
  if (data.rows === null) {
    body.replaceChildren(h(doc, 'p', { class: 'note' }, [m.people.tooLong]))
    return
  }
  drawPeople(body, {
    m,
    width: state.width,
    timeZone: params.timeZone,
    data: chartDataOf(data.rows, data.range),
    className: 'data-people',
  })
}
