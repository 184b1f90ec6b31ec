import type { Messages } from '../../i18n.ts'
import { localDateOf } from '../../../../services/shared/contracts/local-time.ts'
import { downloadsUi, renderDownloads, type DownloadFile, type DownloadsUi } from '../downloads.ts'
import { heatmapWindow } from './heatmap.ts'
import { rangeRequest, type DistrictState } from './params.ts'

/** The district's data as CSV: footfall and flows of the range, the heatmap, the events. */
export const id = 'downloads'
export const dependsOn = ['range'] as const
export const ui = downloadsUi

export const title = (m: Messages) => m.downloads.heading
export const note = (m: Messages) => m.downloads.note

export function render(body: HTMLElement, state: DistrictState<never, DownloadsUi>) {
  const { m, params } = state
  const day = localDateOf(params.now.getTime(), params.timeZone)
  const range = rangeRequest(params)
  const rangeName = m.footfall.ranges[params.range]
  const file = (kind: string, label: string, path: string, query: Record<string, string>) => {
    const suffix = kind === 'footfall' || kind === 'flows' ? `-${params.range}` : ''
    const name = `miglio-district-${kind}${suffix}-${day}.csv`
    return { kind, label, name, path, params: query }
  }
  const files: DownloadFile[] = [
    file('footfall', m.downloads.footfall(rangeName), 'footfall', { ...range }),
    file('heatmap', m.downloads.heatmap, 'footfall/heatmap', heatmapWindow(params)),
    file('flows', m.downloads.flows(rangeName), 'flows', { from: range.from, to: range.to }),
    file('events', m.downloads.events, 'events', {}),
  ]
  renderDownloads(body, state, files, m.downloads.failed)
}
