import { sql, type Kysely } from 'kysely'
import type { Database } from './database.ts'

/**
 * Makes footfall_1d bucket the local days of `tz` (`miglio_ensure_daily_aggregate`, migrations):
 * true when it needs `refreshDailyAggregate` after the transaction — it was just (re)created and is
 * empty, or a refill after an earlier (re)creation did not finish. A continuous aggregate's time zone
 * is a constant of its definition, so the district loader calls this with the district's zone; it
 * raises for a zone the database does not know.
 */
export async function ensureDailyAggregate(db: Kysely<Database>, tz: string): Promise<boolean> {
  const r = await sql<{ rebuilt: boolean }>`
    SELECT miglio_ensure_daily_aggregate(${tz}) AS rebuilt`.execute(db)
  return r.rows[0]?.rebuilt === true
}

/**
 * Refills a (re)created footfall_1d from footfall_1h over all time, then records that it finished.
 * Not in a transaction (TimescaleDB refuses); on a server the new refresh policy may be refreshing at
 * that moment ("could not refresh … due to a concurrent refresh"), so it waits and retries.
 */
export async function refreshDailyAggregate(
  db: Kysely<Database>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await sql`CALL refresh_continuous_aggregate('footfall_1d', NULL, NULL)`.execute(db)
      await sql`UPDATE footfall_1d_zone SET refilled = true`.execute(db)
      return
    } catch (err) {
      if (!/concurrent refresh/.test(String(err)) || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
