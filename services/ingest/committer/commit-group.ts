import type { Db } from '../../shared/db/create-db.ts'
import {
  deleteOpenSessions,
  upsertOpenSessions,
  insertDeadLetters,
  insertStaticDevices,
  insertTransits,
  loadChainCandidates,
  loadGatewayProgress,
  loadOpenSessions,
  loadStaticDevices,
  lockGateways,
  recordBatches,
  saveGatewayProgress,
  takeSessionsEndedBeforeCutoffs,
  upsertGatewayStatuses,
} from '../ingest-repository.ts'
import type { GatewayTransit, StoredTransits } from '../model.ts'
import {
  devicesOf,
  earliestProbeOf,
  fingerprintsOf,
  gatewaysOf,
  planGroup,
  transitOf,
  type BatchOutcome,
  type BatchWork,
} from '../plan-group.ts'
import { commitForeign } from '../intake/commit-foreign.ts'
import { touchGateways } from '../intake/foreign-repository.ts'
import type { DeadLetterFn } from '../intake/dead-letter.ts'
import type { Work } from '../intake/work.ts'

/** What became of one message of a committed group. */
export type Outcome =
  | { kind: 'batch'; fresh: boolean; outcome: BatchOutcome | null }
  | { kind: 'foreign'; fresh: boolean[]; outcome: BatchOutcome | null }
  | { kind: 'conflict' }
  | { kind: 'status' }
  | { kind: 'dead' }
  | { kind: 'dropped' }
  | { kind: 'failed' }

/** A committed group: each message's outcome in order, what was stored, who learned statics. */
export type GroupCommit = {
  outcomes: Outcome[]
  stored: StoredTransits
  /** One gateway id per static device learned. */
  learned: string[]
}

export type CommitGroupDeps = {
  db: Db
  gapMs: number
  staticAfterMs: number
  now: () => number
  deadLetter: DeadLetterFn
}

/**
 * Writes a group in one transaction — batch records, session updates, closed transits, gateway
 * state, statuses, dead letters — with every gateway it writes locked first, in one order, so
 * replicas holding overlapping groups serialise instead of deadlocking.
 */
export async function commitGroup(
  deps: CommitGroupDeps,
  group: readonly Work[],
): Promise<GroupCommit> {
  const { db, gapMs, staticAfterMs, deadLetter } = deps
  const batchWorks = group.flatMap((w) => (w.kind === 'batch' ? [w] : []))
  const foreignWorks = group.flatMap((w) => (w.kind === 'foreign' ? [w] : []))
  const statuses = group.flatMap((w) => (w.kind === 'status' ? [w.write] : []))
  const letters = group.flatMap((w) => (w.kind === 'dead' ? [w.letter] : []))
  // Every message of a known gateway, whatever it carries, is its last message (gateway health).
  const touched = [
    ...batchWorks.map((w) => ({ gatewayId: w.work.gateway.id, at: new Date(w.work.receivedAtMs) })),
    ...statuses.map((s) => ({ gatewayId: s.gatewayId, at: s.at })),
    ...foreignWorks.flatMap((w) =>
      w.parts.map((p) => ({ gatewayId: w.gateway.id, at: new Date(p.receivedAtMs) })),
    ),
  ]
  return db.transaction().execute(async (trx) => {
    await lockGateways(trx, [...new Set(touched.map((t) => t.gatewayId))])
    const foreignCommit = await commitForeign(trx, foreignWorks, deps.now())
    await upsertGatewayStatuses(trx, [...statuses, ...foreignCommit.statuses])
    await touchGateways(trx, touched)
    const verdicts = await recordBatches(
      trx,
      batchWorks.map(({ work: b, digest }) => ({
        gatewayId: b.gateway.id,
        // Native batches always have both (null only in a gateway format's batches).
        bootId: b.bootId ?? '',
        seq: b.seq ?? 0,
        sentAt: new Date(b.sentAtMs),
        sightingsCount: b.sightingsCount,
        digest,
      })),
    )
    const verdictOf = new Map(batchWorks.map((w, i) => [w, verdicts[i] ?? 'duplicate']))
    const fresh = [
      ...batchWorks.filter((w) => verdictOf.get(w) === 'fresh').map((w) => w.work),
      ...foreignCommit.batches.values(),
    ]
    // A replay with other content is never counted: it is kept as a dead letter instead.
    for (const w of batchWorks) {
      if (verdictOf.get(w) !== 'conflict') continue
      const { gateway, bootId, seq } = w.work
      const detail = `batch ${seq} of boot ${bootId} was recorded before with other content; this replay is not counted`
      letters.push(deadLetter(w.topic, w.payload, 'conflicting_replay', detail, gateway.id).letter)
    }
    await insertDeadLetters(trx, letters)
    const outcomes = new Map<BatchWork, BatchOutcome>()
    let stored: StoredTransits = { visitors: 0, passersBy: 0, zones: new Set() }
    let learned: string[] = []
    if (fresh.length > 0) {
      const devices = devicesOf(fresh)
      const open = await loadOpenSessions(trx, devices)
      for (const [key, session] of await loadChainCandidates(
        trx,
        fingerprintsOf(fresh),
        new Date(earliestProbeOf(fresh) - gapMs),
      ))
        open.set(key, session)
      const statics = await loadStaticDevices(trx, devices)
      const gateways = gatewaysOf(fresh)
      const progress = await loadGatewayProgress(trx, [...gateways.keys()])
      const plan = planGroup(fresh, { open, statics, progress }, { gapMs, staticAfterMs })
      await upsertOpenSessions(trx, plan.upserts)
      await deleteOpenSessions(trx, plan.deletes)
      await insertStaticDevices(trx, plan.learned)
      await saveGatewayProgress(trx, plan.progress)
      const ended = await takeSessionsEndedBeforeCutoffs(trx, plan.cutoffs)
      const transits: GatewayTransit[] = [...plan.transits]
      for (const e of ended) {
        const gateway = gateways.get(e.gatewayId)
        if (gateway) transits.push(transitOf(gateway, e.session))
      }
      stored = await insertTransits(trx, transits)
      fresh.forEach((b, i) =>
        outcomes.set(b, plan.outcomes[i] ?? { staticSightings: 0, learned: 0 }),
      )
      learned = plan.learned.map((l) => l.gatewayId)
    }
    const result = group.map((w): Outcome => {
      if (w.kind === 'foreign') {
        const batch = foreignCommit.batches.get(w)
        return {
          kind: 'foreign',
          fresh: foreignCommit.fresh.get(w) ?? [],
          outcome: (batch && outcomes.get(batch)) ?? null,
        }
      }
      if (w.kind !== 'batch') return { kind: w.kind }
      if (verdictOf.get(w) === 'conflict') return { kind: 'conflict' }
      const outcome = outcomes.get(w.work) ?? null
      return { kind: 'batch', fresh: outcome !== null, outcome }
    })
    return { outcomes: result, stored, learned }
  })
}
