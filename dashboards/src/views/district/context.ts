import type { ZoneDto } from '../../../../services/shared/contracts/api.ts'
import { localDateOf } from '../../../../services/shared/contracts/local-time.ts'
import type { ExcludedDaysResponseSchema } from '../../../../services/shared/contracts/outlook-api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import { createCountFormat } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { refusalOf } from './event-form.ts'
import { orderedZones, type DistrictParams, type DistrictState } from './params.ts'

type ExcludedDay = ReturnType<typeof ExcludedDaysResponseSchema.parse>['days'][number]

/**
 * Context and flagged days (issue #17, analysts): import a context CSV (a refused file shows the
 * API's bad rows, by number), flag a local day of the district or of one zone out of baselines and
 * forecasts, and the flagged days with a button to unflag each.
 */
export const id = 'context'

export interface ContextData {
  zones: ZoneDto[]
  days: ExcludedDay[]
}

export interface ContextUi {
  status: string
  error: string
  /** A refused file: the API's bad rows, one per line. */
  badRows: string[]
}

export const ui: ContextUi = { status: '', error: '', badRows: [] }

export type ContextState = DistrictState<ContextData, ContextUi>

export const title = (m: Messages) => m.context.heading
export const note = (m: Messages) => m.context.note

export async function load(api: ApiClient, _params: Params<DistrictParams>): Promise<ContextData> {
  const [zones, { days }] = await Promise.all([api.zones(), api.excludedDays()])
  return { zones: zones.zones, days: [...days].sort((a, b) => b.day.localeCompare(a.day)) }
}

/** The forms are built once (what the reader typed stays); the notices and the list are redrawn. */
export function render(body: HTMLElement, state: ContextState) {
  const { doc } = state
  let list = body.querySelector<HTMLElement>(':scope > .flagged-list')
  if (!list) {
    list = h(doc, 'div', { class: 'flagged-list' })
    body.replaceChildren(
      h(doc, 'div', { class: 'context-notices' }),
      h(doc, 'div', { class: 'field-row context-forms' }, [uploadForm(state), flagForm(state)]),
      list,
    )
  }
  drawZoneOptions(body, state)
  drawNotices(body.querySelector<HTMLElement>(':scope > .context-notices'), state)
  drawList(list, state)
}

function drawNotices(box: HTMLElement | null, { doc, m, ui }: ContextState): void {
  box?.replaceChildren(
    h(doc, 'p', { class: 'context-status', role: 'status' }, [ui.status]),
    h(doc, 'div', { class: 'error context-error', role: 'alert' }, [
      ui.error,
      ...(ui.badRows.length
        ? [
            h(doc, 'p', {}, [m.context.refused]),
            h(
              doc,
              'ul',
              { class: 'context-bad-rows' },
              ui.badRows.map((row) => h(doc, 'li', {}, [row])),
            ),
          ]
        : []),
    ]),
  )
}

/** "context file refused, nothing imported: row 3: …; row 7: … (and 2 more bad rows)" → rows. */
export function badRowsOf(message: string): string[] {
  const at = message.indexOf(': row ')
  if (!message.startsWith('context file refused') || at < 0) return []
  return message
    .slice(at + 2)
    .split(/;\s*(?=row \d+:)/)
    .map((row) => row.trim())
}

function uploadForm(state: ContextState): HTMLFormElement {
  const { doc, m, act } = state
  const file = h(doc, 'input', {
    id: 'context-file',
    name: 'file',
    type: 'file',
    accept: '.csv,text/csv',
  })
  const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [m.context.upload])
  const form = h(doc, 'form', { class: 'context-upload', 'aria-labelledby': 'context-upload-h' }, [
    h(doc, 'h3', { id: 'context-upload-h' }, [m.context.uploadHeading]),
    h(doc, 'div', { class: 'field' }, [h(doc, 'label', { for: file.id }, [m.context.file]), file]),
    submit,
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const chosen = file.files?.[0]
    if (!chosen) {
      act.setUi({ status: '', error: m.context.noFile, badRows: [] })
      return
    }
    if (submit.disabled) return
    submit.disabled = true
    submit.textContent = m.context.uploading
    void importFile(state, chosen).finally(() => {
      submit.disabled = false
      submit.textContent = m.context.upload
    })
  })
  return form
}

async function importFile(state: ContextState, file: File): Promise<void> {
  const { m, act } = state
  act.setUi({ status: '', error: '', badRows: [] })
  try {
    const report = await act.api.importContext(await readText(file), file.name)
    const count = createCountFormat(m.locale)
    act.setUi({ status: m.context.imported(count(report.rows), report.variables.join(', ')) })
  } catch (error) {
    if (act.signedOut(error)) return
    const message = refusalOf(m, error)
    const badRows = badRowsOf(message)
    act.setUi({ error: badRows.length ? '' : message, badRows })
  }
}

/** The file's text (FileReader: in every browser, and in jsdom, whose File has no `text()`). */
function readText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.addEventListener('load', () => resolve(String(reader.result)))
    reader.addEventListener('error', () => reject(reader.error ?? new Error('unreadable file')))
    reader.readAsText(file)
  })
}

function flagForm(state: ContextState): HTMLFormElement {
  const { doc, m, params, act } = state
  const day = h(doc, 'input', { id: 'flag-day', name: 'day', type: 'date', required: true })
  day.value = localDateOf(params.now.getTime(), params.timeZone)
  const zone = h(doc, 'select', { id: 'flag-zone', name: 'zone' }, [
    h(doc, 'option', { value: '' }, [m.context.wholeDistrict]),
  ])
  const reason = h(doc, 'input', {
    id: 'flag-reason',
    name: 'reason',
    type: 'text',
    maxlength: 200,
    required: true,
    autocomplete: 'off',
  })
  const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [m.context.flag])
  const field = (label: string, control: HTMLElement & { id: string }) =>
    h(doc, 'div', { class: 'field' }, [h(doc, 'label', { for: control.id }, [label]), control])
  const form = h(doc, 'form', { class: 'flag-form', 'aria-labelledby': 'flag-form-h' }, [
    h(doc, 'h3', { id: 'flag-form-h' }, [m.context.flagHeading]),
    field(m.context.day, day),
    field(m.context.zone, zone),
    field(m.context.reason, reason),
    submit,
  ])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (submit.disabled) return
    submit.disabled = true
    const request = { day: day.value, zone: zone.value || null, reason: reason.value }
    void act.api
      .flagDay(request)
      .then((flag) => {
        act.setUi({ status: m.context.flagged(flag.day), error: '', badRows: [] })
        reason.value = ''
        return act.reload()
      })
      .catch((error: unknown) => {
        if (act.signedOut(error)) return
        act.setUi({ status: '', error: m.context.flagRefused(refusalOf(m, error)), badRows: [] })
      })
      .finally(() => {
        submit.disabled = false
      })
  })
  return form
}

/** The zone choices, kept (and the one chosen) across refreshes. */
function drawZoneOptions(body: HTMLElement, { doc, data }: ContextState): void {
  const select = body.querySelector<HTMLSelectElement>('#flag-zone')
  if (!select || !data) return
  const ordered = orderedZones(data.zones)
  const ids = ordered.map((z) => z.id).join(',')
  if (select.dataset.zoneIds === ids) return
  select.dataset.zoneIds = ids
  const chosen = select.value
  for (const option of [...select.options].slice(1)) option.remove()
  for (const zone of ordered) select.append(h(doc, 'option', { value: zone.id }, [zone.name]))
  select.value = chosen
}

function drawList(list: HTMLElement, state: ContextState): void {
  const { doc, m, data } = state
  const heading = h(doc, 'h3', {}, [m.context.listHeading])
  if (!data) {
    list.replaceChildren(heading, loadingNote(doc, m, state.error))
    return
  }
  if (data.days.length === 0) {
    list.replaceChildren(heading, h(doc, 'p', { class: 'placeholder' }, [m.context.none]))
    return
  }
  const zoneName = (id: string | null) =>
    id === null ? m.context.wholeDistrict : (data.zones.find((z) => z.id === id)?.name ?? id)
  list.replaceChildren(
    heading,
    h(doc, 'div', { class: 'table-wrap' }, [
      h(doc, 'table', { class: 'flagged-days' }, [
        h(doc, 'thead', {}, [
          h(doc, 'tr', {}, [
            h(doc, 'th', { scope: 'col' }, [m.context.day]),
            h(doc, 'th', { scope: 'col' }, [m.context.zone]),
            h(doc, 'th', { scope: 'col' }, [m.context.reason]),
            h(doc, 'th', { scope: 'col' }, [m.eventForm.actions]),
          ]),
        ]),
        h(
          doc,
          'tbody',
          {},
          data.days.map((flag) => flagRow(state, flag, zoneName(flag.zoneId))),
        ),
      ]),
    ]),
  )
}

function flagRow(state: ContextState, flag: ExcludedDay, zone: string): HTMLElement {
  const { doc, m, act } = state
  const button = h(
    doc,
    'button',
    {
      type: 'button',
      class: 'button-secondary',
      'data-action': 'unflag',
      'data-flag-id': flag.id,
      'aria-label': m.context.unflagLabel(flag.day, zone),
    },
    [m.context.unflag],
  )
  button.addEventListener('click', () => {
    button.disabled = true
    void act.api
      .unflagDay(flag.id)
      .then(() => {
        act.setData((data) => data && { ...data, days: data.days.filter((d) => d.id !== flag.id) })
        act.setUi({ status: m.context.unflagged(flag.day), error: '', badRows: [] })
      })
      .catch((error: unknown) => {
        if (act.signedOut(error)) return
        button.disabled = false
        act.setUi({ status: '', error: m.context.flagRefused(refusalOf(m, error)), badRows: [] })
      })
  })
  return h(doc, 'tr', { 'data-flag-id': flag.id }, [
    h(doc, 'th', { scope: 'row' }, [flag.day]),
    h(doc, 'td', {}, [zone]),
    h(doc, 'td', {}, [flag.reason]),
    h(doc, 'td', {}, [button]),
  ])
}
