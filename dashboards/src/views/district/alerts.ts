import type {
  Alert,
  DemoHistoryResponse,
} from '../../../../services/shared/contracts/ranges-api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import { createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { loadingNote } from '../view-kit.ts'
import type { DistrictState } from './params.ts'

/** Open alerts, with an acknowledge button each, and how much of the demo history is written. */
export const id = 'alerts'
export const dependsOn = [] as const
/** Alerts pushed on the live feed show at once, before the next load. */
export const redrawOn = ['live'] as const

export interface AlertsData {
  alerts: Alert[]
  history: DemoHistoryResponse | null
}

export const title = (m: Messages) => m.district.alertsHeading

export async function load(api: ApiClient): Promise<AlertsData> {
  const [{ alerts }, history] = await Promise.all([
    api.alerts('open'),
    api.demoHistory().catch(() => null),
  ])
  return { alerts, history }
}

/** The loaded alerts updated by those pushed since (a cleared one leaves the list). */
export function currentAlerts(loaded: readonly Alert[], pushed: readonly Alert[]): Alert[] {
  const byId = new Map(loaded.map((a) => [a.id, a]))
  for (const a of pushed) byId.set(a.id, a)
  return [...byId.values()]
    .filter((a) => a.clearedAt === null)
    .sort((a, b) => b.raisedAt.localeCompare(a.raisedAt) || Number(b.id) - Number(a.id))
}

export function render(body: HTMLElement, state: DistrictState<AlertsData>) {
  const { doc, m, data, error, live, params, act } = state
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, error))
    return
  }
  const dates = createDateFormats(m.locale, params.timeZone)
  const h0 = data.history
  const progress =
    h0?.present && (!h0.finished || h0.weeksDone < h0.weeksTotal)
      ? [
          h(doc, 'p', { class: 'history-progress' }, [
            m.district.historyProgress(h0.weeksDone, h0.weeksTotal),
          ]),
        ]
      : h0?.present
        ? [
            h(doc, 'p', { class: 'history-progress muted' }, [
              m.district.historyProgress(h0.weeksTotal, h0.weeksTotal),
            ]),
          ]
        : []
  const alerts = currentAlerts(data.alerts, live.alerts)
  if (alerts.length === 0) {
    body.replaceChildren(
      ...progress,
      h(doc, 'p', { class: 'placeholder' }, [m.district.alertsNone]),
    )
    return
  }
  const items = alerts.map((a) => {
    const button = h(doc, 'button', { type: 'button', class: 'acknowledge' }, [
      m.district.acknowledge,
    ])
    if (a.acknowledgedAt) button.setAttribute('disabled', '')
    button.addEventListener('click', () => {
      button.setAttribute('disabled', '')
      void act.api.acknowledgeAlert(a.id).then(
        (acked) =>
          act.setData((d) =>
            d ? { ...d, alerts: d.alerts.map((x) => (x.id === acked.id ? acked : x)) } : d,
          ),
        (err: unknown) => {
          if (!act.signedOut(err)) button.removeAttribute('disabled')
        },
      )
    })
    return h(doc, 'li', { class: `alert alert-${a.kind}`, 'data-alert-id': a.id }, [
      h(doc, 'span', { class: 'alert-when muted' }, [dates.dayTime(new Date(a.raisedAt))]),
      ' ',
      h(doc, 'span', { class: 'alert-summary' }, [a.summary]),
      ' ',
      a.acknowledgedAt ? h(doc, 'span', { class: 'muted' }, [m.district.acknowledged]) : button,
    ])
  })
  body.replaceChildren(...progress, h(doc, 'ul', { class: 'alerts' }, items))
}
