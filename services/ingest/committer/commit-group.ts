import type { Db } from '../../shared/db/create-db.ts'
import {
  inGatewayTransaction,
  insertDeadLetters,
  recordBatches,
  upsertGatewayStatuses,
  writeCheckpoints,
  writeGroupRows,
} from '../ingest-repository.ts'
import type { GatewayProgress, GatewayTransit, StoredTransits } from '../model.ts'
import { advanceProgress, transitOf, type BatchOutcome, type BatchWork } from '../plan-group.ts'
import { packSightings } from '../session-log.ts'
import { commitForeign } from '../intake/commit-foreign.ts'
import { touchGateways } from '../intake/foreign-repository.ts'
import type { DeadLetterFn } from '../intake/dead-letter.ts'
import type { Work } from '../intake/work.ts'
import type { SessionCache } from './session-cache.ts'

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
  now: () => number
  deadLetter: DeadLetterFn
  /** The open sessions this process holds (gap and static rules with them). */
  sessions: SessionCache
  /** Counts gateways whose sessions had to be rebuilt. */
  rebuilt?: (n: number) => void
}

/**
 * Writes a group in one transaction — batch records, the session log, closed transits, gateway
 * state and session versions, checkpoints when due, statuses, dead letters — with every gateway it
 * writes locked first, in one order, so replicas holding overlapping groups serialise instead of
 * deadlocking. The batches are planned against the sessions held in memory, valid at the session
 * version read under the locks (rebuilt from checkpoint and log when not); if the transaction
 * fails, those states are forgotten.
 */
export async function commitGroup(
  deps: CommitGroupDeps,
  group: readonly Work[],
): Promise<GroupCommit> {
  const { db, deadLetter, sessions } = deps
  let planned: string[] = []
  let due: string[] = []
  const nowMs = deps.now()
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
  const lastMessageAt = new Map<string, number>()
  for (const t of touched)
    lastMessageAt.set(t.gatewayId, Math.max(lastMessageAt.get(t.gatewayId) ?? 0, t.at.getTime()))
  const progressed = new Set<string>()
  const run = inGatewayTransaction(
    db,
    [...new Set(touched.map((t) => t.gatewayId))],
    async (trx) => {
      const foreignCommit = await commitForeign(trx, foreignWorks, deps.now())
      await upsertGatewayStatuses(trx, [...statuses, ...foreignCommit.statuses])
      // The heads of every gateway with a batch in the group, read with the batch records: those
      // of the gateways whose batches turn out fresh are the ones planned against below.
      const { verdicts, heads } = await recordBatches(
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
        [
          ...new Set([
            ...batchWorks.map((w) => w.work.gateway.id),
            ...[...foreignCommit.batches.values()].map((b) => b.gateway.id),
          ]),
        ],
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
        letters.push(
          deadLetter(w.topic, w.payload, 'conflicting_replay', detail, gateway.id).letter,
        )
      }
      await insertDeadLetters(trx, letters)
      const outcomes = new Map<BatchWork, BatchOutcome>()
      let stored: StoredTransits = { visitors: 0, passersBy: 0, zones: new Set() }
      let learned: string[] = []
      if (fresh.length > 0) {
        const gatewayIds = [...new Set(fresh.map((w) => w.gateway.id))]
        planned = gatewayIds
        const { states, rebuilt } = await sessions.resolve(trx, gatewayIds, heads, nowMs)
        if (rebuilt) deps.rebuilt?.(rebuilt)
        const progress = new Map<string, GatewayProgress>(heads)
        const lastBatch = new Map<string, BatchWork>()
        const transits: GatewayTransit[] = []
        const learnedRefs: { gatewayId: string; pseudonym: string; version: number }[] = []
        const log: { gatewayId: string; version: number; sentAtMs: number; sightings: Buffer }[] =
          []
        for (const w of fresh) {
          const g = w.gateway
          const state = states.get(g.id)
          if (!state) throw new Error(`no session state for gateway ${g.id}`)
          const applied = state.apply(w, sessions.rules, nowMs)
          for (const s of applied.closed) transits.push(transitOf(g, s))
          for (const pseudonym of applied.learned)
            learnedRefs.push({ gatewayId: g.id, pseudonym, version: state.version })
          log.push({
            gatewayId: g.id,
            version: state.version,
            sentAtMs: w.sentAtMs,
            sightings: packSightings(w.sightings, w.exempt),
          })
          progress.set(g.id, advanceProgress(progress.get(g.id), w))
          lastBatch.set(g.id, w)
          outcomes.set(w, applied.outcome)
        }
        due = gatewayIds.filter((id) => sessions.checkpointDue(id, nowMs))
        const checkpointing = new Set(due)
        // A gateway checkpointed now needs no log up to its checkpoint.
        stored = await writeGroupRows(trx, {
          log: log.filter((r) => !checkpointing.has(r.gatewayId)),
          statics: learnedRefs,
          progress: [...lastBatch].flatMap(([gatewayId, w]) => {
            const p = progress.get(gatewayId)
            const state = states.get(gatewayId)
            if (!p || !state) return []
            progressed.add(gatewayId)
            return [
              {
                ...p,
                gatewayId,
                lastBatchAt: new Date(w.receivedAtMs),
                clockSkewMs: w.clockSkewMs,
                sessionVersion: state.version,
                lastMessageAt: new Date(lastMessageAt.get(gatewayId) ?? w.receivedAtMs),
              },
            ]
          }),
          transits,
        })
        // After the progress: a gateway's first checkpoint updates the state row it created.
        await writeCheckpoints(
          trx,
          due.flatMap((gatewayId) => {
            const state = states.get(gatewayId)
            if (!state) return []
            return [
              {
                gatewayId,
                version: state.version,
                watermarkMs: state.watermarkMs,
                open: [...state.open.values()],
              },
            ]
          }),
        )
        learned = learnedRefs.map((l) => l.gatewayId)
      }
      // The last message of every gateway touched (gateway health); the gateways whose progress was
      // saved above had it written with their progress.
      await touchGateways(
        trx,
        touched.filter((t) => !progressed.has(t.gatewayId)),
      )
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
    },
  )
  try {
    const done = await run
    sessions.checkpointed(due, nowMs)
    return done
  } catch (err) {
    sessions.forget(planned)
    throw err
  }
}
