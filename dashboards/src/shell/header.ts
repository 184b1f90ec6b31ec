import type { MeResponse } from '../../../services/shared/contracts/api.ts'
import { h } from '../dom.ts'
import type { Lang, Messages } from '../i18n.ts'
import { hrefOf, type Route } from './routes.ts'

export interface HeaderState {
  lang: Lang
  me: MeResponse | null
  route: Route
  /** The first shop along the street: where "Shops" leads an analyst. */
  firstShopId: string | null
}

export interface HeaderActions {
  signOut(): void
  setLang(lang: Lang): void
  /** Moves focus to the page's main content. */
  skipToMain(): void
}

/** The skip link and the top bar: brand, role-aware navigation, who is signed in, language. */
export function renderHeader(
  doc: Document,
  m: Messages,
  state: HeaderState,
  actions: HeaderActions,
): HTMLElement[] {
  const skip = h(doc, 'a', { class: 'skip-link', href: '#main' }, [m.skipToContent])
  skip.addEventListener('click', (event) => {
    event.preventDefault()
    actions.skipToMain()
  })
  const bar = h(doc, 'div', { class: 'topbar-actions' })
  if (state.me) {
    const signOut = h(doc, 'button', { type: 'button', class: 'button-secondary' }, [m.signOut])
    signOut.addEventListener('click', () => actions.signOut())
    bar.append(
      h(doc, 'span', { class: 'who' }, [m.signedInAs(state.me.label, m.roles[state.me.role])]),
      signOut,
    )
  }
  bar.append(languageToggle(doc, m, state.lang, actions.setLang))
  const header = h(doc, 'header', { class: 'topbar' }, [
    h(doc, 'div', { class: 'topbar-start' }, [
      h(doc, 'a', { class: 'brand', href: '#/' }, [m.brand]),
      renderNav(doc, m, state),
    ]),
    bar,
  ])
  return [skip, header]
}

function languageToggle(
  doc: Document,
  m: Messages,
  current: Lang,
  setLang: (lang: Lang) => void,
): HTMLElement {
  const group = h(doc, 'div', { class: 'lang-toggle', role: 'group', 'aria-label': m.language })
  for (const lang of ['en', 'it'] as const) {
    const button = h(
      doc,
      'button',
      {
        type: 'button',
        lang,
        'aria-pressed': String(lang === current),
        'aria-label': m.languageNames[lang],
        'data-lang': lang,
      },
      [lang.toUpperCase()],
    )
    button.addEventListener('click', () => setLang(lang))
    group.append(button)
  }
  return group
}

function navLinks(m: Messages, { me, route, firstShopId }: HeaderState) {
  const links: { route: Route; label: string; current: boolean }[] = []
  if (me?.role === 'shopkeeper' && me.shopId) {
    links.push({
      route: { name: 'shop', shopId: me.shopId },
      label: m.nav.myShop,
      current: route.name === 'shop',
    })
  } else if (me) {
    links.push({
      route: { name: 'district' },
      label: m.nav.district,
      current: route.name === 'district',
    })
    if (firstShopId) {
      links.push({
        route: { name: 'shop', shopId: route.name === 'shop' ? route.shopId : firstShopId },
        label: m.nav.shop,
        current: route.name === 'shop',
      })
    }
  }
  links.push({ route: { name: 'street' }, label: m.nav.street, current: route.name === 'street' })
  return links
}

function renderNav(doc: Document, m: Messages, state: HeaderState): HTMLElement {
  return h(doc, 'nav', { class: 'nav', 'aria-label': m.nav.label }, [
    h(
      doc,
      'ul',
      {},
      navLinks(m, state).map((link) =>
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
