import closeWithGrace from 'close-with-grace'
import type { Logger } from '../logger.ts'

/**
 * The end of a long-running process (`miglio start`, `ingest`, `api`): runs until SIGINT/SIGTERM
 * (or an uncaught error), then stops what was started within a grace period of 20 s; or until
 * `failed` rejects (a start-up that failed in the background, already stopped), with its error.
 */
export async function untilSignal(
  log: Logger,
  stop: () => Promise<void>,
  failed?: Promise<unknown>,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let stopping = false
    const handlers = closeWithGrace({ delay: 20_000 }, async ({ signal, err }) => {
      stopping = true
      if (err) log.error({ err: String(err) }, 'stopping after an unexpected error')
      else log.info({ signal }, 'stopping')
      await stop()
      resolve()
    })
    failed?.catch((err: unknown) => {
      // A stop during start-up rejects it too: that is not a failure.
      if (stopping) return
      handlers.uninstall()
      reject(err)
    })
  })
}
