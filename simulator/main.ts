import type { LoadOptionsInput, ReplayOptionsInput, SimulateOptionsInput } from './config.ts'
import type { PublishLog } from './publisher.ts'
import { runReplay, type RunReplayResult } from './replay-run.ts'
import { runLoad, runSimulate, type RunLoadResult, type RunSimulateResult } from './simulate-run.ts'

/**
 * The simulator as a process (`miglio simulate`, `simulate --load`, `replay`): a device on any
 * broker that never touches the database. Each run stops cleanly on SIGINT/SIGTERM (gateways go
 * offline, the ground truth is written, the client disconnects) and resolves with its summary.
 */

/** Progress and warnings as lines on stderr (stdout carries the JSON summary). */
export const stderrLog: PublishLog = {
  info: (m: string) => process.stderr.write(`${m}\n`),
  warn: (m: string) => process.stderr.write(`warning: ${m}\n`),
}

/** Runs `fn` with an AbortSignal that SIGINT/SIGTERM trigger, so runs stop cleanly. */
async function withStopSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController()
  const onSignal = () => abort.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await fn(abort.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** `miglio simulate`: simulated street traffic (simulate-run.ts) until its window ends or a signal. */
export function runSimulateProcess(
  input: SimulateOptionsInput,
  log: PublishLog = stderrLog,
): Promise<RunSimulateResult> {
  return withStopSignal((signal) => runSimulate(input, { log, signal }))
}

/** `miglio simulate --load`: synthetic benchmark traffic until its duration ends or a signal. */
export function runLoadProcess(
  input: LoadOptionsInput,
  log: PublishLog = stderrLog,
): Promise<RunLoadResult> {
  return withStopSignal((signal) => runLoad(input, { log, signal }))
}

/** `miglio replay <file>`: a recording (replay-run.ts) until its end or a signal. */
export function runReplayProcess(
  input: ReplayOptionsInput,
  log: PublishLog = stderrLog,
): Promise<RunReplayResult> {
  return withStopSignal((signal) => runReplay(input, { log, signal }))
}
