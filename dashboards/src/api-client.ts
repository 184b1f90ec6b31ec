import type { z } from 'zod'
import {
  CompareResponseSchema,
  DeadLettersResponseSchema,
  DeviceCountsResponseSchema,
  DistrictResponseSchema,
  ErrorBodySchema,
  EventDtoSchema,
  EventsResponseSchema,
  FlowsResponseSchema,
  FootfallDetailResponseSchema,
  FootfallResponseSchema,
  GatewaysResponseSchema,
  HeatmapResponseSchema,
  IngestStatsResponseSchema,
  MeResponseSchema,
  ShopPeopleResponseSchema,
  ShopSummarySchema,
  ShopsResponseSchema,
  UpliftResponseSchema,
  ZonePeopleResponseSchema,
  DistrictPeopleResponseSchema,
  ZonesResponseSchema,
  type CompareResponse,
  type DeadLettersResponse,
  type DeviceCountsResponse,
  type DistrictResponse,
  type EventCreate,
  type EventDto,
  type EventsResponse,
  type FlowsResponse,
  type FootfallBucket,
  type FootfallDetailResponse,
  type FootfallResponse,
  type GatewaysResponse,
  type HeatmapResponse,
  type IngestStatsResponse,
  type MeResponse,
  type PeopleBucketName,
  type ShopPeopleResponse,
  type ShopSummary,
  type ShopsResponse,
  type UpliftResponse,
  type ZonePeopleResponse,
  type DistrictPeopleResponse,
  type ZonesResponse,
} from '../../services/shared/contracts/api.ts'
import {
  CalibrationListResponseSchema,
  CountSessionDtoSchema,
  type CalibrationListResponse,
  type CountSessionCreate,
  type CountSessionDto,
} from '../../services/shared/contracts/calibration.ts'
import {
  PublicCrowdResponseSchema,
  type PublicCrowdResponse,
} from '../../services/shared/contracts/api.ts'
import {
  AlertSchema,
  AlertsResponseSchema,
  DemoHistoryResponseSchema,
  ExpectedResponseSchema,
  type Alert,
  type AlertsResponse,
  type DemoHistoryResponse,
  type ExpectedResponse,
} from '../../services/shared/contracts/ranges-api.ts'

import {
  ContextImportResponseSchema,
  ContextSeriesResponseSchema,
  ExcludedDaySchema,
  ExcludedDaysResponseSchema,
  ForecastResponseSchema,
  type ContextSeriesResponse,
  type ForecastResponse,
} from '../../services/shared/contracts/outlook-api.ts'

export type ApiErrorCode =
  'unauthorised' | 'forbidden' | 'not_found' | 'bad_response' | 'http_error' | 'network_error'

export class ApiError extends Error {
  readonly code: ApiErrorCode
  readonly status: number | undefined

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'ApiError'
    this.code = code
    this.status = options.status
  }
}

export interface FootfallRequest {
  from: string
  to: string
  bucket: FootfallBucket
}

export interface Scope {
  zone?: string | undefined
  shop?: string | undefined
}

export interface RangeRequest extends Scope {
  from: string
  to: string
}

export interface ApiClient {
  me(): Promise<MeResponse>
  district(): Promise<DistrictResponse>
  zones(): Promise<ZonesResponse>
  shops(): Promise<ShopsResponse>
  shopSummary(shopId: string): Promise<ShopSummary>
  gateways(): Promise<GatewaysResponse>
  footfall(request: FootfallRequest): Promise<FootfallResponse>
  footfallDetail(request: FootfallRequest & Scope): Promise<FootfallDetailResponse>
  heatmap(request: RangeRequest): Promise<HeatmapResponse>
  compare(request: RangeRequest & { mode: 'wow' | 'yoy' }): Promise<CompareResponse>
  /** Count sources' device counts (Paxcounter): devices, not pedestrians. */
  deviceCounts(
    request: FootfallRequest & Scope & { gateway?: string },
  ): Promise<DeviceCountsResponse>
  /** People present and arriving in a zone, with 90 % intervals (`GET /zones/:id/people`). */
  zonePeople(
    zoneId: string,
    request: { from: string; to: string; bucket: PeopleBucketName },
  ): Promise<ZonePeopleResponse>
  /** Every zone's people added up, in one request (`GET /district/people`). */
  districtPeople(request: {
    from: string
    to: string
    bucket: PeopleBucketName
  }): Promise<DistrictPeopleResponse>
  /** People inside and in front of a shop (`GET /shops/:id/people`). */
  shopPeople(
    shopId: string,
    request: { from: string; to: string; bucket: PeopleBucketName },
  ): Promise<ShopPeopleResponse>
  flows(request: { from: string; to: string; zone?: string }): Promise<FlowsResponse>
  events(request: { from: string; to: string }): Promise<EventsResponse>
  /** `POST /events`; a refused body throws an ApiError carrying the server's message. */
  createEvent(event: EventCreate): Promise<EventDto>
  deleteEvent(eventId: string): Promise<void>
  uplift(eventId: string): Promise<UpliftResponse>
  ingestStats(request: { from: string; to: string }): Promise<IngestStatsResponse>
  /** Newest first; MACs are redacted by the server. */
  deadLetters(request: { page: number; pageSize: number }): Promise<DeadLettersResponse>
  publicCrowd(): Promise<PublicCrowdResponse>
  /** `GET /calibration`: versions per gateway with quality and reminders (analyst, admin). */
  calibration(): Promise<CalibrationListResponse>
  /** `POST /calibration/sessions`; a refused count throws an ApiError carrying the reason. */
  createCountSession(session: CountSessionCreate): Promise<CountSessionDto>
  /** The next `days` days by hour with a 90 % interval (no zone or shop: the district). */
  forecast(request: Scope & { days: number }): Promise<ForecastResponse>
  /** Imported context values in a range (analysts). */
  contextSeries(request: {
    from: string
    to: string
    zone?: string
  }): Promise<ContextSeriesResponse>
  /** `POST /context/imports`: a context CSV, all rows or none (a refusal names the bad rows). */
  importContext(csv: string, source: string): Promise<z.infer<typeof ContextImportResponseSchema>>
  /** Local days flagged out of baselines and forecasts (analysts). */
  excludedDays(): Promise<z.infer<typeof ExcludedDaysResponseSchema>>
  /** Flags a local day of the district (zone null) or of one zone. */
  flagDay(request: {
    day: string
    zone: string | null
    reason: string
  }): Promise<z.infer<typeof ExcludedDaySchema>>
  unflagDay(id: string): Promise<void>
  /** A shop's (or, without a shop, the district's) monthly report as a file: HTML or PDF. */
  report(request: {
    shopId: string | null
    month: string
    lang: 'it' | 'en'
    format: 'html' | 'pdf'
  }): Promise<Blob>
  /** Each zone's value with its usual value and band (expected range) per bucket. */
  expected(request: {
    from: string
    to: string
    bucket: '15m' | '1h'
    zone?: string
    shop?: string
  }): Promise<ExpectedResponse>
  demoHistory(): Promise<DemoHistoryResponse>
  alerts(state: 'open' | 'all'): Promise<AlertsResponse>
  acknowledgeAlert(alertId: string): Promise<Alert>
  /** A tabular endpoint as CSV text (the key travels in the header, never in the URL). */
  csv(path: string, params: Record<string, string | undefined>): Promise<string>
}

export interface ApiClientDeps {
  baseUrl: string
  getKey: () => string | null
  fetch: typeof globalThis.fetch
}

function query(params: Record<string, string | undefined>): string {
  const defined = Object.entries(params).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  )
  return defined.length === 0 ? '' : `?${new URLSearchParams(defined)}`
}

/** The ApiError of a refused response: its code by status, the message from the error body. */
function failure(response: Response, text: string): ApiError {
  const parsedError = ErrorBodySchema.safeParse(parseJson(text))
  const message = parsedError.success ? parsedError.data.error.message : response.statusText
  const code: ApiErrorCode =
    response.status === 401
      ? 'unauthorised'
      : response.status === 403
        ? 'forbidden'
        : response.status === 404
          ? 'not_found'
          : 'http_error'
  return new ApiError(code, message, { status: response.status })
}

/** A monthly report as a file (HTML or PDF): the one request that answers a Blob. */
async function fetchReport(
  deps: { root: string; getKey: () => string | null; fetch: typeof globalThis.fetch },
  { shopId, month, lang, format }: Parameters<ApiClient['report']>[0],
): Promise<Blob> {
  const scope = shopId === null ? '/district' : `/shops/${encodeURIComponent(shopId)}`
  const path = `/api/v1${scope}/reports/${month}.${format}${query({ lang })}`
  const key = deps.getKey()
  const headers: Record<string, string> = {}
  if (key) headers.Authorization = `Bearer ${key}`
  let response: Response
  try {
    response = await deps.fetch(`${deps.root}${path}`, { headers })
  } catch (error) {
    throw new ApiError('network_error', `GET ${path} failed`, { cause: error })
  }
  if (!response.ok) throw failure(response, await response.text())
  return response.blob()
}

type GetJson = <S extends z.ZodType>(
  path: string,
  schema: S,
  send?: { method: 'POST'; json?: unknown; csv?: string },
) => Promise<z.infer<S>>

/** Context imports and flagged days (issue #17, analysts). */
function contextClient(
  getJson: GetJson,
  remove: (path: string) => Promise<void>,
): Pick<ApiClient, 'importContext' | 'excludedDays' | 'flagDay' | 'unflagDay'> {
  return {
    importContext: (csv, source) =>
      getJson(`/api/v1/context/imports${query({ source })}`, ContextImportResponseSchema, {
        method: 'POST',
        csv,
      }),
    excludedDays: () => getJson('/api/v1/context/excluded-days', ExcludedDaysResponseSchema),
    flagDay: ({ day, zone, reason }) =>
      getJson('/api/v1/context/excluded-days', ExcludedDaySchema, {
        method: 'POST',
        json: { day, zone, reason },
      }),
    unflagDay: (id) => remove(`/api/v1/context/excluded-days/${encodeURIComponent(id)}`),
  }
}

export function createApiClient({ baseUrl, getKey, fetch }: ApiClientDeps): ApiClient {
  const root = baseUrl.replace(/\/+$/, '')

  async function request(
    path: string,
    accept: string,
    send: { method: 'POST' | 'DELETE'; json?: unknown; csv?: string } | undefined = undefined,
  ): Promise<{ response: Response; text: string }> {
    const key = getKey()
    const headers: Record<string, string> = { Accept: accept }
    if (key) headers.Authorization = `Bearer ${key}`
    const init: RequestInit = { headers }
    if (send) {
      init.method = send.method
      if (send.json !== undefined) {
        headers['Content-Type'] = 'application/json'
        init.body = JSON.stringify(send.json)
      } else if (send.csv !== undefined) {
        headers['Content-Type'] = 'text/csv'
        init.body = send.csv
      }
    }
    try {
      const response = await fetch(`${root}${path}`, init)
      const text = await response.text()
      return { response, text }
    } catch (error) {
      throw new ApiError('network_error', `${send?.method ?? 'GET'} ${path} failed`, {
        cause: error,
      })
    }
  }

  async function getJson<S extends z.ZodType>(
    path: string,
    schema: S,
    send?: { method: 'POST'; json?: unknown; csv?: string },
  ): Promise<z.infer<S>> {
    const { response, text } = await request(path, 'application/json', send)
    if (!response.ok) throw failure(response, text)
    const parsed = schema.safeParse(parseJson(text))
    if (!parsed.success) {
      throw new ApiError('bad_response', `${send?.method ?? 'GET'} ${path}: unexpected body`, {
        status: response.status,
        cause: parsed.error,
      })
    }
    return parsed.data
  }

  async function remove(path: string): Promise<void> {
    const { response, text } = await request(path, 'application/json', { method: 'DELETE' })
    if (!response.ok) throw failure(response, text)
  }

  return {
    me: () => getJson('/api/v1/me', MeResponseSchema),
    district: () => getJson('/api/v1/district', DistrictResponseSchema),
    zones: () => getJson('/api/v1/zones', ZonesResponseSchema),
    shops: () => getJson('/api/v1/shops', ShopsResponseSchema),
    shopSummary: (shopId) =>
      getJson(`/api/v1/shops/${encodeURIComponent(shopId)}/summary`, ShopSummarySchema),
    gateways: () => getJson('/api/v1/gateways', GatewaysResponseSchema),
    footfall: ({ from, to, bucket }) =>
      getJson(`/api/v1/footfall${query({ from, to, bucket })}`, FootfallResponseSchema),
    expected: ({ from, to, bucket, zone, shop }) =>
      getJson(
        `/api/v1/footfall/expected${query({ from, to, bucket, zone, shop })}`,
        ExpectedResponseSchema,
      ),
    demoHistory: () => getJson('/api/v1/demo-history', DemoHistoryResponseSchema),
    alerts: (state) => getJson(`/api/v1/alerts${query({ state })}`, AlertsResponseSchema),
    acknowledgeAlert: (alertId) =>
      getJson(`/api/v1/alerts/${encodeURIComponent(alertId)}/acknowledge`, AlertSchema, {
        method: 'POST',
        json: {},
      }),
    footfallDetail: ({ from, to, bucket, zone, shop }) =>
      getJson(
        `/api/v1/footfall${query({ from, to, bucket, zone, shop })}`,
        FootfallDetailResponseSchema,
      ),
    heatmap: ({ from, to, zone, shop }) =>
      getJson(`/api/v1/footfall/heatmap${query({ from, to, zone, shop })}`, HeatmapResponseSchema),
    compare: ({ from, to, mode, zone, shop }) =>
      getJson(
        `/api/v1/footfall/compare${query({ from, to, mode, zone, shop })}`,
        CompareResponseSchema,
      ),
    deviceCounts: ({ from, to, bucket, gateway, zone, shop }) =>
      getJson(
        `/api/v1/device-counts${query({ from, to, bucket, gateway, zone, shop })}`,
        DeviceCountsResponseSchema,
      ),
    zonePeople: (zoneId, { from, to, bucket }) =>
      getJson(
        `/api/v1/zones/${encodeURIComponent(zoneId)}/people${query({ from, to, bucket })}`,
        ZonePeopleResponseSchema,
      ),
    districtPeople: (r) =>
      getJson(`/api/v1/district/people${query(r)}`, DistrictPeopleResponseSchema),
    shopPeople: (shopId, { from, to, bucket }) =>
      getJson(
        `/api/v1/shops/${encodeURIComponent(shopId)}/people${query({ from, to, bucket })}`,
        ShopPeopleResponseSchema,
      ),
    flows: ({ from, to, zone }) =>
      getJson(`/api/v1/flows${query({ from, to, zone })}`, FlowsResponseSchema),
    events: ({ from, to }) => getJson(`/api/v1/events${query({ from, to })}`, EventsResponseSchema),
    createEvent: (event) =>
      getJson('/api/v1/events', EventDtoSchema, { method: 'POST', json: event }),
    deleteEvent: (eventId) => remove(`/api/v1/events/${encodeURIComponent(eventId)}`),
    uplift: (eventId) =>
      getJson(`/api/v1/events/${encodeURIComponent(eventId)}/uplift`, UpliftResponseSchema),
    ingestStats: ({ from, to }) =>
      getJson(`/api/v1/admin/ingest-stats${query({ from, to })}`, IngestStatsResponseSchema),
    deadLetters: ({ page, pageSize }) =>
      getJson(
        `/api/v1/admin/dead-letters${query({ page: String(page), pageSize: String(pageSize) })}`,
        DeadLettersResponseSchema,
      ),
    publicCrowd: () => getJson('/api/v1/public/crowd', PublicCrowdResponseSchema),
    calibration: () => getJson('/api/v1/calibration', CalibrationListResponseSchema),
    createCountSession: (session) =>
      getJson('/api/v1/calibration/sessions', CountSessionDtoSchema, {
        method: 'POST',
        json: session,
      }),
    forecast: ({ zone, shop, days }) =>
      getJson(
        `/api/v1/forecast${query({ zone, shop, days: String(days) })}`,
        ForecastResponseSchema,
      ),
    contextSeries: ({ from, to, zone }) =>
      getJson(`/api/v1/context/series${query({ from, to, zone })}`, ContextSeriesResponseSchema),
    ...contextClient(getJson, remove),
    report: (request) => fetchReport({ root, getKey, fetch }, request),
    async csv(path, params) {
      const url = `/api/v1/${path.replace(/^\/+/, '')}${query({ ...params, format: 'csv' })}`
      const { response, text } = await request(url, 'text/csv')
      if (!response.ok) throw failure(response, text)
      if (!/^text\/csv/i.test(response.headers.get('content-type') ?? '')) {
        throw new ApiError('bad_response', `GET ${url}: not CSV`, { status: response.status })
      }
      return text
    },
  }
}

// A body that is not JSON is reported by the schema check as bad_response, like any other bad shape.
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
