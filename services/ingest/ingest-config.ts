import type { DeviceList } from './model.ts'
import type { FloodLimits } from './intake/flood-control.ts'
import type { MicroBatchConfig } from './intake/foreign-intake.ts'

/** The ingest service's settings (main.ts builds them from the environment: `ingestConfigOf`). */
export type IngestConfig = {
  tz: string
  gapMs: number
  /** A gateway silent (wall clock) this long has its open sessions closed. */
  idleCloseMs: number
  keyGraceMs: number
  /** `$share/<group>/…` subscriptions (MQTT v5, real broker) when set. */
  shareGroup?: string | undefined
  /** Topics live under `<prefix>/miglio/v1/gw/…` when set (MQTT_TOPIC_PREFIX). */
  topicPrefix?: string | undefined
  /** A device heard without a break this long at one gateway is static (0: rule off). Default 4 h. */
  staticAfterMs?: number
  deviceList?: DeviceList
  /** How often the gateway registry is read again (default 30 s). */
  registryRefreshMs?: number
  /** How often maintenance runs (default 5 s). */
  maintenanceIntervalMs?: number
  /** Micro-batching of one-message-per-device formats (intake/micro-batcher.ts). */
  microBatch?: Partial<MicroBatchConfig>
  /** Messages and sightings per second per gateway (intake/flood-control.ts); off when absent. */
  flood?: FloodLimits
  /** Transactions committing at once, each for a fixed share of the gateways (default 4). */
  commitLanes?: number
  /**
   * How often a gateway's open sessions held in memory are written to open_transits as a
   * checkpoint (with a commit of its batches; default 10 s). 0: with every commit.
   */
  checkpointMs?: number
}

/** Micro-batching defaults: 1 s, 500 sightings of a gateway, 64 held messages in all. */
export const DEFAULT_MICRO_BATCH: MicroBatchConfig = {
  windowMs: 1_000,
  maxSightings: 500,
  maxHeldMessages: 64,
}

/** Checkpoints of open sessions (INGEST_CHECKPOINT_MS): bounds a rebuild's replay and open_transits' age. */
export const DEFAULT_CHECKPOINT_MS = 10_000

/** Commit lanes (INGEST_COMMIT_LANES): measured 8.8 k → 11.4 k sightings/s from 1 to 4 (docs/scaling.md). */
export const DEFAULT_COMMIT_LANES = 4

/** A device heard without a break this long at one gateway is static. */
export const DEFAULT_STATIC_AFTER_MS = 4 * 3_600_000

/** The registry is read again this often (a district loaded or changed meanwhile). */
export const DEFAULT_REGISTRY_REFRESH_MS = 30_000

/** Maintenance (idle close, static devices, keys) runs this often. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 5_000

/** The settings with every default filled in: what the wiring reads. */
export type IngestSettings = IngestConfig & {
  staticAfterMs: number
  registryRefreshMs: number
  maintenanceIntervalMs: number
  microBatch: MicroBatchConfig
  flood: FloodLimits
  commitLanes: number
  checkpointMs: number
}

/** Fills in the defaults of what `config` leaves out (a 0 stays 0: "off" or "every commit"). */
export function withDefaults(config: IngestConfig): IngestSettings {
  return {
    ...config,
    staticAfterMs: config.staticAfterMs ?? DEFAULT_STATIC_AFTER_MS,
    registryRefreshMs: config.registryRefreshMs ?? DEFAULT_REGISTRY_REFRESH_MS,
    maintenanceIntervalMs: config.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS,
    microBatch: { ...DEFAULT_MICRO_BATCH, ...config.microBatch },
    // Flood control off (no ceiling) unless configured.
    flood: config.flood ?? { messagesPerS: 0, sightingsPerS: 0 },
    commitLanes: config.commitLanes ?? DEFAULT_COMMIT_LANES,
    checkpointMs: config.checkpointMs ?? DEFAULT_CHECKPOINT_MS,
  }
}

/** Ingest's time source: the wall clock, or a test's. */
export type Clock = { now(): number }
export const systemClock: Clock = { now: () => Date.now() }
