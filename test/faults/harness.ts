import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, type WriteStream } from 'node:fs'
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

// Engines and processes of the fault-injection suite: a native TimescaleDB server and a Mosquitto
// broker that the suite starts, stops and restarts itself, and the `miglio` processes under test,
// each with its output captured to a log file (scanned for MACs at the end).

const run = promisify(execFile)

export const PG_BIN = '/usr/lib/postgresql/15/bin'
export const REPO_ROOT = resolve(import.meta.dirname, '../..')
/** The native TimescaleDB tool, beside the repository (`<ci dir>/main` → `<ci dir>/shared/…`). */
export const TIMESCALE_TOOL = resolve(REPO_ROOT, '../shared/tools/timescaledb')

function mosquittoPath(): string | null {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'])
    if (existsSync(p)) return p
  return null
}

/** What is missing to run the suite, each with what to install; empty when all is there. */
export async function missingPrerequisites(): Promise<string[]> {
  const missing: string[] = []
  if (process.getuid?.() !== 0)
    missing.push('root (the suite runs PostgreSQL as the postgres user and stops/starts it)')
  if (!existsSync(join(PG_BIN, 'postgres')) || !existsSync(join(PG_BIN, 'pg_dump')))
    missing.push('PostgreSQL 15 server and client (apt-get install -y postgresql-15)')
  else {
    try {
      await run('id', ['postgres'])
    } catch {
      missing.push("the 'postgres' user (apt-get install -y postgresql-15)")
    }
  }
  if (!mosquittoPath()) missing.push('Mosquitto 2 (apt-get install -y mosquitto)')
  if (!existsSync(join(TIMESCALE_TOOL, 'start.sh')))
    missing.push(
      `the native TimescaleDB tool at ${TIMESCALE_TOOL}/start.sh (../shared/tools/timescaledb beside the repository)`,
    )
  return missing
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolvePort(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      r(true)
    })
    socket.once('error', () => r(false))
  })
}

/** Polls `fn` until `ok` accepts its value; fails after `timeoutMs` with the last value. */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000)
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200))
  }
}

/**
 * Keeps a fault in place for `ms` (its duration is the fault: a broker down 10 s, a database down
 * 60 s), calling `sample` every `everyMs` meanwhile (metrics scraped during the fault).
 */
export async function holdFault(ms: number, sample: () => Promise<void>, everyMs = 500) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    await sample()
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(everyMs, end - Date.now()))))
  }
}

// ─── processes ────────────────────────────────────────────────────────────────────────────────────

export type Exit = { code: number | null; signal: NodeJS.Signals | null }

export type Proc = {
  name: string
  pid: number
  logFile: string
  child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  output(): string
  stdout(): string
  alive(): boolean
  exited: Promise<Exit>
  /** Resolves when the output matches `re` (from `fromIndex`), with the wall time it was seen. */
  waitForOutput(re: RegExp, timeoutMs?: number, fromIndex?: number): Promise<number>
  /** SIGTERM, then the exit (SIGKILL and a rejection after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<Exit>
}

const started = new Set<Proc>()

/** Starts a process with its stdout and stderr appended to `logFile` and kept in memory. */
export function startProcess(opts: {
  name: string
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  logFile: string
  cwd?: string
}): Proc {
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`)
  const log: WriteStream = createWriteStream(opts.logFile, { flags: 'a' })
  let all = ''
  let out = ''
  const watchers = new Set<() => void>()
  const take = (isStdout: boolean) => (chunk: Buffer) => {
    const text = chunk.toString('utf8')
    all += text
    if (isStdout) out += text
    log.write(chunk)
    for (const w of watchers) w()
  }
  child.stdout?.on('data', take(true))
  child.stderr?.on('data', take(false))
  let isAlive = true
  const exited = new Promise<Exit>((r) =>
    child.once('exit', (code, signal) => {
      isAlive = false
      for (const w of watchers) w()
      r({ code, signal })
    }),
  ).then(async (e) => {
    await new Promise<void>((r) => log.end(() => r()))
    return e
  })
  const proc: Proc = {
    name: opts.name,
    pid: child.pid,
    logFile: opts.logFile,
    child,
    output: () => all,
    stdout: () => out,
    alive: () => isAlive,
    exited,
    waitForOutput(re, timeoutMs = 60_000, fromIndex = 0) {
      return new Promise((resolveSeen, reject) => {
        const check = () => {
          if (re.test(all.slice(fromIndex))) {
            done()
            resolveSeen(Date.now())
          } else if (!isAlive) {
            done()
            reject(new Error(`${opts.name} exited before printing ${re}: ${all.slice(-400)}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`${opts.name} did not print ${re} within ${timeoutMs} ms`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          watchers.delete(check)
        }
        watchers.add(check)
        check()
      })
    },
    async stop(timeoutMs = 30_000) {
      if (isAlive) child.kill('SIGTERM')
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref())
      const first = await Promise.race([exited, timer])
      if (first === 'timeout') {
        child.kill('SIGKILL')
        await exited
        throw new Error(`${opts.name} did not stop within ${timeoutMs} ms of SIGTERM`)
      }
      return first
    },
  }
  started.add(proc)
  void exited.then(() => started.delete(proc))
  return proc
}

/** Kills (SIGKILL) every process this module started that is still running. */
export async function killAllStarted(): Promise<void> {
  const procs = [...started]
  for (const p of procs) p.child.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}

/** The environment of a `miglio` process: PATH and HOME, and only the keys given. */
export function miglioEnv(keys: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...keys }
}

export function startMiglio(
  name: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Proc {
  return startProcess({
    name,
    command: process.execPath,
    args: [join(REPO_ROOT, 'bin/miglio.mjs'), ...args],
    env: miglioEnv(env),
    logFile,
  })
}

/** Runs a short `miglio` command to its end; its stdout, or an error with its output. */
export async function runMiglio(
  name: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
  timeoutMs = 60_000,
): Promise<string> {
  const p = startMiglio(name, args, env, logFile)
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref())
  const e = await Promise.race([p.exited, timer])
  if (e === 'timeout') {
    await p.stop(5_000).catch(() => undefined)
    throw new Error(`${name} did not finish within ${timeoutMs} ms`)
  }
  if (e.code !== 0)
    throw new Error(`${name} failed (${e.code ?? e.signal}): ${p.output().slice(-600)}`)
  return p.stdout()
}

// ─── TimescaleDB ──────────────────────────────────────────────────────────────────────────────────

export type TimescaleServer = {
  port: number
  dir: string
  /** URL of a database on this server. */
  url(database: string): string
  logFile: string
  /** Stops the server (`pg_ctl stop -m <mode>`), as the `postgres` user. */
  stop(mode: 'fast' | 'immediate'): Promise<void>
  /** Starts the same cluster again and waits until it accepts connections. */
  start(): Promise<void>
  /** Stops it and deletes its data (kept with keep=true). */
  destroy(keep: boolean): Promise<void>
}

const asPostgres = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args])

/** A fresh cluster through the shared tool (`start.sh`), fsync on, on a free loopback port. */
export async function startTimescale(dir: string): Promise<TimescaleServer> {
  const port = await freePort()
  const { stdout } = await run(join(TIMESCALE_TOOL, 'start.sh'), [], {
    env: { ...process.env, PORT: String(port), TIMESCALEDB_DIR: dir, FSYNC: 'on' },
  })
  if (!/TIMESCALEDB_URL=/.test(stdout)) throw new Error(`start.sh printed no URL: ${stdout}`)
  const logFile = join(dir, 'server.log')
  return {
    port,
    dir,
    logFile,
    url: (database) => `postgresql://postgres:postgres@127.0.0.1:${port}/${database}`,
    async stop(mode) {
      await asPostgres([join(PG_BIN, 'pg_ctl'), '-D', dir, '-m', mode, '-w', 'stop'])
    },
    async start() {
      await asPostgres([
        join(PG_BIN, 'pg_ctl'),
        '-D',
        dir,
        '-l',
        logFile,
        '-w',
        '-t',
        '60',
        'start',
      ])
    },
    async destroy(keep) {
      await run(join(TIMESCALE_TOOL, 'stop.sh'), [dir], {
        env: { ...process.env, KEEP: keep ? '1' : '0' },
      })
    },
  }
}

/** `pg_dump` of a whole database (every schema, data included) as plain SQL into `file`. */
export async function pgDump(server: TimescaleServer, database: string, file: string) {
  await run(
    join(PG_BIN, 'pg_dump'),
    ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-d', database, '-f', file],
    { env: { ...process.env, PGPASSWORD: 'postgres' }, maxBuffer: 64 * 1024 * 1024 },
  )
}

// ─── Mosquitto ────────────────────────────────────────────────────────────────────────────────────

export type Broker = {
  url: string
  logFile: string
  /** SIGTERM (Mosquitto writes its persistence file), then the exit. */
  stop(): Promise<void>
  /** Starts it again on the same port with the same persistence file. */
  start(): Promise<void>
}

/**
 * Mosquitto with the delivery settings of infra/mosquitto/mosquitto.test.conf, plus persistence
 * (so persistent sessions and their queued messages survive a restart).
 */
export async function startMosquitto(dir: string): Promise<Broker> {
  const bin = mosquittoPath()
  if (!bin) throw new Error('no mosquitto binary')
  const port = await freePort()
  const data = join(dir, 'mosquitto-data')
  await mkdir(data, { recursive: true })
  // Mosquitto started as root runs as the `mosquitto` user when there is one.
  try {
    const { stdout } = await run('id', ['-u', 'mosquitto'])
    const { stdout: gid } = await run('id', ['-g', 'mosquitto'])
    await chown(data, Number(stdout.trim()), Number(gid.trim()))
  } catch {
    // no such user: Mosquitto keeps running as root
  }
  const base = await readFile(join(REPO_ROOT, 'infra/mosquitto/mosquitto.test.conf'), 'utf8')
  const conf = base
    .replaceAll('@PORT@', String(port))
    .replace(/^persistence false$/m, `persistence true\npersistence_location ${data}/`)
    .replace(/^max_queued_messages .*$/m, 'max_queued_messages 1000000')
  if (!/^persistence true$/m.test(conf) || !/^max_queued_messages 1000000$/m.test(conf))
    throw new Error(
      'infra/mosquitto/mosquitto.test.conf changed: persistence or queue line not found',
    )
  const confFile = join(dir, 'mosquitto.conf')
  await writeFile(confFile, conf)
  const logFile = join(dir, 'mosquitto.log')
  let proc: Proc | null = null
  const broker: Broker = {
    url: `mqtt://127.0.0.1:${port}`,
    logFile,
    async start() {
      proc = startProcess({
        name: 'mosquitto',
        command: bin,
        args: ['-c', confFile],
        env: process.env,
        logFile,
      })
      await waitUntil('Mosquitto to accept connections', () => canConnect(port), Boolean, {
        timeoutMs: 10_000,
        intervalMs: 50,
      })
    },
    async stop() {
      if (!proc) return
      const e = await proc.stop(15_000)
      if (e.code !== 0) throw new Error(`mosquitto exited with ${e.code ?? e.signal}`)
      proc = null
    },
  }
  await broker.start()
  return broker
}

// ─── metrics ──────────────────────────────────────────────────────────────────────────────────────

export type Metrics = Map<string, number>

/** The ingest's /metrics as `name{labels}` → value; null when it does not answer. */
export async function scrape(port: number): Promise<Metrics | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2000),
    })
    if (!res.ok) return null
    const m: Metrics = new Map()
    for (const line of (await res.text()).split('\n')) {
      if (!line || line.startsWith('#')) continue
      const at = line.lastIndexOf(' ')
      m.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
    return m
  } catch {
    return null
  }
}

/** The sum of a metric's series whose labels include every `labels` pair. */
export function metric(
  m: Metrics | null,
  name: string,
  labels: Record<string, string> = {},
): number {
  if (!m) return NaN
  let sum = 0
  for (const [key, value] of m) {
    const brace = key.indexOf('{')
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value
  }
  return sum
}
