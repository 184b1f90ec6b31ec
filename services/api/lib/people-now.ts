import type { PeopleValue } from '../../shared/people/zone-estimate.ts'

export type PeopleNowOptions = {
  /** Every zone's people present at `nowMs` (a database read of the last 4¼ h of sessions). */
  estimate: (nowMs: number) => Promise<Map<string, PeopleValue>>
  /**
   * A new estimate at most this often (0: whenever the last one has finished), and never sooner
   * than BUSY_SHARE_INVERSE times the last estimate's duration after it began.
   */
  everyMs: number
  /** A refresh brought figures different from the last ones: push them. */
  onChange: () => void
  /** A refresh failed; the last figures stay. */
  onError: (err: unknown) => void
  /** Milliseconds, to time the estimates (default performance.now). */
  clock?: () => number
}

export type PeopleNow = {
  /**
   * The figures to send at `nowMs`. Waits only for the very first estimate (so the first counts
   * carry figures); afterwards it returns the last figures at once and, when they are due, starts a
   * refresh beside the feed.
   */
  at(nowMs: number): Promise<ReadonlyMap<string, PeopleValue>>
  /** The refresh in flight, if any (to let it finish before the database closes). */
  settled(): Promise<void>
}

const NONE: ReadonlyMap<string, PeopleValue> = new Map()

/**
 * An estimate waits at least this many times the last one's duration after the last one began, so
 * estimating takes at most about a tenth of the process's time however long it gets: the estimate
 * loads every session of the last 4¼ h into the process, and with a city's traffic (the latency
 * benchmark's full run: ~34 000 sightings/s for minutes) one took longer than the 10 s interval and
 * they ran back to back, starving the feed (bench/README.md, latency).
 */
export const BUSY_SHARE_INVERSE = 10

/**
 * People present now for the live feed, kept out of the counts' way. The estimate reads sessions
 * on the API's pool, which under ingest load takes hundreds of milliseconds to seconds; when each
 * feed tick awaited it (every 10 s), every announcement that arrived meanwhile waited too — the
 * live feed's p50 under load was 1.2 s (bench/README.md, latency). Now the counts go out as soon
 * as they change and the people figures follow with their own push.
 */
export function createPeopleNow(o: PeopleNowOptions): PeopleNow {
  const clock = o.clock ?? (() => performance.now())
  let last: { atMs: number; zones: Map<string, PeopleValue>; body: string } | null = null
  let running: Promise<void> | null = null
  let lastTookMs = 0

  const due = (nowMs: number) =>
    last === null ||
    nowMs - last.atMs >= Math.max(o.everyMs, BUSY_SHARE_INVERSE * lastTookMs) ||
    nowMs < last.atMs

  function refresh(nowMs: number): Promise<void> {
    const began = clock()
    running ??= o
      .estimate(nowMs)
      .finally(() => {
        lastTookMs = clock() - began
      })
      .then(
        (zones) => {
          const body = JSON.stringify([...zones])
          const changed = last !== null && body !== last.body
          last = { atMs: nowMs, zones, body }
          if (changed) o.onChange()
        },
        (err: unknown) => o.onError(err),
      )
      .finally(() => {
        running = null
      })
    return running
  }

  return {
    async at(nowMs) {
      if (running && last === null) await running
      else if (!running && due(nowMs)) {
        const r = refresh(nowMs)
        if (last === null) await r
      }
      return last?.zones ?? NONE
    },
    settled: () => running ?? Promise.resolve(),
  }
}
