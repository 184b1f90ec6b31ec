/**
 * Ingest without the database, for fast method work on recorded captures: the same pure steps
 * ingest runs on every message — `decodeMessage` (zod, MAC rules, `randomised`), the gateway's RSSI
 * floor and the district's deny list (`filterAndPseudonymise`), `createPseudonymiser` (HMAC under a random in-memory day key, thrown away with the
 * process), `planGroup` (sessions, Wi-Fi chaining by IE fingerprint + sequence number, the static
 * rule) — over a whole capture as one group, which gives the transits committing it batch by batch
 * would (ingest's plan-group test checks that any grouping plans alike). Sessions still open at the
 * end are closed, as ingest's idle close does. No raw MAC leaves this module: the sessions carry
 * pseudonyms only.
 *
 * The figures in bench/README.md come from the pipeline (MQTT → ingest → TimescaleDB); this path is
 * what the Brno benchmark uses to check that the two agree and to compare methods quickly.
 */
import { decodeMessage } from '../../services/ingest/decode-message.ts'
import { createMemoryKeyStore, createPseudonymiser } from '../../services/ingest/pseudonymiser.ts'
import { planGroup, type BatchWork } from '../../services/ingest/plan-group.ts'
import type { DeviceList, RegisteredGateway } from '../../services/ingest/model.ts'
import { filterAndPseudonymise } from '../../services/ingest/intake/pseudonymise-sightings.ts'
import { toEpochMs, type SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { GatewaySchema, type DistrictFile } from '../../services/shared/contracts/district.ts'
import { buildSightingsTopic } from '../../services/shared/contracts/topics.ts'
import {
  storedSourceKey,
  storedSourceOf,
} from '../../services/shared/registry/gateway-source-key.ts'
import type { DeviceSession } from '../../services/shared/people/sessions.ts'

export type OfflineIngestOptions = {
  /** The gateways ingest knows, by id (a batch of another gateway is rejected, as unknown_gateway). */
  gateways: ReadonlyMap<string, RegisteredGateway>
  gapMs: number
  /** `STATIC_DEVICE_AFTER_H` in ms (0: off). */
  staticAfterMs: number
  timeZone: string
  /**
   * A district's device list (MIGLIO_DEVICE_LIST_FILE, as `loadDeviceList` reads it): applied by
   * ingest's own `filterAndPseudonymise`, the step every format goes through.
   */
  deviceList?: DeviceList
}

export type OfflineIngestResult = {
  sessions: DeviceSession[]
  sightings: number
  belowFloor: number
  /** Sightings of devices on the deny list. */
  denied: number
  rejectedBatches: number
  staticLearned: number
}

/** A district file's gateways as ingest's registry holds them (first versions, factor from the file). */
export function registryOf(district: DistrictFile): Map<string, RegisteredGateway> {
  return new Map(
    district.gateways
      .map((raw) => GatewaySchema.parse(raw))
      .map((g) => {
        const source = storedSourceOf(g.source)
        return [
          g.id,
          {
            id: g.id,
            zoneId: g.zoneId,
            shopId: g.shopId ?? null,
            rssiFloor: g.rssiFloor,
            thresholds: { version: 1, minRssi: g.visitor.minRssi, minDwellS: g.visitor.minDwellS },
            calibration: { version: 1, factor: g.calibrationFactor },
            source,
            sourceKey: storedSourceKey(source),
          },
        ] as const
      }),
  )
}

/**
 * Replays sightings batches (in publish order, each with the topic's gateway) through ingest's
 * pure steps; returns the transits (and the sessions still open at the end) as device sessions.
 */
export async function ingestOffline(
  batches: Iterable<SightingsBatch>,
  o: OfflineIngestOptions,
): Promise<OfflineIngestResult> {
  const pseudonymiser = createPseudonymiser({
    store: createMemoryKeyStore(),
    tz: o.timeZone,
    graceMs: 48 * 3_600_000,
  })
  const works: BatchWork[] = []
  let sightings = 0
  let belowFloor = 0
  let denied = 0
  let rejectedBatches = 0
  for (const b of batches) {
    const gateway = o.gateways.get(b.gatewayId)
    const sentAtMs = toEpochMs(b.sentAt)
    const decoded = decodeMessage(
      buildSightingsTopic(b.gatewayId),
      Buffer.from(JSON.stringify(b)),
      sentAtMs,
    )
    if (!gateway || !decoded.ok || decoded.kind !== 'sightings') {
      rejectedBatches++
      continue
    }
    const batch = decoded.batch
    await pseudonymiser.prepare(
      batch.sightings.map((s) => s.tMs),
      sentAtMs,
    )
    const filtered = filterAndPseudonymise(pseudonymiser, batch.sightings, gateway, o.deviceList)
    sightings += batch.sightings.length
    belowFloor += filtered.belowFloor
    denied += filtered.denied
    works.push({
      gateway,
      bootId: batch.bootId,
      seq: batch.seq,
      sentAtMs: batch.sentAtMs,
      clockSkewMs: 0,
      receivedAtMs: batch.sentAtMs,
      sightings: filtered.sightings,
      sightingsCount: batch.sightings.length,
      exempt: filtered.exempt,
    })
  }
  const plan = planGroup(
    works,
    { open: new Map(), statics: new Set(), progress: new Map() },
    { gapMs: o.gapMs, staticAfterMs: o.staticAfterMs },
  )
  const sessions: DeviceSession[] = [
    ...plan.transits.map((t) => ({ gateway: t.gateway, s: t.transit })),
    ...plan.upserts.map((u) => ({ gateway: o.gateways.get(u.gatewayId), s: u.session })),
  ].flatMap(({ gateway, s }) =>
    gateway
      ? [
          {
            gatewayId: gateway.id,
            zoneId: gateway.zoneId,
            pseudonym: s.pseudonym,
            firstMs: s.firstMs,
            lastMs: s.lastMs,
            samples: s.samples,
            peakRssi: s.peakRssi,
            radio: s.radio,
            randomised: s.randomised,
          },
        ]
      : [],
  )
  sessions.sort((a, b) => a.firstMs - b.firstMs || a.gatewayId.localeCompare(b.gatewayId))
  return {
    sessions,
    sightings,
    belowFloor,
    denied,
    rejectedBatches,
    staticLearned: plan.learned.length,
  }
}
