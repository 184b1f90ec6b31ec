import type { ShopSummary } from '../../../../services/shared/contracts/api.ts'
import { h } from '../../dom.ts'
import { createCountFormat, createPercentFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { loadingNote } from '../view-kit.ts'
import { shopSummary, type ShopState } from './params.ts'

/** Where the shop ranks among the district's by visitors today, and its live count. */
export const id = 'rank'
export const load = shopSummary
export const redrawOn = ['live'] as const

export const title = (m: Messages) => m.shop.rankHeading
export const note = (m: Messages) => m.shop.rankNote

export function render(
  body: HTMLElement,
  { doc, m, data: s, error, live }: ShopState<ShopSummary>,
) {
  if (!s) {
    body.replaceChildren(loadingNote(doc, m, error))
    return
  }
  const percent = createPercentFormat(m.locale, 0)
  const dots = h(doc, 'ol', { class: 'rank-dots', 'aria-hidden': 'true' })
  for (let i = 1; i <= s.rank.shops; i += 1) {
    dots.append(h(doc, 'li', { class: i === s.rank.byVisitors ? 'me' : '' }))
  }
  // The feed counts every zone the key may see; this shop's is known from its summary.
  const today = live.counts?.zones.find((z) => z.zoneId === s.zoneId)?.today
  const count = createCountFormat(m.locale)
  body.replaceChildren(
    h(doc, 'p', { class: 'rank-headline' }, [m.shop.rank(s.rank.byVisitors, s.rank.shops)]),
    dots,
    ...(s.rank.percentile === null
      ? []
      : [h(doc, 'p', { class: 'muted' }, [m.shop.percentile(percent(s.rank.percentile / 100))])]),
    h(doc, 'p', { class: 'live-today' }, [
      today ? m.shop.liveToday(count(today.passersBy), count(today.visitors)) : '',
    ]),
  )
}
