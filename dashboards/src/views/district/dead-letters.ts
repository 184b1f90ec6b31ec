import type { DeadLettersResponse } from '../../../../services/shared/contracts/api.ts'
import { redactMacs } from '../../../../services/shared/contracts/mac.ts'
import { h } from '../../dom.ts'
import { createCountFormat, createDateFormats } from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import type { QualityState } from './quality.ts'

/** The newest dead letters, a page at a time; the server has already redacted MACs. */
export function renderDeadLetters(
  body: HTMLElement,
  state: QualityState,
  list: DeadLettersResponse | null,
): HTMLElement {
  const { doc, m } = state
  const block = h(doc, 'div', { class: 'quality-block dead-letter-list wide' }, [
    h(doc, 'h3', { id: 'dead-letter-heading' }, [m.quality.latest]),
  ])
  if (!list) {
    block.append(h(doc, 'p', { class: 'muted' }, [state.error ? '' : m.chart.loading]))
    return block
  }
  if (list.total === 0 || list.items.length === 0) {
    block.append(h(doc, 'p', { class: 'muted empty-dead-letters' }, [m.quality.noDeadLetters]))
    if (list.total === 0) return block
  }
  if (list.items.length > 0) block.append(deadLetterTable(doc, m, state.params.timeZone, list))
  block.append(pager(body, state, list))
  return block
}

function deadLetterTable(
  doc: Document,
  m: Messages,
  timeZone: string,
  list: DeadLettersResponse,
): HTMLElement {
  const dates = createDateFormats(m.locale, timeZone)
  // Defence in depth: the server redacts MAC addresses, and nothing MAC-shaped is drawn anyway.
  const safe = (text: string) => redactMacs(text)
  return h(doc, 'div', { class: 'table-wrap' }, [
    h(doc, 'table', { class: 'dead-letters-table', 'aria-labelledby': 'dead-letter-heading' }, [
      h(doc, 'thead', {}, [
        h(doc, 'tr', {}, [
          h(doc, 'th', { scope: 'col' }, [m.quality.time]),
          h(doc, 'th', { scope: 'col' }, [m.quality.gateway]),
          h(doc, 'th', { scope: 'col' }, [m.quality.reason]),
          h(doc, 'th', { scope: 'col' }, [m.quality.detail]),
        ]),
      ]),
      h(
        doc,
        'tbody',
        {},
        list.items.map((item) =>
          h(doc, 'tr', {}, [
            h(doc, 'th', { scope: 'row' }, [dates.dayTime(new Date(item.receivedAt))]),
            h(doc, 'td', {}, [item.gatewayId === null ? '–' : safe(item.gatewayId)]),
            h(doc, 'td', {}, [h(doc, 'code', {}, [safe(item.reason)])]),
            h(doc, 'td', { class: 'detail' }, [safe(item.detail)]),
          ]),
        ),
      ),
    ]),
  ])
}

/** Newer and older pages; focus stays on the button pressed, or moves to the other at an end. */
function pager(body: HTMLElement, { doc, m, act }: QualityState, list: DeadLettersResponse) {
  const count = createCountFormat(m.locale)
  const pages = Math.max(1, Math.ceil(list.total / list.pageSize))
  const button = (direction: 'newer' | 'older', label: string, page: number) => {
    const b = h(
      doc,
      'button',
      {
        type: 'button',
        class: 'button-secondary',
        'data-page': direction,
        disabled: page < 1 || page > pages,
      },
      [label],
    )
    b.addEventListener('click', () => {
      void act.setParams({ deadLetterPage: page }).then(() => {
        const find = (d: string) =>
          body.querySelector<HTMLButtonElement>(`button[data-page="${d}"]`)
        const again = find(direction)
        ;(again && !again.disabled
          ? again
          : find(direction === 'older' ? 'newer' : 'older')
        )?.focus()
      })
    })
    return b
  }
  return h(doc, 'nav', { class: 'pager', 'aria-label': m.quality.pages }, [
    button('newer', m.quality.newer, list.page - 1),
    h(doc, 'span', { class: 'pager-status', 'aria-live': 'polite' }, [
      m.quality.page(list.page, pages, count(list.total)),
    ]),
    button('older', m.quality.older, list.page + 1),
  ])
}
