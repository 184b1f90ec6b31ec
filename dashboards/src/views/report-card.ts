import { h } from '../dom.ts'
import type { Messages } from '../i18n.ts'
import type { PanelActions, PanelState } from './panel.ts'

/**
 * The monthly report card (issue #17), on a shop's page and the district's: a month (the last whole
 * one by default) and a button per format; the file is fetched with the key in a header (never in a
 * link) and saved.
 */
export const id = 'report'

export interface ReportUi {
  month: string | null
  error: string | null
  busy: boolean
}

export const ui: ReportUi = { month: null, error: null, busy: false }

export const title = (m: Messages) => m.outlook.report
export const note = (m: Messages) => m.outlook.reportNote

/** `YYYY-MM` of the month before `now` in the district's zone. */
export function lastMonth(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' })
    .formatToParts(now)
    .reduce<Record<string, string>>((o, p) => ({ ...o, [p.type]: p.value }), {})
  const index = Number(parts.year) * 12 + Number(parts.month) - 1 - 1
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`
}

/** The card's body for a shop (`shopId`) or the district (null). */
export function renderReport<P>(
  body: HTMLElement,
  state: PanelState<P, never, ReportUi>,
  shopId: string | null,
) {
  const { doc, m, params, ui: current, act } = state
  const month = current.month ?? lastMonth(params.now, params.timeZone)
  const input = h(doc, 'input', {
    type: 'month',
    id: 'report-month',
    value: month,
    max: lastMonth(new Date(params.now.getTime() + 31 * 86_400_000), params.timeZone),
  }) as HTMLInputElement
  input.addEventListener('change', () => {
    if (/^\d{4}-\d{2}$/.test(input.value)) act.setUi({ month: input.value })
  })
  const button = (format: 'html' | 'pdf', label: string) => {
    const b = h(
      doc,
      'button',
      { type: 'button', class: 'button-secondary download', 'data-report': format },
      [h(doc, 'span', { 'aria-hidden': 'true' }, ['⤓ ']), label],
    ) as HTMLButtonElement
    b.disabled = current.busy
    b.addEventListener('click', () => void download(act, shopId, month, m, format))
    return b
  }
  body.replaceChildren(
    h(doc, 'div', { class: 'downloads' }, [
      h(doc, 'label', { for: 'report-month' }, [m.outlook.reportMonth]),
      input,
      button('html', m.outlook.reportHtml),
      button('pdf', m.outlook.reportPdf),
    ]),
    h(doc, 'p', { class: 'error', role: 'alert' }, [current.error ?? '']),
  )
}

async function download<P>(
  act: PanelActions<P, never, ReportUi>,
  shopId: string | null,
  month: string,
  m: Messages,
  format: 'html' | 'pdf',
): Promise<void> {
  act.setUi({ busy: true, error: null })
  try {
    const lang = m.locale.startsWith('it') ? 'it' : 'en'
    const file = await act.api.report({ shopId, month, lang, format })
    act.setUi({ busy: false })
    act.saveFile(
      `miglio-${shopId ?? 'district'}-${month}.${format}`,
      file,
      format === 'pdf' ? 'application/pdf' : 'text/html',
    )
  } catch (error) {
    if (act.signedOut(error)) return
    act.setUi({ busy: false, error: m.outlook.reportFailed })
  }
}
