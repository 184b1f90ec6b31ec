import { fork, type ChildProcess } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildConfig, ChildStats } from '../ingest-child.ts'

const CHILD = fileURLToPath(new URL('../ingest-child.ts', import.meta.url))
const COMPILED_CHILD = fileURLToPath(new URL('../.build/ingest-child.mjs', import.meta.url))

/**
 * `BENCH_CHILD_COMPILED=1`: the child runs compiled (one ES module built with esbuild, as
 * `npm run build` builds the CLI) instead of through tsx — the memory a production process has.
 * Built once per run; the API it starts for the latency benchmark is a chunk loaded on demand.
 */
export const childCompiled = process.env.BENCH_CHILD_COMPILED === '1'
let compiling: Promise<string> | null = null
function compiledChild(): Promise<string> {
  compiling ??= import('esbuild').then(async ({ build }) => {
    await build({
      entryPoints: { 'ingest-child': CHILD },
      outdir: dirname(COMPILED_CHILD),
      outExtension: { '.js': '.mjs' },
      // The API, imported on demand by the latency benchmark, becomes a chunk of its own.
      splitting: true,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    })
    return COMPILED_CHILD
  })
  return compiling
}

/**
 * The part of a Miglio child's config every benchmark shares: its stack's database and topic
 * prefix, the run's broker, one client id per stack.
 */
export function miglioChildOf(
  stack: { url: string; poolSize: number; topicPrefix: string },
  mqttUrl: string,
) {
  return {
    mode: 'miglio' as const,
    dbUrl: stack.url,
    poolSize: stack.poolSize,
    mqttUrl,
    clientId: `${stack.topicPrefix}-ingest`,
    topicPrefix: stack.topicPrefix,
  }
}

export type WatchEvent = { value: number; at: number; error?: string }

/** The parent's handle on a running ingest child (bench/ingest-child.ts). */
export type IngestChild = {
  pid: number
  stats(): Promise<ChildStats>
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>
  /** Polls `text` (its first column as a number) every `intervalMs` in the child; reports changes. */
  watch(
    text: string,
    params: unknown[],
    intervalMs: number,
    on: (e: WatchEvent) => void,
  ): Promise<void>
  unwatch(): Promise<void>
  memory(): Promise<NodeJS.MemoryUsage & { gcExposed: boolean }>
  /** Starts Miglio's API in the child (same pool as ingest); its base URL and an analyst key. */
  startApi(): Promise<{ url: string; key: string }>
  /**
   * Stops the child. `keepSession`: leave its persistent MQTT session on the broker, so messages
   * published meanwhile wait for the next child with the same client id (a backlog).
   */
  stop(opts?: { keepSession?: boolean }): Promise<void>
}

export async function spawnIngestChild(
  config: ChildConfig,
  opts: { exposeGc?: boolean } = {},
): Promise<IngestChild> {
  return spawnChildScript(childCompiled ? await compiledChild() : CHILD, config, {
    ...opts,
    tsx: !childCompiled,
  })
}

/**
 * A child process running `script` with `config` (as JSON in argv), speaking ingest-child.ts's IPC
 * protocol. `tsx`: run it through tsx.
 */
export async function spawnChildScript(
  script: string,
  config: object,
  opts: { exposeGc?: boolean; tsx?: boolean } = {},
): Promise<IngestChild> {
  const proc: ChildProcess = fork(script, [JSON.stringify(config)], {
    execArgv: [
      ...(opts.exposeGc ? ['--expose-gc'] : []),
      ...(process.env.BENCH_CHILD_FLAGS ?? '').split(' ').filter(Boolean),
      ...(opts.tsx === false ? [] : ['--import', 'tsx']),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let nextId = 1
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let onWatch: ((e: WatchEvent) => void) | null = null
  let exited = false
  const ready = new Promise<void>((resolve, reject) => {
    proc.on('message', (raw) => {
      const msg = raw as {
        type?: string
        id?: number
        ok?: boolean
        result?: unknown
        error?: string
        value?: number
        at?: number
      }
      if (msg.type === 'ready') return resolve()
      if (msg.type === 'watch') {
        onWatch?.({
          value: msg.value ?? NaN,
          at: msg.at ?? 0,
          ...(msg.error ? { error: msg.error } : {}),
        })
        return
      }
      const p = msg.id === undefined ? undefined : pending.get(msg.id)
      if (!p || msg.id === undefined) return
      pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new Error(`ingest child: ${msg.error}`))
    })
    proc.once('exit', (code) => {
      exited = true
      const err = new Error(`ingest child exited with code ${code}`)
      reject(err)
      for (const p of pending.values()) p.reject(err)
      pending.clear()
    })
  })
  await ready
  const call = <T>(op: string, extra: Record<string, unknown> = {}): Promise<T> => {
    if (exited) return Promise.reject(new Error('ingest child has exited'))
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      proc.send({ id, op, ...extra })
    })
  }
  return {
    pid: proc.pid ?? -1,
    stats: () => call<ChildStats>('stats'),
    query: <R>(text: string, params: unknown[] = []) => call<R[]>('query', { text, params }),
    async watch(text, params, intervalMs, on) {
      onWatch = on
      await call('watch', { text, params, intervalMs })
    },
    async unwatch() {
      await call('unwatch')
      onWatch = null
    },
    memory: () => call('memory'),
    startApi: () => call('api'),
    async stop(opts = {}) {
      if (exited) return
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
      await call('stop', opts).catch(() => undefined)
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      await gone
      clearTimeout(timer)
    },
  }
}

/**
 * Waits until `children` together have acknowledged `target` messages, reporting the batches to go
 * every 5 s; gives up (`complete: false`) when none progressed for 30 s. Returns each child's stats.
 */
export async function waitAcknowledged(
  children: readonly IngestChild[],
  target: number,
  report: (toGo: number) => void,
): Promise<{ stats: ChildStats[]; complete: boolean }> {
  const read = () => Promise.all(children.map((ch) => ch.stats()))
  const doneOf = (all: readonly ChildStats[]) => all.reduce((n, s) => n + s.messagesDone, 0)
  let last = await read()
  let done = doneOf(last)
  let lastProgressAt = Date.now()
  let lastReport = Date.now()
  while (done < target) {
    await new Promise((r) => setTimeout(r, 100))
    last = await read()
    const now = doneOf(last)
    if (now !== done) {
      done = now
      lastProgressAt = Date.now()
    }
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now()
      report(target - done)
    }
    if (Date.now() - lastProgressAt > 30_000) return { stats: last, complete: false }
  }
  return { stats: last, complete: true }
}
