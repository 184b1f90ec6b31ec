import type { CrowdLevel, PublicCrowdResponse } from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import { createDateFormats } from '../../format.ts'
import type { PanelState } from '../panel.ts'

/** A crowd level per street zone in large type, read from across a shop; no key, no shop figure. */
export const id = 'crowd'

const LEVEL_BARS: Record<CrowdLevel, number> = { quiet: 1, moderate: 2, busy: 3 }

export function load(api: ApiClient): Promise<PublicCrowdResponse> {
  return api.publicCrowd()
}

/** The last answer stays on screen when a refresh fails; the failure is said beside its time. */
export function render(body: HTMLElement, state: PanelState<object, PublicCrowdResponse, object>) {
  const { doc, m, data: crowd, error } = state
  if (!crowd) {
    body.replaceChildren(
      h(doc, 'p', { class: error ? 'street-message error' : 'street-message' }, [
        error ?? m.chart.loading,
      ]),
    )
    return
  }
  const dates = createDateFormats(m.locale, state.params.timeZone)
  body.replaceChildren(
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
  )
}
