import type { Messages } from '../i18n.ts'
import type { AnyPanel, PanelActions, ViewState } from './panel.ts'
import { h } from '../dom.ts'
import {
  createPanel,
  drawLiveStatus,
  showPanelError,
  widthOf,
  type Panel,
  type View,
  type ViewContext,
} from './view-kit.ts'
import { createViewStore, type ViewStore, type ViewStoreSpec } from './view-store.ts'

/** What a view's layout places its panels with. */
export interface LayoutKit<P> {
  doc: Document
  m: Messages
  state: ViewState<P>
  /** The panel in a titled card (`section#<id>.panel`). */
  card(panel: AnyPanel<P>, className?: string): HTMLElement
  /** The panel drawn straight into `container` (no card: it shows its own errors). */
  place<E extends HTMLElement>(panel: AnyPanel<P>, container: E): E
  /** `element`, drawn after the layout and again on every change of the state (a status line). */
  bind<E extends HTMLElement>(element: E, draw: (element: E, state: ViewState<P>) => void): E
  setParams(patch: Partial<P>): Promise<void>
}

/** A view is its panels, its params and a layout; the store loads, this draws. */
export interface PanelViewSpec<P> extends ViewStoreSpec<P> {
  /** Builds the page into `main` (again after a language switch or a refusal): layout only. */
  layout(main: HTMLElement, kit: LayoutKit<P>): void
}

interface Mount<P> {
  panel: AnyPanel<P>
  body: HTMLElement
  card: Panel | null
  act: PanelActions<P, unknown, unknown>
}

interface Bound<P> {
  element: HTMLElement
  draw: (element: HTMLElement, state: ViewState<P>) => void
}

export function createPanelView<P extends object>(ctx: ViewContext, spec: PanelViewSpec<P>): View {
  const store = createViewStore(ctx, spec)
  let main: HTMLElement | null = null
  let mounts: Mount<P>[] = []
  let bound: Bound<P>[] = []

  function render(target: HTMLElement): void {
    main = target
    mounts = []
    bound = []
    spec.layout(target, layoutKit(ctx, store, mounts, bound))
    const state = store.get()
    for (const mount of mounts) draw(ctx, store, mount)
    for (const b of bound) b.draw(b.element, state)
  }

  const unsubscribe = store.subscribe((state, previous) => {
    if (!main) return
    if (state.denied !== previous.denied) {
      render(main)
      return
    }
    const changed = new Set(
      (Object.keys(state.params) as (keyof P)[]).filter(
        (k) => state.params[k] !== previous.params[k],
      ),
    )
    for (const mount of mounts) {
      if (needsDraw(mount.panel, state, previous, changed)) draw(ctx, store, mount)
    }
    for (const b of bound) b.draw(b.element, state)
  })

  return {
    render,
    resize() {
      for (const mount of mounts)
        if (mount.panel.redrawOn?.includes('resize')) draw(ctx, store, mount)
    },
    destroy() {
      unsubscribe()
      store.destroy()
      main = null
    },
  }
}

function layoutKit<P>(
  ctx: ViewContext,
  store: ViewStore<P>,
  mounts: Mount<P>[],
  bound: Bound<P>[],
): LayoutKit<P> {
  const { doc } = ctx
  const m = ctx.t()
  const state = store.get()
  return {
    doc,
    m,
    state,
    card(panel, className) {
      const params = { ...state.params, ...store.env() }
      const data = state.panels[panel.id]?.data ?? null
      const act = store.actionsFor(panel)
      const note = panel.note?.(m, params, data)
      const card = createPanel(doc, {
        id: panel.id,
        title: panel.title?.(m, params, data) ?? '',
        ...(note ? { note } : {}),
        ...(panel.controls ? { controls: panel.controls(doc, m, state.params, act) } : {}),
        ...(className ? { className } : {}),
      })
      mounts.push({ panel, body: card.body, card, act })
      return card.section
    },
    place(panel, container) {
      mounts.push({ panel, body: container, card: null, act: store.actionsFor(panel) })
      return container
    },
    bind(element, draw) {
      bound.push({ element, draw: draw as Bound<P>['draw'] })
      return element
    },
    setParams: (patch) => store.setParams(patch),
  }
}

/** A panel redraws when its slot changes, on live counts it shows, and when params it reads change. */
function needsDraw<P>(
  panel: AnyPanel<P>,
  state: ViewState<P>,
  previous: ViewState<P>,
  changedParams: ReadonlySet<keyof P>,
): boolean {
  const slot = state.panels[panel.id]
  const before = previous.panels[panel.id]
  if (slot?.data !== before?.data || slot?.error !== before?.error || slot?.ui !== before?.ui) {
    return true
  }
  if (state.live !== previous.live && panel.redrawOn?.includes('live')) return true
  if (!panel.dependsOn?.some((k) => changedParams.has(k))) return false
  // A panel that keeps its data while reloading redraws when the new data comes.
  return !(panel.load && panel.keepWhileReloading)
}

function draw<P>(ctx: ViewContext, store: ViewStore<P>, mount: Mount<P>): void {
  const state = store.get()
  const slot = state.panels[mount.panel.id]
  if (!slot) return
  const m = ctx.t()
  const params = { ...state.params, ...store.env() }
  if (mount.card) {
    showPanelError(mount.card, slot.error)
    const heading = mount.card.section.querySelector('h2')
    const title = mount.panel.title?.(m, params, slot.data)
    if (heading && title !== undefined) heading.textContent = title
    const note = mount.card.section.querySelector('.panel-note')
    const noteText = mount.panel.note?.(m, params, slot.data)
    if (note && noteText !== undefined) note.textContent = noteText
  }
  mount.panel.render(mount.body, {
    doc: ctx.doc,
    m,
    params,
    data: slot.data,
    error: slot.error,
    ui: slot.ui,
    live: state.live,
    width: widthOf(mount.body),
    act: mount.act,
  })
}

/** The live feed's status line (`p.live-status`), kept up to date from the view's store. */
export function liveLine<P>(kit: LayoutKit<P>, timeZone: string): HTMLElement {
  const line = h(kit.doc, 'p', { class: 'live-status', 'data-status': kit.state.live.status })
  return kit.bind(line, (element, state) => drawLiveStatus(element, kit.m, state.live, timeZone))
}
