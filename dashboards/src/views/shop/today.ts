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
  const orDash = (format: (value: number) => string) => (value: number | null) =>
    value === null ? '–' : format(value)
  // Each figure of today, the usual one under it (same weekday, recent weeks) and the change.
  const metrics = [
    ['passers-by', m.kpi.passersBy, 'passersBy', orDash(count)],
    ['visitors', m.kpi.visitors, 'visitors', orDash(count)],
    ['capture-rate', m.kpi.captureRate, 'captureRate', orDash(percent)],
    ['dwell', m.kpi.dwell, 'dwellMeanS', orDash(minutes)],
  ] as const
  body.replaceChildren(
    createTiles(
      doc,
      metrics.map(([key, label, field, format]) => ({
        key,
        label,
        value: format(s.today[field]),
        delta: deltaText(m, s.vsAverage[field], m.kpi.vsUsual, {
          share: field === 'captureRate',
        }),
        sub: m.shop.usual(format(s.sameWeekdayAverage[field])),
      })),
    ),
  )
}
