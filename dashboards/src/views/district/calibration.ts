import type { ZoneDto } from '../../../../services/shared/contracts/api.ts'
import type {
  CalibrationListResponse,
  CountKind,
  GatewayCalibrationDto,
} from '../../../../services/shared/contracts/calibration.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import { createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { HOUR_MS, instantOfInputValue, localInputValue } from '../../ranges.ts'
import type { Params, ViewEnv } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { refusalOf } from './event-form.ts'
import { calibrationMessages, type CalibrationMessages } from './calibration-messages.ts'
import { orderedZones, type DistrictParams, type DistrictState } from './params.ts'

/**
 * Calibration (issue #16): each gateway's calibration version with its held-out quality and a
 * reminder when it is missing, old or poor; a form to record a counting session. Analysts and
 * admins only (the API refuses the rest).
 */
export const id = 'calibration'

export interface CalibrationData {
  zones: ZoneDto[]
  list: CalibrationListResponse
}

export interface CalibrationUi {
  status: string
}

export const ui: CalibrationUi = { status: '' }

export type CalibrationState = DistrictState<CalibrationData, CalibrationUi>

export const title = (m: Messages) => calibrationMessages(m).heading
export const note = (m: Messages) => calibrationMessages(m).note

const canCalibrate = (me: ViewEnv['me']) => me?.role === 'admin' || me?.role === 'analyst'

export async function load(
  api: ApiClient,
  params: Params<DistrictParams>,
): Promise<CalibrationData> {
  if (!canCalibrate(params.me)) return { zones: [], list: emptyList }
  const [zones, list] = await Promise.all([api.zones(), api.calibration()])
  return { zones: zones.zones, list }
}

const emptyList: CalibrationListResponse = {
  maxAgeDays: 90,
  coverageRange: [80, 97],
  maxMapePct: 30,
  gateways: [],
}

/** The list is redrawn; the form (and what the reader typed in it) stays. */
export function render(body: HTMLElement, state: CalibrationState) {
  const { doc } = state
  let list = body.querySelector<HTMLElement>(':scope > .calibration-list')
  if (!list) {
    list = h(doc, 'div', { class: 'calibration-list' })
    body.replaceChildren(list, ...(canCalibrate(state.params.me) ? [renderForm(state)] : []))
  }
  if (state.data) drawZoneOptions(body, state)
  drawList(list, state)
}

function drawList(list: HTMLElement, state: CalibrationState): void {
  const { doc, m, data } = state
  const c = calibrationMessages(m)
  const status = h(doc, 'p', { class: 'calibration-status', role: 'status' }, [state.ui.status])
  if (!data) {
    list.replaceChildren(status, loadingNote(doc, m, state.error))
    return
  }
  if (data.list.gateways.length === 0) {
    list.replaceChildren(status, h(doc, 'p', { class: 'placeholder' }, [c.noGateways]))
    return
  }
  const dates = createDateFormats(m.locale, state.params.timeZone)
  const num = (n: number | null | undefined, digits: number) =>
    n === null || n === undefined ? '–' : n.toFixed(digits)
  const th = (text: string, cls?: string) =>
    h(doc, 'th', { scope: 'col', ...(cls ? { class: cls } : {}) }, [text])
  list.replaceChildren(
    status,
    h(doc, 'div', { class: 'table-wrap' }, [
      h(doc, 'table', { class: 'calibration' }, [
        h(doc, 'thead', {}, [
          h(doc, 'tr', {}, [
            th(c.gateway),
            th(c.zone),
            th(c.version, 'num'),
            th(c.fitted),
            th(c.mae, 'num'),
            th(c.mape, 'num'),
            th(c.coverage, 'num'),
            th(c.sessions, 'num'),
            th(c.attention),
          ]),
        ]),
        h(
          doc,
          'tbody',
          {},
          data.list.gateways.map((g) => {
            const q = g.current?.quality
            const td = (text: string, cls?: string) =>
              h(doc, 'td', cls ? { class: cls } : {}, [text])
            return h(doc, 'tr', { 'data-gateway': g.gateway }, [
              h(doc, 'th', { scope: 'row' }, [g.gateway]),
              td(zoneName(data.zones, g.zone)),
              td(g.current ? String(g.current.version) : c.none, 'num'),
              td(g.current ? dates.date(new Date(g.current.fittedAt)) : '–'),
              td(num(q?.maePeople, 2), 'num'),
              td(q?.mapePct === null || !q ? '–' : `${q.mapePct.toFixed(0)} %`, 'num'),
              td(q ? `${q.coveragePct.toFixed(0)} %` : '–', 'num'),
              td(q ? String(q.sessions) : '–', 'num'),
              attentionCell(doc, c, g, data.list.maxAgeDays),
            ])
          }),
        ),
      ]),
    ]),
  )
}

function attentionCell(
  doc: Document,
  c: CalibrationMessages,
  g: GatewayCalibrationDto,
  maxAgeDays: number,
): HTMLElement {
  const lines = g.reminders.map((r) => c.reminders[r](g, maxAgeDays))
  if (g.refusal) lines.push(c.refused(g.refusal.reason))
  if (lines.length === 0) return h(doc, 'td', { class: 'calibration-ok' }, [c.ok])
  return h(
    doc,
    'td',
    { class: 'calibration-reminder' },
    lines.map((l) => h(doc, 'p', {}, [l])),
  )
}

const zoneName = (zones: readonly ZoneDto[], zoneId: string) =>
  zones.find((z) => z.id === zoneId)?.name ?? zoneId

type Fields = {
  zone: HTMLSelectElement
  gateway: HTMLSelectElement
  from: HTMLInputElement
  to: HTMLInputElement
  kind: HTMLSelectElement
  people: HTMLInputElement
  countedBy: HTMLInputElement
  note: HTMLInputElement
}

function renderForm(state: CalibrationState): HTMLFormElement {
  const { doc, m, params } = state
  const c = calibrationMessages(m)
  const tz = params.timeZone
  // The last whole quarter hour before now: a count is recorded once it is over.
  const end = new Date(Math.floor(params.now.getTime() / (HOUR_MS / 4)) * (HOUR_MS / 4))
  const start = new Date(end.getTime() - HOUR_MS / 4)
  const input = (name: string, type: string, value = '', extra: Record<string, string> = {}) => {
    const element = h(doc, 'input', {
      id: `count-${name}`,
      name,
      type,
      'aria-describedby': 'count-form-error',
      ...extra,
    })
    element.value = value
    return element
  }
  const select = (name: string, options: [string, string][]) =>
    h(
      doc,
      'select',
      { id: `count-${name}`, name, 'aria-describedby': 'count-form-error' },
      options.map(([value, label]) => h(doc, 'option', { value }, [label])),
    )
  const fields: Fields = {
    zone: select('zone', []),
    gateway: select('gateway', [['', c.form.allGateways]]),
    from: input('from', 'datetime-local', localInputValue(start, tz)),
    to: input('to', 'datetime-local', localInputValue(end, tz)),
    kind: select(
      'kind',
      (['present', 'in', 'out'] as const).map((k) => [k, c.form.kinds[k]]),
    ),
    people: input('people', 'number', '', { min: '0', step: 'any', inputmode: 'decimal' }),
    countedBy: input('counted-by', 'text', '', { maxlength: '120', autocomplete: 'name' }),
    note: input('note', 'text', '', { maxlength: '1000', autocomplete: 'off' }),
  }
  fields.zone.addEventListener('change', () => fillGateways(state, fields))
  const field = (label: string, control: HTMLElement) =>
    h(doc, 'div', { class: 'field' }, [h(doc, 'label', { for: control.id }, [label]), control])
  const error = h(doc, 'p', { id: 'count-form-error', class: 'error', role: 'alert' })
  const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [c.form.submit])
  const form = h(
    doc,
    'form',
    { class: 'count-form', novalidate: true, 'aria-labelledby': 'count-form-heading' },
    [
      h(doc, 'h3', { id: 'count-form-heading' }, [c.form.heading]),
      h(doc, 'p', { class: 'muted' }, [c.form.intro]),
      h(doc, 'div', { class: 'field-row' }, [
        field(c.form.zone, fields.zone),
        field(c.form.gateway, fields.gateway),
      ]),
      h(doc, 'div', { class: 'field-row' }, [
        field(c.form.start(tz), fields.from),
        field(c.form.end(tz), fields.to),
      ]),
      h(doc, 'div', { class: 'field-row' }, [
        field(c.form.kind, fields.kind),
        field(c.form.people, fields.people),
      ]),
      field(c.form.countedBy, fields.countedBy),
      field(c.form.note, fields.note),
      error,
      submit,
    ],
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (!submit.disabled) void recordCount(state, fields, error, submit)
  })
  return form
}

/** The zones (street order) and, for the chosen zone, its gateways; the reader's choice kept. */
function drawZoneOptions(body: HTMLElement, state: CalibrationState): void {
  const form = body.querySelector<HTMLFormElement>('form.count-form')
  const zone = form?.querySelector<HTMLSelectElement>('#count-zone')
  const gateway = form?.querySelector<HTMLSelectElement>('#count-gateway')
  if (!zone || !gateway || !state.data) return
  const ordered = orderedZones(state.data.zones)
  const ids = ordered.map((z) => z.id).join(',')
  if (zone.dataset.zoneIds !== ids) {
    const chosen = zone.value
    zone.dataset.zoneIds = ids
    zone.replaceChildren(...ordered.map((z) => h(state.doc, 'option', { value: z.id }, [z.name])))
    if (ordered.some((z) => z.id === chosen)) zone.value = chosen
  }
  const byZone: Record<string, string[]> = {}
  for (const g of state.data.list.gateways) (byZone[g.zone] ??= []).push(g.gateway)
  zone.dataset.gateways = JSON.stringify(byZone)
  fillGateways(state, { zone, gateway })
}

/**
 * The chosen zone's gateways. The form is built once, so the list comes from the newest data the
 * panel drew (kept on the zone select), not from the state the form was built with.
 */
function fillGateways(state: CalibrationState, fields: Pick<Fields, 'zone' | 'gateway'>): void {
  const c = calibrationMessages(state.m)
  const byZone = JSON.parse(fields.zone.dataset.gateways ?? '{}') as Record<string, string[]>
  const gateways = byZone[fields.zone.value] ?? []
  const ids = `${fields.zone.value}:${gateways.join(',')}`
  if (fields.gateway.dataset.ids === ids) return
  fields.gateway.dataset.ids = ids
  const chosen = fields.gateway.value
  fields.gateway.replaceChildren(
    h(state.doc, 'option', { value: '' }, [c.form.allGateways]),
    ...gateways.map((g) => h(state.doc, 'option', { value: g }, [g])),
  )
  if (gateways.includes(chosen)) fields.gateway.value = chosen
}

async function recordCount(
  state: CalibrationState,
  fields: Fields,
  error: HTMLElement,
  submit: HTMLButtonElement,
): Promise<void> {
  const { m, act, params } = state
  const c = calibrationMessages(m)
  const instant = (value: string) =>
    instantOfInputValue(value, params.timeZone)?.toISOString() ?? value
  const people = fields.people.value.trim() === '' ? NaN : Number(fields.people.value)
  const request = {
    zone: fields.zone.value,
    ...(fields.gateway.value ? { gateway: fields.gateway.value } : {}),
    from: instant(fields.from.value),
    to: instant(fields.to.value),
    kind: fields.kind.value as CountKind,
    people,
    countedBy: fields.countedBy.value,
    ...(fields.note.value.trim() ? { note: fields.note.value.trim() } : {}),
  }
  for (const f of Object.values(fields)) f.removeAttribute('aria-invalid')
  error.textContent = ''
  submit.disabled = true
  submit.textContent = c.form.submitting
  try {
    const created = await act.api.createCountSession(request)
    const zoneLabel = fields.zone.selectedOptions[0]?.textContent ?? created.zone
    act.setUi({ status: c.form.added(created.people, zoneLabel) })
    fields.people.value = ''
    fields.note.value = ''
    void act.reload(['calibration'])
  } catch (failure) {
    if (act.signedOut(failure)) return
    const message = refusalOf(m, failure)
    error.textContent = c.form.refused(message)
    const named = invalidCountFields(message)
    for (const key of named) fields[key].setAttribute('aria-invalid', 'true')
    if (named[0]) fields[named[0]].focus()
  } finally {
    submit.disabled = false
    submit.textContent = c.form.submit
  }
}

/** Form fields a refusal names (`body.people: …`, `zone x does not exist`, `overlaps …`). */
export function invalidCountFields(message: string): (keyof Fields)[] {
  const found = new Set<keyof Fields>()
  for (const part of message.split(/;\s*/)) {
    const field = /^(?:body\.)?(zone|gateway|from|to|kind|people|countedBy|note)\b/.exec(part)?.[1]
    if (field) found.add(field as keyof Fields)
    if (/window ends in the future|overlaps count session|already recorded/.test(part)) {
      found.add('from')
      found.add('to')
    }
    if (/^gateway \S+ (does not exist|is in zone)/.test(part)) found.add('gateway')
    if (/^zone \S+ does not exist/.test(part)) found.add('zone')
  }
  const order: (keyof Fields)[] = [
    'zone',
    'gateway',
    'from',
    'to',
    'kind',
    'people',
    'countedBy',
    'note',
  ]
  return order.filter((f) => found.has(f))
}
