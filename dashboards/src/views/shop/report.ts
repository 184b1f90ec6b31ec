import type { ShopState } from './params.ts'
import { renderReport, type ReportUi } from '../report-card.ts'

/** The shop's monthly report (views/report-card.ts). */
export { id, lastMonth, note, title, ui } from '../report-card.ts'

export function render(body: HTMLElement, state: ShopState<never, ReportUi>) {
  renderReport(body, state, state.params.shopId)
}
