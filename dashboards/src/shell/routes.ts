import type { MeResponse } from '../../../services/shared/contracts/api.ts'

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

/** Where a signed-in key lands: a shopkeeper on its shop, everyone else on the district. */
export function homeRoute(me: MeResponse | null): Route {
  if (me?.role === 'shopkeeper' && me.shopId) return { name: 'shop', shopId: me.shopId }
  return { name: 'district' }
}

/** Role-aware routing: the shopkeeper's home and the district both lead to its shop. */
export function resolveRoute(route: Route, me: MeResponse | null): Route {
  if (route.name === 'street' || !me) return route
  if (route.name === 'home') return homeRoute(me)
  if (route.name === 'district' && me.role === 'shopkeeper') return homeRoute(me)
  return route
}
