import { withoutTopicPrefix } from '../../shared/contracts/topics.ts'
import { batchDigest } from '../batch-digest.ts'
import { decodeMessage, type DecodedBatch, type DecodedSighting } from '../decode-message.ts'
import type { DeviceList, RegisteredGateway } from '../model.ts'
import type { Pseudonymiser } from '../pseudonymiser.ts'
import type { RegistryView } from '../registry-view.ts'
import type { WithRetry } from '../retry.ts'
import type { DeadLetterFn } from './dead-letter.ts'
import { floodDetail, type FloodControl } from './flood-control.ts'
import { filterAndPseudonymise, type FilteredSightings } from './pseudonymise-sightings.ts'
import type { Taken } from './work.ts'

/** Sightings of a gateway, pseudonymised and filtered; `gone` lists days whose key is destroyed. */
export type PseudonymiseFn = (
  sightings: readonly DecodedSighting[],
  gateway: RegisteredGateway,
  nowMs: number,
) => Promise<FilteredSightings | { gone: string[] }>

/**
 * Prepares the day keys of the sightings' times (created, or read from the database, retrying
 * while it is away), then filters and pseudonymises them: the one path every format's sightings
 * take before anything else sees them.
 */
export function createPseudonymise(deps: {
  pseudonymiser: Pseudonymiser
  withRetry: WithRetry
  deviceList: DeviceList | undefined
}): PseudonymiseFn {
  const { pseudonymiser, withRetry, deviceList } = deps
  return async (decoded, gateway, nowMs) => {
    const gone = await withRetry('daily key', () =>
      pseudonymiser.prepare(
        decoded.map((s) => s.tMs),
        nowMs,
      ),
    )
    if (gone.size > 0) return { gone: [...gone] }
    return filterAndPseudonymise(pseudonymiser, decoded, gateway, deviceList)
  }
}

export type NativeIntake = {
  /** A native v1 message (sightings batch or status) as the work it will be once committed. */
  take(topic: string, payload: Buffer): Promise<Taken>
  /** How late (arrival − sentAt) the newest native batch taken in was. */
  latenessMs(): number
}

/**
 * Native v1 messages in: decoded with zod, checked against the registry and flood control,
 * pseudonymised at once, and digested so a redelivery is told from a replay with other content.
 */
export function createNativeIntake(deps: {
  topicPrefix: string | undefined
  now: () => number
  registry: RegistryView
  flood: FloodControl
  pseudonymise: PseudonymiseFn
  deadLetter: DeadLetterFn
}): NativeIntake {
  const { now, registry, flood, deadLetter } = deps
  let lastLatenessMs = 0

  /** Flood control's refusal of a native message, or null when it is admitted. */
  function floodRefusal(
    topic: string,
    payload: Buffer,
    gatewayId: string,
    sightings: number,
    atMs: number | null,
  ): Taken | null {
    const verdict = flood.admit(gatewayId, sightings, atMs, now())
    if (verdict.admitted) return null
    if (!verdict.deadLetter) return { kind: 'dropped', reason: 'flood' }
    const detail = floodDetail(gatewayId, verdict.refusedSinceLastLetter)
    return deadLetter(topic, payload, 'flood', detail, gatewayId)
  }

  async function takeSightings(
    topic: string,
    payload: Buffer,
    batch: DecodedBatch,
    gateway: RegisteredGateway,
  ): Promise<Taken> {
    const filtered = await deps.pseudonymise(batch.sightings, gateway, now())
    if ('gone' in filtered) {
      const detail = `the pseudonymisation key of ${filtered.gone.join(', ')} is destroyed`
      return deadLetter(topic, payload, 'key_expired', detail, batch.gatewayId)
    }
    const { sightings, exempt, belowFloor, denied, pseudonyms } = filtered
    const receivedAtMs = now()
    lastLatenessMs = Math.max(0, receivedAtMs - batch.sentAtMs)
    return {
      kind: 'batch',
      total: batch.sightings.length,
      belowFloor,
      denied,
      digest: batchDigest({ sentAtMs: batch.sentAtMs, sightings: batch.sightings, pseudonyms }),
      work: {
        gateway,
        bootId: batch.bootId,
        seq: batch.seq,
        sentAtMs: batch.sentAtMs,
        clockSkewMs: batch.clockSkewMs,
        receivedAtMs,
        sightings,
        sightingsCount: batch.sightings.length,
        exempt,
      },
    }
  }

  return {
    latenessMs: () => lastLatenessMs,
    async take(topic, payload) {
      const decoded = decodeMessage(
        withoutTopicPrefix(deps.topicPrefix, topic) ?? '',
        payload,
        now(),
      )
      if (!decoded.ok)
        return deadLetter(topic, payload, decoded.reason, decoded.detail, decoded.gatewayId)
      const gatewayId = decoded.kind === 'status' ? decoded.gatewayId : decoded.batch.gatewayId
      const gateway = registry.get(gatewayId) ?? (await registry.reloadFor(gatewayId))
      if (!gateway) {
        const detail = `gateway ${gatewayId} is not in the district registry`
        return deadLetter(topic, payload, 'unknown_gateway', detail, gatewayId)
      }
      const refusal =
        decoded.kind === 'status'
          ? // A status has no time of its own (see flood-control.ts): charged at the bucket's.
            floodRefusal(topic, payload, gatewayId, 0, null)
          : floodRefusal(
              topic,
              payload,
              gatewayId,
              decoded.batch.sightings.length,
              decoded.batch.sentAtMs,
            )
      if (refusal) return refusal
      if (decoded.kind === 'status')
        return { kind: 'status', write: { gatewayId, status: decoded.status, at: new Date(now()) } }
      return takeSightings(topic, payload, decoded.batch, gateway)
    },
  }
}
