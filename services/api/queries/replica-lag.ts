import { sql } from 'kysely'
import type { Db } from '../../shared/db/create-db.ts'

/**
 * How far a read replica's data may be behind its primary, in ms: 0 on a primary, or on a standby
 * that has replayed everything it received; otherwise the age of the last transaction it replayed
 * (pg_last_xact_replay_timestamp). An upper bound while WAL flows: a standby that is caught up but
 * idle reports 0, not the time since the primary's last write.
 */
export async function replicaLagMs(db: Db): Promise<number> {
  const { rows } = await sql<{ lag_ms: number | string | null }>`
    SELECT CASE
      WHEN NOT pg_is_in_recovery() THEN 0
      WHEN pg_last_wal_receive_lsn() IS NOT NULL
        AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
      ELSE greatest(0, round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000))
    END AS lag_ms`.execute(db)
  const lag = rows[0]?.lag_ms
  return lag === null || lag === undefined ? 0 : Number(lag)
}
