import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { AppError } from '../../errors.ts'
import { PACKAGE_ROOT } from '../../package-root.ts'
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts'

export type EmbeddedTimescale = {
  /** postgres:// URL of the loopback wire-protocol server. Use a pool of one connection. */
  url: string
  port: number
  /** Writes the data directory as a tarball (`loadDataDir` starts a copy of it). */
  dumpDataDir(path: string): Promise<void>
  stop(): Promise<void>
}

type WorkerMessage =
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' }
  | { type: 'dumped' }

/**
 * Starts PGlite + TimescaleDB in a worker thread (big statements would otherwise stall the event
 * loop for seconds) and serves it on 127.0.0.1 over the Postgres wire protocol, so the app talks to
 * it through the same pg + kysely code as to a real server. `dataDir: null` keeps it in memory (tests).
 */
export async function startEmbeddedTimescale(options: {
  dataDir: string | null
  /** With `dataDir: null`: start as a copy of a tarball written by `dumpDataDir` (tests). */
  loadDataDir?: string | null
  /** Loopback port; 0 (default) picks a free one. */
  port?: number
  startTimeoutMs?: number
}): Promise<EmbeddedTimescale> {
  const lock: DataDirLock | null = options.dataDir ? lockDataDir(options.dataDir) : null
  const worker = new Worker(join(PACKAGE_ROOT, 'services/shared/db/embedded/pglite-worker.mjs'), {
    workerData: {
      dataDir: options.dataDir ? join(options.dataDir, 'pgdata') : null,
      loadDataDir: options.loadDataDir ?? null,
      host: '127.0.0.1',
      port: options.port ?? 0,
    },
  })
  let exited = false
  worker.once('exit', () => {
    exited = true
    lock?.release()
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('embedded TimescaleDB did not start in time')),
        options.startTimeoutMs ?? 60_000,
      )
      worker.once('message', (msg: WorkerMessage) => {
        clearTimeout(timer)
        if (msg.type === 'ready') resolve(msg.port)
        else reject(new Error(msg.type === 'error' ? msg.message : 'unexpected message'))
      })
      worker.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
    let stopping: Promise<void> | null = null
    return {
      port,
      // PGlite ignores the password, but pg's SCRAM/MD5 path needs one to be set.
      url: `postgres://postgres:miglio@127.0.0.1:${port}/postgres?sslmode=disable`,
      dumpDataDir(path) {
        return new Promise<void>((resolve, reject) => {
          const onMessage = (msg: WorkerMessage) => {
            if (msg.type !== 'dumped' && msg.type !== 'error') return
            worker.off('message', onMessage)
            if (msg.type === 'dumped') resolve()
            else reject(new Error(`embedded TimescaleDB dump failed: ${msg.message}`))
          }
          worker.on('message', onMessage)
          worker.postMessage({ type: 'dump', path })
        })
      },
      stop() {
        stopping ??= (async () => {
          if (!exited) {
            const done = new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, 15_000)
              worker.on('message', (msg: WorkerMessage) => {
                if (msg.type === 'stopped' || msg.type === 'error') {
                  clearTimeout(timer)
                  resolve()
                }
              })
            })
            worker.postMessage({ type: 'stop' })
            await done
            await worker.terminate()
          }
          lock?.release()
        })()
        return stopping
      },
    }
  } catch (err) {
    await worker.terminate()
    lock?.release()
    throw new AppError(
      'embedded_db_failed',
      `embedded TimescaleDB failed to start: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }
}
