import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Counter, Gauge } from 'prom-client'
import type { WebSocket } from 'ws'
import type { Logger } from '../../shared/logger.ts'
import type { ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import type { LiveServerMessage, LiveZoneCounts } from '../../shared/contracts/api.ts'

/** What one poll of the database returns: every zone's counts at `at`. */
export type LiveSnapshot = { at: string; day: string; zones: LiveZoneCounts[] }

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
  pingMs: number
  maxBufferedBytes: number
  log: Logger
  metrics: LiveHubMetrics
  now?: () => number
}

export type LiveHub = {
  add(c: LiveClient): void
  remove(c: LiveClient): void
  /** Changes a client's zones; it gets their counts with the next poll. */
  subscribe(c: LiveClient, zones: Iterable<string>): void
  send(c: LiveClient, m: LiveServerMessage): void
  readonly size: number
  stop(): Promise<void>
}

const OPEN = 1

/**
 * One database poll per interval for all clients of this process (so every API replica serves the
 * feed from the database, whoever wrote the transits), fanned out to each client's zones. A client
 * gets a message only when its zones' counts changed, at most once per interval; updates are
 * skipped (and counted) while its socket buffers more than maxBufferedBytes; clients that miss a
 * pong for a whole ping interval are terminated. Polling runs only while clients are connected.
 */
export function createLiveHub(o: LiveHubOptions): LiveHub {
  const now = o.now ?? Date.now
  const clients = new Set<LiveClient>()
  let latest: LiveSnapshot | null = null
  let timer: NodeJS.Timeout | null = null
  let pinger: NodeJS.Timeout | null = null
  let inFlight: Promise<void> | null = null
  let stopped = false

  function send(c: LiveClient, m: LiveServerMessage) {
    if (c.socket.readyState === OPEN) c.socket.send(JSON.stringify(m))
  }

  function deliver(c: LiveClient) {
    if (!latest || c.socket.readyState !== OPEN) return
    const zones = latest.zones.filter((z) => c.zones.has(z.zoneId))
    const body = JSON.stringify([latest.day, zones])
    if (body === c.lastBody) return
    // A guard only: polls start pollMs after the previous one's deliveries ended.
    if (now() - c.lastSentAt < o.pollMs - 10) return
    if (c.socket.bufferedAmount > o.maxBufferedBytes) {
      o.metrics.skipped.inc()
      return
    }
    send(c, { type: 'counts', at: latest.at, day: latest.day, zones })
    c.lastBody = body
    c.lastSentAt = now()
  }

  async function tick() {
    timer = null
    if (stopped || !clients.size) return
    try {
      latest = await o.poll(now())
      o.metrics.polls.inc()
      for (const c of clients) deliver(c)
    } catch (err) {
      o.metrics.pollErrors.inc()
      o.log.warn({ err }, 'live feed: database poll failed; retrying')
    }
    schedule(o.pollMs)
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
      timer = null
      pinger = null
    }
  }

  return {
    add(c) {
      if (stopped) return
      clients.add(c)
      o.metrics.clients.set(clients.size)
      c.socket.on('pong', () => {
        c.alive = true
      })
      pinger ??= setInterval(heartbeat, o.pingMs)
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
    get size() {
      return clients.size
    },
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      if (pinger) clearInterval(pinger)
      await inFlight
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
