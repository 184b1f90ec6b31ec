import type { DistrictState } from './params.ts'
import { renderReport, type ReportUi } from '../report-card.ts'

/** The district's monthly report, for analysts (views/report-card.ts). */
export { id, note, title, ui } from '../report-card.ts'

export function render(body: HTMLElement, state: DistrictState<never, ReportUi>) {
  renderReport(body, state, null)
}
