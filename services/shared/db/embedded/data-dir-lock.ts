import {
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
  closeSync,
  accessSync,
  constants,
} from 'node:fs'
import { join } from 'node:path'
import { AppError } from '../../errors.ts'

export type DataDirLock = { path: string; release(): void }

/** Locks this process holds: a pid match alone cannot tell our lock from a stale one (pid 1 in containers). */
const held = new Set<string>()

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Creates the data directory when missing and fails with a clear error when it cannot be written. */
export function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, constants.W_OK)
  } catch (err) {
    throw new AppError(
      'data_dir_unwritable',
      `MIGLIO_DATA_DIR ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    )
  }
}

/**
 * Takes `<dir>/miglio.lock` (O_EXCL, holding our pid) so two processes never open one embedded
 * database. A lock left by a process that no longer runs (SIGKILL, power loss) is taken over.
 */
export function lockDataDir(dir: string): DataDirLock {
  ensureWritableDir(dir)
  const path = join(dir, 'miglio.lock')
  if (held.has(path)) {
    throw new AppError('data_dir_locked', `data directory ${dir} is already open in this process`)
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      held.add(path)
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          held.delete(path)
          rmSync(path, { force: true })
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileSync(path, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new AppError(
          'data_dir_locked',
          `data directory ${dir} is in use by process ${pid}; stop it or set MIGLIO_DATA_DIR to another directory`,
        )
      }
      rmSync(path, { force: true })
    }
  }
  throw new AppError('data_dir_locked', `could not take the lock ${path}`)
}
