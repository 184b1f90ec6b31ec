import type { ZoneDto } from '../../../../services/shared/contracts/api.ts'
import { ApiError } from '../../api-client.ts'
import { h } from '../../dom.ts'
import type { Messages } from '../../i18n.ts'
import { HOUR_MS, instantOfInputValue, localInputValue } from '../../ranges.ts'
import { messageFor } from '../view-kit.ts'
import type { EventsState } from './events.ts'
import { orderedZones } from './params.ts'

type FieldName = 'name' | 'zones' | 'from' | 'to'

/**
 * The form that adds an event, in the district's local time. Built once per render of the view:
 * redraws of the list keep what the reader typed. The API validates; its refusal is shown with the
 * fields it names marked invalid.
 */
export function renderEventForm(state: EventsState): HTMLFormElement {
  const { doc, m, params } = state
  const tz = params.timeZone
  const nextHour = new Date(Math.ceil(params.now.getTime() / HOUR_MS) * HOUR_MS)
  const input = (name: string, type: string, value?: string) => {
    const element = h(doc, 'input', {
      id: `event-${name}`,
      name,
      type,
      ...(type === 'text' ? { maxlength: 120, autocomplete: 'off' } : {}),
      required: true,
      'aria-describedby': 'event-form-error',
    })
    if (value !== undefined) element.value = value
    return element
  }
  const name = input('name', 'text')
  const from = input('from', 'datetime-local', localInputValue(nextHour, tz))
  const to = input(
    'to',
    'datetime-local',
    localInputValue(new Date(nextHour.getTime() + 2 * HOUR_MS), tz),
  )
  const zones = h(
    doc,
    'fieldset',
    { class: 'event-zones', id: 'event-zones', 'aria-describedby': 'event-form-error' },
    [h(doc, 'legend', {}, [m.eventForm.zones]), h(doc, 'div', { class: 'zone-options' })],
  )
  const error = h(doc, 'p', { id: 'event-form-error', class: 'error', role: 'alert' })
  const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [m.eventForm.submit])
  const field = (label: string, control: HTMLInputElement) =>
    h(doc, 'div', { class: 'field' }, [h(doc, 'label', { for: control.id }, [label]), control])
  const form = h(
    doc,
    'form',
    { class: 'event-form', novalidate: true, 'aria-labelledby': 'event-form-heading' },
    [
      h(doc, 'h3', { id: 'event-form-heading' }, [m.eventForm.heading]),
      field(m.eventForm.name, name),
      zones,
      h(doc, 'div', { class: 'field-row' }, [
        field(m.eventForm.start(tz), from),
        field(m.eventForm.end(tz), to),
      ]),
      error,
      submit,
    ],
  )
  const fields = { name, zones, from, to }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (!submit.disabled) void addEvent(state, { fields, error, submit })
  })
  return form
}

interface FormParts {
  fields: Record<FieldName, HTMLElement & { value?: string }>
  error: HTMLElement
  submit: HTMLButtonElement
}

async function addEvent(state: EventsState, { fields, error, submit }: FormParts): Promise<void> {
  const { m, act } = state
  const boxes = () => [...fields.zones.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')]
  const instant = (value: string) =>
    instantOfInputValue(value, state.params.timeZone)?.toISOString() ?? value
  const request = {
    name: fields.name.value ?? '',
    zones: boxes()
      .filter((box) => box.checked)
      .map((box) => box.value),
    from: instant(fields.from.value ?? ''),
    to: instant(fields.to.value ?? ''),
  }
  for (const f of Object.values(fields)) f.removeAttribute('aria-invalid')
  error.textContent = ''
  submit.disabled = true
  submit.textContent = m.eventForm.submitting
  try {
    const created = await act.api.createEvent(request)
    act.setUi({ status: m.eventForm.added(created.name), error: '' })
    fields.name.value = ''
    for (const box of boxes()) box.checked = false
    void act.reload(['events', 'uplift'])
  } catch (failure) {
    if (act.signedOut(failure)) return
    error.textContent = m.eventForm.refused(refusalOf(m, failure))
    const invalid = invalidFields(failure)
    for (const key of invalid) fields[key].setAttribute('aria-invalid', 'true')
    const first = invalid[0]
    if (first === 'zones') boxes()[0]?.focus()
    else if (first) fields[first].focus()
  } finally {
    submit.disabled = false
    submit.textContent = m.eventForm.submit
  }
}

/** The checkboxes of the zones an event may name, kept (and their ticks) across refreshes. */
export function drawEventZones(body: HTMLElement, m: Messages, zones: readonly ZoneDto[]): void {
  const options = body.querySelector<HTMLElement>('.zone-options')
  if (!options) return
  const ordered = orderedZones(zones)
  const ids = ordered.map((z) => z.id).join(',')
  if (options.dataset.zoneIds === ids) return
  options.dataset.zoneIds = ids
  const doc = body.ownerDocument
  const checked = new Set(
    [...options.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value),
  )
  options.replaceChildren(
    ...ordered.map((zone) => {
      const id = `event-zone-${zone.id}`
      const box = h(doc, 'input', {
        type: 'checkbox',
        id,
        name: 'zones',
        value: zone.id,
        checked: checked.has(zone.id),
      })
      return h(doc, 'div', { class: 'zone-option' }, [
        box,
        h(doc, 'label', { for: id }, [zone.name]),
      ])
    }),
  )
  if (ordered.length === 0) options.append(h(doc, 'p', { class: 'muted' }, [m.chart.empty]))
}

/** The server's own words for a refused request (its validation message), else ours. */
export function refusalOf(m: Messages, error: unknown): string {
  if (error instanceof ApiError && (error.code === 'http_error' || error.code === 'not_found')) {
    return error.message
  }
  return messageFor(m, error)
}

/** Form fields an API refusal names (`body.name: …; to: must be …`, `zone x does not exist`). */
export function invalidFields(error: unknown): FieldName[] {
  if (!(error instanceof ApiError)) return []
  const found = new Set<string>()
  for (const part of error.message.split(/;\s*/)) {
    const field = /^(?:body\.)?(name|zones|from|to)\b/.exec(part)?.[1]
    if (field) found.add(field)
    else if (/^zone \S+ does not exist/.test(part)) found.add('zones')
  }
  return (['name', 'zones', 'from', 'to'] as const).filter((f) => found.has(f))
}
