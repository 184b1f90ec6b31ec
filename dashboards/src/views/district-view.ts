import type {
  CompareResponse,
  DeadLettersResponse,
  EventDto,
  FlowsResponse,
  FootfallDetailResponse,
  GatewayDto,
  HeatmapResponse,
  IngestStatsResponse,
  ShopDto,
  UpliftResponse,
  UpliftRow,
  ZoneDto,
} from '../../../services/shared/contracts/api.ts'
import { redactMacs } from '../../../services/shared/contracts/mac.ts'
import { ApiError } from '../api-client.ts'
import { renderFlowsArcs } from '../charts/flows-arcs.ts'
import { renderFootfallBars } from '../charts/footfall-bars.ts'
import { renderHeatmap, type HeatmapOptions } from '../charts/heatmap.ts'
import { renderShopMetrics } from '../charts/shop-metrics.ts'
import { renderTimeSeries, type TimePoint, type TimeSeriesData } from '../charts/time-series.ts'
import { healthStyle, renderZoneMap } from '../charts/zone-map.ts'
import { h } from '../dom.ts'
import {
  createCountFormat,
  createDateFormats,
  createDecimalFormat,
  createDeltaPercentFormat,
  createMinutesFormat,
  createPercentFormat,
} from '../format.ts'
import type { CompareMode, Messages, RangeKind, SeriesPeriod } from '../i18n.ts'
import type { LiveFeed, LiveStatus } from '../live-feed.ts'
import {
  DAY_MS,
  HOUR_MS,
  footfallRequestFor,
  instantOfLocal,
  localInputValue,
  localMidnight,
  rangeKinds,
} from '../ranges.ts'
import {
  drawChartAndTable,
  flowsTable,
  heatmapTable,
  seriesTable,
  shopsTable,
} from './chart-tables.ts'
import {
  createChoice,
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

export const DISTRICT_REFRESH_MS = 60_000
const MAX_EVENTS = 6
export const DEAD_LETTERS_PAGE_SIZE = 10

type PanelKey =
  | 'kpis'
  | 'map'
  | 'zones'
  | 'series'
  | 'heatmap'
  | 'shops'
  | 'flows'
  | 'events'
  | 'quality'
  | 'downloads'

type LoaderKey = 'base' | 'range' | 'series' | 'heatmap' | 'events' | 'quality' | 'deadLetters'

interface SeriesData {
  from: string
  to: string
  current: TimePoint[]
  baseline: TimePoint[]
}

interface State {
  range: RangeKind
  period: SeriesPeriod
  mode: CompareMode
  zones: ZoneDto[] | null
  shops: ShopDto[] | null
  gateways: GatewayDto[] | null
  footfall: FootfallDetailResponse | null
  compare: CompareResponse | null
  series: SeriesData | null
  heatmap: HeatmapResponse | null
  flows: FlowsResponse | null
  events: { event: EventDto; uplift: UpliftResponse | null }[] | null
  ingest: IngestStatsResponse | 'not-admin' | null
  deadLetters: DeadLettersResponse | null
  deadLetterPage: number
  downloadError: string | null
  /** The event whose delete button asks for confirmation. */
  confirmDelete: string | null
  eventsStatus: string
  eventsError: string
  live: Record<string, number> | undefined
  liveAt: Date | null
  liveStatus: LiveStatus
  retryInMs: number | undefined
  errors: Partial<Record<PanelKey, string>>
  loadingRange: boolean
}

/** The analyst's district page: KPIs, live map, footfall per zone, trends, heatmap, shops, flows, events, data quality. */
export function createDistrictView(ctx: ViewContext): View {
  const { doc, client } = ctx
  const state: State = {
    range: 'today',
    period: 'day',
    mode: 'wow',
    zones: null,
    shops: null,
    gateways: null,
    footfall: null,
    compare: null,
    series: null,
    heatmap: null,
    flows: null,
    events: null,
    ingest: null,
    deadLetters: null,
    deadLetterPage: 1,
    downloadError: null,
    confirmDelete: null,
    eventsStatus: '',
    eventsError: '',
    live: undefined,
    liveAt: null,
    liveStatus: 'connecting',
    retryInMs: undefined,
    errors: {},
    loadingRange: true,
  }
  const seq: Record<string, number> = {}
  /** Requests in flight per loader: the periodic refresh skips a loader still waiting. */
  const inFlight: Partial<Record<LoaderKey, number>> = {}
  const isAdmin = ctx.me?.role === 'admin'
  const canEditEvents = ctx.me?.role === 'admin' || ctx.me?.role === 'analyst'
  let panels: Partial<Record<PanelKey, Panel>> = {}
  let eventsList: HTMLElement | null = null
  let eventZones: HTMLElement | null = null
  let eventZoneIds = ''
  let liveLine: HTMLElement | null = null
  let updatedLine: HTMLElement | null = null
  let updatedAt: Date | null = null
  let destroyed = false
  let live: LiveFeed | null = null
  const timer = ctx.setInterval(() => {
    if (doc.visibilityState !== 'hidden') void refresh({ periodic: true })
  }, DISTRICT_REFRESH_MS)

  const t = () => ctx.t()

  async function guarded<T>(
    key: LoaderKey,
    panelKeys: PanelKey[],
    load: () => Promise<T>,
    apply: (value: T) => void,
  ): Promise<void> {
    const token = (seq[key] ?? 0) + 1
    seq[key] = token
    inFlight[key] = (inFlight[key] ?? 0) + 1
    try {
      const value = await load()
      if (destroyed || seq[key] !== token) return
      apply(value)
      for (const p of panelKeys) state.errors[p] = undefined
    } catch (error) {
      if (destroyed || seq[key] !== token) return
      if (rethrowUnauthorised(ctx, error)) return
      for (const p of panelKeys) state.errors[p] = messageFor(t(), error)
    } finally {
      inFlight[key] = (inFlight[key] ?? 1) - 1
    }
    updatedAt = ctx.now()
    for (const p of panelKeys) draw(p)
    drawUpdated()
  }

  function loadBase(): Promise<void> {
    return guarded(
      'base',
      ['map', 'zones', 'shops', 'flows', 'quality'],
      () => Promise.all([client.zones(), client.shops(), client.gateways()]),
      ([zones, shops, gateways]) => {
        state.zones = zones.zones
        state.shops = shops.shops
        state.gateways = gateways.gateways
        drawEventZones(t())
      },
    )
  }

  function loadRange(): Promise<void> {
    const request = footfallRequestFor(state.range, ctx.now(), ctx.timeZone)
    state.loadingRange = true
    return guarded(
      'range',
      ['kpis', 'map', 'zones', 'shops', 'flows'],
      () =>
        Promise.all([
          client.footfallDetail(request),
          client.compare({ from: request.from, to: request.to, mode: 'wow' }),
          client.flows({ from: request.from, to: request.to }),
        ]),
      ([footfall, compare, flows]) => {
        state.footfall = footfall
        state.compare = compare
        state.flows = flows
        state.loadingRange = false
      },
    )
  }

  function loadSeries(): Promise<void> {
    const now = ctx.now().getTime()
    const { period, mode } = state
    const step = period === 'day' ? 15 * 60_000 : HOUR_MS
    const to = now
    const from = Math.floor((now - (period === 'day' ? DAY_MS : 7 * DAY_MS)) / step) * step
    const shift = (mode === 'wow' ? 7 : 364) * DAY_MS
    const bucket = period === 'day' ? '15m' : '1h'
    const iso = (ms: number) => new Date(ms).toISOString()
    return guarded(
      'series',
      ['series'],
      () =>
        Promise.all([
          client.footfallDetail({ from: iso(from), to: iso(to), bucket }),
          client.footfallDetail({ from: iso(from - shift), to: iso(to - shift), bucket }),
        ]),
      ([current, baseline]) => {
        state.series = {
          from: iso(from),
          to: iso(to),
          current: sumByBucket(current, from, to, step, 0),
          baseline: sumByBucket(baseline, from - shift, to - shift, step, shift),
        }
      },
    )
  }

  function loadHeatmap(): Promise<void> {
    const now = ctx.now()
    return guarded(
      'heatmap',
      ['heatmap'],
      () =>
        client.heatmap({
          from: localMidnight(now, ctx.timeZone, 28).toISOString(),
          to: now.toISOString(),
        }),
      (heatmap) => {
        state.heatmap = heatmap
      },
    )
  }

  function loadEvents(): Promise<void> {
    const now = ctx.now().getTime()
    return guarded(
      'events',
      ['events'],
      async () => {
        const { events } = await client.events({
          from: new Date(now - 90 * DAY_MS).toISOString(),
          to: new Date(now + 30 * DAY_MS).toISOString(),
        })
        const recent = [...events].sort((a, b) => b.from.localeCompare(a.from)).slice(0, MAX_EVENTS)
        return Promise.all(
          recent.map(async (event) => ({
            event,
            uplift: await client.uplift(event.id).catch((error: unknown) => {
              if (error instanceof ApiError && error.code === 'unauthorised') throw error
              return null
            }),
          })),
        )
      },
      (events) => {
        state.events = events
      },
    )
  }

  function loadDeadLetters(): Promise<void> {
    if (!isAdmin) return Promise.resolve()
    const page = state.deadLetterPage
    return guarded(
      'deadLetters',
      ['quality'],
      () => client.deadLetters({ page, pageSize: DEAD_LETTERS_PAGE_SIZE }),
      (deadLetters) => {
        state.deadLetters = deadLetters
      },
    )
  }

  function loadQuality(): Promise<void> {
    if (!isAdmin) {
      state.ingest = 'not-admin'
      return Promise.resolve()
    }
    const now = ctx.now().getTime()
    return guarded(
      'quality',
      ['quality'],
      () =>
        client.ingestStats({
          from: new Date(now - DAY_MS).toISOString(),
          to: new Date(now).toISOString(),
        }),
      (ingest) => {
        state.ingest = ingest
      },
    )
  }

  /** Every panel's data; the periodic call skips a loader whose last request is still out. */
  async function refresh(options: { periodic?: boolean } = {}): Promise<void> {
    const loaders: [LoaderKey, () => Promise<void>][] = [
      ['base', loadBase],
      ['range', loadRange],
      ['series', loadSeries],
      ['heatmap', loadHeatmap],
      ['events', loadEvents],
      ['quality', loadQuality],
      ['deadLetters', loadDeadLetters],
    ]
    await Promise.all(
      loaders
        .filter(([key]) => !options.periodic || (inFlight[key] ?? 0) === 0)
        .map(([, load]) => load()),
    )
  }

  function startLive(): void {
    live = ctx.openLiveFeed({
      onCounts: (counts) => {
        state.live = Object.fromEntries(
          counts.zones.map((z) => [z.zoneId, z.last15m.passersBy + z.last15m.visitors]),
        )
        state.liveAt = new Date(counts.at)
        draw('map')
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

  // ---- rendering ----------------------------------------------------------------------------

  function render(main: HTMLElement): void {
    const m = t()
    liveLine = h(doc, 'p', { class: 'live-status', 'data-status': state.liveStatus })
    updatedLine = h(doc, 'p', { class: 'status' })
    const range = createChoice(doc, {
      name: 'range',
      legend: m.footfall.range,
      values: rangeKinds,
      labels: m.footfall.ranges,
      selected: state.range,
      onChange: (value) => {
        state.range = value
        state.footfall = null
        state.compare = null
        state.flows = null
        for (const key of ['kpis', 'map', 'zones', 'shops', 'flows', 'downloads'] as const) {
          draw(key)
        }
        void loadRange()
      },
    })
    const period = createChoice(doc, {
      name: 'period',
      legend: m.district.period,
      values: ['day', 'week'] as const,
      labels: m.district.periods,
      selected: state.period,
      onChange: (value) => {
        state.period = value
        state.series = null
        draw('series')
        void loadSeries()
      },
    })
    const mode = createChoice(doc, {
      name: 'compare',
      legend: m.district.compare,
      values: ['wow', 'yoy'] as const,
      labels: m.district.compareModes,
      selected: state.mode,
      onChange: (value) => {
        state.mode = value
        state.series = null
        draw('series')
        void loadSeries()
      },
    })

    panels = {
      kpis: createPanel(doc, {
        id: 'kpis',
        title: m.footfall.ranges[state.range],
        className: 'wide kpis',
      }),
      map: createPanel(doc, {
        id: 'map',
        title: m.district.mapHeading,
        note: m.district.mapNote,
        className: 'wide',
      }),
      zones: createPanel(doc, { id: 'zones', title: m.footfall.heading, note: m.footfall.note }),
      shops: createPanel(doc, {
        id: 'shops',
        title: m.district.shopsHeading,
        note: m.district.shopsNote,
      }),
      series: createPanel(doc, {
        id: 'series',
        title: m.district.seriesHeading,
        controls: [h(doc, 'div', { class: 'controls' }, [period, mode])],
        className: 'wide',
      }),
      heatmap: createPanel(doc, {
        id: 'heatmap',
        title: m.district.heatmapHeading,
        note: m.district.heatmapNote,
      }),
      flows: createPanel(doc, {
        id: 'flows',
        title: m.district.flowsHeading,
        note: m.district.flowsNote,
      }),
      events: createPanel(doc, {
        id: 'events',
        title: m.district.eventsHeading,
        note: m.district.eventsNote,
        className: 'wide',
      }),
      quality: createPanel(doc, { id: 'quality', title: m.quality.heading, className: 'wide' }),
      downloads: createPanel(doc, {
        id: 'downloads',
        title: m.downloads.heading,
        note: m.downloads.note,
        className: 'wide',
      }),
    }
    eventsList = h(doc, 'div', { class: 'events-list' })
    eventZones = null
    eventZoneIds = ''
    panels.events?.body.replaceChildren(eventsList, ...(canEditEvents ? [renderEventForm(m)] : []))
    panels.events?.section.querySelector('h2')?.setAttribute('tabindex', '-1')
    const order: PanelKey[] = [
      'kpis',
      'map',
      'zones',
      'shops',
      'series',
      'heatmap',
      'flows',
      'events',
      'quality',
      'downloads',
    ]
    main.replaceChildren(
      h(doc, 'div', { class: 'view-head' }, [
        h(doc, 'div', {}, [
          h(doc, 'h1', { id: 'view-heading', tabindex: -1 }, [
            m.district.heading(ctx.districtName),
          ]),
          liveLine,
        ]),
        range,
      ]),
      updatedLine,
      h(
        doc,
        'div',
        { class: 'grid' },
        order.map((key) => panels[key]?.section ?? h(doc, 'div')),
      ),
    )
    for (const key of order) draw(key)
    drawLive()
    drawUpdated()
  }

  function draw(key: PanelKey): void {
    const panel = panels[key]
    if (!panel) return
    const m = t()
    showPanelError(panel, state.errors[key] ?? null)
    switch (key) {
      case 'kpis':
        return drawKpis(panel, m)
      case 'map':
        return drawMap(panel, m)
      case 'zones':
        return drawZones(panel, m)
      case 'series':
        return drawSeries(panel, m)
      case 'heatmap':
        return drawHeatmap(panel, m)
      case 'shops':
        return drawShops(panel, m)
      case 'flows':
        return drawFlows(panel, m)
      case 'events':
        return drawEvents(panel, m)
      case 'quality':
        return drawQuality(panel, m)
      case 'downloads':
        return drawDownloads(panel, m)
    }
  }

  function drawKpis(panel: Panel, m: Messages): void {
    const heading = panel.section.querySelector('h2')
    if (heading) heading.textContent = m.footfall.ranges[state.range]
    const row = state.compare?.rows.find((r) => r.zoneId === null)
    if (!row) {
      panel.body.replaceChildren(
        h(doc, 'p', { class: 'placeholder loading' }, [state.errors.kpis ? '' : m.chart.loading]),
      )
      return
    }
    const count = createCountFormat(m.locale)
    const percent = createPercentFormat(m.locale, 1)
    const minutes = createMinutesFormat(m.locale)
    const versus = m.kpi.vsLastWeek
    const tile = (
      key: string,
      label: string,
      value: string,
      delta: ReturnType<typeof deltaText>,
      sub?: string,
    ) =>
      createTile(doc, {
        key,
        label,
        value,
        delta: delta.text,
        tone: delta.tone,
        ...(sub ? { sub } : {}),
      })
    panel.body.replaceChildren(
      h(doc, 'div', { class: 'tiles' }, [
        tile(
          'passers-by',
          m.kpi.passersBy,
          count(row.passersBy.current ?? 0),
          deltaText(m, row.passersBy, versus),
        ),
        tile(
          'visitors',
          m.kpi.visitors,
          count(row.visitors.current ?? 0),
          deltaText(m, row.visitors, versus),
        ),
        tile(
          'capture-rate',
          m.kpi.captureRate,
          row.captureRate.current === null ? '–' : percent(row.captureRate.current),
          deltaText(m, row.captureRate, versus, { share: true }),
        ),
        tile(
          'dwell',
          m.kpi.dwell,
          row.dwellMeanS.current === null ? '–' : minutes(row.dwellMeanS.current),
          deltaText(m, row.dwellMeanS, versus),
        ),
        // Transits × calibration factors, with the band of chance in the count (docs/metrics.md).
        tile(
          'people',
          m.kpi.people,
          count(Math.round(row.estimatedPeople.current ?? 0)),
          deltaText(m, row.estimatedPeople, versus),
          m.kpi.band(
            count(Math.floor(row.estimatedPeopleBand.low)),
            count(Math.ceil(row.estimatedPeopleBand.high)),
          ),
        ),
      ]),
    )
  }

  function totalsByZone(): Record<string, number> {
    return Object.fromEntries(
      (state.footfall?.totals ?? []).map((total) => [
        total.zoneId,
        total.passersBy + total.visitors,
      ]),
    )
  }

  function drawMap(panel: Panel, m: Messages): void {
    const ready = state.zones && state.gateways && state.footfall
    renderZoneMap(
      panel.body,
      ready
        ? {
            zones: state.zones ?? [],
            footfall: totalsByZone(),
            gateways: (state.gateways ?? []).map((g) => ({
              id: g.id,
              zoneId: g.zoneId,
              health: g.health,
              position: g.position,
            })),
            live: state.live,
          }
        : null,
      {
        width: widthOf(panel.body),
        locale: m.locale,
        labels: {
          loading: m.chart.loading,
          empty: m.chart.empty,
          footfall: m.district.footfallLegend,
          live: m.live.last15m,
          gateways: m.district.gateways,
          health: m.district.health,
          north: m.district.north,
        },
      },
    )
  }

  function orderedZones(): ZoneDto[] {
    return [...(state.zones ?? [])].sort(
      (a, b) => a.streetFromM - b.streetFromM || a.name.localeCompare(b.name),
    )
  }

  function drawZones(panel: Panel, m: Messages): void {
    const footfall = state.footfall
    if (!state.zones || !footfall) {
      panel.body.replaceChildren(
        h(doc, 'p', { class: 'placeholder loading' }, [state.errors.zones ? '' : m.chart.loading]),
      )
      return
    }
    const streetZones = orderedZones().filter((z) => z.kind !== 'shop')
    const wasOpen = panel.body.querySelector<HTMLDetailsElement>('details.table-details')?.open
    const chart = h(doc, 'div', { class: 'chart-inner' })
    panel.body.replaceChildren(chart)
    renderFootfallBars(
      chart,
      { zones: streetZones, totals: footfall.totals },
      {
        width: widthOf(panel.body),
        locale: m.locale,
        labels: {
          passersBy: m.footfall.passersBy,
          visitors: m.footfall.visitors,
          axis: m.footfall.axis,
          empty: m.footfall.empty,
        },
      },
    )
    const hasTransits = footfall.totals.some((total) => total.passersBy + total.visitors > 0)
    if (hasTransits) {
      const table = renderTotalsTable(m, orderedZones(), footfall)
      table.open = wasOpen ?? false
      panel.body.append(table)
    }
  }

  function renderTotalsTable(
    m: Messages,
    zones: ZoneDto[],
    footfall: FootfallDetailResponse,
  ): HTMLDetailsElement {
    const format = createCountFormat(m.locale)
    const totalsById = new Map(footfall.totals.map((total) => [total.zoneId, total]))
    const number = (value: number) => h(doc, 'td', { class: 'num' }, [format(value)])
    return h(doc, 'details', { class: 'table-details' }, [
      h(doc, 'summary', {}, [m.footfall.tableCaption(m.footfall.ranges[state.range])]),
      h(doc, 'div', { class: 'table-wrap' }, [
        h(doc, 'table', { class: 'totals' }, [
          h(doc, 'thead', {}, [
            h(doc, 'tr', {}, [
              h(doc, 'th', { scope: 'col' }, [m.footfall.zone]),
              h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.passersBy]),
              h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.visitors]),
            ]),
          ]),
          h(
            doc,
            'tbody',
            {},
            zones.map((zone) => {
              const total = totalsById.get(zone.id)
              return h(doc, 'tr', {}, [
                h(doc, 'th', { scope: 'row' }, [zone.name]),
                number(total?.passersBy ?? 0),
                number(total?.visitors ?? 0),
              ])
            }),
          ),
        ]),
      ]),
    ])
  }

  function drawSeries(panel: Panel, m: Messages): void {
    const data: TimeSeriesData | null = state.series
    const labels = {
      loading: m.chart.loading,
      empty: m.chart.empty,
      current: m.district.current[state.period],
      baseline: m.district.baseline[state.period][state.mode],
      yAxis: m.district.seriesAxis[state.period],
    }
    drawChartAndTable(
      panel.body,
      (container) =>
        renderTimeSeries(container, data, {
          width: widthOf(panel.body),
          height: 280,
          locale: m.locale,
          timeZone: ctx.timeZone,
          labels,
        }),
      data && data.current.some((p) => p.value > 0)
        ? seriesTable(data, m, ctx.timeZone, labels)
        : null,
    )
  }

  function drawHeatmap(panel: Panel, m: Messages): void {
    const dates = createDateFormats(m.locale, ctx.timeZone)
    const data = state.heatmap
      ? {
          cells: state.heatmap.cells.map((cell) => ({
            weekday: cell.weekday,
            hour: cell.hour,
            value: cell.hours === 0 ? null : (cell.meanPassersBy ?? 0) + (cell.meanVisitors ?? 0),
          })),
        }
      : null
    const hasValues = data?.cells.some((c) => (c.value ?? 0) > 0) ?? false
    drawChartAndTable(
      panel.body,
      (container) => renderHeatmap(container, data, heatmapOptions(panel, m, dates.weekdaysShort)),
      data && hasValues ? heatmapTable(data, m, dates.weekdaysShort) : null,
    )
  }

  function heatmapOptions(panel: Panel, m: Messages, weekdays: readonly string[]): HeatmapOptions {
    return {
      width: widthOf(panel.body),
      locale: m.locale,
      labels: {
        loading: m.chart.loading,
        empty: m.chart.empty,
        weekdays,
        hourAxis: m.district.hourAxis,
        value: m.district.heatmapValue,
        noData: m.chart.noData,
        busiest: m.district.busiest,
      },
    }
  }

  function drawShops(panel: Panel, m: Messages): void {
    const totals = new Map((state.footfall?.totals ?? []).map((t) => [t.zoneId, t]))
    const data =
      state.shops && state.footfall
        ? {
            shops: state.shops.map((shop) => ({
              id: shop.id,
              name: shop.name,
              captureRate: totals.get(shop.zoneId)?.captureRate ?? null,
              dwellMeanS: totals.get(shop.zoneId)?.dwellMeanS ?? null,
            })),
          }
        : null
    drawChartAndTable(
      panel.body,
      (container) =>
        renderShopMetrics(container, data, {
          width: widthOf(panel.body),
          locale: m.locale,
          labels: {
            loading: m.chart.loading,
            empty: m.chart.empty,
            captureRate: m.district.captureRate,
            dwell: m.district.dwell,
            noVisitors: m.district.noVisitors,
          },
        }),
      data ? shopsTable(data, m) : null,
    )
  }

  function drawFlows(panel: Panel, m: Messages): void {
    const data =
      state.zones && state.flows
        ? { zones: state.zones, cells: state.flows.cells, k: state.flows.k }
        : null
    drawChartAndTable(
      panel.body,
      (container) =>
        renderFlowsArcs(container, data, {
          width: widthOf(panel.body),
          locale: m.locale,
          labels: {
            loading: m.chart.loading,
            empty: m.district.noFlows,
            forward: m.district.forward,
            backward: m.district.backward,
            suppressed: m.district.suppressed,
            flow: m.district.flow,
            flowsUnit: m.district.flowsUnit,
            travel: m.district.travel,
          },
        }),
      data ? flowsTable(data, m) : null,
    )
  }

  function drawEvents(_panel: Panel, m: Messages): void {
    drawEventZones(m)
    const target = eventsList
    if (!target) return
    const notices = [
      h(doc, 'p', { class: 'events-status', role: 'status' }, [state.eventsStatus]),
      h(doc, 'p', { class: 'error events-error', role: 'alert' }, [state.eventsError]),
    ]
    if (!state.events) {
      target.replaceChildren(
        ...notices,
        h(doc, 'p', { class: 'placeholder loading' }, [state.errors.events ? '' : m.chart.loading]),
      )
      return
    }
    if (state.events.length === 0) {
      target.replaceChildren(
        ...notices,
        h(doc, 'p', { class: 'placeholder' }, [m.district.noEvents]),
      )
      return
    }
    const dates = createDateFormats(m.locale, ctx.timeZone)
    const count = createCountFormat(m.locale)
    const pct = createDeltaPercentFormat(m.locale)
    const cell = (rows: UpliftRow[] | undefined, metric: UpliftRow['metric']) => {
      const row = rows?.find((r) => r.zoneId === null && r.metric === metric)
      if (!row) return h(doc, 'td', { class: 'num muted' }, [m.district.notMeasured])
      const ratio = row.ratio === null ? null : (row.ratio - 1) * 100
      const tone = ratio === null ? 'none' : ratio > 0.05 ? 'up' : ratio < -0.05 ? 'down' : 'flat'
      return h(doc, 'td', { class: 'num' }, [
        h(doc, 'span', { class: 'uplift-value' }, [count(row.event)]),
        ' ',
        h(doc, 'span', { class: `uplift tone-${tone}` }, [ratio === null ? '' : pct(ratio)]),
        h(doc, 'br'),
        h(doc, 'span', { class: 'muted' }, [
          row.baselineMean === null
            ? m.kpi.noBaseline
            : `${m.district.usual} ${count(row.baselineMean)}${row.baselineMin === null || row.baselineMax === null ? '' : ` (${count(row.baselineMin)}–${count(row.baselineMax)})`}`,
        ]),
      ])
    }
    target.replaceChildren(
      ...notices,
      h(doc, 'div', { class: 'table-wrap' }, [
        h(doc, 'table', { class: 'events' }, [
          h(doc, 'thead', {}, [
            h(doc, 'tr', {}, [
              h(doc, 'th', { scope: 'col' }, [m.district.event]),
              h(doc, 'th', { scope: 'col' }, [m.district.when]),
              h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.passersBy]),
              h(doc, 'th', { scope: 'col', class: 'num' }, [m.footfall.visitors]),
              ...(canEditEvents ? [h(doc, 'th', { scope: 'col' }, [m.eventForm.actions])] : []),
            ]),
          ]),
          h(
            doc,
            'tbody',
            {},
            state.events.map(({ event, uplift }) =>
              h(doc, 'tr', { 'data-event-id': event.id }, [
                h(doc, 'th', { scope: 'row' }, [
                  event.name,
                  h(doc, 'br'),
                  h(doc, 'span', { class: 'muted' }, [
                    uplift ? m.district.status[uplift.status] : '',
                  ]),
                ]),
                h(doc, 'td', {}, [
                  `${dates.dayTime(new Date(event.from))} – ${dates.dayTime(new Date(event.to))}`,
                ]),
                cell(uplift?.rows, 'passersBy'),
                cell(uplift?.rows, 'visitors'),
                ...(canEditEvents ? [h(doc, 'td', {}, eventActions(m, event))] : []),
              ]),
            ),
          ),
        ]),
      ]),
    )
  }

  function eventActions(m: Messages, event: EventDto): HTMLElement[] {
    const button = (action: string, label: string, ariaLabel: string, onClick: () => void) => {
      const b = h(
        doc,
        'button',
        {
          type: 'button',
          class: action === 'confirm-delete' ? 'button-danger' : 'button-secondary',
          'data-action': action,
          'data-event-id': event.id,
          'aria-label': ariaLabel,
        },
        [label],
      )
      b.addEventListener('click', onClick)
      return b
    }
    if (state.confirmDelete !== event.id) {
      return [
        button('delete', m.eventForm.delete, m.eventForm.deleteLabel(event.name), () => {
          state.confirmDelete = event.id
          redrawEventsFocusing(`button[data-action="confirm-delete"][data-event-id="${event.id}"]`)
        }),
      ]
    }
    return [
      h(doc, 'span', { class: 'event-actions' }, [
        button('confirm-delete', m.eventForm.confirm, m.eventForm.confirmLabel(event.name), () => {
          void removeEvent(event)
        }),
        button('cancel-delete', m.eventForm.cancel, m.eventForm.cancel, () => {
          state.confirmDelete = null
          redrawEventsFocusing(`button[data-action="delete"][data-event-id="${event.id}"]`)
        }),
      ]),
    ]
  }

  function redrawEventsFocusing(selector: string): void {
    draw('events')
    eventsList?.querySelector<HTMLElement>(selector)?.focus()
  }

  async function removeEvent(event: EventDto): Promise<void> {
    const m = t()
    try {
      await client.deleteEvent(event.id)
      if (destroyed) return
      state.eventsStatus = m.eventForm.deleted(event.name)
      state.eventsError = ''
      state.confirmDelete = null
      if (state.events) state.events = state.events.filter((e) => e.event.id !== event.id)
      draw('events')
      // The row and its buttons are gone: focus lands on the panel's heading, the status is announced.
      panels.events?.section.querySelector<HTMLElement>('h2')?.focus()
      void loadEvents()
    } catch (error) {
      if (destroyed || rethrowUnauthorised(ctx, error)) return
      state.eventsStatus = ''
      state.eventsError = m.eventForm.deleteFailed(refusalOf(m, error))
      state.confirmDelete = null
      redrawEventsFocusing(`button[data-action="delete"][data-event-id="${event.id}"]`)
    }
  }

  /** The server's own words for a refused request (its validation message), else ours. */
  function refusalOf(m: Messages, error: unknown): string {
    if (error instanceof ApiError && (error.code === 'http_error' || error.code === 'not_found')) {
      return error.message
    }
    return messageFor(m, error)
  }

  function renderEventForm(m: Messages): HTMLElement {
    const tz = ctx.timeZone
    const nextHour = new Date(Math.ceil(ctx.now().getTime() / HOUR_MS) * HOUR_MS)
    const name = h(doc, 'input', {
      id: 'event-name',
      name: 'name',
      type: 'text',
      maxlength: 120,
      autocomplete: 'off',
      required: true,
      'aria-describedby': 'event-form-error',
    })
    const from = h(doc, 'input', {
      id: 'event-from',
      name: 'from',
      type: 'datetime-local',
      required: true,
      'aria-describedby': 'event-form-error',
    })
    from.value = localInputValue(nextHour, tz)
    const to = h(doc, 'input', {
      id: 'event-to',
      name: 'to',
      type: 'datetime-local',
      required: true,
      'aria-describedby': 'event-form-error',
    })
    to.value = localInputValue(new Date(nextHour.getTime() + 2 * HOUR_MS), tz)
    eventZones = h(doc, 'div', { class: 'zone-options' })
    const zonesField = h(
      doc,
      'fieldset',
      { class: 'event-zones', id: 'event-zones', 'aria-describedby': 'event-form-error' },
      [h(doc, 'legend', {}, [m.eventForm.zones]), eventZones],
    )
    const error = h(doc, 'p', { id: 'event-form-error', class: 'error', role: 'alert' })
    const submit = h(doc, 'button', { type: 'submit', class: 'button-primary' }, [
      m.eventForm.submit,
    ])
    const field = (label: string, input: HTMLInputElement) =>
      h(doc, 'div', { class: 'field' }, [h(doc, 'label', { for: input.id }, [label]), input])
    const form = h(
      doc,
      'form',
      { class: 'event-form', novalidate: true, 'aria-labelledby': 'event-form-heading' },
      [
        h(doc, 'h3', { id: 'event-form-heading' }, [m.eventForm.heading]),
        field(m.eventForm.name, name),
        zonesField,
        h(doc, 'div', { class: 'field-row' }, [
          field(m.eventForm.start(tz), from),
          field(m.eventForm.end(tz), to),
        ]),
        error,
        submit,
      ],
    )
    const fields = { name, zones: zonesField, from, to }
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      if (submit.disabled) return
      const zones = [
        ...(eventZones?.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked') ?? []),
      ].map((box) => box.value)
      const instant = (input: HTMLInputElement) =>
        instantOfLocal(input.value, tz)?.toISOString() ?? input.value
      const request = { name: name.value, zones, from: instant(from), to: instant(to) }
      for (const f of Object.values(fields)) f.removeAttribute('aria-invalid')
      error.textContent = ''
      submit.disabled = true
      submit.textContent = t().eventForm.submitting
      void (async () => {
        const m = t()
        try {
          const created = await client.createEvent(request)
          if (destroyed) return
          state.eventsStatus = m.eventForm.added(created.name)
          state.eventsError = ''
          name.value = ''
          for (const box of eventZones?.querySelectorAll('input') ?? []) box.checked = false
          draw('events')
          void loadEvents()
        } catch (failure) {
          if (destroyed || rethrowUnauthorised(ctx, failure)) return
          error.textContent = m.eventForm.refused(refusalOf(m, failure))
          const invalid = invalidFields(failure)
          for (const key of invalid) fields[key].setAttribute('aria-invalid', 'true')
          const first = invalid[0]
          if (first === 'zones') {
            eventZones?.querySelector<HTMLInputElement>('input')?.focus()
          } else if (first) {
            fields[first].focus()
          }
        } finally {
          submit.disabled = false
          submit.textContent = t().eventForm.submit
        }
      })()
    })
    return form
  }

  /** The checkboxes of the zones an event may name, kept (and their ticks) across refreshes. */
  function drawEventZones(m: Messages): void {
    if (!eventZones || !state.zones) return
    const zones = orderedZones()
    const ids = zones.map((z) => z.id).join(',')
    if (ids === eventZoneIds) return
    eventZoneIds = ids
    const checked = new Set(
      [...eventZones.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value),
    )
    eventZones.replaceChildren(
      ...zones.map((zone) => {
        const id = `event-zone-${zone.id}`
        const box = h(doc, 'input', {
          type: 'checkbox',
          id,
          name: 'zones',
          value: zone.id,
          checked: checked.has(zone.id),
        })
        return h(doc, 'div', { class: 'zone-option' }, [
          box,
          h(doc, 'label', { for: id }, [zone.name]),
        ])
      }),
    )
    if (zones.length === 0) eventZones.append(h(doc, 'p', { class: 'muted' }, [m.chart.empty]))
  }

  function drawQuality(panel: Panel, m: Messages): void {
    const gateways = state.gateways
    if (!gateways) {
      panel.body.replaceChildren(
        h(doc, 'p', { class: 'placeholder loading' }, [
          state.errors.quality ? '' : m.chart.loading,
        ]),
      )
      return
    }
    const count = createCountFormat(m.locale)
    const decimal = createDecimalFormat(m.locale, 0)
    const active = gateways.filter((g) => g.health !== 'inactive')
    const ok = active.filter((g) => g.health === 'ok')
    const problems = gateways.filter((g) => g.health !== 'ok')
    const zoneName = new Map((state.zones ?? []).map((z) => [z.id, z.name]))
    const healthMark = (health: GatewayDto['health']) => {
      const svg = doc.createElementNS('http://www.w3.org/2000/svg', 'svg')
      svg.setAttribute('width', '14')
      svg.setAttribute('height', '14')
      svg.setAttribute('viewBox', '-7 -7 14 14')
      svg.setAttribute('aria-hidden', 'true')
      const path = doc.createElementNS('http://www.w3.org/2000/svg', 'path')
      path.setAttribute('d', healthStyle[health].path)
      path.setAttribute('fill', healthStyle[health].fill)
      svg.append(path)
      return svg
    }
    const gatewayBlock = h(doc, 'div', { class: 'quality-block' }, [
      h(doc, 'p', { class: 'quality-headline' }, [
        healthMark(problems.length === 0 ? 'ok' : 'silent'),
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
                    h(doc, 'td', {}, [healthMark(g.health), ' ', m.district.health[g.health]]),
                    h(doc, 'td', { class: 'num' }, [
                      g.silentS === null
                        ? m.quality.never
                        : m.quality.secondsAgo(decimal(g.silentS)),
                    ]),
                  ]),
                ),
              ),
            ]),
          ]),
    ])
    const ingest = state.ingest
    let deadLetterBlock: HTMLElement
    if (ingest === 'not-admin') {
      deadLetterBlock = h(doc, 'p', { class: 'muted' }, [m.quality.deadLettersAdminOnly])
    } else if (ingest === null) {
      deadLetterBlock = h(doc, 'p', { class: 'muted' }, [
        state.errors.quality ? '' : m.chart.loading,
      ])
    } else {
      const rejected = ingest.hours.reduce((n, hour) => n + hour.rejected, 0)
      const batches = ingest.hours.reduce((n, hour) => n + hour.batches, 0)
      const all = batches + rejected
      const percent = createPercentFormat(m.locale, 2)
      deadLetterBlock = h(doc, 'div', { class: 'quality-block dead-letters' }, [
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
    panel.body.replaceChildren(
      h(doc, 'div', { class: 'quality' }, [
        gatewayBlock,
        deadLetterBlock,
        ...(isAdmin ? [renderDeadLetters(m)] : []),
      ]),
    )
  }

  /** The newest dead letters, a page at a time; the server has already redacted MACs. */
  function renderDeadLetters(m: Messages): HTMLElement {
    const list = state.deadLetters
    const block = h(doc, 'div', { class: 'quality-block dead-letter-list wide' }, [
      h(doc, 'h3', { id: 'dead-letter-heading' }, [m.quality.latest]),
    ])
    if (!list) {
      block.append(h(doc, 'p', { class: 'muted' }, [state.errors.quality ? '' : m.chart.loading]))
      return block
    }
    if (list.total === 0 || list.items.length === 0) {
      block.append(h(doc, 'p', { class: 'muted empty-dead-letters' }, [m.quality.noDeadLetters]))
      if (list.total === 0) return block
    }
    const dates = createDateFormats(m.locale, ctx.timeZone)
    const count = createCountFormat(m.locale)
    const pages = Math.max(1, Math.ceil(list.total / list.pageSize))
    // Defence in depth: the server redacts MAC addresses, and nothing MAC-shaped is drawn anyway.
    const safe = (text: string) => redactMacs(text)
    if (list.items.length > 0) {
      block.append(
        h(doc, 'div', { class: 'table-wrap' }, [
          h(
            doc,
            'table',
            { class: 'dead-letters-table', 'aria-labelledby': 'dead-letter-heading' },
            [
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
            ],
          ),
        ]),
      )
    }
    const pageButton = (direction: 'newer' | 'older', label: string, page: number) => {
      const button = h(
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
      button.addEventListener('click', () => {
        state.deadLetterPage = page
        void loadDeadLetters().then(() => {
          const again = panels.quality?.body.querySelector<HTMLButtonElement>(
            `button[data-page="${direction}"]`,
          )
          const other = panels.quality?.body.querySelector<HTMLButtonElement>(
            `button[data-page="${direction === 'older' ? 'newer' : 'older'}"]`,
          )
          ;(again && !again.disabled ? again : other)?.focus()
        })
      })
      return button
    }
    block.append(
      h(doc, 'nav', { class: 'pager', 'aria-label': m.quality.pages }, [
        pageButton('newer', m.quality.newer, list.page - 1),
        h(doc, 'span', { class: 'pager-status', 'aria-live': 'polite' }, [
          m.quality.page(list.page, pages, count(list.total)),
        ]),
        pageButton('older', m.quality.older, list.page + 1),
      ]),
    )
    return block
  }

  function drawDownloads(panel: Panel, m: Messages): void {
    const now = ctx.now()
    const day = localInputValue(now, ctx.timeZone).slice(0, 10)
    const range = footfallRequestFor(state.range, now, ctx.timeZone)
    const rangeName = m.footfall.ranges[state.range]
    const files: { kind: string; label: string; path: string; params: Record<string, string> }[] = [
      {
        kind: 'footfall',
        label: m.downloads.footfall(rangeName),
        path: 'footfall',
        params: { ...range },
      },
      {
        kind: 'heatmap',
        label: m.downloads.heatmap,
        path: 'footfall/heatmap',
        params: {
          from: localMidnight(now, ctx.timeZone, 28).toISOString(),
          to: now.toISOString(),
        },
      },
      {
        kind: 'flows',
        label: m.downloads.flows(rangeName),
        path: 'flows',
        params: { from: range.from, to: range.to },
      },
      { kind: 'events', label: m.downloads.events, path: 'events', params: {} },
    ]
    panel.body.replaceChildren(
      h(
        doc,
        'div',
        { class: 'downloads' },
        files.map((file) => {
          const button = h(
            doc,
            'button',
            { type: 'button', class: 'button-secondary download', 'data-csv': file.kind },
            [h(doc, 'span', { 'aria-hidden': 'true' }, ['⤓ ']), file.label],
          )
          button.addEventListener('click', () => {
            const suffix =
              file.kind === 'footfall' || file.kind === 'flows' ? `-${state.range}` : ''
            void download(
              `miglio-district-${file.kind}${suffix}-${day}.csv`,
              file.path,
              file.params,
            )
          })
          return button
        }),
      ),
      h(doc, 'p', { class: 'error', role: 'alert' }, [state.downloadError ?? '']),
    )
  }

  async function download(
    name: string,
    path: string,
    params: Record<string, string>,
  ): Promise<void> {
    try {
      const text = await client.csv(path, params)
      state.downloadError = null
      ctx.saveFile(name, text, 'text/csv')
    } catch (error) {
      if (rethrowUnauthorised(ctx, error)) return
      state.downloadError = t().downloads.failed
    }
    draw('downloads')
  }

  function drawLive(): void {
    if (!liveLine) return
    drawLiveStatus(
      liveLine,
      t(),
      { status: state.liveStatus, at: state.liveAt, retryInMs: state.retryInMs },
      ctx.timeZone,
    )
  }

  function drawUpdated(): void {
    if (!updatedLine) return
    const m = t()
    const dates = createDateFormats(m.locale, ctx.timeZone)
    updatedLine.textContent = [
      updatedAt ? m.footfall.updatedAt(dates.time(updatedAt)) : m.footfall.loading,
      m.footfall.autoRefresh,
    ].join(' · ')
  }

  void refresh()
  startLive()

  return {
    render,
    resize() {
      for (const key of ['map', 'zones', 'series', 'heatmap', 'shops', 'flows'] as const) draw(key)
    },
    destroy() {
      destroyed = true
      ctx.clearInterval(timer)
      live?.stop()
    },
  }
}

/** Sums all zones per bucket, fills empty buckets with 0 and shifts the times by `shiftMs`. */
export function sumByBucket(
  response: FootfallDetailResponse,
  fromMs: number,
  toMs: number,
  stepMs: number,
  shiftMs: number,
): TimePoint[] {
  const sums = new Map<number, number>()
  for (const row of response.rows) {
    const t = Date.parse(row.bucketStart)
    sums.set(t, (sums.get(t) ?? 0) + row.passersBy + row.visitors)
  }
  const points: TimePoint[] = []
  for (let t = fromMs; t < toMs; t += stepMs) {
    points.push({ t: new Date(t + shiftMs).toISOString(), value: sums.get(t) ?? 0 })
  }
  return points
}

/** Form fields an API refusal names (`body.name: …; to: must be …`, `zone x does not exist`). */
export function invalidFields(error: unknown): ('name' | 'zones' | 'from' | 'to')[] {
  if (!(error instanceof ApiError)) return []
  const found = new Set<string>()
  for (const part of error.message.split(/;\s*/)) {
    const field = /^(?:body\.)?(name|zones|from|to)\b/.exec(part)?.[1]
    if (field) found.add(field)
    else if (/^zone \S+ does not exist/.test(part)) found.add('zones')
  }
  return (['name', 'zones', 'from', 'to'] as const).filter((f) => found.has(f))
}
