import type {
  PeopleBucketName,
  ShopPeopleResponse,
} from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { h } from '../../dom.ts'
import type { Messages } from '../../i18n.ts'
import { localMidnight } from '../../ranges.ts'
import type { Params } from '../panel.ts'
import { chartDataOf, drawPeople } from '../people-panel.ts'
import { loadingNote } from '../view-kit.ts'
import { shopSummary, type ShopParams, type ShopState } from './params.ts'

/** People inside the shop and in front of it today: present with the 90 % band, and arriving. */
export const id = 'people'
export const redrawOn = ['resize'] as const

const BUCKET: PeopleBucketName = '15m'

export const title = (m: Messages) => m.people.shopHeading
export const note = (m: Messages) => m.people.note

export async function load(
  api: ApiClient,
  params: Params<ShopParams>,
): Promise<ShopPeopleResponse> {
  // The summary first: a shop the key may not see answers 403/404 there, and nothing else is asked.
  await shopSummary(api, params)
  return api.shopPeople(params.shopId, {
    from: localMidnight(params.now, params.timeZone).toISOString(),
    to: params.now.toISOString(),
    bucket: BUCKET,
  })
}

export function render(body: HTMLElement, state: ShopState<ShopPeopleResponse>) {
  const { doc, m, data, params } = state
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, state.error))
    return
  }
  const range = { from: data.from, to: data.to, bucket: data.bucket }
  const parts = [
    ['inside', m.people.inside],
    ['inFront', m.people.inFront],
  ] as const
  // One block per part, kept across redraws so an opened table stays open.
  const blocks = parts.map(([key, label]) => {
    let block = body.querySelector<HTMLElement>(`:scope > [data-part="${key}"]`)
    if (!block) {
      block = h(doc, 'div', { class: 'people-part', 'data-part': key }, [
        h(doc, 'h3', {}, [label]),
        h(doc, 'div', { class: 'people-chart' }),
      ])
    }
    return { key, label, block }
  })
  body.replaceChildren(...blocks.map((b) => b.block))
  for (const { key, label, block } of blocks) {
    const chart = block.querySelector<HTMLElement>('.people-chart') as HTMLElement
    drawPeople(chart, {
      m,
      width: state.width,
      timeZone: params.timeZone,
      data: chartDataOf(
        data.rows.map((r) => ({ bucketStart: r.bucketStart, figures: r[key] })),
        range,
      ),
      className: `data-people-${key}`,
      heading: label,
    })
  }
}
