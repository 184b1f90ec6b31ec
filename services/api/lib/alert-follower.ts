import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { Alert } from '../../shared/contracts/alerts.ts'
import type { Logger } from '../../shared/logger.ts'
import { toAlert } from '../queries/alert-queries.ts'

/** What a live client sees of an alert: it is pushed again when this changes. */
function stateOf(a: Alert): string {
  return `${a.clearedAt ?? ''}|${a.acknowledgedAt ?? ''}`
}

/**
 * The alerts that changed between two reads (new, cleared or acknowledged), oldest first. The first
 * read (`known` null) only learns the state: what was there before this process started is not news.
 */
export function changedAlerts(
  known: ReadonlyMap<string, string> | null,
  current: readonly Alert[],
) {
  if (known === null) return []
  return current.filter((a) => known.get(a.id) !== stateOf(a))
}

/** Open alerts and those cleared in the last hour: what a live client may still be showing. */
async function recentAlerts(db: Db): Promise<Alert[]> {
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('cleared_at', 'is', null),
        eb('cleared_at', '>', sql<Date>`now() - INTERVAL '1 hour'`),
      ]),
    )
    .orderBy('id')
    .limit(5000)
    .execute()
  return rows.map(toAlert)
}

/**
 * Alert changes made by other API replicas, pushed to this replica's live clients. One replica at a
 * time evaluates the alerts and an acknowledgement is made on whichever replica the user reached,
 * and each pushes its own changes at once (`remember`); the others see them here within `everyMs`.
 */
export function startAlertFollower(o: {
  db: Db
  log: Logger
  everyMs: number
  broadcast: (alert: Alert) => void
  /** False while the process is still starting (the database not yet migrated): no read then. */
  ready?: () => boolean
}) {
  let known: Map<string, string> | null = null
  let busy = false
  const remembered = new Map<string, string>()
  async function poll() {
    if (busy || o.ready?.() === false) return
    busy = true
    try {
      const current = await recentAlerts(o.db)
      for (const a of changedAlerts(known, current))
        if (remembered.get(a.id) !== stateOf(a)) o.broadcast(a)
      known = new Map(current.map((a) => [a.id, stateOf(a)]))
      for (const a of current) if (remembered.get(a.id) === stateOf(a)) remembered.delete(a.id)
    } catch (err) {
      o.log.warn({ err: String(err) }, 'alert changes of other replicas not read; will retry')
    } finally {
      busy = false
    }
  }
  void poll()
  const timer = setInterval(() => void poll(), o.everyMs)
  timer.unref()
  return {
    /** An alert this replica pushed itself: not pushed again when the next read sees it. */
    remember(alert: Alert) {
      remembered.set(alert.id, stateOf(alert))
    },
    stop() {
      clearInterval(timer)
    },
  }
}
