import type {
  EventDto,
  UpliftResponse,
  UpliftRow,
  ZoneDto,
} from '../../../../services/shared/contracts/api.ts'
import { ApiError, type ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import { createCountFormat, createDateFormats, createDeltaPercentFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS } from '../../ranges.ts'
import type { Params, ViewEnv } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { drawEventZones, refusalOf, renderEventForm } from './event-form.ts'
import type { DistrictParams, DistrictState } from './params.ts'

/** Recent and coming events with their uplift; analysts add and delete them here. */
export const id = 'events'

const MAX_EVENTS = 6

export interface EventsData {
  zones: ZoneDto[]
  events: { event: EventDto; uplift: UpliftResponse | null }[]
}

export interface EventsUi {
  status: string
  error: string
  /** The event whose delete button asks for confirmation. */
  confirmDelete: string | null
}

export const ui: EventsUi = { status: '', error: '', confirmDelete: null }

export type EventsState = DistrictState<EventsData, EventsUi>

export const title = (m: Messages) => m.district.eventsHeading
export const note = (m: Messages) => m.district.eventsNote

export function canEditEvents(me: ViewEnv['me']): boolean {
  return me?.role === 'admin' || me?.role === 'analyst'
}

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<EventsData> {
  const now = params.now.getTime()
  const [zones, { events }] = await Promise.all([
    api.zones(),
    api.events({
      from: new Date(now - 90 * DAY_MS).toISOString(),
      to: new Date(now + 30 * DAY_MS).toISOString(),
    }),
  ])
  const recent = [...events].sort((a, b) => b.from.localeCompare(a.from)).slice(0, MAX_EVENTS)
  return {
    zones: zones.zones,
    events: await Promise.all(
      recent.map(async (event) => ({
        event,
        uplift: await api.uplift(event.id).catch((error: unknown) => {
          if (error instanceof ApiError && error.code === 'unauthorised') throw error
          return null
        }),
      })),
    ),
  }
}

/** The list is redrawn; the form (and what the reader typed in it) stays. */
export function render(body: HTMLElement, state: EventsState) {
  const { doc } = state
  let list = body.querySelector<HTMLElement>(':scope > .events-list')
  if (!list) {
    list = h(doc, 'div', { class: 'events-list' })
    const form = canEditEvents(state.params.me) ? [renderEventForm(state)] : []
    body.replaceChildren(list, ...form)
    body.closest('section')?.querySelector('h2')?.setAttribute('tabindex', '-1')
  }
  if (state.data) drawEventZones(body, state.m, state.data.zones)
  drawList(list, state)
}

function drawList(list: HTMLElement, state: EventsState): void {
  const { doc, m, data, ui } = state
  const notices = [
    h(doc, 'p', { class: 'events-status', role: 'status' }, [ui.status]),
    h(doc, 'p', { class: 'error events-error', role: 'alert' }, [ui.error]),
  ]
  if (!data) {
    list.replaceChildren(...notices, loadingNote(doc, m, state.error))
    return
  }
  if (data.events.length === 0) {
    list.replaceChildren(...notices, h(doc, 'p', { class: 'placeholder' }, [m.district.noEvents]))
    return
  }
  const canEdit = canEditEvents(state.params.me)
  list.replaceChildren(
    ...notices,
    h(doc, 'div', { class: 'table-wrap' }, [
      h(doc, 'table', { class: 'events' }, [
        h(doc, 'thead', {}, [
          h(doc, 'tr', {}, [
            h(doc, 'th', { scope: 'col' }, [m.district.event]),
            h(doc, 'th', { scope: 'col' }, [m.district.when]),
            h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.passersBy]),
            h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.visitors]),
            ...(canEdit ? [h(doc, 'th', { scope: 'col' }, [m.eventForm.actions])] : []),
          ]),
        ]),
        h(
          doc,
          'tbody',
          {},
          data.events.map((row) => eventRow(list, state, row, canEdit)),
        ),
      ]),
    ]),
  )
}

function eventRow(
  list: HTMLElement,
  state: EventsState,
  { event, uplift }: EventsData['events'][number],
  canEdit: boolean,
): HTMLElement {
  const { doc, m } = state
  const dates = createDateFormats(m.locale, state.params.timeZone)
  return h(doc, 'tr', { 'data-event-id': event.id }, [
    h(doc, 'th', { scope: 'row' }, [
      event.name,
      h(doc, 'br'),
      h(doc, 'span', { class: 'muted' }, [uplift ? m.district.status[uplift.status] : '']),
    ]),
    h(doc, 'td', {}, [
      `${dates.dayTime(new Date(event.from))} – ${dates.dayTime(new Date(event.to))}`,
    ]),
    upliftCell(doc, m, uplift?.rows, 'passersBy'),
    upliftCell(doc, m, uplift?.rows, 'visitors'),
    ...(canEdit ? [h(doc, 'td', {}, eventActions(list, state, event))] : []),
  ])
}

function upliftCell(
  doc: Document,
  m: Messages,
  rows: UpliftRow[] | undefined,
  metric: UpliftRow['metric'],
): HTMLElement {
  const row = rows?.find((r) => r.zoneId === null && r.metric === metric)
  if (!row) return h(doc, 'td', { class: 'num muted' }, [m.district.notMeasured])
  const count = createCountFormat(m.locale)
  const pct = createDeltaPercentFormat(m.locale)
  const ratio = row.ratio === null ? null : (row.ratio - 1) * 100
  const tone = ratio === null ? 'none' : ratio > 0.05 ? 'up' : ratio < -0.05 ? 'down' : 'flat'
  const spread =
    row.baselineMin === null || row.baselineMax === null
      ? ''
      : ` (${count(row.baselineMin)}–${count(row.baselineMax)})`
  return h(doc, 'td', { class: 'num' }, [
    h(doc, 'span', { class: 'uplift-value' }, [count(row.event)]),
    ' ',
    h(doc, 'span', { class: `uplift tone-${tone}` }, [ratio === null ? '' : pct(ratio)]),
    h(doc, 'br'),
    h(doc, 'span', { class: 'muted' }, [
      row.baselineMean === null
        ? m.kpi.noBaseline
        : `${m.district.usual} ${count(row.baselineMean)}${spread}`,
    ]),
  ])
}

/** Delete asks to confirm first; focus follows the button that replaces the one pressed. */
function eventActions(list: HTMLElement, state: EventsState, event: EventDto): HTMLElement[] {
  const { doc, m, act } = state
  const focus = (action: string) =>
    list
      .querySelector<HTMLElement>(`button[data-action="${action}"][data-event-id="${event.id}"]`)
      ?.focus()
  const button = (action: string, label: string, ariaLabel: string, onClick: () => void) => {
    const b = h(
      doc,
      'button',
      {
        type: 'button',
        class: action === 'confirm-delete' ? 'button-danger' : 'button-secondary',
        'data-action': action,
        'data-event-id': event.id,
        'aria-label': ariaLabel,
      },
      [label],
    )
    b.addEventListener('click', onClick)
    return b
  }
  if (state.ui.confirmDelete !== event.id) {
    return [
      button('delete', m.eventForm.delete, m.eventForm.deleteLabel(event.name), () => {
        act.setUi({ confirmDelete: event.id })
        focus('confirm-delete')
      }),
    ]
  }
  return [
    h(doc, 'span', { class: 'event-actions' }, [
      button('confirm-delete', m.eventForm.confirm, m.eventForm.confirmLabel(event.name), () => {
        void removeEvent(list, state, event, () => focus('delete'))
      }),
      button('cancel-delete', m.eventForm.cancel, m.eventForm.cancel, () => {
        act.setUi({ confirmDelete: null })
        focus('delete')
      }),
    ]),
  ]
}

/** Deletes the event and reloads the list; a refusal is shown and focus returns to the row. */
async function removeEvent(
  list: HTMLElement,
  { m, act }: EventsState,
  event: EventDto,
  focusRow: () => void,
): Promise<void> {
  try {
    await act.api.deleteEvent(event.id)
  } catch (error) {
    if (act.signedOut(error)) return
    const refused = m.eventForm.deleteFailed(refusalOf(m, error))
    act.setUi({ status: '', error: refused, confirmDelete: null })
    focusRow()
    return
  }
  act.setData(
    (data) => data && { ...data, events: data.events.filter((e) => e.event.id !== event.id) },
  )
  act.setUi({ status: m.eventForm.deleted(event.name), error: '', confirmDelete: null })
  // The row and its buttons are gone: focus lands on the panel's heading, the status is announced.
  list.closest('section')?.querySelector<HTMLElement>('h2')?.focus()
  void act.reload(['events', 'uplift'])
}
