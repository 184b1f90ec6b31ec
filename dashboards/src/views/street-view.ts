import { h } from '../dom.ts'
import { createPanelView } from './panel-view.ts'
import * as crowd from './street/crowd.ts'
import type { View, ViewContext } from './view-kit.ts'

export const STREET_REFRESH_MS = 15_000

/** The public street screen: a crowd level per street zone in large type; no key, no shop figure. */
export function createStreetView(ctx: ViewContext): View {
  return createPanelView<object>(ctx, {
    params: {},
    panels: [crowd],
    refreshMs: STREET_REFRESH_MS,
    // A server that does not serve the screen answers 404: the page says so and stops asking.
    deniedBy: (error) => error.code === 'not_found',
    signOutOnUnauthorised: false,
    layout: (main, kit) => {
      const { doc, m } = kit
      const body = kit.state.denied
        ? h(doc, 'p', { class: 'street-message', role: 'status' }, [m.street.disabled])
        : kit.place(crowd, h(doc, 'div', { class: 'street-body' }))
      main.replaceChildren(
        h(doc, 'section', { class: 'street', 'aria-labelledby': 'view-heading' }, [
          h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [m.street.heading]),
          body,
        ]),
      )
    },
  })
}
