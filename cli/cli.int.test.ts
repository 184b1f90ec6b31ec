import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import mqtt from 'mqtt'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { waitFor } from '../services/shared/testing/engines.ts'

// The real front door: `miglio start` as a child process on embedded defaults.
const BIN = new URL('../bin/miglio.mjs', import.meta.url).pathname

type Run = { child: ChildProcessWithoutNullStreams; stdout: () => string; stderr: () => string }

function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return { child, stdout: () => out, stderr: () => err }
}

async function exitCode(r: Run, timeoutMs = 60_000): Promise<number | null> {
  if (r.child.exitCode !== null) return r.child.exitCode
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(r.child, 'exit')) as [number | null]
  clearTimeout(timer)
  return code
}

async function runningUrl(r: Run): Promise<string> {
  const out = await waitFor(
    () => Promise.resolve(r.stdout()),
    (s) => /Miglio is running: (http:\/\/\S+)/.test(s) || r.child.exitCode !== null,
    { timeoutMs: 90_000, what: 'the running line' },
  )
  const m = /Miglio is running: (http:\/\/\S+)/.exec(out)
  if (!m?.[1]) throw new Error(`start exited: ${r.stderr()}`)
  return m[1]
}

let dataDir: string
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'miglio-cli-'))
})
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

describe('miglio start', () => {
  it('runs the pipeline, refuses a second instance, stops on SIGTERM and comes back with its data', async () => {
    // A flat day: the same demo traffic whatever the hour this test runs at.
    const env = {
      MIGLIO_DATA_DIR: dataDir,
      PORT: '0',
      SIM_BACKFILL: '15m',
      SIM_HISTORY: '0',
      SIM_FLAT_DAY: 'true',
    }
    const first = run(['start'], env)
    try {
      const url = await runningUrl(first)
      const health = await fetch(new URL('api/v1/health', url))
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({
        status: 'ok',
        database: { up: true },
        broker: { up: true },
      })
      expect((await fetch(url)).headers.get('content-type')).toContain('text/html')

      // The embedded broker refuses anonymous clients; its users are in a private file.
      const brokerUrl = /Embedded MQTT broker: (mqtt:\/\/\S+)/.exec(first.stdout())?.[1]
      expect(brokerUrl).toBeDefined()
      const credentialsFile = join(dataDir, 'broker-credentials.json')
      expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600)
      const credentials = await readFile(credentialsFile, 'utf8')
      const simulatorPassword = (JSON.parse(credentials) as { services: Record<string, string> })
        .services['miglio-simulator']
      await expect(
        mqtt.connectAsync(brokerUrl!, { reconnectPeriod: 0, connectTimeout: 5000 }),
      ).rejects.toMatchObject({ code: 5 })
      const sim = await mqtt.connectAsync(brokerUrl!, {
        reconnectPeriod: 0,
        username: 'miglio-simulator',
        password: simulatorPassword!,
      })
      try {
        // Not even the simulator may read what gateways send.
        await expect(sim.subscribeAsync('#', { qos: 1 })).rejects.toMatchObject({
          packet: { granted: [128] },
        })
      } finally {
        await sim.endAsync(true)
      }

      const keysFile = join(dataDir, 'demo-keys.json')
      const saved = JSON.parse(await readFile(keysFile, 'utf8')) as {
        keys: { role: string; key: string }[]
      }
      expect(first.stdout()).toContain(saved.keys[0]!.key)
      const analyst = saved.keys.find((k) => k.role === 'analyst')!.key
      // Whole hourly buckets from the start of the previous hour: the backfill's transits are first
      // seen up to 15 minutes ago, which early in an hour is in the previous hour's bucket (a
      // range starting an hour ago to the minute would leave that bucket out).
      const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000
      const range = `from=${new Date(hourStart - 3_600_000).toISOString()}&to=${new Date(hourStart + 2 * 3_600_000).toISOString()}&bucket=1h`
      const total = async () => {
        const res = await fetch(new URL(`api/v1/footfall?${range}`, url), {
          headers: { authorization: `Bearer ${analyst}` },
        })
        const body = (await res.json()) as { totals: { passersBy: number; visitors: number }[] }
        return body.totals.reduce((n, t) => n + t.passersBy + t.visitors, 0)
      }
      const before = await waitFor(total, (n) => n > 20, {
        timeoutMs: 90_000,
        what: 'footfall from the simulator',
      })

      const second = run(['start'], { ...env })
      expect(await exitCode(second)).toBe(1)
      expect(second.stderr()).toMatch(/in use by process \d+/)

      first.child.kill('SIGTERM')
      expect(await exitCode(first, 30_000)).toBe(0)

      const again = run(['start'], { ...env, SIMULATOR: 'false' })
      try {
        const url2 = await runningUrl(again)
        const res = await fetch(new URL(`api/v1/footfall?${range}`, url2), {
          headers: { authorization: `Bearer ${analyst}` },
        })
        expect(res.status).toBe(200)
        const body = (await res.json()) as { totals: { passersBy: number; visitors: number }[] }
        expect(
          body.totals.reduce((n, t) => n + t.passersBy + t.visitors, 0),
        ).toBeGreaterThanOrEqual(before)
        expect(JSON.parse(await readFile(keysFile, 'utf8'))).toEqual(saved)
        // The broker's users are reused, so a configured gateway keeps working.
        expect(await readFile(credentialsFile, 'utf8')).toBe(credentials)
      } finally {
        again.child.kill('SIGTERM')
        expect(await exitCode(again, 30_000)).toBe(0)
      }
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL')
    }
  })

  it('stops before opening anything when the configuration is invalid, naming every bad key and no secret', async () => {
    const r = run(['start'], {
      MIGLIO_DATA_DIR: dataDir,
      PORT: 'abc',
      DATABASE_URL: 'mysql://user:s3cret@db/x',
      SIMULATOR: 'maybe',
    })
    expect(await exitCode(r)).toBe(1)
    const err = r.stderr()
    expect(err).toMatch(/PORT/)
    expect(err).toMatch(/DATABASE_URL/)
    expect(err).toMatch(/SIMULATOR/)
    expect(err).not.toContain('s3cret')
    expect(r.stdout()).toBe('')
  })

  it('reports a busy port as such and exits', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const address = blocker.address()
    const port = typeof address === 'object' && address ? address.port : 0
    try {
      const dir = await mkdtemp(join(tmpdir(), 'miglio-cli-port-'))
      const r = run(['start'], { MIGLIO_DATA_DIR: dir, PORT: String(port), SIMULATOR: 'false' })
      expect(await exitCode(r)).toBe(1)
      expect(r.stderr()).toContain(`port ${port}`)
      expect(r.stderr()).toContain('already in use')
      await rm(dir, { recursive: true, force: true })
    } finally {
      blocker.close()
    }
  })

  it('prints help for every command', async () => {
    for (const cmd of ['start', 'ingest', 'api', 'simulate', 'migrate']) {
      const r = run([cmd, '--help'], {})
      expect(await exitCode(r)).toBe(0)
      expect(r.stdout()).toContain(`Usage: miglio ${cmd}`)
    }
  })
})
