/**
 * The ingest's data model: what the registry, the planner (plan-group.ts), the committer and the
 * repository exchange. Types only (and one key helper), no I/O, so the pure planning code does not
 * depend on the repository that reads and writes them.
 */
import type { GatewayStatus } from '../shared/contracts/gateway-messages.ts'
import type { StoredGatewaySource } from '../shared/registry/gateway-source-key.ts'
import type { ClassifiedTransit, Session, VisitorThresholds } from './sessionise.ts'

/** A gateway of the district registry as ingest uses it. */
export type RegisteredGateway = {
  id: string
  zoneId: string
  shopId: string | null
  rssiFloor: number
  thresholds: VisitorThresholds
  /** People per device in force (from manual counts); stored with each transit, never retroactive. */
  calibration: { version: number; factor: number }
  /** How the gateway's messages are recognised (gateways.source; native when none is stored). */
  source: StoredGatewaySource
  /** gateways.source_key: what a decoded message's source identity is looked up by (null: native). */
  sourceKey: string | null
}

/** `gateway_id` and pseudonym as one key of the ingest's in-memory maps. */
export function sessionKey(gatewayId: string, pseudonym: string): string {
  return `${gatewayId}\u0000${pseudonym}`
}

export type DeviceRef = { gatewayId: string; pseudonym: string }

export type GatewaySession = { gatewayId: string; session: Session }

export type BatchRecord = {
  gatewayId: string
  bootId: string
  seq: number
  sentAt: Date
  sightingsCount: number
  /** 64-bit digest of the batch's content, as a decimal string (see `batchDigest`). */
  digest: string
}

/**
 * What a batch is to the database: `fresh` (recorded now), a `duplicate` (the same content recorded
 * before, or earlier in the same call: a QoS 1 redelivery) or a `conflict` (the same gateway, boot id
 * and seq with other content: a replay, never counted).
 */
export type BatchVerdict = 'fresh' | 'duplicate' | 'conflict'

export type GatewayTransit = { gateway: RegisteredGateway; transit: ClassifiedTransit }

/** Transits stored in one live bucket of a zone (contracts: LIVE_BUCKET_MS, by first_seen). */
export type BucketCounts = { passersBy: number; visitors: number }

/** What was stored of the transits given to `insertTransits`: what metrics and announcements count. */
export type StoredTransits = {
  visitors: number
  passersBy: number
  zones: Set<string>
  /**
   * Per zone, per live bucket (its start, epoch ms): what was stored, and the id of the transaction
   * that stored it (`pg_current_xact_id()`, decimal) — what the announcement carries (v2). Absent
   * when nothing was stored; without it the announcement asks the API to read `zones` again.
   */
  live?: { xid: string; zones: Map<string, Map<number, BucketCounts>> }
}

/** Where a gateway's batches stand: event-time watermark, boot, last sequence number, gaps. */
export type GatewayProgress = {
  watermarkMs: number | null
  bootId: string | null
  lastSeq: number | null
  seqGaps: number
}

export type GatewayProgressWrite = GatewayProgress & {
  gatewayId: string
  lastBatchAt: Date
  /** Null keeps the stored one (a format that carries no clock of the gateway's). */
  clockSkewMs: number | null
}

export type StatusWrite = { gatewayId: string; status: GatewayStatus; at: Date }

export type DeadLetterWrite = {
  topic: string
  gatewayId: string | null
  reason: string
  detail: string
  payloadBytes: number
  payloadRedacted: string
}

/** Normalised MACs: `deny` are dropped before pseudonymisation, `allow` are never learned as static. */
export type DeviceList = { deny: ReadonlySet<string>; allow: ReadonlySet<string> }
