import type { Messages } from '../../i18n.ts'
import { DAY_MS, localMidnight } from '../../ranges.ts'
import { downloadsUi, renderDownloads, type DownloadsUi } from '../downloads.ts'
import type { ShopState } from './params.ts'

/** The shop's footfall as CSV: hourly for the last week, daily for the last twelve weeks. */
export const id = 'downloads'
export const ui = downloadsUi

export const title = (m: Messages) => m.shop.downloads

export function render(body: HTMLElement, state: ShopState<never, DownloadsUi>) {
  const { m, params } = state
  const { now, shopId } = params
  const day = now.toISOString().slice(0, 10)
  const file = (kind: 'hourly' | 'daily', label: string, from: Date) => ({
    kind,
    label,
    name: `miglio-${shopId}-${kind}-${day}.csv`,
    path: 'footfall',
    params: {
      from: from.toISOString(),
      to: now.toISOString(),
      bucket: kind === 'hourly' ? '1h' : '1d',
      shop: shopId,
    },
  })
  renderDownloads(
    body,
    state,
    [
      file('hourly', m.shop.downloadHourly, new Date(now.getTime() - 7 * DAY_MS)),
      file('daily', m.shop.downloadDaily, localMidnight(now, params.timeZone, 84)),
    ],
    m.shop.downloadFailed,
  )
}
