import type {
  DeadLettersResponse,
  GatewayDto,
  IngestStatsResponse,
  ZoneDto,
} from '../../../../services/shared/contracts/api.ts'
import type { ApiClient } from '../../api-client.ts'
import { healthStyle } from '../../charts/zone-map.ts'
import { SVG_NS } from '../../charts/chart-kit.ts'
import { h } from '../../dom.ts'
import {
  createCountFormat,
  createDateFormats,
  createDecimalFormat,
  createPercentFormat,
} from '../../format.ts'
import type { Messages } from '../../i18n.ts'
import { DAY_MS } from '../../ranges.ts'
import { renderTableDetails } from '../chart-tables.ts'
import type { Params } from '../panel.ts'
import { loadingNote } from '../view-kit.ts'
import { renderDeadLetters } from './dead-letters.ts'
import type { DistrictParams, DistrictState } from './params.ts'

/**
 * Gateways needing attention, every gateway's format and last message, and, for administrators,
 * the messages ingest rejected.
 */
export const id = 'quality'
export const dependsOn = ['deadLetterPage'] as const
export const keepWhileReloading = true

export const DEAD_LETTERS_PAGE_SIZE = 10

export interface QualityData {
  gateways: GatewayDto[]
  zones: ZoneDto[]
  /** Ingest's last 24 hours; only administrators may read them. */
  ingest: IngestStatsResponse | 'not-admin'
  deadLetters: DeadLettersResponse | null
}

export type QualityState = DistrictState<QualityData>

export const title = (m: Messages) => m.quality.heading

export async function load(api: ApiClient, params: Params<DistrictParams>): Promise<QualityData> {
  const isAdmin = params.me?.role === 'admin'
  const now = params.now.getTime()
  const [gateways, zones, ingest, deadLetters] = await Promise.all([
    api.gateways(),
    api.zones(),
    isAdmin
      ? api.ingestStats({
          from: new Date(now - DAY_MS).toISOString(),
          to: new Date(now).toISOString(),
        })
      : ('not-admin' as const),
    isAdmin
      ? api.deadLetters({ page: params.deadLetterPage, pageSize: DEAD_LETTERS_PAGE_SIZE })
      : null,
  ])
  return { gateways: gateways.gateways, zones: zones.zones, ingest, deadLetters }
}

export function render(body: HTMLElement, state: QualityState) {
  const { doc, m, data } = state
  if (!data) {
    body.replaceChildren(loadingNote(doc, m, state.error))
    return
  }
  body.replaceChildren(
    h(doc, 'div', { class: 'quality' }, [
      gatewayBlock(doc, m, data),
      allGateways(body, m, data, state.params.timeZone),
      deadLetterRate(doc, m, data.ingest),
      ...(state.params.me?.role === 'admin'
        ? [renderDeadLetters(body, state, data.deadLetters)]
        : []),
    ]),
  )
}

function healthMark(doc: Document, health: GatewayDto['health']): SVGSVGElement {
  const svg = doc.createElementNS(SVG_NS, 'svg')
  svg.setAttribute('width', '14')
  svg.setAttribute('height', '14')
  svg.setAttribute('viewBox', '-7 -7 14 14')
  svg.setAttribute('aria-hidden', 'true')
  const path = doc.createElementNS(SVG_NS, 'path')
  path.setAttribute('d', healthStyle[health].path)
  path.setAttribute('fill', healthStyle[health].fill)
  svg.append(path)
  return svg
}

function gatewayBlock(doc: Document, m: Messages, { gateways, zones }: QualityData): HTMLElement {
  const decimal = createDecimalFormat(m.locale, 0)
  const active = gateways.filter((g) => g.health !== 'inactive')
  const ok = active.filter((g) => g.health === 'ok')
  const problems = gateways.filter((g) => g.health !== 'ok')
  const zoneName = new Map(zones.map((z) => [z.id, z.name]))
  return h(doc, 'div', { class: 'quality-block' }, [
    h(doc, 'p', { class: 'quality-headline' }, [
      healthMark(doc, problems.length === 0 ? 'ok' : 'silent'),
      ' ',
      m.quality.gatewaysOk(ok.length, active.length),
    ]),
    problems.length === 0
      ? h(doc, 'p', { class: 'muted' }, [m.quality.allOk])
      : h(doc, 'div', { class: 'table-wrap' }, [
          h(doc, 'table', { class: 'gateways' }, [
            h(doc, 'caption', {}, [m.quality.gatewayProblems]),
            h(doc, 'thead', {}, [
              h(doc, 'tr', {}, [
                h(doc, 'th', { scope: 'col' }, [m.quality.gateway]),
                h(doc, 'th', { scope: 'col' }, [m.quality.zone]),
                h(doc, 'th', { scope: 'col' }, [m.quality.format]),
                h(doc, 'th', { scope: 'col' }, [m.quality.health]),
                h(doc, 'th', { scope: 'col', class: 'num' }, [m.quality.lastHeard]),
              ]),
            ]),
            h(
              doc,
              'tbody',
              {},
              problems.map((g) =>
                h(doc, 'tr', { 'data-gateway-id': g.id }, [
                  h(doc, 'th', { scope: 'row' }, [g.id]),
                  h(doc, 'td', {}, [zoneName.get(g.zoneId) ?? g.zoneId]),
                  h(doc, 'td', { 'data-format': g.format }, [m.quality.formats[g.format]]),
                  h(doc, 'td', {}, [healthMark(doc, g.health), ' ', m.district.health[g.health]]),
                  h(doc, 'td', { class: 'num' }, [
                    g.silentS === null ? m.quality.never : m.quality.secondsAgo(decimal(g.silentS)),
                  ]),
                ]),
              ),
            ),
          ]),
        ]),
  ])
}

/**
 * Every gateway with the format it speaks and its last message of any kind, in a closed
 * disclosure (it costs no room until asked for; it stays open across the periodic redraw).
 */
function allGateways(
  body: HTMLElement,
  m: Messages,
  { gateways, zones }: QualityData,
  timeZone: string,
): HTMLElement {
  const doc = body.ownerDocument
  const wasOpen = body.querySelector<HTMLDetailsElement>('details[data-table="all-gateways"]')?.open
  const dates = createDateFormats(m.locale, timeZone)
  const zoneName = new Map(zones.map((z) => [z.id, z.name]))
  return renderTableDetails(
    doc,
    {
      className: 'all-gateways',
      summary: m.quality.allGateways(gateways.length),
      head: [
        { label: m.quality.gateway },
        { label: m.quality.zone },
        { label: m.quality.format },
        { label: m.quality.health },
        { label: m.quality.lastMessage, numeric: true },
      ],
      rows: gateways.map((g) => ({
        header: g.id,
        cells: [
          zoneName.get(g.zoneId) ?? g.zoneId,
          m.quality.formats[g.format],
          m.district.health[g.health],
          g.lastMessageAt === null ? m.quality.never : dates.dayTime(new Date(g.lastMessageAt)),
        ],
      })),
    },
    wasOpen ?? false,
  )
}

function deadLetterRate(doc: Document, m: Messages, ingest: QualityData['ingest']): HTMLElement {
  if (ingest === 'not-admin') {
    return h(doc, 'p', { class: 'muted' }, [m.quality.deadLettersAdminOnly])
  }
  const count = createCountFormat(m.locale)
  const percent = createPercentFormat(m.locale, 2)
  const rejected = ingest.hours.reduce((n, hour) => n + hour.rejected, 0)
  const all = ingest.hours.reduce((n, hour) => n + hour.batches, 0) + rejected
  return h(doc, 'div', { class: 'quality-block dead-letters' }, [
    h(doc, 'h3', {}, [m.quality.deadLetters]),
    h(doc, 'p', { class: 'quality-headline' }, [
      m.quality.deadLetterRate(
        percent(all === 0 ? 0 : rejected / all),
        count(rejected),
        count(all),
      ),
    ]),
    ...(ingest.rejects.length > 0
      ? [
          h(doc, 'p', { class: 'muted' }, [
            `${m.quality.topReasons}: ${ingest.rejects
              .slice(0, 3)
              .map((r) => `${r.reason} (${count(r.count)})`)
              .join(', ')}`,
          ]),
        ]
      : []),
  ])
}
