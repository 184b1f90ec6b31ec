import { EventEmitter } from 'node:events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Counter, Gauge, Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { createLogger } from '../../shared/logger.ts'
import type { LiveZoneCounts } from '../../shared/contracts/api.ts'
import {
  createLiveHub,
  type LiveClient,
  type LiveHubOptions,
  type LiveSnapshot,
} from './live-feed.ts'

/** Stands in for a ws socket (a library we do not own): records what is sent. */
class FakeSocket extends EventEmitter {
  readyState = 1
  bufferedAmount = 0
  sent: unknown[] = []
  pings = 0
  terminated = false
  send(data: string) {
    this.sent.push(JSON.parse(data))
  }
  ping() {
    this.pings++
  }
  terminate() {
    this.terminated = true
    this.readyState = 3
  }
  closedWith: { code?: number; reason?: string } | null = null
  close(code?: number, reason?: string) {
    this.readyState = 3
    this.closedWith = { code, reason }
  }
}

const counts = (zoneId: string, passersBy: number): LiveZoneCounts => ({
  zoneId,
  today: { passersBy, visitors: 0 },
  last15m: { passersBy, visitors: 0 },
  presentNow: null,
})

function metrics() {
  const registers = [new Registry()]
  return {
    clients: new Gauge({ name: 'c', help: 'c', registers }),
    skipped: new Counter({ name: 's', help: 's', registers }),
    polls: new Counter({ name: 'p', help: 'p', registers }),
    pollErrors: new Counter({ name: 'e', help: 'e', registers }),
    terminated: new Counter({ name: 't', help: 't', registers }),
  }
}

function client(socket: FakeSocket, zones: string[], keyId = 'k'): LiveClient {
  return {
    socket: socket as unknown as WebSocket,
    principal: { keyId, role: 'analyst', shopId: null, label: 'x' },
    zones: new Set(zones),
    alive: true,
    lastBody: null,
    lastSentAt: 0,
  }
}

describe(createLiveHub.name, () => {
  let snapshot: LiveSnapshot
  let polls: number
  const poll = async (now: number) => {
    polls++
    return { ...snapshot, at: new Date(now).toISOString() }
  }

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T10:00:00Z') })
    polls = 0
    snapshot = { at: '', day: '2026-11-21', zones: [counts('a', 1), counts('b', 2)] }
  })
  afterEach(() => vi.useRealTimers())

  function hub(
    extra: Partial<Pick<LiveHubOptions, 'poll' | 'pollMs' | 'minPollMs' | 'maxBufferedBytes'>> = {},
  ) {
    const m = metrics()
    const sut = createLiveHub({
      poll: extra.poll ?? poll,
      pollMs: extra.pollMs ?? 1000,
      ...(extra.minPollMs === undefined ? {} : { minPollMs: extra.minPollMs }),
      pingMs: 15_000,
      maxBufferedBytes: extra.maxBufferedBytes ?? 1000,
      log: createLogger({ level: 'silent' }),
      metrics: m,
    })
    return { sut, m }
  }

  it('polls once per interval for all clients and sends each only its zones, only on change', async () => {
    const { sut } = hub()
    const [s1, s2, s3] = [new FakeSocket(), new FakeSocket(), new FakeSocket()]
    sut.add(client(s1, ['a']))
    sut.add(client(s2, ['b']))
    sut.add(client(s3, ['a', 'b']))
    await vi.advanceTimersByTimeAsync(10)
    expect(polls).toBe(1)
    expect(s1.sent).toEqual([expect.objectContaining({ type: 'counts', zones: [counts('a', 1)] })])
    expect(s2.sent).toEqual([expect.objectContaining({ zones: [counts('b', 2)] })])
    expect(s3.sent).toHaveLength(1)

    snapshot = { ...snapshot, zones: [counts('a', 1), counts('b', 3)] }
    await vi.advanceTimersByTimeAsync(1000)
    expect(polls).toBe(2)
    expect(s1.sent).toHaveLength(1)
    expect(s2.sent).toHaveLength(2)
    expect(s3.sent).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(5000)
    expect(polls).toBe(7)
    expect(s2.sent).toHaveLength(2)
    await sut.stop()
  })

  it('sends at most one update per interval however often the client subscribes', async () => {
    const { sut } = hub()
    const s = new FakeSocket()
    const c = client(s, ['a'])
    sut.add(c)
    await vi.advanceTimersByTimeAsync(10)
    sut.subscribe(c, ['b'])
    sut.subscribe(c, ['a', 'b'])
    expect(s.sent).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(s.sent).toHaveLength(2)
    expect(s.sent[1]).toMatchObject({ zones: [counts('a', 1), counts('b', 2)] })
    await sut.stop()
  })

  it('skips and counts updates while a socket buffers too much, then catches up', async () => {
    const { sut, m } = hub({ maxBufferedBytes: 100 })
    const slow = new FakeSocket()
    const fast = new FakeSocket()
    slow.bufferedAmount = 10_000
    sut.add(client(slow, ['a']))
    sut.add(client(fast, ['a']))
    await vi.advanceTimersByTimeAsync(10)
    snapshot = { ...snapshot, zones: [counts('a', 5), counts('b', 2)] }
    await vi.advanceTimersByTimeAsync(1000)
    expect(slow.sent).toHaveLength(0)
    expect(fast.sent).toHaveLength(2)
    expect((await m.skipped.get()).values[0]?.value).toBe(2)
    slow.bufferedAmount = 0
    await vi.advanceTimersByTimeAsync(1000)
    expect(slow.sent).toEqual([expect.objectContaining({ zones: [counts('a', 5)] })])
    await sut.stop()
  })

  it('pings every interval and terminates a client that missed a pong', async () => {
    const { sut, m } = hub()
    const answers = new FakeSocket()
    const dead = new FakeSocket()
    sut.add(client(answers, ['a']))
    sut.add(client(dead, ['a']))
    await vi.advanceTimersByTimeAsync(15_000)
    expect(answers.pings).toBe(1)
    answers.emit('pong')
    await vi.advanceTimersByTimeAsync(15_000)
    expect(dead.terminated).toBe(true)
    expect(answers.terminated).toBe(false)
    expect(sut.size).toBe(1)
    expect((await m.terminated.get()).values[0]?.value).toBe(1)
    await sut.stop()
  })

  it('polls at once when nudged, at most once per 250 ms, coalescing nudges during a poll', async () => {
    const { sut } = hub({ pollMs: 10_000 })
    const s = new FakeSocket()
    sut.add(client(s, ['a']))
    await vi.advanceTimersByTimeAsync(10)
    expect(polls).toBe(1)

    await vi.advanceTimersByTimeAsync(2000)
    snapshot = { ...snapshot, zones: [counts('a', 7), counts('b', 2)] }
    sut.nudge()
    await vi.advanceTimersByTimeAsync(1)
    expect(polls).toBe(2)
    expect(s.sent.at(-1)).toMatchObject({ zones: [counts('a', 7)] })

    // A burst of nudges right after a poll: one more poll, 250 ms after the previous began.
    for (let i = 0; i < 20; i++) sut.nudge()
    await vi.advanceTimersByTimeAsync(200)
    expect(polls).toBe(2)
    await vi.advanceTimersByTimeAsync(60)
    expect(polls).toBe(3)
    // Then back to the interval.
    await vi.advanceTimersByTimeAsync(9000)
    expect(polls).toBe(3)
    await vi.advanceTimersByTimeAsync(1000)
    expect(polls).toBe(4)
    await sut.stop()
  })

  it('follows a poll that was nudged while it ran with one more poll', async () => {
    let release: () => void = () => {}
    const slowPoll = async (now: number) => {
      polls++
      if (polls === 2) await new Promise<void>((r) => (release = r))
      return { ...snapshot, at: new Date(now).toISOString() }
    }
    const { sut } = hub({ poll: slowPoll, pollMs: 10_000 })
    sut.add(client(new FakeSocket(), ['a']))
    await vi.advanceTimersByTimeAsync(1000)
    sut.nudge()
    await vi.advanceTimersByTimeAsync(1)
    expect(polls).toBe(2)
    sut.nudge()
    sut.nudge()
    await vi.advanceTimersByTimeAsync(500)
    expect(polls).toBe(2)
    release()
    await vi.advanceTimersByTimeAsync(1)
    expect(polls).toBe(3)
    await vi.advanceTimersByTimeAsync(5000)
    expect(polls).toBe(3)
    await sut.stop()
  })

  it('sends a change held back by the spacing guard at the next allowed tick, not an interval later', async () => {
    // A slow tick (a read, a loaded event loop) then a fast one: the fast one's delivery comes
    // less than half the push spacing after the slow one's and is held back.
    const durations = [0, 90, 0]
    const slowThenFast = async (now: number) => {
      const wait = durations[polls++] ?? 0
      if (wait) await new Promise((r) => setTimeout(r, wait))
      return { ...snapshot, at: new Date(now).toISOString() }
    }
    const { sut } = hub({ poll: slowThenFast, pollMs: 10_000, minPollMs: 100 })
    const s = new FakeSocket()
    sut.add(client(s, ['a']))
    await vi.advanceTimersByTimeAsync(1000)
    expect(s.sent).toHaveLength(1)
    // Tick 2 (slow) delivers a change 90 ms after it began.
    snapshot = { ...snapshot, zones: [counts('a', 2), counts('b', 2)] }
    sut.nudge()
    await vi.advanceTimersByTimeAsync(95)
    expect(s.sent.at(-1)).toMatchObject({ zones: [counts('a', 2)] })
    // Tick 3 (fast) comes 100 ms after tick 2 began, 10 ms after its delivery: held back.
    snapshot = { ...snapshot, zones: [counts('a', 3), counts('b', 2)] }
    sut.nudge()
    await vi.advanceTimersByTimeAsync(10)
    expect(polls).toBe(3)
    expect(s.sent.at(-1)).toMatchObject({ zones: [counts('a', 2)] })
    // It goes out at the next allowed tick (100 ms later), not at the 10 s interval.
    await vi.advanceTimersByTimeAsync(150)
    expect(s.sent.at(-1)).toMatchObject({ zones: [counts('a', 3)] })
    await sut.stop()
  })

  it('ignores nudges while nobody listens', async () => {
    const { sut } = hub({ pollMs: 10_000 })
    sut.nudge()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(polls).toBe(0)
    await sut.stop()
  })

  it('stops polling when the last client leaves', async () => {
    const { sut } = hub()
    const c = client(new FakeSocket(), ['a'])
    sut.add(c)
    await vi.advanceTimersByTimeAsync(2500)
    const before = polls
    sut.remove(c)
    await vi.advanceTimersByTimeAsync(5000)
    expect(polls).toBe(before)
    await sut.stop()
  })

  describe('revoked keys', () => {
    function keyHub(active: () => Set<string>, checked: string[][]) {
      return createLiveHub({
        poll,
        pollMs: 60_000,
        pingMs: 60_000,
        maxBufferedBytes: 1000,
        log: createLogger({ level: 'silent' }),
        metrics: metrics(),
        recheckKeysMs: 500,
        activeKeys: async (ids) => {
          checked.push(ids)
          return active()
        },
      })
    }

    it('re-checks the connected keys in one query per interval and closes revoked ones with 4403', async () => {
      let active = new Set(['k1', 'k2'])
      const checked: string[][] = []
      const sut = keyHub(() => active, checked)
      const [a, b, c] = [new FakeSocket(), new FakeSocket(), new FakeSocket()]
      sut.add(client(a, ['a'], 'k1'))
      sut.add(client(b, ['a'], 'k1'))
      sut.add(client(c, ['a'], 'k2'))
      await vi.advanceTimersByTimeAsync(1100)
      expect(checked).toEqual([
        ['k1', 'k2'],
        ['k1', 'k2'],
      ])
      active = new Set(['k2'])
      await vi.advanceTimersByTimeAsync(500)
      for (const s of [a, b]) {
        expect(s.closedWith).toEqual({ code: 4403, reason: 'key revoked' })
        expect(s.sent.at(-1)).toMatchObject({ type: 'error', code: 'unauthorised' })
      }
      expect(c.closedWith).toBeNull()
      expect(sut.size).toBe(1)
      await vi.advanceTimersByTimeAsync(500)
      expect(checked.at(-1)).toEqual(['k2'])
      await sut.stop()
    })

    it('checks nothing while nobody is connected, and closes a key at once when told', async () => {
      const checked: string[][] = []
      const sut = keyHub(() => new Set(['k1', 'k2']), checked)
      await vi.advanceTimersByTimeAsync(5000)
      expect(checked).toEqual([])
      const [a, b] = [new FakeSocket(), new FakeSocket()]
      const ca = client(a, ['a'], 'k1')
      sut.add(ca)
      sut.add(client(b, ['a'], 'k2'))
      sut.closeKey('k1')
      expect(a.closedWith?.code).toBe(4403)
      expect(b.closedWith).toBeNull()
      sut.closeKey('k2')
      expect(sut.size).toBe(0)
      const before = checked.length
      await vi.advanceTimersByTimeAsync(5000)
      expect(checked).toHaveLength(before)
      await sut.stop()
    })

    it('does not judge a client that connected while the check was out by that check', async () => {
      let release: (active: Set<string>) => void = () => undefined
      const sut = createLiveHub({
        poll,
        pollMs: 60_000,
        pingMs: 60_000,
        maxBufferedBytes: 1000,
        log: createLogger({ level: 'silent' }),
        metrics: metrics(),
        recheckKeysMs: 500,
        activeKeys: (ids) =>
          new Promise((resolve) => {
            release = (active) => resolve(new Set(ids.filter((id) => active.has(id))))
          }),
      })
      const [a, late] = [new FakeSocket(), new FakeSocket()]
      sut.add(client(a, ['a'], 'k1'))
      await vi.advanceTimersByTimeAsync(500)
      // The check for k1 is out; a client with key k2 connects before it answers.
      sut.add(client(late, ['a'], 'k2'))
      release(new Set(['k1', 'k2']))
      await vi.advanceTimersByTimeAsync(0)
      expect(late.closedWith).toBeNull()
      expect(a.closedWith).toBeNull()
      expect(sut.size).toBe(2)
      await sut.stop()
    })

    it('keeps the clients when the check fails (database down), and reports the error', async () => {
      const errors: string[] = []
      const sut = createLiveHub({
        poll,
        pollMs: 60_000,
        pingMs: 60_000,
        maxBufferedBytes: 1000,
        log: createLogger({ level: 'silent' }),
        metrics: metrics(),
        activeKeys: () => Promise.reject(new Error('down')),
        onError: (_err, what) => errors.push(what),
      })
      const s = new FakeSocket()
      sut.add(client(s, ['a'], 'k1'))
      await vi.advanceTimersByTimeAsync(1100)
      expect(s.closedWith).toBeNull()
      expect(errors).toEqual(['key check', 'key check'])
      await sut.stop()
    })
  })
})
