import { sql } from 'kysely'
import type { Db } from '../db/create-db.ts'

/**
 * A production TimescaleDB runs its policies (compression, retention, refreshes, Miglio's jobs) in
 * background workers, concurrently with a test's own statements; the embedded one has none. Tests
 * that drive jobs themselves, or read chunks a compression job may be moving, pause this database's
 * jobs first: their next start moved a year ahead (they stay `scheduled`, so `CALL run_job` and
 * Miglio's job runner still run them on demand), and any run in progress waited out. Returns the
 * function that lets them run again.
 */
export async function pauseBackgroundJobs(
  db: Db,
  timeoutMs = 60_000,
): Promise<() => Promise<void>> {
  const jobs = await sql<{ job_id: number }>`
    SELECT job_id FROM timescaledb_information.jobs WHERE job_id >= 1000 AND scheduled`.execute(db)
  for (const { job_id } of jobs.rows)
    await sql`SELECT alter_job(${job_id}::int, next_start => now() + INTERVAL '1 year')`.execute(db)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const running = await sql<{ n: string }>`
      SELECT count(*) AS n FROM timescaledb_information.job_stats
      WHERE job_id >= 1000 AND job_status = 'Running'`.execute(db)
    if (Number(running.rows[0]?.n ?? 0) === 0) break
    if (Date.now() > deadline) throw new Error('background jobs still running after the pause')
    await new Promise((r) => setTimeout(r, 100))
  }
  return async () => {
    for (const { job_id } of jobs.rows)
      await sql`SELECT alter_job(${job_id}::int, next_start => now())`.execute(db)
  }
}

/**
 * Refreshes a continuous aggregate over all time. On a real server the aggregate's refresh policy
 * may be running at that moment ("could not refresh … due to a concurrent refresh"): wait and retry.
 */
export async function refreshAggregate(db: Db, view: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await sql`CALL refresh_continuous_aggregate(${sql.lit(view)}::regclass, NULL, NULL)`.execute(
        db,
      )
      return
    } catch (err) {
      if (!/concurrent refresh/.test(String(err)) || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
