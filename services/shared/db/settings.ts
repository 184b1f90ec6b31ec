import { sql, type Kysely } from 'kysely'
import type { Database } from './database.ts'

/**
 * Publishes the k the API applies (API_FLOWS_K) to `miglio_settings.flows_k`, where the SQL views
 * read it (`miglio_flows_k()`), so Grafana suppresses exactly the cells the API suppresses. The API
 * process calls it once the database answers; k has one source, the API's configuration.
 */
export async function publishFlowsK(db: Kysely<Database>, k: number): Promise<void> {
  await sql`
    INSERT INTO miglio_settings (id, flows_k) VALUES (true, ${k})
    ON CONFLICT (id) DO UPDATE SET flows_k = excluded.flows_k`.execute(db)
}

/** The k the SQL views apply. */
export async function flowsKInDatabase(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ k: number }>`SELECT miglio_flows_k() AS k`.execute(db)
  const k = r.rows[0]?.k
  if (k === undefined) throw new Error('miglio_flows_k() returned no row')
  return k
}
