import type { MeResponse } from '../../services/shared/contracts/api.ts'
import { ApiError, createApiClient, type ApiClient } from './api-client.ts'
import { h } from './dom.ts'
import { isLang, messages, pickLang, type Lang, type Messages } from './i18n.ts'
import { createLiveFeed, type LiveFeedDeps } from './live-feed.ts'
import { createDistrictView } from './views/district-view.ts'
import { createShopView } from './views/shop-view.ts'
import { createStreetView } from './views/street-view.ts'
import { messageFor, type View, type ViewContext } from './views/view-kit.ts'

export const API_KEY_STORAGE_KEY = 'miglio.apiKey'
export const LANG_STORAGE_KEY = 'miglio.lang'
const DEFAULT_TIME_ZONE = 'Europe/Rome'

type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

export interface DashboardAppDeps {
  root: HTMLElement
  baseUrl: string
  fetch: typeof globalThis.fetch
  storage: KeyValueStorage
  languages: readonly string[]
  now: () => Date
  /** Opens the live feed's WebSocket; without it the pages poll only. */
  createSocket?: LiveFeedDeps['createSocket']
  /** Saves a downloaded file; the browser default clicks a Blob link. */
  saveFile?: (name: string, text: string, type: string) => void
}

export interface DashboardApp {
  start(): Promise<void>
  stop(): void
}

export type Route =
  { name: 'home' } | { name: 'district' } | { name: 'shop'; shopId: string } | { name: 'street' }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '')
  if (path === 'district') return { name: 'district' }
  if (path === 'street') return { name: 'street' }
  const shop = /^shop\/([a-z0-9-]{1,64})$/.exec(path)
  if (shop?.[1]) return { name: 'shop', shopId: shop[1] }
  return { name: 'home' }
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'home':
      return '#/'
    case 'district':
      return '#/district'
    case 'street':
      return '#/street'
    case 'shop':
      return `#/shop/${route.shopId}`
  }
}

interface State {
  lang: Lang
  key: string | null
  me: MeResponse | null
  districtName: string
  timeZone: string
  firstShopId: string | null
  checkingKey: boolean
  signInError: string | null
  route: Route
}

export function createDashboardApp(deps: DashboardAppDeps): DashboardApp {
  const { root, storage } = deps
  const doc = root.ownerDocument
  const win = doc.defaultView

  const storedLang = storage.getItem(LANG_STORAGE_KEY)
  const state: State = {
    lang: isLang(storedLang) ? storedLang : pickLang(deps.languages),
    key: storage.getItem(API_KEY_STORAGE_KEY),
    me: null,
    districtName: '',
    timeZone: DEFAULT_TIME_ZONE,
    firstShopId: null,
    checkingKey: false,
    signInError: null,
    route: parseRoute(win?.location.hash ?? ''),
  }

  const client: ApiClient = createApiClient({
    baseUrl: deps.baseUrl,
    getKey: () => state.key,
    fetch: deps.fetch,
  })

  let view: View | null = null
  let main: HTMLElement | null = null
  let resizeObserver: ResizeObserver | undefined
  let lastWidth = 0

  const t = (): Messages => messages[state.lang]

  const context = (): ViewContext => ({
    doc,
    client,
    t,
    now: deps.now,
    me: state.me,
    timeZone: state.timeZone,
    districtName: state.districtName,
    openLiveFeed: (handlers) => {
      const key = state.key
      if (!deps.createSocket || !key) return null
      return createLiveFeed({
        url: liveUrl(deps.baseUrl, win),
        key,
        createSocket: deps.createSocket,
        setTimeout: (callback, ms) => setTimeout(callback, ms),
        clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        ...handlers,
      })
    },
    onUnauthorised: (message) => signOutWith(message),
    setInterval: (callback, ms) => setInterval(callback, ms),
    clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
    saveFile: deps.saveFile ?? ((name, text, type) => saveWithLink(doc, name, text, type)),
  })

  // ---- shell --------------------------------------------------------------------------------

  function renderShell(): void {
    const m = t()
    doc.documentElement.lang = state.lang
    doc.title = m.appTitle
    main = h(doc, 'main', { id: 'main', class: 'main', tabindex: -1 })
    root.replaceChildren(renderSkipLink(m), renderHeader(m), main)
    observe(main)
  }

  function renderSkipLink(m: Messages): HTMLElement {
    const link = h(doc, 'a', { class: 'skip-link', href: '#main' }, [m.skipToContent])
    link.addEventListener('click', (event) => {
      event.preventDefault()
      main?.focus()
    })
    return link
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
      h(doc, 'div', { class: 'topbar-start' }, [
        h(doc, 'a', { class: 'brand', href: '#/' }, [m.brand]),
        renderNav(m),
      ]),
      actions,
    ])
  }

  function renderNav(m: Messages): HTMLElement {
    const links: { route: Route; label: string; current: boolean }[] = []
    const r = state.route
    if (state.me?.role === 'shopkeeper' && state.me.shopId) {
      links.push({
        route: { name: 'shop', shopId: state.me.shopId },
        label: m.nav.myShop,
        current: r.name === 'shop',
      })
    } else if (state.me) {
      links.push({
        route: { name: 'district' },
        label: m.nav.district,
        current: r.name === 'district',
      })
      if (state.firstShopId) {
        links.push({
          route: { name: 'shop', shopId: r.name === 'shop' ? r.shopId : state.firstShopId },
          label: m.nav.shop,
          current: r.name === 'shop',
        })
      }
    }
    links.push({ route: { name: 'street' }, label: m.nav.street, current: r.name === 'street' })
    return h(doc, 'nav', { class: 'nav', 'aria-label': m.nav.label }, [
      h(
        doc,
        'ul',
        {},
        links.map((link) =>
          h(doc, 'li', {}, [
            h(
              doc,
              'a',
              {
                href: hrefOf(link.route),
                'aria-current': link.current ? 'page' : undefined,
                'data-nav': link.route.name,
              },
              [link.label],
            ),
          ]),
        ),
      ),
    ])
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
    return h(doc, 'section', { class: 'card sign-in', 'aria-labelledby': 'sign-in-heading' }, [
      h(doc, 'h1', { id: 'sign-in-heading' }, [m.signIn.heading]),
      h(doc, 'p', {}, [m.signIn.intro]),
      form,
      h(doc, 'p', { class: 'hint public-link' }, [
        h(doc, 'a', { href: hrefOf({ name: 'street' }) }, [m.signIn.publicLink]),
      ]),
    ])
  }

  // ---- views --------------------------------------------------------------------------------

  /** Shows the view for the current route (the whole page is rebuilt: header nav follows the route). */
  function show(): void {
    view?.destroy()
    view = null
    renderShell()
    const m = t()
    const target = main
    if (!target) return
    const route = state.route
    if (route.name === 'street') {
      view = createStreetView(context())
    } else if (!state.me) {
      target.replaceChildren(
        state.checkingKey
          ? h(doc, 'p', { class: 'loading', role: 'status' }, [m.footfall.loading])
          : renderSignIn(m),
      )
      return
    } else if (route.name === 'shop') {
      const me = state.me
      view = createShopView(context(), {
        shopId: route.shopId,
        onChooseShop:
          me.role === 'shopkeeper' ? undefined : (shopId) => navigate({ name: 'shop', shopId }),
        ownShopHref:
          me.role === 'shopkeeper' && me.shopId && me.shopId !== route.shopId
            ? hrefOf({ name: 'shop', shopId: me.shopId })
            : undefined,
      })
    } else {
      view = createDistrictView(context())
    }
    view.render(target)
  }

  function homeRoute(): Route {
    if (state.me?.role === 'shopkeeper' && state.me.shopId) {
      return { name: 'shop', shopId: state.me.shopId }
    }
    return { name: 'district' }
  }

  /** Role-aware routing: the shopkeeper's home and the district both lead to its shop. */
  function resolve(route: Route): Route {
    if (route.name === 'street') return route
    if (!state.me) return route
    if (route.name === 'home') return homeRoute()
    if (route.name === 'district' && state.me.role === 'shopkeeper') return homeRoute()
    return route
  }

  function navigate(route: Route): void {
    const target = resolve(route)
    const href = hrefOf(target)
    state.route = target
    if (win && win.location.hash !== href) {
      // The hashchange handler sees the route already applied and does nothing.
      win.location.hash = href
    }
    show()
    doc.getElementById('view-heading')?.focus()
  }

  function onHashChange(): void {
    const route = parseRoute(win?.location.hash ?? '')
    const target = resolve(route)
    if (hrefOf(target) === hrefOf(state.route) && view) return
    navigate(route)
  }

  // ---- session ------------------------------------------------------------------------------

  async function signIn(key: string): Promise<void> {
    state.key = key
    try {
      const me = await client.me()
      const [district, shops] = await Promise.all([
        client.district().catch(() => null),
        me.role === 'shopkeeper' ? Promise.resolve(null) : client.shops().catch(() => null),
      ])
      storage.setItem(API_KEY_STORAGE_KEY, key)
      state.me = me
      state.districtName = district?.name ?? ''
      state.timeZone = district?.timezone ?? DEFAULT_TIME_ZONE
      state.firstShopId =
        [...(shops?.shops ?? [])].sort((a, b) => a.streetOffsetM - b.streetOffsetM)[0]?.id ?? null
      state.signInError = null
      state.checkingKey = false
      navigate(state.route)
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthorised') {
        storage.removeItem(API_KEY_STORAGE_KEY)
      }
      state.checkingKey = false
      state.signInError = messageFor(t(), error)
      show()
      doc.getElementById('api-key')?.focus()
    }
  }

  function signOutWith(reason: string | null): void {
    view?.destroy()
    view = null
    storage.removeItem(API_KEY_STORAGE_KEY)
    state.key = null
    state.me = null
    state.signInError = reason
    if (state.route.name !== 'street') state.route = { name: 'home' }
    show()
    doc.getElementById('api-key')?.focus()
  }

  function setLang(lang: Lang): void {
    if (lang === state.lang) return
    state.lang = lang
    storage.setItem(LANG_STORAGE_KEY, lang)
    const current = view
    renderShell()
    if (current && main) current.render(main)
    else show()
    root.querySelector<HTMLButtonElement>(`button[data-lang="${lang}"]`)?.focus()
  }

  function observe(target: HTMLElement): void {
    resizeObserver?.disconnect()
    lastWidth = target.clientWidth
    if (!win || !('ResizeObserver' in win)) return
    resizeObserver = new win.ResizeObserver(() => {
      if (target.clientWidth === lastWidth) return
      lastWidth = target.clientWidth
      view?.resize()
    })
    resizeObserver.observe(target)
  }

  return {
    async start() {
      win?.addEventListener('hashchange', onHashChange)
      if (state.key && state.route.name !== 'street') {
        state.checkingKey = true
        show()
        await signIn(state.key)
      } else if (state.key) {
        show()
        await signIn(state.key)
      } else {
        show()
      }
    },
    stop() {
      view?.destroy()
      view = null
      resizeObserver?.disconnect()
      win?.removeEventListener('hashchange', onHashChange)
    },
  }
}

function liveUrl(baseUrl: string, win: (Window & typeof globalThis) | null): string {
  const base = new URL(baseUrl || win?.location.origin || 'http://localhost')
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
  base.pathname = '/api/v1/live'
  base.search = ''
  base.hash = ''
  return base.toString()
}

function saveWithLink(doc: Document, name: string, text: string, type: string): void {
  const win = doc.defaultView
  if (!win) return
  const url = win.URL.createObjectURL(new win.Blob([text], { type }))
  const link = h(doc, 'a', { href: url, download: name, hidden: true })
  doc.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => win.URL.revokeObjectURL(url), 10_000)
}
