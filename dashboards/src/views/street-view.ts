import { ApiError } from '../api-client.ts'
import { h } from '../dom.ts'
import { createDateFormats } from '../format.ts'
import type { Messages } from '../i18n.ts'
import type { CrowdLevel, PublicCrowdResponse } from '../../../services/shared/contracts/api.ts'
import { messageFor, type View, type ViewContext } from './view-kit.ts'

export const STREET_REFRESH_MS = 15_000

const LEVEL_BARS: Record<CrowdLevel, number> = { quiet: 1, moderate: 2, busy: 3 }

/** The public street screen: a crowd level per street zone in large type; no key, no shop figure. */
export function createStreetView(ctx: ViewContext): View {
  const { doc, client } = ctx
  let crowd: PublicCrowdResponse | null = null
  let disabled = false
  let error: string | null = null
  let main: HTMLElement | null = null
  let destroyed = false
  const timer = ctx.setInterval(() => {
    if (doc.visibilityState !== 'hidden' && !disabled) void load()
  }, STREET_REFRESH_MS)

  async function load(): Promise<void> {
    try {
      crowd = await client.publicCrowd()
      error = null
    } catch (e) {
      if (destroyed) return
      if (e instanceof ApiError && e.code === 'not_found') disabled = true
      else error = messageFor(ctx.t(), e)
    }
    if (!destroyed && main) render(main)
  }

  function render(target: HTMLElement): void {
    main = target
    const m = ctx.t()
    target.replaceChildren(
      h(doc, 'section', { class: 'street', 'aria-labelledby': 'view-heading' }, [
        h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [m.street.heading]),
        ...body(m),
      ]),
    )
  }

  function body(m: Messages): Node[] {
    if (disabled)
      return [h(doc, 'p', { class: 'street-message', role: 'status' }, [m.street.disabled])]
    if (!crowd) {
      return [
        h(doc, 'p', { class: error ? 'street-message error' : 'street-message' }, [
          error ?? m.chart.loading,
        ]),
      ]
    }
    const dates = createDateFormats(m.locale, ctx.timeZone)
    return [
      h(doc, 'p', { class: 'street-intro' }, [
        crowd.district ? `${crowd.district} · ` : '',
        m.street.intro(crowd.windowMinutes),
      ]),
      crowd.zones.length === 0
        ? h(doc, 'p', { class: 'street-message' }, [m.street.noZones])
        : h(
            doc,
            'ol',
            { class: 'crowd-list' },
            crowd.zones.map((zone) =>
              h(doc, 'li', { class: `crowd crowd-${zone.level}`, 'data-zone-id': zone.zoneId }, [
                h(doc, 'span', { class: 'crowd-name' }, [zone.name]),
                h(doc, 'span', { class: 'crowd-level' }, [
                  h(
                    doc,
                    'span',
                    { class: 'crowd-bars', 'aria-hidden': 'true' },
                    [1, 2, 3].map((i) =>
                      h(doc, 'span', { class: i <= LEVEL_BARS[zone.level] ? 'on' : '' }),
                    ),
                  ),
                  m.street.levels[zone.level],
                ]),
              ]),
            ),
          ),
      h(doc, 'p', { class: 'street-updated' }, [
        m.street.updatedAt(dates.time(new Date(crowd.at))),
        error ? ` · ${error}` : '',
      ]),
    ]
  }

  void load()

  return {
    render,
    resize() {},
    destroy() {
      destroyed = true
      ctx.clearInterval(timer)
    },
  }
}
