import { loadConfig, type Config } from '../services/shared/config.ts'
import { createLogger, type Logger } from '../services/shared/logger.ts'
import { ensureWritableDir } from '../services/shared/db/embedded/data-dir-lock.ts'

/**
 * The configuration from the environment (invalid values stop here, before anything opens) and the
 * logger; `needsDataDir`: the command may open the embedded database, whose directory must be
 * writable unless DATABASE_URL is set.
 */
export function preflight(needsDataDir: boolean): { config: Config; log: Logger } {
  const config = loadConfig(process.env)
  if (needsDataDir && !config.db.url) ensureWritableDir(config.db.dataDir)
  const log = createLogger({ level: config.log.level, name: 'miglio' })
  return { config, log }
}
