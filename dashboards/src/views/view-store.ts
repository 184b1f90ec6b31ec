import { ApiError } from '../api-client.ts'
import { bindLiveFeed, LIVE_CONNECTING, type LiveFeed } from '../live-feed.ts'
import { createRequestCache, type RequestCache } from '../request-cache.ts'
import { createStore, type Store } from '../store.ts'
import type { AnyPanel, PanelActions, PanelSlot, ViewEnv, ViewState } from './panel.ts'
import { messageFor, rethrowUnauthorised, type ViewContext } from './view-kit.ts'

export interface ViewStoreSpec<P> {
  params: P
  panels: readonly AnyPanel<P>[]
  /** Every panel reloads this often while the page is visible. */
  refreshMs: number
  /** Binds the live feed into the state. */
  live?: boolean
  /** Refusals meaning the page is not this key's: the view stops (no refresh, no live feed). */
  deniedBy?: (error: ApiError) => boolean
  /** A refused key signs out (the default); the public street screen has no key to refuse. */
  signOutOnUnauthorised?: boolean
}

/** One view's state (params, each panel's data, error and load in flight, the live feed). */
export interface ViewStore<P> extends Store<ViewState<P>> {
  env(now?: Date): ViewEnv
  actionsFor(panel: AnyPanel<P>): PanelActions<P, unknown, unknown>
  /** Changes params; panels depending on them reload. */
  setParams(patch: Partial<P>): Promise<void>
  /** One round: every panel loads; `periodic` skips a panel whose last load is still out. */
  refresh(options?: { periodic?: boolean }): Promise<void>
  destroy(): void
}

/**
 * The store of a view, with the one place its panels load: each load is a panel's own, answers
 * that arrive after a newer load of the same panel started are dropped, a refused key signs out,
 * and the periodic refresh sends nothing while the page is hidden or while the panel's last
 * request is still out.
 */
export function createViewStore<P extends object>(
  ctx: ViewContext,
  spec: ViewStoreSpec<P>,
): ViewStore<P> {
  const store = createStore<ViewState<P>>({
    params: spec.params,
    panels: Object.fromEntries(
      spec.panels.map((p): [string, PanelSlot] => [
        p.id,
        { data: null, error: null, loading: false, ui: p.ui ?? {} },
      ]),
    ),
    live: LIVE_CONNECTING,
    updatedAt: null,
    denied: null,
  })
  const cache = createRequestCache(ctx.client)
  const env = (now = ctx.now()): ViewEnv => ({ now, timeZone: ctx.timeZone, me: ctx.me })
  let live: LiveFeed | null = null
  const loader = createLoader(ctx, store, spec, cache, env, () => live?.stop())

  async function refresh(options: { periodic?: boolean } = {}): Promise<void> {
    cache.clear()
    const now = ctx.now()
    const { panels } = store.get()
    await Promise.all(
      spec.panels
        .filter((p) => !options.periodic || !panels[p.id]?.loading)
        .map((p) => loader.load(p, now)),
    )
  }

  async function setParams(patch: Partial<P>): Promise<void> {
    const before = store.get()
    const params = { ...before.params, ...patch }
    const changed = (Object.keys(patch) as (keyof P)[]).filter(
      (k) => before.params[k] !== params[k],
    )
    const affected = spec.panels.filter((p) => p.dependsOn?.some((k) => changed.includes(k)))
    const reset = affected.filter((p) => p.load && !p.keepWhileReloading).map((p) => p.id)
    store.set({ params, panels: withSlots(before.panels, reset, () => ({ data: null })) })
    const now = ctx.now()
    await Promise.all(affected.map((p) => loader.load(p, now)))
  }

  function actionsFor(panel: AnyPanel<P>): PanelActions<P, unknown, unknown> {
    const update = (patch: (slot: PanelSlot) => Partial<PanelSlot>) =>
      store.set((s) => ({ panels: withSlots(s.panels, [panel.id], patch) }))
    return {
      api: ctx.client,
      setUi: (patch) => update((slot) => ({ ui: { ...(slot.ui as object), ...patch } })),
      setData: (next) => update((slot) => ({ data: next(slot.data) })),
      setParams,
      reload(fresh) {
        if (fresh) cache.clear(fresh)
        return loader.load(panel, ctx.now())
      },
      signedOut: (error) => rethrowUnauthorised(ctx, error),
      saveFile: (name, text, type) => ctx.saveFile(name, text, type),
    }
  }

  const timer = ctx.setInterval(() => {
    if (ctx.doc.visibilityState !== 'hidden' && !store.get().denied)
      void refresh({ periodic: true })
  }, spec.refreshMs)
  void refresh()
  if (spec.live) live = bindLiveFeed(ctx.openLiveFeed, (state) => store.set({ live: state }))

  return {
    ...store,
    env,
    actionsFor,
    setParams,
    refresh,
    destroy() {
      loader.destroy()
      ctx.clearInterval(timer)
      live?.stop()
    },
  }
}

function withSlots(
  panels: Readonly<Record<string, PanelSlot>>,
  ids: readonly string[],
  patch: (slot: PanelSlot) => Partial<PanelSlot>,
): Record<string, PanelSlot> {
  const next = { ...panels }
  for (const id of ids) {
    const slot = next[id]
    if (slot) next[id] = { ...slot, ...patch(slot) }
  }
  return next
}

/** Loads panels into the store, newest load of each panel winning. */
function createLoader<P>(
  ctx: ViewContext,
  store: Store<ViewState<P>>,
  spec: ViewStoreSpec<P>,
  cache: RequestCache,
  env: (now: Date) => ViewEnv,
  stopLive: () => void,
) {
  const tokens = new Map<string, number>()
  const inFlight = new Map<string, number>()
  let destroyed = false

  const set = (id: string, patch: (slot: PanelSlot) => Partial<PanelSlot>) =>
    store.set((s) => ({ panels: withSlots(s.panels, [id], patch) }))
  const track = (id: string, step: number) => {
    const count = (inFlight.get(id) ?? 0) + step
    inFlight.set(id, count)
    if (store.get().panels[id]?.loading !== count > 0) set(id, () => ({ loading: count > 0 }))
  }

  /** The failure ends the page (signed out, or not this key's page): nothing to show in the panel. */
  function ends(error: unknown): boolean {
    if (spec.signOutOnUnauthorised !== false && rethrowUnauthorised(ctx, error)) return true
    if (!(error instanceof ApiError) || !spec.deniedBy?.(error)) return false
    if (!store.get().denied) {
      store.set({ denied: error.code === 'forbidden' ? 'forbidden' : 'not_found' })
      stopLive()
    }
    return true
  }

  async function load(panel: AnyPanel<P>, now: Date): Promise<void> {
    if (!panel.load || destroyed) return
    const id = panel.id
    const token = (tokens.get(id) ?? 0) + 1
    tokens.set(id, token)
    const current = () => !destroyed && tokens.get(id) === token
    track(id, 1)
    try {
      const data = await panel.load(cache.client, { ...store.get().params, ...env(now) })
      if (!current()) return
      set(id, () => ({ data, error: null }))
    } catch (error) {
      if (!current() || ends(error)) return
      set(id, () => ({ error: messageFor(ctx.t(), error) }))
    } finally {
      track(id, -1)
    }
    store.set({ updatedAt: ctx.now() })
  }

  return {
    load,
    destroy() {
      destroyed = true
    },
  }
}
