import { Command, CommanderError } from 'commander'
import { AppError } from '../services/shared/errors.ts'
import { registerServiceCommands } from './service-commands.ts'
import { registerAdminCommands } from './admin-commands.ts'
import { registerSimulatorCommands } from './simulator-commands.ts'
import { registerCalibrationCommands } from './calibration-commands.ts'

/**
 * The front door: parses the command line and calls what runs each command — the processes'
 * mains (start/main.ts, services/ingest/main.ts, services/api/main.ts, simulator/main.ts) and the
 * short administrative commands. The only place that reads the environment.
 */
export function buildCli(): Command {
  const program = new Command()
    .name('miglio')
    .description(
      'Foot-traffic analytics for shopping streets. Configuration comes from the environment (see .env.example).',
    )
    .showHelpAfterError()
    .exitOverride()
  registerServiceCommands(program)
  registerAdminCommands(program)
  registerSimulatorCommands(program)
  registerCalibrationCommands(program)
  return program
}

/** Runs the CLI; returns the exit code. Errors are one clear message, not a stack trace. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    if (err instanceof AppError) {
      process.stderr.write(`miglio: ${err.message}\n`)
      return 1
    }
    process.stderr.write(`miglio: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  }
}
