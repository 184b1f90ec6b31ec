import { InvalidArgumentError, type Command } from 'commander'
import { AppError } from '../services/shared/errors.ts'
import { withDatabase } from '../services/shared/db/open-database.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import {
  loadDistrict,
  readDistrictFile,
  shopExists,
} from '../services/shared/registry/district-repository.ts'
import { createApiKey, revokeApiKey } from '../services/shared/registry/api-key-repository.ts'
import { importContextCsv } from '../services/shared/registry/context-repository.ts'
import { findDistrictTimeZone } from '../services/shared/registry/district-repository.ts'
import { buildDashboards } from '../dashboards/build.ts'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { preflight } from './preflight.ts'

/** `miglio migrate`, `district load` and `build-dashboards`. */
export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending migrations (to DATABASE_URL, or the embedded database in MIGLIO_DATA_DIR)',
    )
    .action(async () => {
      const { config, log } = preflight(true)
      const { applied } = await withDatabase(config, log, (db) => runMigrations(db))
      process.stdout.write(
        applied.length
          ? `applied ${applied.length} migrations: ${applied.join(', ')}\n`
          : 'schema up to date\n',
      )
    })

  const district = program.command('district').description('manage the district registry')
  district
    .command('load')
    .argument('<file>', 'district JSON file')
    .description('validate a district file and load it (zones, shops, gateways, thresholds)')
    .action(async (file: string) => {
      const { config, log } = preflight(true)
      const parsed = await readDistrictFile(file, config.tz)
      const report = await withDatabase(config, log, async (db) => {
        await runMigrations(db)
        return loadDistrict(db, parsed)
      })
      process.stdout.write(`loaded ${parsed.id}: ${JSON.stringify(report)}\n`)
    })

  program
    .command('context')
    .description('context series (weather, markets, roadworks…) for the overlays and baselines')
    .command('import')
    .argument('<file>', 'CSV file: time,zone,variable,value (docs/metrics.md, "Context")')
    .description('import a context CSV: all rows or none; a bad row is named with its number')
    .action(async (file: string) => {
      const { config, log } = preflight(true)
      const text = await readFile(file, 'utf8')
      const report = await withDatabase(config, log, async (db) => {
        await runMigrations(db)
        const timeZone = (await findDistrictTimeZone(db)) ?? config.tz
        return importContextCsv(db, text, { source: basename(file), timeZone, importedBy: null })
      })
      process.stdout.write(
        `imported ${report.rows} rows from ${report.source} (${report.variables.join(', ')}) as ${report.id}\n`,
      )
    })

  registerKeyCommands(program)

  program
    .command('build-dashboards')
    .argument('[outDir]', 'output directory', 'dashboards/dist')
    .description('bundle the dashboards (start and api do this by themselves)')
    .action(async (outDir: string) => {
      const r = await buildDashboards(outDir)
      process.stdout.write(`built ${r.files.length} files into ${r.outDir}\n`)
    })
}

type Role = 'admin' | 'analyst' | 'shopkeeper'

/** `miglio keys create` and `miglio keys revoke`. */
function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys')
  keys
    .command('create')
    .requiredOption('--role <role>', 'admin | analyst | shopkeeper', (v) => {
      if (v !== 'admin' && v !== 'analyst' && v !== 'shopkeeper')
        throw new InvalidArgumentError('must be admin, analyst or shopkeeper')
      return v
    })
    .option('--shop <id>', 'the shop of a shopkeeper key')
    .option('--label <text>', 'what the key is for', 'cli')
    .description('create an API key; it is printed once and stored hashed')
    .action(async (o: { role: Role; shop?: string; label: string }) => {
      if ((o.role === 'shopkeeper') !== (o.shop !== undefined)) {
        throw new AppError('bad_request', '--shop is required for a shopkeeper key and only for it')
      }
      const { config, log } = preflight(true)
      const k = await withDatabase(config, log, async (db) => {
        await runMigrations(db)
        if (o.shop && !(await shopExists(db, o.shop))) {
          throw new AppError('not_found', `shop ${o.shop} does not exist`)
        }
        return createApiKey(db, { role: o.role, shopId: o.shop ?? null, label: o.label })
      })
      process.stdout.write(`id  ${k.id}\nkey ${k.key}\n(shown once: store it now)\n`)
    })
  keys
    .command('revoke')
    .argument('<id>', 'key id')
    .description('revoke an API key')
    .action(async (id: string) => {
      const { config, log } = preflight(true)
      const revoked = await withDatabase(config, log, (db) => revokeApiKey(db, id))
      process.stdout.write(revoked ? `revoked ${id}\n` : `no active key ${id}\n`)
    })
}
