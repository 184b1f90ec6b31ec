import type { Db } from '../shared/db/create-db.ts'
import type { Logger } from '../shared/logger.ts'
import {
  forgetStaticDevices,
  insertTransits,
  listSilentGatewaysWithSessions,
  loadSessionHeads,
  inGatewayTransaction,
  setSessionVersions,
  writeCheckpoints,
} from './ingest-repository.ts'
import type { IngestMetrics } from './ingest-metrics.ts'
import { transitOf } from './plan-group.ts'
import type { Pseudonymiser } from './pseudonymiser.ts'
import type { RegistryView } from './registry-view.ts'
import { countStored } from './committer/committer.ts'
import type { SessionCache } from './committer/session-cache.ts'
import type { StoredTransits } from './model.ts'

/** Static devices not heard for this long are forgotten (a shop PC replaced, a staff phone gone). */
const FORGET_STATIC_AFTER_MS = 48 * 3_600_000

/**
 * Maintenance, on a timer and on demand: closes the sessions of silent gateways, forgets old static
 * devices and destroys expired pseudonymisation keys; at a clean stop, checkpoints the sessions held.
 */
export function createMaintenance(deps: {
  db: Db
  log: Logger
  metrics: IngestMetrics
  now: () => number
  registry: RegistryView
  pseudonymiser: Pseudonymiser
  sessions: SessionCache
  idleCloseMs: number
  /**
   * Whether ingest is live: nothing queued, held or being committed, and not working through a
   * backlog (see closeSilentGateways).
   */
  live: (nowMs: number) => boolean
  announce: (stored: StoredTransits) => void
  /** Flushes the sampled reject log lines. */
  flushLog: () => void
}): { run(): Promise<void>; checkpointHeld(): Promise<number> } {
  const { db, log, metrics, now, registry, sessions } = deps

  /**
   * A gateway whose last batch arrived more than the idle time ago (wall clock) has its sessions
   * closed — but only while ingest is live. While ingest works through a backlog (after a database
   * or broker outage, or a backfill), a gateway's next batch may simply be waiting in the queue
   * behind the others, and closing would split its sessions; its own watermark closes them instead.
   */
  async function closeSilentGateways() {
    const nowMs = now()
    if (!deps.live(nowMs)) return
    const silent = await listSilentGatewaysWithSessions(db, new Date(nowMs - deps.idleCloseMs))
    for (const gatewayId of silent) {
      const gateway = registry.get(gatewayId)
      if (!gateway) continue
      let written
      try {
        written = await inGatewayTransaction(db, [gatewayId], async (trx) => {
          const heads = await loadSessionHeads(trx, [gatewayId])
          const { states } = await sessions.resolve(trx, [gatewayId], heads, nowMs)
          const state = states.get(gatewayId)
          if (!state)
            return { visitors: 0, passersBy: 0, zones: new Set<string>() } as StoredTransits
          // Everything still open was heard before the gateway went quiet: all of it is final. Not
          // a batch of the log: the empty checkpoint written with the new version stands for it.
          const ended = state.closeAll()
          state.version++
          await setSessionVersions(trx, [{ gatewayId, version: state.version }])
          await writeCheckpoints(trx, [
            { gatewayId, version: state.version, watermarkMs: state.watermarkMs, open: [] },
          ])
          return insertTransits(
            trx,
            ended.map((session) => transitOf(gateway, session)),
          )
        })
      } catch (err) {
        sessions.forget([gatewayId])
        throw err
      }
      sessions.checkpointed([gatewayId], nowMs)
      countStored(metrics, written)
      deps.announce(written)
      const n = written.visitors + written.passersBy
      if (n) log.info({ gatewayId, transits: n }, 'closed sessions of a silent gateway')
    }
  }

  /**
   * Checkpoints every state held that is still current (its version is the gateway's), so that the
   * next owner of a gateway starts from it instead of replaying the log. Returns how many.
   */
  async function checkpointHeld(): Promise<number> {
    const held = sessions.held()
    if (held.length === 0) return 0
    const ids = held.map(([id]) => id)
    return inGatewayTransaction(db, ids, async (trx) => {
      const heads = await loadSessionHeads(trx, ids)
      const current = held.filter(([id, state]) => {
        const head = heads.get(id)
        return head?.sessionVersion === state.version && head.checkpointVersion !== state.version
      })
      await writeCheckpoints(
        trx,
        current.map(([gatewayId, state]) => ({
          gatewayId,
          version: state.version,
          watermarkMs: state.watermarkMs,
          open: [...state.open.values()],
        })),
      )
      sessions.checkpointed(
        current.map(([id]) => id),
        now(),
      )
      return current.length
    })
  }

  return {
    checkpointHeld,
    async run() {
      deps.flushLog()
      await closeSilentGateways()
      const forgetBefore = now() - FORGET_STATIC_AFTER_MS
      await forgetStaticDevices(db, new Date(forgetBefore))
      sessions.forgetStatics(forgetBefore)
      metrics.openSessions.set(sessions.openSessions())
      const destroyed = await deps.pseudonymiser.rotate(now())
      if (destroyed.length) log.info({ days: destroyed }, 'destroyed pseudonymisation keys')
      metrics.memoEntries.set(deps.pseudonymiser.memoEntries())
    },
  }
}
