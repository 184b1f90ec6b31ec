import type { Db } from '../shared/db/create-db.ts'
import type { Logger } from '../shared/logger.ts'
import {
  forgetStaticDevices,
  insertTransits,
  listSilentGatewaysWithOpenSessions,
  lockGateways,
  takeSessionsEndedBeforeCutoffs,
} from './ingest-repository.ts'
import type { IngestMetrics } from './ingest-metrics.ts'
import { transitOf } from './plan-group.ts'
import type { Pseudonymiser } from './pseudonymiser.ts'
import type { RegistryView } from './registry-view.ts'
import { countStored } from './committer/committer.ts'

/** Static devices not heard for this long are forgotten (a shop PC replaced, a staff phone gone). */
const FORGET_STATIC_AFTER_MS = 48 * 3_600_000

/**
 * Maintenance, on a timer and on demand: closes the sessions of silent gateways, forgets old static
 * devices and destroys expired pseudonymisation keys.
 */
export function createMaintenance(deps: {
  db: Db
  log: Logger
  metrics: IngestMetrics
  now: () => number
  registry: RegistryView
  pseudonymiser: Pseudonymiser
  idleCloseMs: number
  /**
   * Whether ingest is live: nothing queued, held or being committed, and not working through a
   * backlog (see closeSilentGateways).
   */
  live: (nowMs: number) => boolean
  announce: (zones: ReadonlySet<string>) => void
  /** Flushes the sampled reject log lines. */
  flushLog: () => void
}): { run(): Promise<void> } {
  const { db, log, metrics, now, registry } = deps

  /**
   * A gateway whose last batch arrived more than the idle time ago (wall clock) has its sessions
   * closed — but only while ingest is live. While ingest works through a backlog (after a database
   * or broker outage, or a backfill), a gateway's next batch may simply be waiting in the queue
   * behind the others, and closing would split its sessions; its own watermark closes them instead.
   */
  async function closeSilentGateways() {
    const nowMs = now()
    if (!deps.live(nowMs)) return
    const silent = await listSilentGatewaysWithOpenSessions(db, new Date(nowMs - deps.idleCloseMs))
    for (const gatewayId of silent) {
      const gateway = registry.get(gatewayId)
      if (!gateway) continue
      const written = await db.transaction().execute(async (trx) => {
        await lockGateways(trx, [gatewayId])
        // Everything still open was heard before the gateway went quiet: all of it is final.
        const ended = await takeSessionsEndedBeforeCutoffs(trx, [
          { gatewayId, before: new Date(8.64e15) },
        ])
        return insertTransits(
          trx,
          ended.map((e) => transitOf(gateway, e.session)),
        )
      })
      countStored(metrics, written)
      deps.announce(written.zones)
      const n = written.visitors + written.passersBy
      if (n) log.info({ gatewayId, transits: n }, 'closed sessions of a silent gateway')
    }
  }

  return {
    async run() {
      deps.flushLog()
      await closeSilentGateways()
      await forgetStaticDevices(db, new Date(now() - FORGET_STATIC_AFTER_MS))
      const destroyed = await deps.pseudonymiser.rotate(now())
      if (destroyed.length) log.info({ days: destroyed }, 'destroyed pseudonymisation keys')
      metrics.memoEntries.set(deps.pseudonymiser.memoEntries())
    },
  }
}
