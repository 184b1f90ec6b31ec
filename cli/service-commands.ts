import type { Command } from 'commander'
import { runStart } from '../start/main.ts'
import { runIngest } from '../services/ingest/main.ts'
import { runApi } from '../services/api/main.ts'
import { preflight } from './preflight.ts'

/** `miglio start`, `miglio ingest` and `miglio api`: each runs until SIGINT/SIGTERM. */
export function registerServiceCommands(program: Command): void {
  program
    .command('start')
    .description(
      'run the whole pipeline: database, broker, ingest, API + dashboard and the simulator (embedded defaults unless DATABASE_URL / MQTT_URL are set)',
    )
    .action(async () => {
      const { config, log } = preflight(true)
      await runStart(config, log)
    })

  program
    .command('ingest')
    .description('run only the ingest service (needs DATABASE_URL and MQTT_URL)')
    .action(async () => {
      const { config, log } = preflight(false)
      await runIngest(config, log)
    })

  program
    .command('api')
    .description(
      'run only the API and dashboard (needs DATABASE_URL; MQTT_URL is reported in /api/v1/health)',
    )
    .action(async () => {
      const { config, log } = preflight(false)
      await runApi(config, log)
    })
}
