import type { MeResponse } from '../../services/shared/contracts/api.ts'
import { ApiError, createApiClient, type ApiClient } from './api-client.ts'
import { h } from './dom.ts'
import { isLang, messages, pickLang, type Lang, type Messages } from './i18n.ts'
import { createLiveFeed, liveUrlOf, type LiveFeedDeps } from './live-feed.ts'
import { renderHeader } from './shell/header.ts'
import { hrefOf, parseRoute, resolveRoute, type Route } from './shell/routes.ts'
import { openSession } from './shell/session.ts'
import { DEFAULT_TIME_ZONE } from '../../services/shared/contracts/district.ts'
import { renderSignIn } from './shell/sign-in.ts'
import { createDistrictView } from './views/district-view.ts'
import { createShopView } from './views/shop-view.ts'
import { createStreetView } from './views/street-view.ts'
import { messageFor, type View, type ViewContext } from './views/view-kit.ts'

export { hrefOf, parseRoute, type Route } from './shell/routes.ts'

export const API_KEY_STORAGE_KEY = 'miglio.apiKey'
export const LANG_STORAGE_KEY = 'miglio.lang'

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
  saveFile?: (name: string, text: string | Blob, type: string) => void
}

export interface DashboardApp {
  start(): Promise<void>
  stop(): void
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

/**
 * The app shell: sign-in, the top bar, hash routing and the view of the route. Views come and go
 * with the route (and the language); each owns its panels, store and live feed.
 */
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
  const client = createApiClient({
    baseUrl: deps.baseUrl,
    getKey: () => state.key,
    fetch: deps.fetch,
  })
  const t = (): Messages => messages[state.lang]
  let view: View | null = null
  let unobserve: () => void = () => undefined

  /** The header and an empty `main` (the whole page is rebuilt: the nav follows the route). */
  function renderShell(): HTMLElement {
    const m = t()
    doc.documentElement.lang = state.lang
    doc.title = m.appTitle
    const target = h(doc, 'main', { id: 'main', class: 'main', tabindex: -1 })
    root.replaceChildren(
      ...renderHeader(doc, m, state, {
        signOut: () => signOutWith(null),
        setLang,
        skipToMain: () => target.focus(),
      }),
      target,
    )
    unobserve()
    unobserve = observeWidth(win, target, () => view?.resize())
    return target
  }

  /** Shows the view for the current route. */
  function show(): void {
    view?.destroy()
    view = null
    const target = renderShell()
    const m = t()
    if (state.route.name !== 'street' && !state.me) {
      target.replaceChildren(
        state.checkingKey
          ? h(doc, 'p', { class: 'loading', role: 'status' }, [m.footfall.loading])
          : renderSignIn(doc, m, { key: state.key, error: state.signInError }, (key) => {
              void signIn(key)
            }),
      )
      return
    }
    view = createViewFor(
      state.route,
      state.me,
      viewContext(deps, state, client, t, signOutWith),
      navigate,
    )
    view.render(target)
  }

  function navigate(route: Route): void {
    const target = resolveRoute(route, state.me)
    const href = hrefOf(target)
    state.route = target
    // The hashchange handler sees the route already applied and does nothing.
    if (win && win.location.hash !== href) win.location.hash = href
    show()
    doc.getElementById('view-heading')?.focus()
  }

  function onHashChange(): void {
    const route = parseRoute(win?.location.hash ?? '')
    if (hrefOf(resolveRoute(route, state.me)) === hrefOf(state.route) && view) return
    navigate(route)
  }

  async function signIn(key: string): Promise<void> {
    state.key = key
    try {
      const session = await openSession(client)
      storage.setItem(API_KEY_STORAGE_KEY, key)
      Object.assign(state, session, { signInError: null, checkingKey: false })
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
    Object.assign(state, { key: null, me: null, signInError: reason })
    if (state.route.name !== 'street') state.route = { name: 'home' }
    show()
    doc.getElementById('api-key')?.focus()
  }

  function setLang(lang: Lang): void {
    if (lang === state.lang) return
    state.lang = lang
    storage.setItem(LANG_STORAGE_KEY, lang)
    const current = view
    const target = renderShell()
    if (current) current.render(target)
    else show()
    root.querySelector<HTMLButtonElement>(`button[data-lang="${lang}"]`)?.focus()
  }

  return {
    async start() {
      win?.addEventListener('hashchange', onHashChange)
      state.checkingKey = state.key !== null && state.route.name !== 'street'
      show()
      if (state.key) await signIn(state.key)
    },
    stop() {
      view?.destroy()
      view = null
      unobserve()
      win?.removeEventListener('hashchange', onHashChange)
    },
  }
}

/** What a view needs from the shell: the API, the language, the key's live feed, sign-out. */
function viewContext(
  deps: DashboardAppDeps,
  state: State,
  client: ApiClient,
  t: () => Messages,
  signOutWith: (message: string) => void,
): ViewContext {
  const doc = deps.root.ownerDocument
  return {
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
        url: liveUrlOf(deps.baseUrl, doc.defaultView?.location.origin),
        key,
        createSocket: deps.createSocket,
        setTimeout: (callback, ms) => setTimeout(callback, ms),
        clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        ...handlers,
      })
    },
    onUnauthorised: signOutWith,
    setInterval: (callback, ms) => setInterval(callback, ms),
    clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
    saveFile: deps.saveFile ?? ((name, text, type) => saveWithLink(doc, name, text, type)),
  }
}

/** The view of a route; `me` is null only on the public street screen. */
function createViewFor(
  route: Route,
  me: MeResponse | null,
  ctx: ViewContext,
  navigate: (route: Route) => void,
): View {
  if (route.name === 'street' || !me) return createStreetView(ctx)
  if (route.name !== 'shop') return createDistrictView(ctx)
  return createShopView(ctx, {
    shopId: route.shopId,
    onChooseShop:
      me.role === 'shopkeeper' ? undefined : (shopId) => navigate({ name: 'shop', shopId }),
    ownShopHref:
      me.role === 'shopkeeper' && me.shopId && me.shopId !== route.shopId
        ? hrefOf({ name: 'shop', shopId: me.shopId })
        : undefined,
  })
}

/** Calls `onResize` when `target` changes width; returns the way to stop. */
function observeWidth(
  win: (Window & typeof globalThis) | null,
  target: HTMLElement,
  onResize: () => void,
): () => void {
  if (!win || !('ResizeObserver' in win)) return () => undefined
  let lastWidth = target.clientWidth
  const observer = new win.ResizeObserver(() => {
    if (target.clientWidth === lastWidth) return
    lastWidth = target.clientWidth
    onResize()
  })
  observer.observe(target)
  return () => observer.disconnect()
}

function saveWithLink(doc: Document, name: string, text: string | Blob, type: string): void {
  const win = doc.defaultView
  if (!win) return
  const url = win.URL.createObjectURL(new win.Blob([text], { type }))
  const link = h(doc, 'a', { href: url, download: name, hidden: true })
  doc.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => win.URL.revokeObjectURL(url), 10_000)
}
