import type { MeResponse, MetricDelta } from '../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../api-client.ts'
import { ApiError } from '../api-client.ts'
import { h } from '../dom.ts'
import { createDeltaPercentFormat } from '../format.ts'
import type { Messages } from '../i18n.ts'
import type { LiveStatus, OpenLiveFeed } from '../live-feed.ts'

/** What a view needs from the app shell; views never read globals. */
export interface ViewContext {
  doc: Document
  client: ApiClient
  t: () => Messages
  now: () => Date
  me: MeResponse | null
  /** The district's time zone (local days, hours and weekdays). */
  timeZone: string
  districtName: string
  /** A live feed with the signed-in key, or null when the app has no WebSocket. */
  openLiveFeed: OpenLiveFeed
  /** The key was refused mid-session: back to sign-in with a message. */
  onUnauthorised: (message: string) => void
  setInterval: (callback: () => void, ms: number) => unknown
  clearInterval: (handle: unknown) => void
  /** Saves text (or a fetched file) as a file (a Blob link in the browser). */
  saveFile: (name: string, text: string | Blob, type: string) => void
}

export interface View {
  /** Builds the view's DOM into `main` (again after a language switch) and draws its data. */
  render(main: HTMLElement): void
  /** Redraws charts for the current widths. */
  resize(): void
  destroy(): void
}

export function messageFor(m: Messages, error: unknown): string {
  if (!(error instanceof ApiError)) return m.errors.unexpected
  switch (error.code) {
    case 'unauthorised':
      return m.errors.unauthorised
    case 'forbidden':
      return m.errors.forbidden
    case 'not_found':
      return m.errors.notFound
    case 'bad_response':
      return m.errors.badResponse
    case 'network_error':
      return m.errors.network
    case 'http_error':
      return m.errors.http(error.status ?? 0, error.message)
  }
}

export interface Panel {
  section: HTMLElement
  body: HTMLElement
  status: HTMLElement
}

/** A titled card: heading, optional controls and note, a body for the chart, a status line. */
export function createPanel(
  doc: Document,
  options: {
    id: string
    title: string
    note?: string
    controls?: readonly Node[]
    className?: string
  },
): Panel {
  const body = h(doc, 'div', { class: 'chart-body', id: `${options.id}-body` })
  const status = h(doc, 'p', { class: 'panel-status', hidden: true })
  const head = h(doc, 'div', { class: 'panel-head' }, [
    h(doc, 'h2', { id: `${options.id}-heading` }, [options.title]),
    ...(options.controls ?? []),
  ])
  const section = h(
    doc,
    'section',
    {
      class: `panel ${options.className ?? ''}`.trim(),
      id: options.id,
      'aria-labelledby': `${options.id}-heading`,
    },
    [
      head,
      ...(options.note ? [h(doc, 'p', { class: 'panel-note' }, [options.note])] : []),
      status,
      body,
    ],
  )
  return { section, body, status }
}

export function showPanelError(panel: Panel, text: string | null): void {
  panel.status.textContent = text ?? ''
  panel.status.hidden = text === null
  panel.status.classList.toggle('error', text !== null)
  if (text !== null) panel.status.setAttribute('role', 'alert')
  else panel.status.removeAttribute('role')
}

/** A group of radio pills; calls `onChange` with the chosen value. */
export function createChoice<T extends string>(
  doc: Document,
  options: {
    name: string
    legend: string
    values: readonly T[]
    labels: Record<T, string>
    selected: T
    onChange: (value: T) => void
  },
): HTMLFieldSetElement {
  const fieldset = h(doc, 'fieldset', { class: 'range' }, [h(doc, 'legend', {}, [options.legend])])
  for (const value of options.values) {
    const id = `${options.name}-${value}`
    const radio = h(doc, 'input', {
      type: 'radio',
      name: options.name,
      value,
      id,
      checked: value === options.selected,
    })
    radio.addEventListener('change', () => {
      if (radio.checked) options.onChange(value)
    })
    fieldset.append(
      h(doc, 'div', { class: 'range-option' }, [
        radio,
        h(doc, 'label', { for: id }, [options.labels[value]]),
      ]),
    )
  }
  return fieldset
}

export type Tone = 'up' | 'down' | 'flat' | 'none'

/** The placeholder of a panel whose data has not come yet (blank under an error). */
export function loadingNote(doc: Document, m: Messages, error: string | null): HTMLElement {
  return h(doc, 'p', { class: 'placeholder loading' }, [error ? '' : m.chart.loading])
}

export interface TileSpec {
  key: string
  label: string
  value: string
  delta: { text: string; tone: Tone }
  sub?: string
}

/** A row of headline figures (the district's KPIs, a shop's today). */
export function createTiles(doc: Document, tiles: readonly TileSpec[]): HTMLElement {
  return h(
    doc,
    'div',
    { class: 'tiles' },
    tiles.map((tile) =>
      createTile(doc, {
        key: tile.key,
        label: tile.label,
        value: tile.value,
        delta: tile.delta.text,
        tone: tile.delta.tone,
        ...(tile.sub ? { sub: tile.sub } : {}),
      }),
    ),
  )
}

/** A headline figure with its comparison line. */
export function createTile(
  doc: Document,
  options: { key: string; label: string; value: string; delta?: string; tone?: Tone; sub?: string },
): HTMLElement {
  return h(doc, 'div', { class: 'tile', 'data-kpi': options.key }, [
    h(doc, 'p', { class: 'tile-label' }, [options.label]),
    h(doc, 'p', { class: 'tile-value' }, [options.value]),
    ...(options.delta
      ? [
          h(doc, 'p', { class: `tile-delta tone-${options.tone ?? 'none'}` }, [
            h(doc, 'span', { 'aria-hidden': 'true' }, [arrowOf(options.tone ?? 'none')]),
            ` ${options.delta}`,
          ]),
        ]
      : []),
    ...(options.sub ? [h(doc, 'p', { class: 'tile-sub' }, [options.sub])] : []),
  ])
}

function arrowOf(tone: Tone): string {
  switch (tone) {
    case 'up':
      return '▲'
    case 'down':
      return '▼'
    case 'flat':
      return '■'
    case 'none':
      return ''
  }
}

/** "+12.5% vs last week", or a "no comparison" note when the baseline is empty. */
export function deltaText(
  m: Messages,
  delta: MetricDelta,
  versus: string,
  options: { share?: boolean } = {},
): { text: string; tone: Tone } {
  const pct = createDeltaPercentFormat(m.locale)
  if (options.share) {
    if (delta.delta === null) return { text: m.kpi.noBaseline, tone: 'none' }
    const points = delta.delta * 100
    const tone: Tone = Math.abs(points) < 0.05 ? 'flat' : points > 0 ? 'up' : 'down'
    return { text: `${pct(points).replace('%', ' pt')} ${versus}`, tone }
  }
  if (delta.deltaPct === null) return { text: m.kpi.noBaseline, tone: 'none' }
  const tone: Tone = Math.abs(delta.deltaPct) < 0.05 ? 'flat' : delta.deltaPct > 0 ? 'up' : 'down'
  return { text: `${pct(delta.deltaPct)} ${versus}`, tone }
}

/** Width available to a chart body (jsdom reports 0: charts fall back to their minimum). */
export function widthOf(element: HTMLElement): number {
  return element.clientWidth
}

export function rethrowUnauthorised(ctx: ViewContext, error: unknown): boolean {
  if (error instanceof ApiError && error.code === 'unauthorised') {
    ctx.onUnauthorised(messageFor(ctx.t(), error))
    return true
  }
  return false
}

/** The live indicator: a dot (styled by `data-status`) and what the feed is doing. */
export function drawLiveStatus(
  line: HTMLElement,
  m: Messages,
  live: { status: LiveStatus; at: Date | null; retryInMs?: number | undefined },
  timeZone: string,
): void {
  const doc = line.ownerDocument
  line.setAttribute('data-status', live.status)
  const time = (at: Date) =>
    new Intl.DateTimeFormat(m.locale, {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZone,
    }).format(at)
  let text: string
  switch (live.status) {
    case 'connecting':
      text = m.live.connecting
      break
    case 'live':
      text = live.at ? m.live.live(time(live.at)) : m.live.waiting
      break
    case 'reconnecting':
      text = m.live.reconnecting(Math.max(1, Math.ceil((live.retryInMs ?? 0) / 1000)))
      break
    case 'unauthorised':
      text = m.live.unauthorised
      break
    case 'stopped':
      text = m.live.stopped
      break
  }
  line.replaceChildren(h(doc, 'span', { class: 'live-dot', 'aria-hidden': 'true' }), text)
}
