import type { FootfallResponse, MeResponse, ZoneDto } from '../../services/shared/contracts/api.ts'
import { ApiError, createApiClient, type ApiClient } from './api-client.ts'
import { renderFootfallBars } from './charts/footfall-bars.ts'
import { h } from './dom.ts'
import { createCountFormat } from './format.ts'
import { isLang, messages, pickLang, type Lang, type Messages, type RangeKind } from './i18n.ts'
import { footfallRequestFor, rangeKinds } from './ranges.ts'

export const API_KEY_STORAGE_KEY = 'miglio.apiKey'
export const LANG_STORAGE_KEY = 'miglio.lang'
export const REFRESH_INTERVAL_MS = 15_000

type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

export interface DashboardAppDeps {
  root: HTMLElement
  baseUrl: string
  fetch: typeof globalThis.fetch
  storage: KeyValueStorage
  languages: readonly string[]
  now: () => Date
}

export interface DashboardApp {
  start(): Promise<void>
  stop(): void
}

interface State {
  lang: Lang
  key: string | null
  me: MeResponse | null
  checkingKey: boolean
  signInError: string | null
  range: RangeKind
  zones: ZoneDto[] | null
  footfall: FootfallResponse | null
  loading: boolean
  error: string | null
  updatedAt: Date | null
}

interface ViewRefs {
  status: HTMLElement
  error: HTMLElement
  figure: HTMLElement
  chart: HTMLElement
  tableWrap: HTMLElement
  chartWidth: number
}

export function createDashboardApp(deps: DashboardAppDeps): DashboardApp {
  const { root, storage, now } = deps
  const doc = root.ownerDocument
  const win = doc.defaultView

  const storedLang = storage.getItem(LANG_STORAGE_KEY)
  const state: State = {
    lang: isLang(storedLang) ? storedLang : pickLang(deps.languages),
    key: storage.getItem(API_KEY_STORAGE_KEY),
    me: null,
    checkingKey: false,
    signInError: null,
    range: 'today',
    zones: null,
    footfall: null,
    loading: false,
    error: null,
    updatedAt: null,
  }

  const client: ApiClient = createApiClient({
    baseUrl: deps.baseUrl,
    getKey: () => state.key,
    fetch: deps.fetch,
  })

  let view: ViewRefs | null = null
  let timer: ReturnType<typeof setInterval> | undefined
  let requestSeq = 0
  let resizeObserver: ResizeObserver | undefined

  const t = (): Messages => messages[state.lang]

  function renderShell(): void {
    view = null
    resizeObserver?.disconnect()
    const m = t()
    doc.documentElement.lang = state.lang
    doc.title = m.appTitle
    root.replaceChildren(renderHeader(m), renderMain(m))
  }

  function renderHeader(m: Messages): HTMLElement {
    const actions = h(doc, 'div', { class: 'topbar-actions' })
    if (state.me) {
      const signOut = h(doc, 'button', { type: 'button', class: 'button-secondary' }, [m.signOut])
      signOut.addEventListener('click', () => {
        signOutWith(null)
      })
      actions.append(
        h(doc, 'span', { class: 'who' }, [m.signedInAs(state.me.label, m.roles[state.me.role])]),
        signOut,
      )
    }
    const langGroup = h(doc, 'div', {
      class: 'lang-toggle',
      role: 'group',
      'aria-label': m.language,
    })
    for (const lang of ['en', 'it'] as const) {
      const button = h(
        doc,
        'button',
        {
          type: 'button',
          lang,
          'aria-pressed': String(lang === state.lang),
          'aria-label': m.languageNames[lang],
          'data-lang': lang,
        },
        [lang.toUpperCase()],
      )
      button.addEventListener('click', () => {
        setLang(lang)
      })
      langGroup.append(button)
    }
    actions.append(langGroup)
    return h(doc, 'header', { class: 'topbar' }, [
      h(doc, 'span', { class: 'brand' }, [m.brand]),
      actions,
    ])
  }

  function renderMain(m: Messages): HTMLElement {
    if (state.me) return renderFootfallView(m)
    if (state.checkingKey) {
      return h(doc, 'main', { id: 'main', class: 'main' }, [
        h(doc, 'p', { class: 'loading', role: 'status' }, [m.footfall.loading]),
      ])
    }
    return renderSignIn(m)
  }

  function renderSignIn(m: Messages): HTMLElement {
    const input = h(doc, 'input', {
      id: 'api-key',
      name: 'apiKey',
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      required: true,
      'aria-describedby': 'api-key-hint api-key-error',
      'aria-invalid': state.signInError ? 'true' : undefined,
    })
    input.value = state.key ?? ''
    const error = h(doc, 'p', { id: 'api-key-error', class: 'error', role: 'alert' }, [
      state.signInError ?? '',
    ])
    const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [m.signIn.submit])
    const form = h(doc, 'form', { class: 'sign-in-form', novalidate: true }, [
      h(doc, 'label', { for: 'api-key' }, [m.signIn.apiKey]),
      input,
      h(doc, 'p', { id: 'api-key-hint', class: 'hint' }, [m.signIn.apiKeyHint]),
      error,
      submit,
    ])
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const key = input.value.trim()
      if (key === '') {
        error.textContent = m.signIn.missingKey
        input.setAttribute('aria-invalid', 'true')
        input.focus()
        return
      }
      submit.disabled = true
      submit.textContent = m.signIn.submitting
      void signIn(key)
    })
    return h(doc, 'main', { id: 'main', class: 'main' }, [
      h(doc, 'section', { class: 'card sign-in', 'aria-labelledby': 'sign-in-heading' }, [
        h(doc, 'h1', { id: 'sign-in-heading' }, [m.signIn.heading]),
        h(doc, 'p', {}, [m.signIn.intro]),
        form,
      ]),
    ])
  }

  function renderFootfallView(m: Messages): HTMLElement {
    const rangeOptions = rangeKinds.map((kind) => {
      const radio = h(doc, 'input', {
        type: 'radio',
        name: 'range',
        value: kind,
        id: `range-${kind}`,
        checked: kind === state.range,
      })
      radio.addEventListener('change', () => {
        if (radio.checked) setRange(kind)
      })
      return h(doc, 'div', { class: 'range-option' }, [
        radio,
        h(doc, 'label', { for: `range-${kind}` }, [m.footfall.ranges[kind]]),
      ])
    })
    // Not a live region: announcing "Updated at …" every 15 s would drown a screen reader.
    const status = h(doc, 'p', { class: 'status' })
    const error = h(doc, 'div', { class: 'error banner', role: 'alert' })
    const chart = h(doc, 'div', { class: 'chart-body' })
    const figure = h(doc, 'figure', { class: 'chart' }, [chart])
    const tableWrap = h(doc, 'div', { class: 'table-wrap' })
    view = { status, error, figure, chart, tableWrap, chartWidth: 0 }

    if (win && 'ResizeObserver' in win) {
      resizeObserver = new win.ResizeObserver(() => {
        if (view && chart.clientWidth !== view.chartWidth) renderData()
      })
      resizeObserver.observe(chart)
    }

    return h(doc, 'main', { id: 'main', class: 'main' }, [
      h(doc, 'section', { class: 'footfall', 'aria-labelledby': 'footfall-heading' }, [
        h(doc, 'div', { class: 'view-head' }, [
          h(doc, 'h1', { id: 'footfall-heading', tabindex: -1 }, [m.footfall.heading]),
          h(doc, 'fieldset', { class: 'range' }, [
            h(doc, 'legend', {}, [m.footfall.range]),
            ...rangeOptions,
          ]),
        ]),
        status,
        error,
        figure,
        tableWrap,
        h(doc, 'p', { class: 'note' }, [m.footfall.note]),
      ]),
    ])
  }

  function renderData(): void {
    if (!view) return
    const m = t()
    const { status, error, figure, chart, tableWrap } = view
    const time = state.updatedAt
      ? new Intl.DateTimeFormat(m.locale, { timeStyle: 'medium' }).format(state.updatedAt)
      : null
    status.textContent = [
      state.loading ? (state.footfall ? m.footfall.refreshing : m.footfall.loading) : null,
      !state.loading && time ? m.footfall.updatedAt(time) : null,
      m.footfall.autoRefresh,
    ]
      .filter((part) => part !== null)
      .join(' · ')
    error.textContent = state.error ?? ''
    error.hidden = state.error === null
    figure.setAttribute('aria-busy', String(state.loading && !state.footfall))

    const zones = state.zones
    const footfall = state.footfall
    if (!zones || !footfall) {
      view.chartWidth = 0
      chart.replaceChildren(
        state.loading
          ? h(doc, 'p', { class: 'placeholder loading' }, [m.footfall.loading])
          : h(doc, 'p', { class: 'placeholder' }, [state.error ?? '']),
      )
      tableWrap.replaceChildren()
      return
    }

    const ordered = [...zones].sort(
      (a, b) => a.streetFromM - b.streetFromM || a.name.localeCompare(b.name),
    )
    view.chartWidth = chart.clientWidth
    renderFootfallBars(
      chart,
      { zones: ordered, totals: footfall.totals },
      {
        width: view.chartWidth,
        locale: m.locale,
        labels: {
          passersBy: m.footfall.passersBy,
          visitors: m.footfall.visitors,
          axis: m.footfall.axis,
          empty: m.footfall.empty,
        },
      },
    )
    const hasTransits = footfall.totals.some((total) => total.passersBy + total.visitors > 0)
    tableWrap.replaceChildren(...(hasTransits ? [renderTable(m, ordered, footfall)] : []))
  }

  function renderTable(m: Messages, zones: ZoneDto[], footfall: FootfallResponse): HTMLElement {
    const format = createCountFormat(m.locale)
    const totalsById = new Map(footfall.totals.map((total) => [total.zoneId, total]))
    const number = (value: number) => h(doc, 'td', { class: 'num' }, [format(value)])
    return h(doc, 'table', { class: 'totals' }, [
      h(doc, 'caption', {}, [m.footfall.tableCaption(m.footfall.ranges[state.range])]),
      h(doc, 'thead', {}, [
        h(doc, 'tr', {}, [
          h(doc, 'th', { scope: 'col' }, [m.footfall.zone]),
          h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.passersBy]),
          h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.visitors]),
        ]),
      ]),
      h(
        doc,
        'tbody',
        {},
        zones.map((zone) => {
          const total = totalsById.get(zone.id)
          return h(doc, 'tr', {}, [
            h(doc, 'th', { scope: 'row' }, [zone.name]),
            number(total?.passersBy ?? 0),
            number(total?.visitors ?? 0),
          ])
        }),
      ),
    ])
  }

  function messageFor(error: unknown): string {
    const m = t()
    if (!(error instanceof ApiError)) return m.errors.unexpected
    switch (error.code) {
      case 'unauthorised':
        return m.errors.unauthorised
      case 'bad_response':
        return m.errors.badResponse
      case 'network_error':
        return m.errors.network
      case 'http_error':
        return m.errors.http(error.status ?? 0, error.message)
    }
  }

  async function signIn(key: string): Promise<void> {
    state.key = key
    try {
      const me = await client.me()
      storage.setItem(API_KEY_STORAGE_KEY, key)
      state.me = me
      state.signInError = null
      state.checkingKey = false
      renderShell()
      doc.getElementById('footfall-heading')?.focus()
      startFootfall()
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthorised') {
        storage.removeItem(API_KEY_STORAGE_KEY)
      }
      state.checkingKey = false
      state.signInError = messageFor(error)
      renderShell()
      doc.getElementById('api-key')?.focus()
    }
  }

  function signOutWith(reason: string | null): void {
    stopFootfall()
    storage.removeItem(API_KEY_STORAGE_KEY)
    state.key = null
    state.me = null
    state.zones = null
    state.footfall = null
    state.error = null
    state.updatedAt = null
    state.signInError = reason
    renderShell()
    doc.getElementById('api-key')?.focus()
  }

  function startFootfall(): void {
    stopFootfall()
    void loadFootfall()
    timer = setInterval(() => {
      if (doc.visibilityState !== 'hidden' && !state.loading) void loadFootfall()
    }, REFRESH_INTERVAL_MS)
  }

  function stopFootfall(): void {
    requestSeq += 1
    state.loading = false
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
  }

  async function loadFootfall(): Promise<void> {
    const seq = ++requestSeq
    state.loading = true
    renderData()
    try {
      const [zones, footfall] = await Promise.all([
        state.zones ? Promise.resolve(state.zones) : client.zones().then((body) => body.zones),
        client.footfall(footfallRequestFor(state.range, now())),
      ])
      if (seq !== requestSeq) return
      state.zones = zones
      state.footfall = footfall
      state.error = null
      state.updatedAt = now()
    } catch (error) {
      if (seq !== requestSeq) return
      if (error instanceof ApiError && error.code === 'unauthorised') {
        signOutWith(messageFor(error))
        return
      }
      state.error = messageFor(error)
    }
    state.loading = false
    renderData()
  }

  function setRange(kind: RangeKind): void {
    if (kind === state.range) return
    state.range = kind
    state.footfall = null
    startFootfall()
  }

  function setLang(lang: Lang): void {
    if (lang === state.lang) return
    state.lang = lang
    storage.setItem(LANG_STORAGE_KEY, lang)
    renderShell()
    renderData()
    root.querySelector<HTMLButtonElement>(`button[data-lang="${lang}"]`)?.focus()
  }

  function onVisibilityChange(): void {
    const stale =
      !state.updatedAt || now().getTime() - state.updatedAt.getTime() >= REFRESH_INTERVAL_MS
    if (doc.visibilityState === 'visible' && state.me && stale && !state.loading) {
      void loadFootfall()
    }
  }

  return {
    async start() {
      doc.addEventListener('visibilitychange', onVisibilityChange)
      if (state.key) {
        state.checkingKey = true
        renderShell()
        await signIn(state.key)
      } else {
        renderShell()
      }
    },
    stop() {
      stopFootfall()
      resizeObserver?.disconnect()
      doc.removeEventListener('visibilitychange', onVisibilityChange)
    },
  }
}
