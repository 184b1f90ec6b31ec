import { execFile } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** Where PostgreSQL 15's programs are (Debian's postgresql-15, beside the native TimescaleDB). */
export const PG_BINDIR = '/usr/lib/postgresql/15/bin'

export type Standby = {
  /** `url` (a database on the primary) as the same database on the standby. */
  urlOf(primaryDatabaseUrl: string): string
  /** Stops applying WAL (it keeps receiving it): the standby falls behind. */
  pauseReplay(): Promise<void>
  resumeReplay(): Promise<void>
  stop(): Promise<void>
}

/** Why a standby cannot be made here, or null when it can. */
export function standbyUnavailable(): string | null {
  if (!existsSync(join(PG_BINDIR, 'pg_basebackup')))
    return `no PostgreSQL programs in ${PG_BINDIR} (apt-get install postgresql-15)`
  if (process.getuid?.() !== 0)
    return 'the standby is started as the postgres user, which needs root (runuser)'
  return null
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (!address || typeof address === 'string') throw new Error('no free port')
  return address.port
}

/** Runs a PostgreSQL program as the postgres user (through runuser when we are root). */
async function asPostgres(program: string, args: string[], password?: string) {
  const bin = join(PG_BINDIR, program)
  // The password reaches pg_basebackup as PGPASSWORD through runuser's environment, nothing else.
  const env = password === undefined ? [] : [`PGPASSWORD=${password}`]
  return run('runuser', ['-u', 'postgres', '--', 'env', ...env, bin, ...args], {
    timeout: 120_000,
  })
}

/**
 * A streaming hot standby of the server behind `adminUrl` (a superuser URL on 127.0.0.1, which
 * pg_hba lets replicate): a base backup with `-R`, started on a free loopback port. For tests of
 * the API's read replica; the whole cluster is copied, so keep the primary small. Needs root (the server runs as
 * the postgres user, through runuser).
 */
export async function startStandby(adminUrl: string): Promise<Standby> {
  const admin = new URL(adminUrl)
  const dir = await mkdtemp(join(tmpdir(), 'miglio-standby-'))
  const port = await freePort()
  const { stdout: uid } = await run('id', ['-u', 'postgres'])
  const { stdout: gid } = await run('id', ['-g', 'postgres'])
  await chown(dir, Number(uid.trim()), Number(gid.trim()))
  const stopServer = () =>
    asPostgres('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
  try {
    await asPostgres(
      'pg_basebackup',
      [
        ...['-h', admin.hostname, '-p', admin.port || '5432'],
        ...[
          '-U',
          decodeURIComponent(admin.username),
          '-D',
          dir,
          '-R',
          '-X',
          'stream',
          '-c',
          'fast',
        ],
      ],
      decodeURIComponent(admin.password),
    )
    await asPostgres('pg_ctl', [
      ...['-D', dir, '-l', join(dir, 'standby.log'), '-w', '-t', '60'],
      ...['-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start'],
    ])
  } catch (err) {
    await stopServer()
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  const urlOf = (primaryDatabaseUrl: string) => {
    const u = new URL(primaryDatabaseUrl)
    u.hostname = '127.0.0.1'
    u.port = String(port)
    return u.toString()
  }
  const onStandby = async (statement: string) => {
    const c = new pg.Client({ connectionString: urlOf(adminUrl) })
    await c.connect()
    try {
      await c.query(statement)
    } finally {
      await c.end()
    }
  }
  return {
    urlOf,
    pauseReplay: () => onStandby('SELECT pg_wal_replay_pause()'),
    resumeReplay: () => onStandby('SELECT pg_wal_replay_resume()'),
    async stop() {
      await stopServer()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
