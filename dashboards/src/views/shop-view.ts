import type {
  FootfallDetailResponse,
  HeatmapResponse,
  ShopDto,
  ShopSummary,
} from '../../../services/shared/contracts/api.ts'
import { ApiError } from '../api-client.ts'
import { renderDwellHistogram } from '../charts/dwell-histogram.ts'
import { renderStackedColumns, type Column } from '../charts/stacked-columns.ts'
import { h } from '../dom.ts'
import {
  createCountFormat,
  createDateFormats,
  createMinutesFormat,
  createPercentFormat,
  hourRange,
} from '../format.ts'
import type { Messages } from '../i18n.ts'
import type { LiveCounts, LiveFeed, LiveStatus } from '../live-feed.ts'
import { DAY_MS, localMidnight, localWeekday } from '../ranges.ts'
import { columnsTable, drawChartAndTable, dwellTable } from './chart-tables.ts'
import {
  createPanel,
  createTile,
  deltaText,
  drawLiveStatus,
  messageFor,
  rethrowUnauthorised,
  showPanelError,
  widthOf,
  type Panel,
  type View,
  type ViewContext,
} from './view-kit.ts'

export const SHOP_REFRESH_MS = 60_000

type PanelKey = 'today' | 'rank' | 'dwell' | 'busiest' | 'week' | 'downloads'

interface State {
  shop: ShopDto | null
  shops: ShopDto[] | null
  summary: ShopSummary | null
  today: FootfallDetailResponse | null
  week: FootfallDetailResponse | null
  heatmap: HeatmapResponse | null
  denied: 'forbidden' | 'not_found' | null
  errors: Partial<Record<PanelKey, string>>
  liveCounts: LiveCounts | null
  liveAt: Date | null
  liveStatus: LiveStatus
  retryInMs: number | undefined
  downloadError: string | null
}

export interface ShopViewOptions {
  shopId: string
  /** Analysts pick any shop; the shell navigates. */
  onChooseShop?: (shopId: string) => void
  /** The shopkeeper's own shop, offered when another one is refused. */
  ownShopHref?: string | undefined
}

/** One shop's page: today vs usual, rank, dwell, busiest hours, the week, live counts and CSV. */
export function createShopView(ctx: ViewContext, options: ShopViewOptions): View {
  const { doc, client } = ctx
  const state: State = {
    shop: null,
    shops: null,
    summary: null,
    today: null,
    week: null,
    heatmap: null,
    denied: null,
    errors: {},
    liveCounts: null,
    liveAt: null,
    liveStatus: 'connecting',
    retryInMs: undefined,
    downloadError: null,
  }
  let main: HTMLElement | null = null
  let panels: Partial<Record<PanelKey, Panel>> = {}
  let liveLine: HTMLElement | null = null
  let destroyed = false
  let live: LiveFeed | null = null
  let seq = 0
  const timer = ctx.setInterval(() => {
    if (doc.visibilityState !== 'hidden' && !state.denied) void load()
  }, SHOP_REFRESH_MS)
  const t = () => ctx.t()

  async function load(): Promise<void> {
    const token = ++seq
    const now = ctx.now()
    const midnight = localMidnight(now, ctx.timeZone)
    const shopId = options.shopId
    try {
      // The summary answers 403/404 for a shop the key may not see: ask it first, alone.
      const summary = await client.shopSummary(shopId)
      if (destroyed || token !== seq) return
      state.summary = summary
      const [shops, today, week, heatmap] = await Promise.all([
        client.shops(),
        client.footfallDetail({
          from: midnight.toISOString(),
          to: now.toISOString(),
          bucket: '1h',
          shop: shopId,
        }),
        client.footfallDetail({
          from: localMidnight(now, ctx.timeZone, 6).toISOString(),
          to: now.toISOString(),
          bucket: '1d',
          shop: shopId,
        }),
        client.heatmap({
          from: localMidnight(now, ctx.timeZone, 28).toISOString(),
          to: midnight.toISOString(),
          shop: shopId,
        }),
      ])
      if (destroyed || token !== seq) return
      state.shops = shops.shops
      state.shop = shops.shops.find((s) => s.id === shopId) ?? null
      state.today = today
      state.week = week
      state.heatmap = heatmap
      state.errors = {}
    } catch (error) {
      if (destroyed || token !== seq) return
      if (rethrowUnauthorised(ctx, error)) return
      if (error instanceof ApiError && (error.code === 'forbidden' || error.code === 'not_found')) {
        state.denied = error.code
        live?.stop()
        if (main) render(main)
        return
      }
      const text = messageFor(t(), error)
      for (const key of ['today', 'rank', 'dwell', 'busiest', 'week'] as const) {
        state.errors[key] = text
      }
    }
    if (main) {
      const pickerMissing = options.onChooseShop && !main.querySelector('#shop-picker')
      if (!panels.today || pickerMissing) render(main)
      else drawAll()
      const heading = main.querySelector('#view-heading')
      if (heading && state.shop) heading.textContent = t().shop.heading(state.shop.name)
    }
  }

  function startLive(): void {
    live = ctx.openLiveFeed({
      onCounts: (counts) => {
        // Kept whole: the shop's zone is known once the summary answers, maybe after this.
        state.liveCounts = counts
        state.liveAt = new Date(counts.at)
        drawLive()
      },
      onStatus: (status, detail) => {
        state.liveStatus = status
        state.retryInMs = detail.retryInMs
        drawLive()
      },
    })
    if (!live) state.liveStatus = 'stopped'
    live?.start()
  }

  function render(target: HTMLElement): void {
    main = target
    const m = t()
    panels = {}
    liveLine = null
    if (state.denied) {
      target.replaceChildren(renderDenied(m))
      return
    }
    const name = state.shop?.name ?? state.summary?.shopId ?? options.shopId
    const head = h(doc, 'div', { class: 'view-head' }, [
      h(doc, 'div', {}, [
        h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [m.shop.heading(name)]),
        (liveLine = h(doc, 'p', { class: 'live-status', 'data-status': state.liveStatus })),
      ]),
      ...(options.onChooseShop && state.shops ? [shopPicker(m, state.shops)] : []),
    ])
    const weekdayName =
      createDateFormats(m.locale, ctx.timeZone).weekdaysLong[
        localWeekday(ctx.now(), ctx.timeZone) - 1
      ] ?? ''
    panels = {
      today: createPanel(doc, {
        id: 'today',
        title: m.shop.todayHeading,
        note: m.shop.todayNote(state.summary?.sameWeekdayAverage.weeks ?? 4),
        className: 'wide kpis',
      }),
      rank: createPanel(doc, { id: 'rank', title: m.shop.rankHeading, note: m.shop.rankNote }),
      dwell: createPanel(doc, { id: 'dwell', title: m.shop.dwellHeading }),
      busiest: createPanel(doc, {
        id: 'busiest',
        title: m.shop.busiestHeading(weekdayName),
        note: m.shop.busiestNote,
      }),
      week: createPanel(doc, { id: 'week', title: m.shop.weekHeading }),
      downloads: createPanel(doc, { id: 'downloads', title: m.shop.downloads }),
    }
    const order: PanelKey[] = ['today', 'rank', 'dwell', 'busiest', 'week', 'downloads']
    target.replaceChildren(
      head,
      h(
        doc,
        'div',
        { class: 'grid' },
        order.map((key) => panels[key]?.section ?? h(doc, 'div')),
      ),
      h(doc, 'p', { class: 'note' }, [m.shop.repeatNote]),
    )
    drawAll()
  }

  function renderDenied(m: Messages): HTMLElement {
    const text = state.denied === 'forbidden' ? m.shop.forbidden : m.shop.notFound(options.shopId)
    return h(doc, 'section', { class: 'card denied', 'aria-labelledby': 'view-heading' }, [
      h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [
        state.denied === 'forbidden' ? m.errors.forbidden : m.errors.notFound,
      ]),
      h(doc, 'p', { class: 'denied-message', role: 'alert' }, [text]),
      ...(options.ownShopHref
        ? [h(doc, 'p', {}, [h(doc, 'a', { href: options.ownShopHref }, [m.shop.goToMyShop])])]
        : []),
    ])
  }

  function shopPicker(m: Messages, shops: ShopDto[]): HTMLElement {
    const select = h(doc, 'select', { id: 'shop-picker' })
    for (const shop of [...shops].sort((a, b) => a.streetOffsetM - b.streetOffsetM)) {
      const option = h(doc, 'option', { value: shop.id }, [shop.name])
      option.selected = shop.id === options.shopId
      select.append(option)
    }
    select.addEventListener('change', () => options.onChooseShop?.(select.value))
    return h(doc, 'div', { class: 'picker' }, [
      h(doc, 'label', { for: 'shop-picker' }, [m.nav.chooseShop]),
      select,
    ])
  }

  function drawAll(): void {
    for (const key of Object.keys(panels) as PanelKey[]) draw(key)
    drawLive()
  }

  function draw(key: PanelKey): void {
    const panel = panels[key]
    if (!panel) return
    const m = t()
    showPanelError(panel, state.errors[key] ?? null)
    switch (key) {
      case 'today':
        return drawToday(panel, m)
      case 'rank':
        return drawRank(panel, m)
      case 'dwell':
        return drawDwell(panel, m)
      case 'busiest':
        return drawBusiest(panel, m)
      case 'week':
        return drawWeek(panel, m)
      case 'downloads':
        return drawDownloads(panel, m)
    }
  }

  function loadingText(m: Messages, key: PanelKey): HTMLElement {
    return h(doc, 'p', { class: 'placeholder loading' }, [state.errors[key] ? '' : m.chart.loading])
  }

  function drawToday(panel: Panel, m: Messages): void {
    const s = state.summary
    if (!s) {
      panel.body.replaceChildren(loadingText(m, 'today'))
      return
    }
    const count = createCountFormat(m.locale)
    const percent = createPercentFormat(m.locale, 1)
    const minutes = createMinutesFormat(m.locale)
    const avg = s.sameWeekdayAverage
    const tile = (
      key: string,
      label: string,
      value: string,
      usual: string,
      delta: ReturnType<typeof deltaText>,
    ) =>
      createTile(doc, {
        key,
        label,
        value,
        delta: delta.text,
        tone: delta.tone,
        sub: m.shop.usual(usual),
      })
    panel.body.replaceChildren(
      h(doc, 'div', { class: 'tiles' }, [
        tile(
          'passers-by',
          m.kpi.passersBy,
          count(s.today.passersBy),
          count(avg.passersBy),
          deltaText(m, s.vsAverage.passersBy, m.kpi.vsUsual),
        ),
        tile(
          'visitors',
          m.kpi.visitors,
          count(s.today.visitors),
          count(avg.visitors),
          deltaText(m, s.vsAverage.visitors, m.kpi.vsUsual),
        ),
        tile(
          'capture-rate',
          m.kpi.captureRate,
          s.today.captureRate === null ? '–' : percent(s.today.captureRate),
          avg.captureRate === null ? '–' : percent(avg.captureRate),
          deltaText(m, s.vsAverage.captureRate, m.kpi.vsUsual, { share: true }),
        ),
        tile(
          'dwell',
          m.kpi.dwell,
          s.today.dwellMeanS === null ? '–' : minutes(s.today.dwellMeanS),
          avg.dwellMeanS === null ? '–' : minutes(avg.dwellMeanS),
          deltaText(m, s.vsAverage.dwellMeanS, m.kpi.vsUsual),
        ),
      ]),
    )
  }

  function drawRank(panel: Panel, m: Messages): void {
    const s = state.summary
    if (!s) {
      panel.body.replaceChildren(loadingText(m, 'rank'))
      return
    }
    const percent = createPercentFormat(m.locale, 0)
    const dots = h(doc, 'ol', { class: 'rank-dots', 'aria-hidden': 'true' })
    for (let i = 1; i <= s.rank.shops; i += 1) {
      dots.append(h(doc, 'li', { class: i === s.rank.byVisitors ? 'me' : '' }))
    }
    panel.body.replaceChildren(
      h(doc, 'p', { class: 'rank-headline' }, [m.shop.rank(s.rank.byVisitors, s.rank.shops)]),
      dots,
      ...(s.rank.percentile === null
        ? []
        : [h(doc, 'p', { class: 'muted' }, [m.shop.percentile(percent(s.rank.percentile / 100))])]),
      h(doc, 'p', { class: 'live-today' }),
    )
    drawLive()
  }

  function drawDwell(panel: Panel, m: Messages): void {
    const total = state.today?.totals[0]
    const data = state.today
      ? {
          bins: total?.dwellHistogram ?? { lt1m: 0, m1to5: 0, m5to15: 0, m15to60: 0, gt60m: 0 },
        }
      : null
    const hasVisitors = data ? Object.values(data.bins).some((n) => n > 0) : false
    drawChartAndTable(
      panel.body,
      (container) =>
        renderDwellHistogram(container, data, {
          width: widthOf(panel.body),
          locale: m.locale,
          labels: {
            loading: m.chart.loading,
            empty: m.chart.empty,
            bins: m.shop.dwellBins,
            yAxis: m.shop.dwellAxis,
            xAxis: m.shop.dwellX,
          },
        }),
      data && hasVisitors ? dwellTable(data, m) : null,
    )
  }

  function drawBusiest(panel: Panel, m: Messages): void {
    const heatmap = state.heatmap
    let columns: Column[] | null = null
    let highlight: string[] = []
    if (heatmap) {
      const weekday = localWeekday(ctx.now(), ctx.timeZone)
      columns = heatmap.cells
        .filter((cell) => cell.weekday === weekday)
        .sort((a, b) => a.hour - b.hour)
        .map((cell) => ({
          key: String(cell.hour),
          label: String(cell.hour).padStart(2, '0'),
          passersBy: cell.meanPassersBy ?? 0,
          visitors: cell.meanVisitors ?? 0,
        }))
      highlight = [...columns]
        .filter((c) => c.passersBy + c.visitors > 0)
        .sort((a, b) => b.passersBy + b.visitors - (a.passersBy + a.visitors))
        .slice(0, 3)
        .map((c) => c.key)
    }
    const data = columns ? { columns, highlight } : null
    drawChartAndTable(
      panel.body,
      (container) =>
        renderStackedColumns(container, data, {
          width: widthOf(panel.body),
          locale: m.locale,
          digits: 1,
          labels: {
            loading: m.chart.loading,
            empty: m.shop.noHistory,
            passersBy: m.footfall.passersBy,
            visitors: m.footfall.visitors,
            yAxis: m.shop.busiestAxis,
            xAxis: m.shop.hourAxis,
            highlight: m.shop.busiest,
          },
        }),
      columns?.some((c) => c.passersBy + c.visitors > 0)
        ? columnsTable(
            columns.map((c) => ({ ...c, label: hourRange(Number(c.key)) })),
            m,
            {
              className: 'data-busiest',
              summary: m.tables.busiest,
              first: m.tables.hour,
              digits: 1,
            },
          )
        : null,
    )
  }

  function drawWeek(panel: Panel, m: Messages): void {
    const week = state.week
    let columns: Column[] | null = null
    let todayKey = ''
    if (week) {
      const dates = createDateFormats(m.locale, ctx.timeZone)
      const now = ctx.now()
      const byDay = new Map(week.rows.map((row) => [Date.parse(row.bucketStart), row]))
      columns = []
      for (let back = 6; back >= 0; back -= 1) {
        const start = localMidnight(now, ctx.timeZone, back)
        const row = byDay.get(start.getTime())
        const key = start.toISOString()
        if (back === 0) todayKey = key
        columns.push({
          key,
          label: back === 0 ? m.shop.today : dates.day(new Date(start.getTime() + DAY_MS / 2)),
          passersBy: row?.passersBy ?? 0,
          visitors: row?.visitors ?? 0,
        })
      }
    }
    const data = columns ? { columns, highlight: [todayKey] } : null
    drawChartAndTable(
      panel.body,
      (container) =>
        renderStackedColumns(container, data, {
          width: widthOf(panel.body),
          locale: m.locale,
          labelEvery: 1,
          labels: {
            loading: m.chart.loading,
            empty: m.chart.empty,
            passersBy: m.footfall.passersBy,
            visitors: m.footfall.visitors,
            yAxis: m.shop.weekAxis,
            xAxis: m.shop.dayAxis,
          },
        }),
      columns?.some((c) => c.passersBy + c.visitors > 0)
        ? columnsTable(columns, m, {
            className: 'data-week',
            summary: m.tables.week,
            first: m.tables.day,
          })
        : null,
    )
  }

  function drawDownloads(panel: Panel, m: Messages): void {
    const now = ctx.now()
    const day = now.toISOString().slice(0, 10)
    const button = (kind: 'hourly' | 'daily', label: string) => {
      const b = h(
        doc,
        'button',
        { type: 'button', class: 'button-secondary download', 'data-csv': kind },
        ['⤓ ', label],
      )
      b.addEventListener('click', () => {
        const from =
          kind === 'hourly'
            ? new Date(now.getTime() - 7 * DAY_MS)
            : localMidnight(now, ctx.timeZone, 84)
        void download(`miglio-${options.shopId}-${kind}-${day}.csv`, {
          from: from.toISOString(),
          to: now.toISOString(),
          bucket: kind === 'hourly' ? '1h' : '1d',
        })
      })
      return b
    }
    panel.body.replaceChildren(
      h(doc, 'div', { class: 'downloads' }, [
        button('hourly', m.shop.downloadHourly),
        button('daily', m.shop.downloadDaily),
      ]),
      h(doc, 'p', { class: 'error', role: 'alert' }, [state.downloadError ?? '']),
    )
  }

  async function download(
    name: string,
    params: { from: string; to: string; bucket: string },
  ): Promise<void> {
    try {
      const text = await client.csv('footfall', { ...params, shop: options.shopId })
      state.downloadError = null
      ctx.saveFile(name, text, 'text/csv')
    } catch (error) {
      if (rethrowUnauthorised(ctx, error)) return
      state.downloadError = t().shop.downloadFailed
    }
    const panel = panels.downloads
    if (panel) drawDownloads(panel, t())
  }

  function drawLive(): void {
    const m = t()
    if (liveLine) {
      drawLiveStatus(
        liveLine,
        m,
        { status: state.liveStatus, at: state.liveAt, retryInMs: state.retryInMs },
        ctx.timeZone,
      )
    }
    const liveToday = panels.rank?.body.querySelector('.live-today')
    const zoneId = state.summary?.zoneId
    const today = state.liveCounts?.zones.find((z) => z.zoneId === zoneId)?.today
    if (liveToday && today) {
      const count = createCountFormat(m.locale)
      liveToday.textContent = m.shop.liveToday(count(today.passersBy), count(today.visitors))
    }
  }

  void load()
  startLive()

  return {
    render,
    resize() {
      for (const key of ['dwell', 'busiest', 'week'] as const) draw(key)
    },
    destroy() {
      destroyed = true
      ctx.clearInterval(timer)
      live?.stop()
    },
  }
}
