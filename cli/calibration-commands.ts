import { readFile, writeFile } from 'node:fs/promises'
import { InvalidArgumentError, type Command } from 'commander'
import {
  formatCountSessionsCsv,
  occupancyCountSessions,
} from '../services/shared/contracts/count-sessions-csv.ts'
import { assertTimeZone } from '../services/shared/contracts/local-time.ts'
import { fitCalibrations, importCountSessionsCsv } from '../services/shared/db/calibrations.ts'
import { withDatabase } from '../services/shared/db/open-database.ts'
import { runMigrations } from '../services/shared/db/migrate.ts'
import { findDistrictTimeZone } from '../services/shared/registry/district-repository.ts'
import { AppError } from '../services/shared/errors.ts'
import { preflight } from './preflight.ts'

const positiveInt = (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 1440)
    throw new InvalidArgumentError('must be a whole number of minutes, 1–1440')
  return n
}

/**
 * `miglio calibration import <file.csv>`, `miglio calibration fit` and `miglio calibration
 * from-occupancy <capture.csv>` (issue #16; the CSV columns are in
 * services/shared/contracts/count-sessions-csv.ts and services/api/README.md).
 */
export function registerCalibrationCommands(program: Command): void {
  const calibration = program
    .command('calibration')
    .description('counting sessions and the calibration of devices → people per gateway')
  calibration
    .command('import')
    .argument('<file>', 'CSV: zone,start,end,kind,people,counted_by[,gateway][,note]')
    .description(
      'record counting sessions from a CSV; a bad line refuses the whole file (nothing imported) with its line number and reason',
    )
    .action(async (file: string) => {
      const text = await readFile(file, 'utf8')
      const { config, log } = preflight(true)
      const sessions = await withDatabase(config, log, async (db) => {
        await runMigrations(db)
        return importCountSessionsCsv(db, text, Date.now())
      })
      process.stdout.write(`imported ${sessions.length} counting sessions\n`)
    })
  calibration
    .command('fit')
    .option(
      '--gateway <id...>',
      'the gateways to fit (default: every gateway of a zone with counts)',
    )
    .description(
      'fit each gateway from its counting sessions: a new version in force from now on, or the reason none',
    )
    .action(async (o: { gateway?: string[] }) => {
      const { config, log } = preflight(true)
      const results = await withDatabase(config, log, async (db) => {
        await runMigrations(db)
        const timeZone = (await findDistrictTimeZone(db)) ?? config.tz
        return fitCalibrations(db, { timeZone, ...(o.gateway ? { gatewayIds: o.gateway } : {}) })
      })
      if (results.length === 0) process.stdout.write('no gateway has counting sessions\n')
      for (const r of results) {
        const q = r.version?.quality
        process.stdout.write(
          r.applied && q
            ? `${r.gateway}: version ${r.version?.version} in force from ${r.version?.validFrom} — MAE ${q.maePeople.toFixed(2)} people, MAPE ${q.mapePct === null ? 'n/a' : `${q.mapePct.toFixed(1)} %`}, coverage ${q.coveragePct.toFixed(0)} %, ${q.sessions} sessions\n`
            : `${r.gateway}: not applied — ${r.reason}\n`,
        )
        for (const n of r.notes) process.stdout.write(`  note: ${n}\n`)
      }
    })
  calibration
    .command('from-occupancy')
    .argument('<capture>', "a sniffer capture with an occupancy column (the Brno captures')")
    .requiredOption('--zone <id>', 'the zone the capture counted')
    .option('--gateway <id>', 'the gateway the counts are for')
    .option('--window <minutes>', 'window length', positiveInt, 15)
    .option('--tz <zone>', "the capture's time zone", 'Europe/Prague')
    .option('--counted-by <text>', 'who counted', 'occupancy ground truth')
    .option('--out <file>', 'write the CSV here (default: standard output)')
    .description(
      "turn a capture's ground-truth occupancy into counting sessions of people present (CSV for `calibration import`)",
    )
    .action(
      async (
        capture: string,
        o: {
          zone: string
          gateway?: string
          window: number
          tz: string
          countedBy: string
          out?: string
        },
      ) => {
        assertTimeZone(o.tz)
        const r = occupancyCountSessions(await readFile(capture, 'utf8'), {
          zone: o.zone,
          ...(o.gateway ? { gateway: o.gateway } : {}),
          windowMinutes: o.window,
          timeZone: o.tz,
          countedBy: o.countedBy,
        })
        if (!r.ok) throw new AppError('bad_request', `line ${r.line}: ${r.reason}`)
        const csv = formatCountSessionsCsv(r.sessions)
        if (o.out) {
          await writeFile(o.out, csv)
          process.stdout.write(`wrote ${r.sessions.length} counting sessions to ${o.out}\n`)
        } else process.stdout.write(csv)
      },
    )
}
