import { h } from '../dom.ts'
import type { Messages } from '../i18n.ts'
import type { AnyPanel, ViewState } from './panel.ts'
import { createPanelView, liveLine } from './panel-view.ts'
import * as busiest from './shop/busiest.ts'
import * as downloads from './shop/downloads.ts'
import * as dwell from './shop/dwell.ts'
import * as forecast from './shop/forecast.ts'
import * as head from './shop/head.ts'
import type { ShopParams } from './shop/params.ts'
import * as people from './shop/people.ts'
import * as rank from './shop/rank.ts'
import * as report from './shop/report.ts'
import * as today from './shop/today.ts'
import * as week from './shop/week.ts'
import type { View, ViewContext } from './view-kit.ts'

export const SHOP_REFRESH_MS = 60_000

export interface ShopViewOptions {
  shopId: string
  /** Analysts pick any shop; the shell navigates. */
  onChooseShop?: (shopId: string) => void
  /** The shopkeeper's own shop, offered when another one is refused. */
  ownShopHref?: string | undefined
}

/** The cards in page order, with the room each takes in the grid. */
const cards: readonly [AnyPanel<ShopParams>, string?][] = [
  [today, 'wide kpis'],
  [people, 'wide'],
  [rank],
  [dwell],
  [busiest],
  [week],
  [forecast, 'wide'],
  [downloads],
  [report],
]

/**
 * One shop's page: today vs usual, rank, dwell, busiest hours, the week, the next 7 days' forecast,
 * live counts and CSV.
 */
export function createShopView(ctx: ViewContext, options: ShopViewOptions): View {
  return createPanelView<ShopParams>(ctx, {
    params: { shopId: options.shopId, chooser: options.onChooseShop !== undefined },
    panels: [head, ...cards.map(([panel]) => panel)],
    refreshMs: SHOP_REFRESH_MS,
    live: true,
    // The summary answers 403/404 for a shop the key may not see: the page says so and stops.
    deniedBy: (error) => error.code === 'forbidden' || error.code === 'not_found',
    layout: (main, kit) => {
      const { doc, m, state } = kit
      if (state.denied) {
        main.replaceChildren(renderDenied(doc, m, state, options))
        return
      }
      const heading = h(doc, 'div', { class: 'view-head' }, [
        h(doc, 'div', {}, [
          h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [m.shop.heading(options.shopId)]),
          liveLine(kit, ctx.timeZone),
        ]),
      ])
      heading.addEventListener('change', (event) => {
        const target = event.target as HTMLSelectElement | null
        if (target?.id === 'shop-picker') options.onChooseShop?.(target.value)
      })
      main.replaceChildren(
        kit.place(head, heading),
        h(
          doc,
          'div',
          { class: 'grid' },
          cards.map(([panel, className]) => kit.card(panel, className)),
        ),
        h(doc, 'p', { class: 'note' }, [m.shop.repeatNote]),
      )
    },
  })
}

function renderDenied(
  doc: Document,
  m: Messages,
  state: ViewState<ShopParams>,
  options: ShopViewOptions,
): HTMLElement {
  const forbidden = state.denied === 'forbidden'
  return h(doc, 'section', { class: 'card denied', 'aria-labelledby': 'view-heading' }, [
    h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [
      forbidden ? m.errors.forbidden : m.errors.notFound,
    ]),
    h(doc, 'p', { class: 'denied-message', role: 'alert' }, [
      forbidden ? m.shop.forbidden : m.shop.notFound(options.shopId),
    ]),
    ...(options.ownShopHref
      ? [h(doc, 'p', {}, [h(doc, 'a', { href: options.ownShopHref }, [m.shop.goToMyShop])])]
      : []),
  ])
}
