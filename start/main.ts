import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import { untilSignal } from '../services/shared/process/until-signal.ts'
import { startPipeline } from './pipeline.ts'

/**
 * `miglio start`: the whole pipeline in one process (pipeline.ts) until SIGINT/SIGTERM, or until
 * start-up fails in the background (then it rejects with that error, everything already stopped).
 */
export async function runStart(config: Config, log: Logger): Promise<void> {
  const running = await startPipeline(config, log)
  await untilSignal(log, running.stop, running.ready)
}
