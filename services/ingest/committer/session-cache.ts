import type { Db } from '../../shared/db/create-db.ts'
import {
  loadRebuildSources,
  loadSessionHeads,
  inGatewayTransaction,
  type RebuildSource,
  type SessionHead,
  type Trx,
} from '../ingest-repository.ts'
import type { Session } from '../sessionise.ts'
import { GatewaySessions, type SessionRules } from '../gateway-sessions.ts'
import { unpackSightings } from '../session-log.ts'

/** A rebuild that replayed this many log rows or more is checkpointed by its next commit. */
const LONG_REPLAY = 64

type Entry = { state: GatewaySessions; checkpointedAtMs: number }

/** The head of a gateway never committed (no gateway_state row): rebuilt from nothing, or from sessions stored without one. */
const NO_HEAD: SessionHead = {
  watermarkMs: null,
  bootId: null,
  lastSeq: null,
  seqGaps: 0,
  sessionVersion: 0,
  checkpointVersion: 0,
  checkpointWatermarkMs: null,
}

/**
 * Rebuilds a gateway's sessions: its checkpoint, then every batch of the log after it applied in
 * version order (what was closed or learned then is already stored: only the state is kept). A
 * version the log does not reach (the privacy job moved sessions out of the checkpoint) is taken
 * from the head: the state is what the database holds at it.
 */
export function replay(
  head: Pick<SessionHead, 'sessionVersion' | 'checkpointVersion' | 'checkpointWatermarkMs'>,
  source: RebuildSource,
  rules: SessionRules,
  nowMs: number,
): GatewaySessions {
  const state = new GatewaySessions({
    version: head.checkpointVersion,
    watermarkMs: head.checkpointWatermarkMs,
    open: source.open,
    statics: source.statics,
  })
  for (const row of source.log) {
    const { sightings, exempt } = unpackSightings(row.sightings)
    state.apply({ sentAtMs: row.sentAtMs, sightings, exempt }, rules, nowMs)
    state.version = row.version
  }
  state.version = head.sessionVersion
  return state
}

export type SessionCache = ReturnType<typeof createSessionCache>

/**
 * The open sessions of the gateways this process commits, held in memory between transactions.
 * A gateway's state is used only while its version equals the session version read under the
 * gateway's lock; otherwise (another replica committed it, the privacy job moved it, this process
 * restarted or a transaction failed) it is rebuilt from the checkpoint and the log. A caller that
 * mutates states in a transaction that then fails must `forget` them.
 */
export function createSessionCache(opts: { checkpointMs: number; rules: SessionRules }) {
  const entries = new Map<string, Entry>()
  return {
    rules: opts.rules,
    /**
     * These gateways' states, valid at their heads (read under their locks in `trx`): the cached
     * ones whose version matches, the others rebuilt (counted in `rebuilt`).
     */
    async resolve(
      trx: Trx,
      gatewayIds: readonly string[],
      heads: ReadonlyMap<string, SessionHead>,
      nowMs: number,
    ): Promise<{ states: Map<string, GatewaySessions>; rebuilt: number }> {
      const states = new Map<string, GatewaySessions>()
      const stale: { gatewayId: string; head: SessionHead }[] = []
      for (const gatewayId of gatewayIds) {
        // A gateway never committed has no head: it rebuilds from nothing (or from sessions stored
        // without one), once.
        const head = heads.get(gatewayId) ?? NO_HEAD
        const cached = entries.get(gatewayId)
        if (cached && cached.state.version === head.sessionVersion)
          states.set(gatewayId, cached.state)
        else stale.push({ gatewayId, head })
      }
      if (stale.length === 0) return { states, rebuilt: 0 }
      const sources = await loadRebuildSources(
        trx,
        stale.map((s) => ({ gatewayId: s.gatewayId, checkpointVersion: s.head.checkpointVersion })),
      )
      for (const { gatewayId, head } of stale) {
        const source = sources.get(gatewayId) ?? { open: [], statics: [], log: [] }
        const state = replay(head, source, opts.rules, nowMs)
        entries.set(gatewayId, {
          state,
          checkpointedAtMs: source.log.length >= LONG_REPLAY ? -Infinity : nowMs,
        })
        states.set(gatewayId, state)
      }
      return { states, rebuilt: stale.length }
    },
    /** Whether this gateway's state is due for a checkpoint (INGEST_CHECKPOINT_MS since the last). */
    checkpointDue(gatewayId: string, nowMs: number): boolean {
      const e = entries.get(gatewayId)
      return e === undefined || nowMs - e.checkpointedAtMs >= opts.checkpointMs
    },
    checkpointed(gatewayIds: Iterable<string>, nowMs: number): void {
      for (const id of gatewayIds) {
        const e = entries.get(id)
        if (e) e.checkpointedAtMs = nowMs
      }
    },
    /** Drops states a failed transaction may have changed: the next use rebuilds them. */
    forget(gatewayIds: Iterable<string>): void {
      for (const id of gatewayIds) entries.delete(id)
    },
    /** Every state held, by gateway (a clean stop checkpoints them). */
    held(): [string, GatewaySessions][] {
      return [...entries].map(([id, e]) => [id, e.state])
    },
    forgetStatics(beforeMs: number): void {
      for (const e of entries.values()) e.state.forgetStatics(beforeMs)
    },
    openSessions(): number {
      let n = 0
      for (const e of entries.values()) n += e.state.open.size
      return n
    },
  }
}

/**
 * These gateways' open sessions as the database holds them — each checkpoint with the log after it
 * replayed — whatever any process holds in memory: what a crash would leave (tests, diagnostics).
 */
export async function durableSessions(
  db: Db,
  gatewayIds: readonly string[],
  rules: SessionRules,
): Promise<Map<string, Session[]>> {
  return inGatewayTransaction(db, gatewayIds, async (trx) => {
    const heads = await loadSessionHeads(trx, gatewayIds)
    const sources = await loadRebuildSources(
      trx,
      gatewayIds.map((gatewayId) => ({
        gatewayId,
        checkpointVersion: (heads.get(gatewayId) ?? NO_HEAD).checkpointVersion,
      })),
    )
    return new Map(
      gatewayIds.map((gatewayId) => {
        const source = sources.get(gatewayId) ?? { open: [], statics: [], log: [] }
        const state = replay(heads.get(gatewayId) ?? NO_HEAD, source, rules, Date.now())
        return [gatewayId, [...state.open.values()]]
      }),
    )
  })
}
