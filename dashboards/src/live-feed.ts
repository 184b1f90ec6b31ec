import {
  LiveServerMessageSchema,
  type LiveServerMessage,
} from '../../services/shared/contracts/api.ts'
import type { Alert } from '../../services/shared/contracts/alerts.ts'

export type LiveCounts = Extract<LiveServerMessage, { type: 'counts' }>
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'unauthorised' | 'stopped'

/** What the feed hears from its socket. */
export interface SocketHandlers {
  open(): void
  message(data: unknown): void
  close(code: number): void
}

/** The part of a WebSocket the feed uses (see browser-socket.ts; tests pass a fake). */
export interface SocketLike {
  send(data: string): void
  close(code?: number, reason?: string): void
}

export interface LiveFeedDeps {
  /** `ws://host/api/v1/live`: no query string, the key goes in the first message. */
  url: string
  key: string
  createSocket: (url: string, handlers: SocketHandlers) => SocketLike
  onCounts: (counts: LiveCounts) => void
  /** An alert raised, cleared or acknowledged (pushed by the server). */
  onAlert?: (alert: Alert) => void
  onStatus: (status: LiveStatus, detail: { attempt: number; retryInMs?: number }) => void
  setTimeout: (callback: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
  /** Jitter source in [0, 1); fixed in tests. */
  random?: () => number
}

export interface LiveFeed {
  start(): void
  stop(): void
}

export const RECONNECT_BASE_MS = 1_000
export const RECONNECT_MAX_MS = 30_000
/** The server's close code for a bad key: reconnecting with the same key is pointless. */
const CLOSE_UNAUTHORISED = 4401

/** Delay before reconnect attempt `attempt` (1, 2, …): doubling from 1 s to 30 s, half of it jittered. */
export function reconnectDelay(attempt: number, random: number): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

/**
 * The live feed: authenticates with its first message, parses every server message with the
 * contract's schema (anything else is ignored), and reconnects with capped exponential backoff
 * until stopped or refused as unauthorised.
 */
export function createLiveFeed(deps: LiveFeedDeps): LiveFeed {
  const random = deps.random ?? Math.random
  let socket: SocketLike | null = null
  let timer: unknown = null
  let attempt = 0
  let stopped = true

  function connect(): void {
    deps.onStatus(attempt === 0 ? 'connecting' : 'reconnecting', { attempt })
    const ws: SocketLike = deps.createSocket(deps.url, {
      open() {
        if (socket === ws) ws.send(JSON.stringify({ type: 'auth', key: deps.key }))
      },
      message(data) {
        if (socket !== ws) return
        const message = parse(data)
        if (!message) return
        if (message.type === 'ready') {
          attempt = 0
          deps.onStatus('live', { attempt })
        } else if (message.type === 'counts') {
          deps.onCounts(message)
        } else if (message.type === 'alert') {
          deps.onAlert?.(message.alert)
        } else if (message.code === 'unauthorised') {
          stopWith('unauthorised')
        }
      },
      close(code) {
        if (socket !== ws) return
        socket = null
        if (stopped) return
        if (code === CLOSE_UNAUTHORISED) {
          stopWith('unauthorised')
          return
        }
        attempt += 1
        const retryInMs = reconnectDelay(attempt, random())
        deps.onStatus('reconnecting', { attempt, retryInMs })
        timer = deps.setTimeout(() => {
          timer = null
          if (!stopped) connect()
        }, retryInMs)
      },
    })
    socket = ws
  }

  function stopWith(status: LiveStatus): void {
    stopped = true
    if (timer !== null) deps.clearTimeout(timer)
    timer = null
    const ws = socket
    socket = null
    ws?.close(1000, 'bye')
    deps.onStatus(status, { attempt })
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      attempt = 0
      connect()
    },
    stop() {
      if (stopped) return
      stopWith('stopped')
    },
  }
}

function parse(data: unknown): LiveServerMessage | null {
  if (typeof data !== 'string') return null
  let json: unknown
  try {
    json = JSON.parse(data)
  } catch {
    return null
  }
  const parsed = LiveServerMessageSchema.safeParse(json)
  return parsed.success ? parsed.data : null
}

/** What a view shows of the live feed: its status and the latest counts. */
export interface LiveState {
  status: LiveStatus
  /** When the latest counts were taken. */
  at: Date | null
  retryInMs: number | undefined
  counts: LiveCounts | null
  /** The alerts pushed since the feed opened (raised, cleared, acknowledged), newest last, by id. */
  alerts: readonly Alert[]
}

export const LIVE_CONNECTING: LiveState = {
  status: 'connecting',
  at: null,
  retryInMs: undefined,
  counts: null,
  alerts: [],
}

/** Opens a feed with the signed-in key (the app's job), or null when the app has no WebSocket. */
export type OpenLiveFeed = (
  handlers: Pick<LiveFeedDeps, 'onCounts' | 'onStatus' | 'onAlert'>,
) => LiveFeed | null

/**
 * The one binding of a view to the live feed: opens and starts it, folds its status and counts into
 * one `LiveState` and hands every change to `onChange`. Without a socket the state is 'stopped'.
 * Stopping the returned feed closes the socket.
 */
export function bindLiveFeed(open: OpenLiveFeed, onChange: (live: LiveState) => void): LiveFeed {
  let live = LIVE_CONNECTING
  const set = (patch: Partial<LiveState>) => {
    live = { ...live, ...patch }
    onChange(live)
  }
  const feed = open({
    onCounts: (counts) => set({ counts, at: new Date(counts.at) }),
    onAlert: (alert) => set({ alerts: [...live.alerts.filter((a) => a.id !== alert.id), alert] }),
    onStatus: (status, detail) => set({ status, retryInMs: detail.retryInMs }),
  })
  if (!feed) {
    set({ status: 'stopped' })
    return { start: () => undefined, stop: () => undefined }
  }
  feed.start()
  return feed
}

/** `ws(s)://host/api/v1/live` for the API at `baseUrl` (the page's origin when empty). */
export function liveUrlOf(baseUrl: string, origin: string | undefined): string {
  const base = new URL(baseUrl || origin || 'http://localhost')
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
  base.pathname = '/api/v1/live'
  base.search = ''
  base.hash = ''
  return base.toString()
}
