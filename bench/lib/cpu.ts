/**
 * CPU time of the processes of a pipeline, read from /proc (Linux): what one sighting costs each
 * part (ingest, PostgreSQL, the broker, the load generator) in CPU, whatever else runs on the
 * machine. Throughput on a shared 2-core machine says how the parts competed; CPU per sighting says
 * what each part would need on cores of its own.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux everywhere that matters). */
const TICKS_PER_S = 100

type ProcStat = { ppid: number; cpuMs: number }

/** utime + stime (+ the waited-for children's) of a process, or null when it is gone. */
function procStat(pid: number): ProcStat | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const n = (i: number) => Number(fields[i - 3] ?? 0)
  // Field numbers of proc(5): 4 ppid, 14 utime, 15 stime, 16 cutime, 17 cstime.
  return { ppid: n(4), cpuMs: ((n(14) + n(15) + n(16) + n(17)) * 1000) / TICKS_PER_S }
}

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
  } catch {
    return []
  }
}

/** A process and all its descendants (a PostgreSQL postmaster and its backends and workers). */
export function treeCpuMs(root: number): number {
  const stats = new Map<number, ProcStat>()
  for (const pid of pids()) {
    const s = procStat(pid)
    if (s) stats.set(pid, s)
  }
  const inTree = new Set([root])
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, s] of stats)
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid)
        grew = true
      }
  }
  let total = 0
  for (const pid of inTree) total += stats.get(pid)?.cpuMs ?? 0
  return total
}

/** The CPU time of one process (ms), or NaN when it is gone. */
export function processCpuMs(pid: number): number {
  return procStat(pid)?.cpuMs ?? NaN
}

/** The parent process of `pid`, or null. */
export function parentOf(pid: number): number | null {
  return procStat(pid)?.ppid ?? null
}

/**
 * The process listening on a loopback TCP port (the broker of MQTT_URL), found through the socket
 * inode of /proc/net/tcp; null when it is not on this machine or not readable.
 */
export function listenerOf(port: number): number | null {
  const inodes = new Set<string>()
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      const local = f[1] ?? ''
      // State 0A is LISTEN; the port is the hex after the colon.
      if (f[3] === '0A' && parseInt(local.split(':')[1] ?? '', 16) === port && f[9])
        inodes.add(f[9])
    }
  }
  if (inodes.size === 0) return null
  for (const pid of pids()) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        const m = /^socket:\[(\d+)\]$/.exec(target)
        if (m?.[1] && inodes.has(m[1])) return pid
      } catch {
        // the descriptor closed meanwhile
      }
    }
  }
  return null
}

/** Named CPU meters read together: a snapshot, and the difference of two. */
export type CpuMeters = Record<string, () => number>
export type CpuSnapshot = Record<string, number>

export function readCpu(meters: CpuMeters): CpuSnapshot {
  return Object.fromEntries(Object.entries(meters).map(([k, read]) => [k, read()]))
}

export function cpuDelta(after: CpuSnapshot, before: CpuSnapshot): CpuSnapshot {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? NaN)]))
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
/** A URL of a server on this machine, whose processes' CPU can be read here. */
export const isLoopback = (url: string) => LOOPBACK.has(new URL(url).hostname)

/** This process's CPU time (ms): the load generator's, in the benchmarks. */
export function ownCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * The PostgreSQL postmaster serving a connection whose backend `query` runs on (its parent), so its
 * whole process tree can be metered; null when it is not a process of this machine.
 */
export async function postmasterOf(
  query: (text: string) => Promise<{ pid: number }[]>,
): Promise<number | null> {
  const [row] = await query('SELECT pg_backend_pid() AS pid')
  return row ? parentOf(Number(row.pid)) : null
}

/** The broker process listening on `mqttUrl`'s port of this machine, or null. */
export function brokerOf(mqttUrl: string): number | null {
  return isLoopback(mqttUrl) ? listenerOf(Number(new URL(mqttUrl).port || 1883)) : null
}
