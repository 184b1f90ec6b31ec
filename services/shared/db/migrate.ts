import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'
import { AppError } from '../errors.ts'
import { PACKAGE_ROOT } from '../package-root.ts'

export const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations')

/** Reads `migrations/NNNN_name.sql` as text; nothing imports the migration files. */
export class SqlFolderMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const text = await readFile(join(this.dir, file), 'utf8')
      migrations[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          await sql.raw(text).execute(db)
        },
      }
    }
    return migrations
  }
}

export type MigrationReport = { applied: string[] }

/**
 * The migrations 0001_timescaledb … 0015_demo_backfill were squashed into 0001_baseline before the
 * first deployment. A database migrated with them (a development data directory of that time) has no
 * upgrade path: say so instead of kysely's "corrupted migrations".
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function refuseSquashedHistory(db: Kysely<any>): Promise<void> {
  const table = await sql<{ t: string | null }>`
    SELECT to_regclass('kysely_migration')::text AS t`.execute(db)
  if (!table.rows[0]?.t) return
  const old = await sql<{ name: string }>`
    SELECT name FROM kysely_migration WHERE name = '0001_timescaledb'`.execute(db)
  if (old.rows.length)
    throw new AppError(
      'migration_failed',
      'this database was migrated with the migrations squashed into 0001_baseline (0001_timescaledb … 0015_demo_backfill) and cannot be upgraded: recreate it (embedded: move the data directory away)',
    )
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runMigrations(db: Kysely<any>, dir?: string): Promise<MigrationReport> {
  await refuseSquashedHistory(db)
  const migrator = new Migrator({ db, provider: new SqlFolderMigrationProvider(dir) })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    const name = failed ? ` in ${failed.migrationName}` : ''
    const reason = error instanceof Error ? error.message : String(error)
    throw new AppError('migration_failed', `migration failed${name}: ${reason}`, { cause: error })
  }
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
  }
}
