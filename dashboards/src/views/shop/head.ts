import type { ShopDto } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import type { Messages } from '../../i18n.ts'
import type { Params } from '../panel.ts'
import { shopSummary, type ShopParams, type ShopState } from './params.ts'

/** The page's heading, named once the shops are known, and the shop picker for analysts. */
export const id = 'head'

export async function load(api: ApiClient, params: Params<ShopParams>): Promise<ShopDto[]> {
  await shopSummary(api, params)
  return (await api.shops()).shops
}

/** Draws into the view's head: the `h1` it holds, and a picker appended once. */
export function render(head: HTMLElement, { doc, m, params, data }: ShopState<ShopDto[]>) {
  const heading = head.querySelector('h1')
  const name = data?.find((s) => s.id === params.shopId)?.name ?? params.shopId
  if (heading) heading.textContent = m.shop.heading(name)
  if (params.chooser && data && !head.querySelector('#shop-picker')) {
    head.append(picker(doc, m, data, params.shopId))
  }
}

/** A `select#shop-picker`; the view navigates when it changes. */
function picker(doc: Document, m: Messages, shops: readonly ShopDto[], current: string) {
  const select = h(doc, 'select', { id: 'shop-picker' })
  for (const shop of [...shops].sort((a, b) => a.streetOffsetM - b.streetOffsetM)) {
    const option = h(doc, 'option', { value: shop.id }, [shop.name])
    option.selected = shop.id === current
    select.append(option)
  }
  return h(doc, 'div', { class: 'picker' }, [
    h(doc, 'label', { for: 'shop-picker' }, [m.nav.chooseShop]),
    select,
  ])
}
