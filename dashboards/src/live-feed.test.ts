import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  createLiveFeed,
  reconnectDelay,
  RECONNECT_MAX_MS,
  type LiveCounts,
  type LiveStatus,
  type SocketHandlers,
} from './live-feed.ts'

interface Socket {
  url: string
  handlers: SocketHandlers
  sent: string[]
  closed: { code?: number } | null
}

const counts = {
  type: 'counts',
  at: '2026-11-21T10:00:00.000Z',
  day: '2026-11-21',
  zones: [
    {
      zoneId: 'via-palazzo',
      today: { passersBy: 5, visitors: 1 },
      last15m: { passersBy: 2, visitors: 0 },
      presentNow: { people: 12.5, low: 8.1, high: 16.9, calibrated: false },
    },
  ],
}

describe(createLiveFeed.name, () => {
  let sockets: Socket[]
  let statuses: { status: LiveStatus; attempt: number; retryInMs?: number }[]
  let received: LiveCounts[]

  beforeEach(() => {
    vi.useFakeTimers()
    sockets = []
    statuses = []
    received = []
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  function feed() {
    return createLiveFeed({
      url: 'ws://miglio.test/api/v1/live',
      key: 'mgl_key',
      createSocket: (url, handlers) => {
        const socket: Socket = { url, handlers, sent: [], closed: null }
        sockets.push(socket)
        return {
          send: (data) => void socket.sent.push(data),
          close: (code) => {
            socket.closed = { code }
          },
        }
      },
      onCounts: (c) => void received.push(c),
      onStatus: (status, detail) => void statuses.push({ status, ...detail }),
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      random: () => 0.5,
    })
  }

  const last = () => {
    const socket = sockets[sockets.length - 1]
    if (!socket) throw new Error('no socket')
    return socket
  }

  it('sends the key as its first message, never in the URL', () => {
    const sut = feed()
    sut.start()

    last().handlers.open()

    expect(last().url).toBe('ws://miglio.test/api/v1/live')
    expect(last().sent.map((m) => JSON.parse(m) as unknown)).toEqual([
      { type: 'auth', key: 'mgl_key' },
    ])
    sut.stop()
  })

  it('reports live on ready and passes on counts that match the contract', () => {
    const sut = feed()
    sut.start()
    last().handlers.open()

    last().handlers.message(
      JSON.stringify({ type: 'ready', role: 'analyst', shopId: null, zones: [] }),
    )
    last().handlers.message(JSON.stringify(counts))
    last().handlers.message('not json')
    last().handlers.message(JSON.stringify({ type: 'counts', zones: 'nope' }))

    expect(statuses.map((s) => s.status)).toEqual(['connecting', 'live'])
    expect(received).toHaveLength(1)
    expect(received[0]?.zones[0]?.zoneId).toBe('via-palazzo')
    sut.stop()
  })

  it('reconnects with doubling delays and starts over after a success', () => {
    const sut = feed()
    sut.start()

    last().handlers.close(1006)
    expect(statuses.at(-1)).toEqual({ status: 'reconnecting', attempt: 1, retryInMs: 750 })
    vi.advanceTimersByTime(749)
    expect(sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(sockets).toHaveLength(2)

    last().handlers.close(1006)
    expect(statuses.at(-1)?.retryInMs).toBe(1500)
    vi.advanceTimersByTime(1500)
    last().handlers.open()
    last().handlers.message(
      JSON.stringify({ type: 'ready', role: 'analyst', shopId: null, zones: [] }),
    )
    last().handlers.close(1006)

    expect(statuses.at(-1)).toEqual({ status: 'reconnecting', attempt: 1, retryInMs: 750 })
    sut.stop()
  })

  it('caps the delay at 30 s', () => {
    expect(reconnectDelay(1, 0)).toBe(500)
    expect(reconnectDelay(3, 1)).toBe(4000)
    expect(reconnectDelay(20, 1)).toBe(RECONNECT_MAX_MS)
    expect(reconnectDelay(20, 0)).toBe(RECONNECT_MAX_MS / 2)
  })

  it('gives up when the key is refused', () => {
    const sut = feed()
    sut.start()
    last().handlers.open()

    last().handlers.message(JSON.stringify({ type: 'error', code: 'unauthorised', message: 'x' }))
    last().handlers.close(4401)
    vi.advanceTimersByTime(60_000)

    expect(statuses.at(-1)?.status).toBe('unauthorised')
    expect(sockets).toHaveLength(1)
  })

  it('stops: closes the socket and cancels a pending reconnect', () => {
    const sut = feed()
    sut.start()
    last().handlers.close(1006)

    sut.stop()
    vi.advanceTimersByTime(60_000)

    expect(sockets).toHaveLength(1)
    expect(statuses.at(-1)?.status).toBe('stopped')

    sut.start()
    expect(sockets).toHaveLength(2)
    sut.stop()
    expect(last().closed).toEqual({ code: 1000 })
  })
})
