import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Counter, Gauge } from 'prom-client'
import type { WebSocket } from 'ws'
import type { Logger } from '../../shared/logger.ts'
import type { ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import type { LiveServerMessage, LiveZoneCounts } from '../../shared/contracts/api.ts'

import type { Alert } from '../../shared/contracts/alerts.ts'

/**
 * What one poll of the database returns: every zone's counts at `at`, and how far behind the
 * primary they may be when they were read from a replica.
 */
export type LiveSnapshot = { at: string; day: string; zones: LiveZoneCounts[]; readLagMs?: number }

export type LiveClient = {
  readonly socket: WebSocket
  readonly principal: ApiPrincipal
  /** Zones this client receives. */
  zones: Set<string>
  alive: boolean
  lastBody: string | null
  lastSentAt: number
}

export type LiveHubMetrics = {
  clients: Gauge
  skipped: Counter
  polls: Counter
  pollErrors: Counter
  terminated: Counter
}

export type LiveHubOptions = {
  poll: (nowMs: number) => Promise<LiveSnapshot>
  pollMs: number
  /** A nudge polls at once, but never sooner than this after the previous poll began (default 250). */
  minPollMs?: number
  pingMs: number
  maxBufferedBytes: number
  log: Logger
  metrics: LiveHubMetrics
  now?: () => number
  /**
   * Of the given key ids, those still valid (not revoked, not deleted). Asked every
   * `recheckKeysMs` (one query for all clients, only while clients are connected); the clients of
   * the other keys are closed with 4403. This is how a revocation on any replica reaches this one.
   */
  activeKeys?: (keyIds: string[]) => Promise<Set<string>>
  /** Default 500 ms. */
  recheckKeysMs?: number
  /** A failed poll or key check; logged at warn when absent. */
  onError?: (err: unknown, what: 'poll' | 'key check') => void
}

/** Close code of a client whose key was revoked. */
export const CLOSE_KEY_REVOKED = 4403

export type LiveHub = {
  add(c: LiveClient): void
  remove(c: LiveClient): void
  /** Changes a client's zones; it gets their counts with the next poll. */
  subscribe(c: LiveClient, zones: Iterable<string>): void
  send(c: LiveClient, m: LiveServerMessage): void
  /** Transits changed (ingest said so): poll now rather than at the next interval. */
  nudge(): void
  /** Closes this process's clients of a key (just revoked) with 4403. */
  closeKey(keyId: string): void
  /**
   * Pushes an alert raised or cleared to the clients allowed to see it (analysts and admins: all;
   * a shopkeeper: its shop's), skipping clients whose socket buffers too much.
   */
  broadcastAlert(alert: Alert): void
  readonly size: number
  stop(): Promise<void>
}

const OPEN = 1

/**
 * One poll per interval for all clients of this process, fanned out to each client's zones. The
 * poll is app.ts's: the counts kept from ingest's announcements (lib/live-state.ts; the database
 * only to resync) or, without them, a database read. A nudge (an announcement taken in) brings the
 * next poll forward — at most one poll per `minPollMs`, nudges during a poll coalescing into one
 * more — so a transit reaches the feed without waiting out the interval.
 * A client gets a message only when its zones' counts changed; updates are skipped (and counted)
 * while its socket buffers more than maxBufferedBytes; clients that miss a pong for a whole ping
 * interval are terminated. Every `recheckKeysMs` the clients' keys are checked against the database
 * in one query, and the clients of revoked keys closed (4403), whichever replica revoked them.
 * Polling and key checks run only while clients are connected.
 */
export function createLiveHub(o: LiveHubOptions): LiveHub {
  const now = o.now ?? Date.now
  const clients = new Set<LiveClient>()
  let latest: LiveSnapshot | null = null
  let timer: NodeJS.Timeout | null = null
  let pinger: NodeJS.Timeout | null = null
  let inFlight: Promise<void> | null = null
  let stopped = false
  const minPollMs = Math.min(o.minPollMs ?? 250, o.pollMs)
  let lastPollAt = -Infinity
  let nudged = false
  const recheckKeysMs = o.recheckKeysMs ?? 500
  let keyTimer: NodeJS.Timeout | null = null
  let keyCheck: Promise<void> | null = null
  const onError =
    o.onError ??
    ((err: unknown, what: string) => o.log.warn({ err }, `live feed: ${what} failed; retrying`))

  function send(c: LiveClient, m: LiveServerMessage) {
    if (c.socket.readyState === OPEN) c.socket.send(JSON.stringify(m))
  }

  function deliver(c: LiveClient) {
    if (!latest || c.socket.readyState !== OPEN) return
    const zones = latest.zones.filter((z) => c.zones.has(z.zoneId))
    // A lag that moves by a second or more is news too (the dashboard shows it).
    const lagS = latest.readLagMs === undefined ? null : Math.round(latest.readLagMs / 1000)
    const body = JSON.stringify([latest.day, zones, lagS])
    if (body === c.lastBody) return
    // Pushes to one client at least minPollMs / 2 apart. Polls begin minPollMs apart, but a slow
    // poll followed by a fast one delivers closer than that: the change held back here goes out
    // with the next allowed poll (before, it waited for the interval, a second on a loaded feed).
    if (now() - c.lastSentAt < minPollMs / 2) {
      nudged = true
      return
    }
    if (c.socket.bufferedAmount > o.maxBufferedBytes) {
      o.metrics.skipped.inc()
      return
    }
    const lag = latest.readLagMs === undefined ? {} : { readLagMs: latest.readLagMs }
    send(c, { type: 'counts', at: latest.at, day: latest.day, zones, ...lag })
    c.lastBody = body
    c.lastSentAt = now()
  }

  async function tick() {
    timer = null
    if (stopped || !clients.size) return
    lastPollAt = now()
    nudged = false
    try {
      latest = await o.poll(now())
      o.metrics.polls.inc()
      for (const c of clients) deliver(c)
    } catch (err) {
      o.metrics.pollErrors.inc()
      onError(err, 'poll')
    }
    schedule(nudged ? untilNextAllowed() : o.pollMs)
  }

  function untilNextAllowed() {
    return Math.max(0, lastPollAt + minPollMs - now())
  }

  function nudge() {
    if (stopped || !clients.size) return
    if (inFlight) {
      nudged = true
      return
    }
    if (timer) clearTimeout(timer)
    timer = null
    schedule(untilNextAllowed())
  }

  function schedule(ms: number) {
    if (timer || stopped || !clients.size) return
    timer = setTimeout(() => {
      inFlight = tick().finally(() => {
        inFlight = null
      })
    }, ms)
  }

  function heartbeat() {
    for (const c of clients) {
      if (!c.alive) {
        o.metrics.terminated.inc()
        c.socket.terminate()
        remove(c)
        continue
      }
      c.alive = false
      c.socket.ping()
    }
  }

  function remove(c: LiveClient) {
    if (!clients.delete(c)) return
    o.metrics.clients.set(clients.size)
    if (!clients.size) {
      if (timer) clearTimeout(timer)
      if (pinger) clearInterval(pinger)
      if (keyTimer) clearTimeout(keyTimer)
      timer = null
      pinger = null
      keyTimer = null
    }
  }

  function revoked(c: LiveClient) {
    send(c, { type: 'error', code: 'unauthorised', message: 'the API key was revoked' })
    c.socket.close(CLOSE_KEY_REVOKED, 'key revoked')
    remove(c)
  }

  function closeKey(keyId: string) {
    for (const c of [...clients]) if (c.principal.keyId === keyId) revoked(c)
  }

  async function checkKeys() {
    const ids = new Set([...clients].map((c) => c.principal.keyId))
    if (!ids.size || !o.activeKeys) return
    try {
      const active = await o.activeKeys([...ids])
      // Only the keys asked about: a client that connected during the query (with a key not in
      // the snapshot) is not judged by it.
      for (const c of [...clients])
        if (ids.has(c.principal.keyId) && !active.has(c.principal.keyId)) revoked(c)
    } catch (err) {
      onError(err, 'key check')
    }
  }

  function scheduleKeyCheck() {
    if (!o.activeKeys || keyTimer || keyCheck || stopped || !clients.size) return
    keyTimer = setTimeout(() => {
      keyTimer = null
      keyCheck = checkKeys().finally(() => {
        keyCheck = null
        scheduleKeyCheck()
      })
    }, recheckKeysMs)
  }

  return {
    broadcastAlert(alert) {
      for (const c of clients) {
        const p = c.principal
        if (p.role === 'shopkeeper' && (alert.shopId === null || alert.shopId !== p.shopId))
          continue
        if (c.socket.bufferedAmount > o.maxBufferedBytes) {
          o.metrics.skipped.inc()
          continue
        }
        send(c, { type: 'alert', alert })
      }
    },
    add(c) {
      if (stopped) return
      clients.add(c)
      o.metrics.clients.set(clients.size)
      c.socket.on('pong', () => {
        c.alive = true
      })
      pinger ??= setInterval(heartbeat, o.pingMs)
      scheduleKeyCheck()
      // Counts go out only on polls, so each client's messages are a poll interval apart; the first
      // client starts polling at once, later ones get the next poll.
      if (!timer && !inFlight) schedule(0)
    },
    remove,
    subscribe(c, zones) {
      c.zones = new Set(zones)
      c.lastBody = null
    },
    send,
    nudge,
    closeKey,
    get size() {
      return clients.size
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      if (pinger) clearInterval(pinger)
      if (keyTimer) clearTimeout(keyTimer)
      await inFlight
      await keyCheck
      for (const c of clients) c.socket.close(1001, 'server shutting down')
      clients.clear()
      o.metrics.clients.set(0)
    },
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    liveHub: LiveHub
  }
}

/** Decorates `app.liveHub` and stops it when the app closes. */
export default fp(
  async function liveFeedPlugin(app: FastifyInstance, opts: LiveHubOptions) {
    const hub = createLiveHub(opts)
    app.decorate('liveHub', hub)
    app.addHook('onClose', async () => hub.stop())
  },
  { name: 'miglio-live-feed' },
)
