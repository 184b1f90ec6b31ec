// @ts-check
/* global Blob */
// Worker thread that owns the embedded TimescaleDB (PGlite + TimescaleDB in WASM) and serves it over
// the Postgres wire protocol on loopback. It is plain JavaScript on purpose: worker threads do not
// inherit the TypeScript loader of the parent, and this file must start the same way under `tsx`,
// vitest and plain node. Protocol (parent ⇄ worker):
//   workerData: { dataDir: string | null, loadDataDir: string | null, host: string, port: number }
//   worker → parent: { type: 'ready', port } | { type: 'error', message } | { type: 'stopped' }
//                    | { type: 'dumped' }
//   parent → worker: { type: 'stop' } | { type: 'dump', path }
import { parentPort, workerData } from 'node:worker_threads'
import { readFile, writeFile } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { timescaledb } from '@electric-sql/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

if (!parentPort) throw new Error('pglite-worker must run in a worker thread')
const port = parentPort

/** @type {{ dataDir: string | null, loadDataDir: string | null, host: string, port: number }} */
const options = workerData

async function main() {
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    // An in-memory database may start as a copy of a data directory dumped by `dump` (tests).
    ...(options.loadDataDir
      ? { loadDataDir: new Blob([await readFile(options.loadDataDir)]) }
      : {}),
    extensions: { timescaledb },
  })
  // An existing data directory must load TimescaleDB before any other statement: without it the first
  // INSERT into a hypertable fails and compressed chunks silently return wrong counts.
  await db.exec(`LOAD 'timescaledb'`)
  await db.exec(`CREATE EXTENSION IF NOT EXISTS timescaledb`)
  // The WASM build has no background workers; Miglio's job runner calls run_job itself.
  const server = new PGLiteSocketServer({
    db,
    host: options.host,
    port: options.port,
    maxConnections: 4,
  })
  await server.start()
  const conn = server.getServerConn()
  const listenPort = Number(conn.slice(conn.lastIndexOf(':') + 1))
  port.postMessage({ type: 'ready', port: listenPort })

  port.on('message', async (/** @type {{ type: string, path?: string }} */ msg) => {
    if (msg.type === 'dump' && msg.path) {
      try {
        const tar = await db.dumpDataDir('none')
        await writeFile(msg.path, Buffer.from(await tar.arrayBuffer()))
        port.postMessage({ type: 'dumped' })
      } catch (err) {
        port.postMessage({
          type: 'error',
          message: err instanceof Error ? err.message : String(err),
        })
      }
      return
    }
    if (msg.type !== 'stop') return
    try {
      await server.stop()
      await db.close()
      port.postMessage({ type: 'stopped' })
    } catch (err) {
      port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    }
  })
}

main().catch((err) => {
  port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) })
})
