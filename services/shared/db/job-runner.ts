import { sql } from 'kysely'
import type { Db } from './create-db.ts'
import type { Logger } from '../logger.ts'

export type JobRunner = {
  runDueJobs(): Promise<number>
  runAllJobs(): Promise<number>
  stop(): void
  start(intervalMs?: number): void
}

type JobRow = { job_id: number; proc_name: string; schedule_ms: number }

/**
 * TimescaleDB's background workers do not exist in the WASM build, so in embedded mode Miglio runs
 * every job (refresh, compression, retention, its own procedures) itself: `CALL run_job(id)` when
 * the job's schedule interval has passed, each call its own autocommit statement. Against a real
 * server this runner is not started: TimescaleDB schedules its jobs.
 */
export function createJobRunner(
  db: Db,
  log: Logger,
  clock: { now(): number } = { now: () => Date.now() },
): JobRunner {
  const lastRun = new Map<number, number>()
  let timer: NodeJS.Timeout | undefined
  let busy = false

  async function listJobs(): Promise<JobRow[]> {
    const r = await sql<JobRow>`
      SELECT job_id, proc_name, (extract(epoch FROM schedule_interval) * 1000)::float8 AS schedule_ms
      FROM timescaledb_information.jobs WHERE scheduled ORDER BY job_id`.execute(db)
    return r.rows
  }

  async function run(filter: (j: JobRow) => boolean): Promise<number> {
    let ran = 0
    for (const job of await listJobs()) {
      if (!filter(job)) continue
      const started = clock.now()
      try {
        await sql`CALL run_job(${sql.lit(job.job_id)})`.execute(db)
        ran++
        log.debug(
          { jobId: job.job_id, proc: job.proc_name, ms: clock.now() - started },
          'ran TimescaleDB job',
        )
      } catch (err) {
        log.warn(
          { jobId: job.job_id, proc: job.proc_name, err: String(err) },
          'TimescaleDB job failed; will retry on schedule',
        )
      }
      lastRun.set(job.job_id, started)
    }
    return ran
  }

  return {
    runDueJobs: () => run((j) => clock.now() - (lastRun.get(j.job_id) ?? 0) >= j.schedule_ms),
    runAllJobs: () => run(() => true),
    start(intervalMs = 10_000) {
      timer = setInterval(() => {
        if (busy) return
        busy = true
        run((j) => clock.now() - (lastRun.get(j.job_id) ?? 0) >= j.schedule_ms)
          .catch((err: unknown) => log.warn({ err: String(err) }, 'job runner failed'))
          .finally(() => {
            busy = false
          })
      }, intervalMs)
      timer.unref()
    },
    stop() {
      if (timer) clearInterval(timer)
    },
  }
}
