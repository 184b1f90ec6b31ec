import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import type { TestDatabase } from './engines.ts'

const run = promisify(execFile)

/** PostgreSQL 15's pg_dump (the version of the native TimescaleDB server), if installed. */
const PG_DUMP = '/usr/lib/postgresql/15/bin/pg_dump'

/**
 * Everything a test database holds, as bytes to search: `pg_dump` of the whole database (every
 * schema, TimescaleDB's internal chunks and materialisations included) on a real server, or, on
 * the embedded one (no pg_dump can reach it), every row of every table of every schema as JSON —
 * each table read `ONLY` (a hypertable's rows live in its chunks, tables of their own) and each
 * hypertable and continuous aggregate read whole (which decompresses compressed chunks).
 */
export async function dumpDatabase(t: TestDatabase): Promise<{ how: string; bytes: Buffer }> {
  const pgDump = t.kind !== 'embedded' && existsSync(PG_DUMP) ? PG_DUMP : null
  if (pgDump) {
    const { stdout } = await run(pgDump, ['--no-owner', '--dbname', t.url], {
      encoding: 'buffer',
      maxBuffer: 1 << 30,
    })
    return { how: 'pg_dump', bytes: stdout }
  }
  const tables = await sql<{ s: string; t: string }>`
    SELECT table_schema AS s, table_name AS t FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
      AND table_name NOT IN (SELECT table_name FROM _timescaledb_catalog.hypertable
                             WHERE compression_state = 2)
    ORDER BY 1, 2`.execute(t.db)
  const wholes = await sql<{ s: string; t: string }>`
    SELECT hypertable_schema AS s, hypertable_name AS t FROM timescaledb_information.hypertables
    UNION ALL
    SELECT view_schema, view_name FROM timescaledb_information.continuous_aggregates`.execute(t.db)
  const parts: string[] = []
  const read = async (schema: string, table: string, only: boolean) => {
    const from = only ? sql`ONLY ${sql.id(schema, table)}` : sql.id(schema, table)
    const rows = await sql<{ j: string }>`SELECT row_to_json(x)::text AS j FROM ${from} x`.execute(
      t.db,
    )
    parts.push(`-- ${schema}.${table}`, ...rows.rows.map((r) => r.j))
  }
  for (const { s, t: name } of tables.rows) await read(s, name, true)
  for (const { s, t: name } of wholes.rows) await read(s, name, false)
  return { how: `rows of ${tables.rows.length} tables`, bytes: Buffer.from(parts.join('\n')) }
}
