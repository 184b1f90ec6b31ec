import type { ColumnType, Generated, Selectable } from 'kysely'

type Timestamp = ColumnType<Date, Date | string, Date | string>
/** int8 columns arrive from pg as decimal strings; pseudonyms stay strings in Node (64-bit). */
type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>

export interface DistrictsTable {
  id: string
  name: string
  timezone: string
  street_length_m: number
  loaded_at: Generated<Timestamp>
  /** The district file's local public holidays (0004): `[{date?, monthDay?, name}]`. */
  holidays: ColumnType<unknown, string | undefined, string>
  /** The district file's alert thresholds (0004); defaults in services/shared/contracts/alerts.ts. */
  alert_rules: ColumnType<unknown, string | undefined, string>
}

export interface ZonesTable {
  id: string
  district_id: string
  name: string
  kind: 'street' | 'shop' | 'square'
  geometry: ColumnType<unknown, string, string>
  street_from_m: number
  street_to_m: number
}

export interface ShopsTable {
  id: string
  district_id: string
  zone_id: string
  name: string
  category: string
  street_offset_m: number
}

export interface GatewaysTable {
  id: string
  district_id: string
  zone_id: string
  shop_id: string | null
  placement: 'indoor' | 'street'
  radios: string[]
  lon: number
  lat: number
  street_offset_m: number
  rssi_floor: number
  calibration_factor: number
  active: Generated<boolean>
  /** The format the gateway speaks (the district file's `source.format`). */
  format: Generated<'native' | 'omg' | 'espresense' | 'sniffer' | 'meraki' | 'paxcounter'>
  /** The district file's `source`, a Meraki access point's MAC replaced by its digest. */
  source: unknown
  /** Unique among active gateways: how a non-native message is matched to this gateway. */
  source_key: string | null
}

export interface GatewayThresholdsTable {
  gateway_id: string
  version: number
  min_rssi: number
  min_dwell_s: number
  valid_from: Generated<Timestamp>
}

export interface GatewayCalibrationsTable {
  gateway_id: string
  version: number
  factor: number
  valid_from: Generated<Timestamp>
}

export interface FlowsTable {
  bucket: Timestamp
  origin_zone_id: string
  dest_zone_id: string
  flows: number
  travel_s_p25: number
  travel_s_median: number
  travel_s_p75: number
}

export interface FlowProgressTable {
  id: Generated<boolean>
  done_until: Timestamp
}

export interface ForgetProgressTable {
  id: Generated<boolean>
  done_before: Timestamp
}

export interface PseudonymKeysTable {
  day: ColumnType<string, string, string>
  key: Buffer
  destroy_after: Timestamp
}

export interface IngestBatchesTable {
  gateway_id: string
  boot_id: string
  seq: Int8
  sent_at: Timestamp
  received_at: Generated<Timestamp>
  sightings_count: number
  /** 64 bits of a SHA-256 of the batch's content (sentAt, sightings with MACs pseudonymised). */
  content_digest: Int8 | null
}

export interface OpenTransitsTable {
  gateway_id: string
  pseudonym: Int8
  first_seen: Timestamp
  last_seen: Timestamp
  peak_rssi: number
  samples: number
  radio: string
  randomised: boolean
  /** Keyed hash of the IE fingerprint of a randomised Wi-Fi session, null otherwise. */
  ie_fp: ColumnType<string | null, string | null | undefined, string | null>
  /** 802.11 sequence number of the session's latest probe, when the gateway reported it. */
  last_seq_num: ColumnType<number | null, number | null | undefined, number | null>
}

export interface TransitsTable {
  first_seen: Timestamp
  last_seen: Timestamp
  gateway_id: string
  zone_id: string
  shop_id: string | null
  pseudonym: Int8 | null
  dwell_s: number
  peak_rssi: number
  samples: number
  radio: string
  randomised: boolean
  visitor: boolean
  threshold_version: number
  calibration_factor: Generated<number>
  calibration_version: Generated<number>
}

export interface GatewayStateTable {
  gateway_id: string
  state: Generated<'online' | 'offline' | 'unknown'>
  fw: string | null
  uptime_s: number | null
  queue: number | null
  status_at: Timestamp | null
  last_batch_at: Timestamp | null
  watermark: Timestamp | null
  boot_id: string | null
  last_seq: Int8 | null
  seq_gaps: Generated<Int8>
  clock_skew_ms: number | null
  /** Wall clock of the last message of any kind (any format). */
  last_message_at: Timestamp | null
  /** Batches applied to the gateway's sessions (ingest's in-memory sessions are valid at it). */
  session_version: Generated<Int8>
  /** The version open_transits stands for, and the watermark then (0006). */
  checkpoint_version: Generated<Int8>
  checkpoint_watermark: Timestamp | null
}

/** A batch applied to a gateway's sessions since its last checkpoint (0006; ingest/session-log.ts). */
export interface SessionLogTable {
  gateway_id: string
  version: Int8
  sent_at: Timestamp
  sightings: Buffer
  logged_at: Generated<Timestamp>
}

export interface DeviceCountsTable {
  at: Timestamp
  gateway_id: string
  wifi: number | null
  ble: number | null
}

export interface MessageDigestsTable {
  received_at: Timestamp
  gateway_id: string
  digest: Int8
}

export interface StaticDevicesTable {
  gateway_id: string
  pseudonym: Int8
  marked_at: ColumnType<Date, Date | string | undefined, Date | string>
  /** Session version of the batch that learned it (null: before 0006). */
  learned_version: Int8 | null
}

export interface DeadLettersTable {
  received_at: Generated<Timestamp>
  topic: string
  gateway_id: string | null
  reason: string
  detail: string
  payload_bytes: number
  payload_redacted: string
}

interface FootfallAggregateView {
  bucket: Date
  gateway_id: string
  zone_id: string
  shop_id: string | null
  passers_by: Int8
  visitors: Int8
  estimated_people: number
  calibration_version: number
  dwell_s_sum: number
  dwell_lt_1m: Int8
  dwell_1_5m: Int8
  dwell_5_15m: Int8
  dwell_15_60m: Int8
  dwell_gt_60m: Int8
}

export interface ApiKeysTable {
  id: string
  key_hash: Buffer
  role: 'admin' | 'analyst' | 'shopkeeper'
  shop_id: string | null
  label: string
  created_at: Generated<Timestamp>
  revoked_at: Timestamp | null
}

export interface EventsTable {
  id: string
  name: string
  zone_ids: string[]
  starts_at: Timestamp
  ends_at: Timestamp
  created_by: string | null
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** One row per demo district whose simulator backfill `miglio start` has published. */
export interface DemoBackfillTable {
  district_id: string
  claimed_at: ColumnType<Date, Date | string | undefined, Date | string>
  from_ts: Timestamp
  to_ts: Timestamp
  finished_at: Timestamp | null
}

/** The demo's simulated history (0004): claimed once per database, with its progress. */
export interface DemoHistoryTable {
  district_id: string
  claimed_at: ColumnType<Date, Date | string | undefined, Date | string>
  from_ts: Timestamp
  to_ts: Timestamp
  days_total: number
  days_done: ColumnType<number, number | undefined, number>
  transits: ColumnType<string, string | number | undefined, string | number>
  finished_at: Timestamp | null
}

/** One alert, open until cleared_at (0004). */
export interface AlertsTable {
  /** bigint identity, as a decimal string. */
  id: Generated<string>
  kind:
    | 'zone_outside_band'
    | 'shop_outside_band'
    | 'gateway_silent'
    | 'gateway_rate_collapse'
    | 'dead_letters_rising'
  zone_id: string | null
  shop_id: string | null
  gateway_id: string | null
  raised_at: ColumnType<Date, Date | string | undefined, Date | string>
  cleared_at: Timestamp | null
  details: ColumnType<unknown, string | undefined, string>
  acknowledged_by: string | null
  acknowledged_at: Timestamp | null
}

/** One row: settings the API and the SQL views share (k of k-suppression). */
export interface MiglioSettingsTable {
  id: Generated<boolean>
  flows_k: number
}

/** One row: the time zone footfall_1d buckets its days in (miglio_ensure_daily_aggregate). */
export interface Footfall1dZoneTable {
  id: Generated<boolean>
  timezone: string
  /** Its refill from footfall_1h after the last (re)creation finished. */
  refilled: Generated<boolean>
}

/** A manual count (migration 0003): people present (mean over the window), in or out. */
export interface CountSessionsTable {
  id: ColumnType<string, never, never>
  zone_id: string
  gateway_id: string | null
  window_from: Timestamp
  window_to: Timestamp
  kind: 'present' | 'in' | 'out'
  people: number
  counted_by: string
  note: string | null
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** A gateway's calibration version: the fitted model (JSON) and its held-out quality. */
export interface CalibrationVersionsTable {
  gateway_id: string
  version: number
  zone_id: string
  fitted_at: ColumnType<Date, Date | string | undefined, Date | string>
  valid_from: ColumnType<Date, Date | string | undefined, Date | string>
  model: ColumnType<unknown, string, string>
  mae_people: number
  mape_pct: number | null
  coverage_pct: number
  sessions_used: number
  superseded_by: number | null
}

/** A gateway's last fit that was not applied, with the reason. */
export interface CalibrationRefusalsTable {
  gateway_id: string
  zone_id: string
  attempted_at: ColumnType<Date, Date | string | undefined, Date | string>
  sessions: number
  reason: string
}

/** One import of context values (contracts/context-csv.ts; migrations/0004_context.sql). */
export interface ContextImportsTable {
  id: string
  source: string
  rows: number
  imported_by: string | null
  imported_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** A context value (weather, market, roadworks…) for the district (zone_id null) or one zone. */
export interface ContextValuesTable {
  at: Timestamp
  whole_day: boolean
  zone_id: string | null
  variable: string
  value_num: number | null
  value_text: string | null
  import_id: string
}

/** A local day flagged to be left out of baselines and forecasts. */
export interface ExcludedDaysTable {
  id: string
  /** `YYYY-MM-DD` written; queries select `day::text` (pg parses a bare date as a local Date). */
  day: ColumnType<Date | string, string, string>
  zone_id: string | null
  reason: string
  created_by: string | null
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface Database {
  districts: DistrictsTable
  zones: ZonesTable
  shops: ShopsTable
  gateways: GatewaysTable
  gateway_thresholds: GatewayThresholdsTable
  gateway_calibrations: GatewayCalibrationsTable
  flows_hourly: FlowsTable
  flows_daily: FlowsTable
  flow_progress: FlowProgressTable
  forget_progress: ForgetProgressTable
  pseudonym_keys: PseudonymKeysTable
  ingest_batches: IngestBatchesTable
  open_transits: OpenTransitsTable
  transits: TransitsTable
  gateway_state: GatewayStateTable
  device_counts: DeviceCountsTable
  message_digests: MessageDigestsTable
  dead_letters: DeadLettersTable
  static_devices: StaticDevicesTable
  session_log: SessionLogTable
  footfall_15m: FootfallAggregateView
  footfall_1h: FootfallAggregateView
  footfall_1d: FootfallAggregateView
  api_keys: ApiKeysTable
  events: EventsTable
  demo_backfill: DemoBackfillTable
  demo_history: DemoHistoryTable
  alerts: AlertsTable
  miglio_settings: MiglioSettingsTable
  footfall_1d_zone: Footfall1dZoneTable
  count_sessions: CountSessionsTable
  calibration_versions: CalibrationVersionsTable
  calibration_refusals: CalibrationRefusalsTable
  context_imports: ContextImportsTable
  context_values: ContextValuesTable
  excluded_days: ExcludedDaysTable
}

export type GatewayRow = Selectable<GatewaysTable>
export type TransitRow = Selectable<TransitsTable>
export type OpenTransitRow = Selectable<OpenTransitsTable>
export type EventRow = Selectable<EventsTable>
