import type { Trx } from '../ingest-repository.ts'
import type { StatusWrite } from '../model.ts'
import type { BatchWork } from '../plan-group.ts'
import type { PseudoSighting } from '../sessionise.ts'
import {
  digestKey,
  findCommittedDigests,
  insertDeviceCounts,
  insertMessageDigests,
  MESSAGE_DIGEST_RETENTION_MS,
  type DeviceCountWrite,
} from './foreign-repository.ts'
import type { ForeignWork } from './work.ts'

export type ForeignCommit = {
  /** Per work: whether each of its parts was fresh (false: a redelivery already counted). */
  fresh: Map<ForeignWork, boolean[]>
  /** Per work with fresh sightings: the batch it adds to the group's plan. */
  batches: Map<ForeignWork, BatchWork>
  statuses: StatusWrite[]
}

/**
 * The database side of a group's gateway-format messages, inside the group's transaction (the
 * caller holds their gateways' locks): a message the broker delivered again (DUP) whose digest was
 * committed in the last 6 hours — or earlier in this group — is a duplicate and changes nothing; the
 * digests of the others are recorded, their counts written to device_counts, their health returned
 * as statuses, and each work's fresh sightings returned as one batch for the planner. A batch of a
 * format has no boot id or sequence number: nothing goes to ingest_batches, and it moves only its
 * gateway's watermark (to its newest sighting), never the boot and sequence bookkeeping.
 */
export async function commitForeign(
  trx: Trx,
  works: readonly ForeignWork[],
  nowMs: number,
): Promise<ForeignCommit> {
  const out: ForeignCommit = { fresh: new Map(), batches: new Map(), statuses: [] }
  if (works.length === 0) return out
  const redelivered = works.flatMap((w) =>
    w.parts.filter((p) => p.dup).map((p) => ({ gatewayId: w.gateway.id, digest: p.digest })),
  )
  const committed = await findCommittedDigests(
    trx,
    redelivered,
    new Date(nowMs - MESSAGE_DIGEST_RETENTION_MS),
  )
  const digests: { gatewayId: string; digest: string; receivedAt: Date }[] = []
  const counts: DeviceCountWrite[] = []
  for (const w of works) {
    const gatewayId = w.gateway.id
    const fresh: boolean[] = []
    const sightings: PseudoSighting[] = []
    const exempt = new Set<string>()
    let sightingsCount = 0
    let eventMs = -Infinity
    let receivedAtMs = -Infinity
    for (const p of w.parts) {
      const key = digestKey(gatewayId, p.digest)
      const isFresh = !(p.dup && committed.has(key))
      fresh.push(isFresh)
      if (!isFresh) continue
      // A redelivery later in this same group is a duplicate of this one.
      committed.add(key)
      digests.push({ gatewayId, digest: p.digest, receivedAt: new Date(p.receivedAtMs) })
      const e = p.effect
      if (e.kind === 'sightings') {
        sightings.push(...e.sightings)
        for (const x of e.exempt) exempt.add(x)
        sightingsCount += e.total
        eventMs = Math.max(eventMs, e.eventMs)
        receivedAtMs = Math.max(receivedAtMs, p.receivedAtMs)
      } else if (e.kind === 'counts') {
        counts.push({
          gatewayId,
          at: new Date(e.counts.tMs),
          wifi: e.counts.wifi,
          ble: e.counts.ble,
        })
      } else if (e.kind === 'health') {
        const { state, fw, uptimeS } = e.health
        out.statuses.push({
          gatewayId,
          status: {
            v: 1,
            gatewayId,
            state,
            ...(fw !== undefined ? { fw } : {}),
            ...(uptimeS !== undefined ? { uptimeS } : {}),
          },
          at: new Date(p.receivedAtMs),
        })
      }
    }
    out.fresh.set(w, fresh)
    if (Number.isFinite(eventMs))
      out.batches.set(w, {
        gateway: w.gateway,
        bootId: null,
        seq: null,
        sentAtMs: eventMs,
        clockSkewMs: null,
        receivedAtMs,
        sightings,
        sightingsCount,
        exempt,
      })
  }
  await insertMessageDigests(trx, digests)
  await insertDeviceCounts(trx, counts)
  return out
}
