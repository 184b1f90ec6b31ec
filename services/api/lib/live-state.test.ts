import { describe, expect, it } from 'vitest'
import {
  LIVE_BUCKET_MS,
  LIVE_WINDOW_MS,
  liveBucketOf,
  type TransitsChanged,
} from '../../shared/contracts/gateway-messages.ts'
import { LiveState, parseSnapshot, sees, type LiveResync, type ResyncTask } from './live-state.ts'

const DAY = Date.UTC(2026, 11, 7) // a local midnight, for these tests
const T0 = DAY + 10 * 3_600_000 + 3_000 // 10:00:03
const B0 = liveBucketOf(T0)
const snap = (text = '100:100:') => parseSnapshot(text)

/** A database read: zone → today's passers-by, and window buckets of passers-by. */
function resync(
  zones: Record<string, { today?: number; buckets?: [number, number][] }>,
  snapshot = snap(),
  dayStartMs = DAY,
): LiveResync {
  return {
    dayStartMs,
    snapshot,
    zones: Object.entries(zones).map(([zoneId, z]) => ({
      zoneId,
      today: { passersBy: z.today ?? 0, visitors: 0 },
      buckets: (z.buckets ?? []).map(([b, pb]) => [b, pb, 0] as [number, number, number]),
    })),
  }
}

/** A v2 announcement of passers-by (`[bucket, n]`) per zone. */
function v2(
  seq: number,
  zones: Record<string, [number, number][]>,
  o: { instance?: string; xid?: string; resync?: string[] } = {},
): TransitsChanged {
  return {
    v: 2,
    instance: o.instance ?? 'ingest-a',
    seq,
    ...(o.xid === null ? {} : { xid: o.xid ?? String(1000 + seq) }),
    zones: Object.entries(zones).map(([id, b]) => ({
      id,
      b: b.map(([bucket, n]) => [bucket, n, 0] as [number, number, number]),
    })),
    ...(o.resync ? { resync: o.resync } : {}),
  }
}

/** A state synced from `zones` at T0, with instance ingest-a known at seq 9 (next 10). */
function synced(zones: Parameters<typeof resync>[0] = { a: {}, b: {} }, resyncEveryMs = 60_000) {
  const s = new LiveState({ reorderGraceMs: 500, resyncEveryMs })
  s.onAnnouncement(v2(9, {}), T0)
  const task = s.takeResync(T0)!
  expect(task.zones).toBe('all')
  s.completeResync(task, resync(zones), T0)
  expect(s.takeResync(T0)).toBeNull()
  return s
}

const passersBy = (s: LiveState, nowMs: number, zone: string) => {
  const z = s.counts(nowMs, DAY)?.find((c) => c.zoneId === zone)
  return z ? { today: z.today.passersBy, last15m: z.last15m.passersBy } : null
}

describe('snapshots', () => {
  it('sees committed transactions below xmin and those between xmin and xmax not in progress', () => {
    // 100 and 103 were in progress; 105 had not begun.
    const s = parseSnapshot('100:105:100,103')
    expect([99n, 100n, 101n, 102n, 103n, 104n, 105n].map((x) => sees(s, x))).toEqual([
      true,
      false,
      true,
      true,
      false,
      true,
      false,
    ])
    // xmin = xmax: nothing in progress.
    expect(sees(parseSnapshot('7:7:'), 6n)).toBe(true)
  })
})

describe(LiveState.name, () => {
  it('has no counts until the first full resync, and wants one at once', () => {
    const s = new LiveState()
    expect(s.counts(T0, DAY)).toBeNull()
    expect(s.takeResync(T0)).toMatchObject({ zones: 'all', reasons: ['start'] })
  })

  it('adds deltas in sequence without asking the database', () => {
    const s = synced({ a: { today: 5, buckets: [[B0 - LIVE_BUCKET_MS, 2]] }, b: {} })
    expect(passersBy(s, T0, 'a')).toEqual({ today: 5, last15m: 2 })
    expect(s.onAnnouncement(v2(10, { a: [[B0, 1]] }), T0 + 100)).toBe(true)
    expect(s.onAnnouncement(v2(11, { a: [[B0, 2]], b: [[B0, 1]] }), T0 + 200)).toBe(true)
    expect(passersBy(s, T0 + 300, 'a')).toEqual({ today: 8, last15m: 5 })
    expect(passersBy(s, T0 + 300, 'b')).toEqual({ today: 1, last15m: 1 })
    expect(s.takeResync(T0 + 300)).toBeNull()
  })

  it('counts a transit first heard before today only in the window, one before the window only today', () => {
    const s = synced()
    const yesterday = liveBucketOf(DAY - 1)
    const old = liveBucketOf(T0 - LIVE_WINDOW_MS - LIVE_BUCKET_MS)
    s.onAnnouncement(v2(10, { a: [[old, 1]] }), T0)
    expect(passersBy(s, T0, 'a')).toEqual({ today: 1, last15m: 0 })
    const s2 = synced()
    const justAfterMidnight = DAY + 5 * 60_000
    s2.completeResync({ zones: 'all', reasons: [] }, resync({ a: {} }), justAfterMidnight)
    s2.onAnnouncement(v2(10, { a: [[yesterday, 1]] }), justAfterMidnight)
    expect(passersBy(s2, justAfterMidnight, 'a')).toEqual({ today: 0, last15m: 1 })
  })

  it('slides the window by time: buckets drop out without a query', () => {
    const s = synced({ a: { buckets: [[B0 - 10 * 60_000, 3]] } }, 3_600_000)
    s.onAnnouncement(v2(10, { a: [[B0, 1]] }), T0)
    expect(passersBy(s, T0, 'a')).toEqual({ today: 1, last15m: 4 })
    // The older bucket leaves the window 5 minutes later (window = its bucket + the 15 min before).
    expect(passersBy(s, B0 + 5 * 60_000 - 1, 'a')?.last15m).toBe(4)
    expect(passersBy(s, B0 + 5 * 60_000 + LIVE_BUCKET_MS, 'a')?.last15m).toBe(1)
    expect(passersBy(s, B0 + LIVE_WINDOW_MS + LIVE_BUCKET_MS, 'a')?.last15m).toBe(0)
    expect(s.takeResync(B0 + LIVE_WINDOW_MS + LIVE_BUCKET_MS)).toBeNull()
  })

  it('takes a reordered announcement in without a resync', () => {
    const s = synced()
    s.onAnnouncement(v2(11, { a: [[B0, 2]] }), T0)
    expect(s.resyncDue(T0 + 100)).toBe(false)
    s.onAnnouncement(v2(10, { a: [[B0, 1]] }), T0 + 200)
    expect(passersBy(s, T0 + 600, 'a')).toEqual({ today: 3, last15m: 3 })
    expect(s.takeResync(T0 + 600)).toBeNull()
    // The same number again is a duplicate: not counted.
    expect(s.onAnnouncement(v2(10, { a: [[B0, 1]] }), T0 + 700)).toBe(false)
    expect(passersBy(s, T0 + 700, 'a')?.today).toBe(3)
  })

  it('reads every zone again when an announcement is lost (a gap not filled within the grace)', () => {
    const s = synced()
    s.onAnnouncement(v2(10, { a: [[B0, 1]] }), T0)
    s.onAnnouncement(v2(12, { a: [[B0, 1]] }), T0 + 100)
    expect(s.takeResync(T0 + 599)).toBeNull()
    const task = s.takeResync(T0 + 600)
    expect(task).toEqual({ zones: 'all', reasons: ['gap'] })
    // The database holds all three (the lost one included); 10 and 12 were seen by its snapshot.
    s.completeResync(
      task!,
      resync({ a: { today: 3, buckets: [[B0, 3]] }, b: {} }, snap('1013:1013:')),
      T0 + 650,
    )
    expect(passersBy(s, T0 + 700, 'a')).toEqual({ today: 3, last15m: 3 })
    // The lost one arrives after all: its transaction was seen, so it is not counted twice.
    s.onAnnouncement(v2(11, { a: [[B0, 1]] }), T0 + 800)
    expect(passersBy(s, T0 + 800, 'a')?.today).toBe(3)
  })

  it('treats a jump beyond maxGap as a gap at once', () => {
    const s = synced()
    s.onAnnouncement(v2(5000, { a: [[B0, 1]] }), T0)
    expect(s.takeResync(T0)).toMatchObject({ zones: 'all', reasons: ['gap'] })
  })

  it('reads every zone again for an instance it does not know, counting its delta once', () => {
    const s = synced({ a: { today: 4 }, b: {} })
    s.onAnnouncement(v2(77, { a: [[B0, 1]] }, { instance: 'ingest-b', xid: '2000' }), T0 + 10)
    expect(passersBy(s, T0 + 10, 'a')?.today).toBe(5)
    const task = s.takeResync(T0 + 20)
    expect(task).toEqual({ zones: 'all', reasons: ['unknown_instance'] })
    // Read under a snapshot that did not see transaction 2000 yet: the delta is added back.
    s.completeResync(task!, resync({ a: { today: 4 }, b: {} }, snap('1990:2001:2000')), T0 + 30)
    expect(passersBy(s, T0 + 30, 'a')?.today).toBe(5)
    // The next one from ingest-b is in sequence: no resync.
    s.onAnnouncement(v2(78, { a: [[B0, 1]] }, { instance: 'ingest-b', xid: '2001' }), T0 + 40)
    expect(passersBy(s, T0 + 40, 'a')?.today).toBe(6)
    expect(s.takeResync(T0 + 50)).toBeNull()
  })

  it('does not count twice a commit the resync already saw, nor miss one it did not', () => {
    const s = synced({ a: { today: 10 } })
    // Two commits announced while a resync is being read: 1050 committed before its snapshot,
    // 1060 after it.
    const task: ResyncTask = { zones: ['a'], reasons: ['requested'] }
    s.onAnnouncement(v2(10, { a: [[B0, 1]] }, { xid: '1050' }), T0)
    s.onAnnouncement(v2(11, { a: [[B0, 1]] }, { xid: '1060' }), T0 + 5)
    s.completeResync(task, resync({ a: { today: 11 } }, snap('1055:1061:1060')), T0 + 10)
    expect(passersBy(s, T0 + 10, 'a')?.today).toBe(12)
    // An announcement of a commit the snapshot saw, arriving late: skipped.
    s.onAnnouncement(v2(12, { a: [[B0, 1]] }, { xid: '1040' }), T0 + 20)
    expect(passersBy(s, T0 + 20, 'a')?.today).toBe(12)
  })

  it('reads the zones of a v1 announcement (an older ingest) again', () => {
    const s = synced()
    expect(s.onAnnouncement({ v: 1, zones: ['b'] }, T0)).toBe(true)
    expect(s.takeResync(T0)).toEqual({ zones: ['b'], reasons: ['v1'] })
    s.completeResync({ zones: ['b'], reasons: ['v1'] }, resync({ b: { today: 7 } }), T0 + 5)
    expect(passersBy(s, T0 + 5, 'b')?.today).toBe(7)
    expect(passersBy(s, T0 + 5, 'a')?.today).toBe(0)
  })

  it('reads every zone again for an unknown zone, a resubscription, and on the safety timer', () => {
    const s = synced()
    s.onAnnouncement(v2(10, { nowhere: [[B0, 1]] }), T0)
    expect(s.takeResync(T0)?.reasons).toEqual(['unknown_zone'])
    s.onSubscribed()
    expect(s.takeResync(T0 + 1)).toEqual({ zones: 'all', reasons: ['subscribed'] })
    s.completeResync({ zones: 'all', reasons: [] }, resync({ a: {}, b: {} }), T0 + 1)
    expect(s.takeResync(T0 + 60_000)).toBeNull()
    expect(s.takeResync(T0 + 60_001)).toEqual({ zones: 'all', reasons: ['timer'] })
  })

  it('reads the zones again that an announcement names without counts', () => {
    const s = synced()
    s.onAnnouncement(v2(10, {}, { resync: ['a'] }), T0)
    expect(s.takeResync(T0)).toEqual({ zones: ['a'], reasons: ['requested'] })
  })

  it('asks again for a resync that could not be read', () => {
    const s = synced()
    s.onAnnouncement({ v: 1, zones: ['a'] }, T0)
    const task = s.takeResync(T0)!
    s.failResync(task)
    expect(s.takeResync(T0 + 1)).toEqual(task)
  })

  it('starts a new day from the window and reads every zone again', () => {
    const s = synced({ a: { today: 50 } })
    const midnight = DAY + 86_400_000
    s.completeResync({ zones: 'all', reasons: [] }, resync({ a: { today: 50 } }), midnight - 60_000)
    s.onAnnouncement(v2(10, { a: [[liveBucketOf(midnight - 30_000), 1]] }), midnight - 20_000)
    s.onAnnouncement(v2(11, { a: [[liveBucketOf(midnight + 10_000), 2]] }), midnight + 20_000)
    const counts = s.counts(midnight + 30_000, midnight)
    expect(counts?.[0]).toMatchObject({ today: { passersBy: 2 }, last15m: { passersBy: 3 } })
    expect(s.takeResync(midnight + 30_000)?.reasons).toContain('day')
  })
})
