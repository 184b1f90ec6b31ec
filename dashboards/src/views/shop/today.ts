import type { ShopSummary } from '../../../../services/shared/contracts/api.ts'
import { createCountFormat, createMinutesFormat, createPercentFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import { createTiles, deltaText, loadingNote } from '../view-kit.ts'
import { shopSummary, type ShopParams, type ShopState } from './params.ts'

/** Today so far against the average of the same weekday of recent weeks. */
export const id = 'today'
export const load = shopSummary

export const title = (m: Messages) => m.shop.todayHeading
export function note(m: Messages, _params: Params<ShopParams>, data: ShopSummary | null) {
  return m.shop.todayNote(data?.sameWeekdayAverage.weeks ?? 4)
}

export function render(body: HTMLElement, { doc, m, data: s, error }: ShopState<ShopSummary>) {
  if (!s) {
    body.replaceChildren(loadingNote(doc, m, error))
    return
  }
  const count = createCountFormat(m.locale)
  const percent = createPercentFormat(m.locale, 1)
  const minutes = createMinutesFormat(m.locale)
  const avg = s.sameWeekdayAverage
  const share = (value: number | null) => (value === null ? '–' : percent(value))
  const dwell = (value: number | null) => (value === null ? '–' : minutes(value))
  body.replaceChildren(
    createTiles(doc, [
      {
        key: 'passers-by',
        label: m.kpi.passersBy,
        value: count(s.today.passersBy),
        delta: deltaText(m, s.vsAverage.passersBy, m.kpi.vsUsual),
        sub: m.shop.usual(count(avg.passersBy)),
      },
      {
        key: 'visitors',
        label: m.kpi.visitors,
        value: count(s.today.visitors),
        delta: deltaText(m, s.vsAverage.visitors, m.kpi.vsUsual),
        sub: m.shop.usual(count(avg.visitors)),
      },
      {
        key: 'capture-rate',
        label: m.kpi.captureRate,
        value: share(s.today.captureRate),
        delta: deltaText(m, s.vsAverage.captureRate, m.kpi.vsUsual, { share: true }),
        sub: m.shop.usual(share(avg.captureRate)),
      },
      {
        key: 'dwell',
        label: m.kpi.dwell,
        value: dwell(s.today.dwellMeanS),
        delta: deltaText(m, s.vsAverage.dwellMeanS, m.kpi.vsUsual),
        sub: m.shop.usual(dwell(avg.dwellMeanS)),
      },
    ]),
  )
}
