import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'
import type { Logger } from '../../shared/logger.ts'
import { AlertRulesSchema, type AlertRules } from '../../shared/contracts/alert-rules.ts'
import type { Alert } from '../../shared/contracts/alerts.ts'
import { localDateOf, shiftLocalDays, startOfLocalDay } from '../../shared/contracts/local-time.ts'
import {
  clearAlerts,
  deadLettersIn,
  gatewayCountsIn,
  gatewaysForAlerts,
  openAlerts,
  raiseAlerts,
  shopsByZone,
} from '../queries/alert-queries.ts'
import { districtSettings, firstDataAt } from '../queries/expected-queries.ts'
import {
  bandConditions,
  deadLetterConditions,
  gatewayConditions,
  reconcile,
  type AlertCondition,
  type BandTrack,
} from './alert-conditions.ts'
import { expectedRows } from './expected-service.ts'
import { bandOf, DEFAULT_BAND_WEEKS } from './expected-range.ts'

const HOUR_MS = 3_600_000
const QUARTER_MS = 15 * 60_000
/** One evaluation at a time across replicas: the others skip their turn. */
const LOCK = 'miglio-job:alerts'

export type AlertEvaluation = { raised: Alert[]; cleared: Alert[]; conditions: number }

/** Everything that should be alerting at `nowMs`, read from the database. */
export async function alertConditions(
  db: Db,
  nowMs: number,
  tz: string,
): Promise<AlertCondition[]> {
  const settings = await districtSettings(db)
  const parsed = AlertRulesSchema.safeParse(settings.alertRules)
  const rules: AlertRules = parsed.success ? parsed.data : AlertRulesSchema.parse({})
  const hourEnd = Math.floor(nowMs / HOUR_MS) * HOUR_MS
  const from = new Date(hourEnd - rules.outsideBandBuckets * HOUR_MS)

  // Zones (and the shops that are zones) outside their band in the last finished hours.
  const expected = await expectedRows(db, {
    from,
    to: new Date(hourEnd),
    bucket: '1h',
    metric: 'footfall',
    tz,
    nowMs,
    minSamples: rules.minSamples,
  })
  const excluded = new Set(expected.excluded.map((e) => e.date))
  const shopOf = await shopsByZone(db)
  const tracks = new Map<string, BandTrack>()
  for (const r of expected.rows) {
    let t = tracks.get(r.zoneId)
    if (!t)
      tracks.set(
        r.zoneId,
        (t = { zoneId: r.zoneId, shopId: shopOf.get(r.zoneId) ?? null, buckets: [] }),
      )
    const startMs = Date.parse(r.bucketStart)
    t.buckets.push({
      startMs,
      value: r.value,
      band:
        r.usual === null || r.low === null || r.high === null
          ? null
          : { usual: r.usual, low: r.low, high: r.high, samples: r.samples },
      comparable: !excluded.has(localDateOf(startMs, tz)),
    })
  }

  // Gateways: silence, and the last hour against the same hour of the weeks before.
  const lastEnd = Math.floor(nowMs / QUARTER_MS) * QUARTER_MS
  const windows = [{ from: new Date(lastEnd - HOUR_MS), to: new Date(lastEnd) }]
  for (let k = 1; k <= DEFAULT_BAND_WEEKS; k++) {
    const end = shiftLocalDays(lastEnd, -7 * k, tz)
    windows.push({ from: new Date(end - HOUR_MS), to: new Date(end) })
  }
  const counts = await gatewayCountsIn(db, windows)
  // Weeks before the first data are unknown, not zero.
  const first = await firstDataAt(db)
  const covered = first === null ? Infinity : startOfLocalDay(first, tz)
  const comparableWeeks = windows
    .slice(1)
    .map((w, i) => ({
      i: i + 1,
      fromMs: w.from.getTime(),
      date: localDateOf(w.from.getTime(), tz),
    }))
    .filter((w) => w.fromMs >= covered && !excluded.has(w.date))
  const gateways = (await gatewaysForAlerts(db)).map((g) => {
    const c = counts.get(g.id) ?? Array<number>(windows.length).fill(0)
    return {
      gatewayId: g.id,
      zoneId: g.zoneId,
      shopId: g.shopId,
      lastMessageMs: g.lastMessageAt?.getTime() ?? null,
      lastHour: c[0] ?? 0,
      lastHourBand: bandOf(
        comparableWeeks.map((w) => c[w.i] ?? 0),
        rules.minSamples,
      ),
      comparable: !excluded.has(localDateOf(lastEnd - 1, tz)),
    }
  })

  const dead = {
    lastHour: await deadLettersIn(db, new Date(nowMs - HOUR_MS), new Date(nowMs)),
    dayBefore: await deadLettersIn(db, new Date(nowMs - 25 * HOUR_MS), new Date(nowMs - HOUR_MS)),
  }
  return [
    ...bandConditions([...tracks.values()], rules),
    ...gatewayConditions(gateways, nowMs, rules),
    ...deadLetterConditions(dead, rules),
  ]
}

/**
 * One evaluation: under a transaction-scoped advisory lock (another replica evaluating meanwhile →
 * null, nothing done), raises the alerts whose condition holds and clears those whose condition is
 * gone.
 */
export async function evaluateAlerts(
  db: Db,
  nowMs: number,
  tz: string,
): Promise<AlertEvaluation | null> {
  return db.transaction().execute(async (trx) => {
    const locked = await sql<{ ok: boolean }>`
      SELECT pg_try_advisory_xact_lock(hashtext(${LOCK})) AS ok`.execute(trx)
    if (!locked.rows[0]?.ok) return null
    const conditions = await alertConditions(trx, nowMs, tz)
    const plan = reconcile(await openAlerts(trx), conditions)
    const at = new Date(nowMs)
    const raised = await raiseAlerts(trx, plan.raise, at)
    const cleared = await clearAlerts(
      trx,
      plan.clear.map((a) => a.id),
      at,
    )
    return { raised, cleared, conditions: conditions.length }
  })
}

/**
 * Evaluates every `intervalMs` (first run after `firstDelayMs`), hands each raised or cleared alert
 * to `onAlert` (live feed, webhook, MQTT: none of them awaited here), and logs failures without
 * stopping. `stop` waits for a run in progress.
 */
export function startAlertEvaluator(o: {
  db: Db
  timeZone: () => Promise<string>
  now: () => number
  log: Logger
  intervalMs: number
  firstDelayMs?: number
  onAlert: (a: Alert, change: 'raised' | 'cleared') => void
}): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null
  let stopped = false
  const run = async () => {
    try {
      const result = await evaluateAlerts(o.db, o.now(), await o.timeZone())
      if (!result) return
      for (const a of result.raised) {
        o.log.info({ alert: a.id, kind: a.kind }, `alert raised: ${a.summary}`)
        o.onAlert(a, 'raised')
      }
      for (const a of result.cleared) {
        o.log.info({ alert: a.id, kind: a.kind }, `alert cleared: ${a.summary}`)
        o.onAlert(a, 'cleared')
      }
    } catch (err) {
      o.log.warn({ err: String(err) }, 'alert evaluation failed; retrying at the next interval')
    }
  }
  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = null
        schedule(o.intervalMs)
      })
    }, ms)
    timer.unref()
  }
  schedule(o.firstDelayMs ?? o.intervalMs)
  return {
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running
    },
  }
}
