import { liveWindowStart, type TransitsChanged } from '../../shared/contracts/gateway-messages.ts'
import type { LiveZoneTransitCounts } from '../../shared/contracts/api.ts'

type Counts = { passersBy: number; visitors: number }
/** `[bucketStartMs, passersBy, visitors]`, as the announcements carry them. */
type BucketRow = readonly [number, number, number]

/** A database snapshot (`pg_current_snapshot()`): which transactions' writes it sees. */
export type DbSnapshot = { xmin: bigint; xmax: bigint; xip: ReadonlySet<bigint> }

/** Parses `pg_current_snapshot()::text` (`xmin:xmax:xip,…`). */
export function parseSnapshot(text: string): DbSnapshot {
  const [xmin, xmax, xip] = text.split(':')
  if (xmin === undefined || xmax === undefined) throw new Error(`not a snapshot: ${text}`)
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: new Set(xip ? xip.split(',').map((x) => BigInt(x)) : []),
  }
}

/** Whether a snapshot sees the writes of the committed transaction `xid`. */
export function sees(s: DbSnapshot, xid: bigint): boolean {
  return xid < s.xmin || (xid < s.xmax && !s.xip.has(xid))
}

/** What a resync read from the database, all in one statement (so under one snapshot). */
export type LiveResync = {
  /** The local midnight "today" counted from. */
  dayStartMs: number
  snapshot: DbSnapshot
  /** The zones read, in feed order (all of them for a full resync). */
  zones: { zoneId: string; today: Counts; buckets: BucketRow[] }[]
}

export type ResyncReason =
  | 'start'
  | 'v1'
  | 'gap'
  | 'unknown_instance'
  | 'unknown_zone'
  | 'no_xid'
  | 'requested'
  | 'subscribed'
  | 'timer'
  | 'day'

/** A resync taken by `takeResync`: every zone, or some. */
export type ResyncTask = { zones: 'all' | string[]; reasons: ResyncReason[] }

export type LiveStateOptions = {
  /** A missing sequence number is waited for this long before it counts as lost (default 1000). */
  reorderGraceMs?: number
  /** Every zone is read again at least this often (the safety timer; default 60 000). */
  resyncEveryMs?: number
  /** An instance not heard for this long is forgotten (default 10 min). */
  instanceTtlMs?: number
  /**
   * Announcements are kept this long (default 60 s) to be added again on top of a resync whose
   * snapshot did not see their transaction (a read replica behind, a commit during the read).
   */
  recentMs?: number
  /** A jump in an instance's sequence beyond this is a gap at once (default 1000). */
  maxGap?: number
}

type ZoneState = { today: Counts; buckets: Map<number, Counts>; snapshot: DbSnapshot | null }
type Instance = {
  next: number
  /** Numbers not arrived yet: waited for until `untilMs`, then lost (and kept `recentMs` more). */
  missing: Map<number, { untilMs: number; lost: boolean }>
  heardAtMs: number
}
type Delta = { atMs: number; xid: bigint | null; zoneId: string; buckets: readonly BucketRow[] }

const MAX_RECENT = 100_000

/**
 * The live feed's counts, kept in memory from ingest's announcements (v2: what each commit stored
 * per zone and live bucket), with the database as the resync path:
 *
 * - A delta is added at once (they are sums: order does not matter) unless the snapshot of the
 *   zone's last resync already saw its transaction (`xid`), so nothing is counted twice.
 * - Each ingest instance numbers its announcements; a number that has not arrived `reorderGraceMs`
 *   after a later one is lost (QoS 0) and every zone is read again, as for an unknown instance, an
 *   unknown zone, a v1 announcement (its zones), a (re)subscription to the broker, the local day
 *   changing, and every `resyncEveryMs`.
 * - A resync replaces the zones' counts with the database's and adds back the recent deltas its
 *   snapshot did not see.
 * - "Last 15 minutes" are the live buckets (contracts: LIVE_BUCKET_MS) from `liveWindowStart`; the
 *   window slides by dropping buckets, without a query.
 *
 * Pure: no I/O and no clock (every call takes `nowMs`); app.ts runs the resyncs it asks for.
 */
export class LiveState {
  readonly #o: Required<LiveStateOptions>
  #order: string[] = []
  #zones = new Map<string, ZoneState>()
  #synced = false
  #dayStartMs = Number.NaN
  #instances = new Map<string, Instance>()
  #recent: Delta[] = []
  #pendingAll = true
  #pending = new Set<string>()
  #reasons = new Set<ResyncReason>(['start'])
  #lastFullAtMs = -Infinity

  constructor(o: LiveStateOptions = {}) {
    this.#o = {
      reorderGraceMs: o.reorderGraceMs ?? 1000,
      resyncEveryMs: o.resyncEveryMs ?? 60_000,
      instanceTtlMs: o.instanceTtlMs ?? 10 * 60_000,
      recentMs: o.recentMs ?? 60_000,
      maxGap: o.maxGap ?? 1000,
    }
  }

  /** Whether a full resync has filled the state (before it, `counts` is null). */
  get synced(): boolean {
    return this.#synced
  }

  #requestAll(reason: ResyncReason) {
    this.#pendingAll = true
    this.#reasons.add(reason)
  }

  #request(zoneId: string, reason: ResyncReason) {
    if (this.#synced && !this.#zones.has(zoneId)) return this.#requestAll('unknown_zone')
    this.#pending.add(zoneId)
    this.#reasons.add(reason)
  }

  /** The broker (re)granted the subscription: announcements may have been missed meanwhile. */
  onSubscribed(): void {
    this.#requestAll('subscribed')
  }

  /**
   * Takes in an announcement. Returns whether the feed should look again (counts changed, or a
   * resync is wanted); false for a duplicate.
   */
  onAnnouncement(m: TransitsChanged, nowMs: number): boolean {
    if (m.v === 1) {
      for (const z of m.zones) this.#request(z, 'v1')
      return m.zones.length > 0
    }
    const inst = this.#instances.get(m.instance)
    if (!inst) {
      this.#instances.set(m.instance, { next: m.seq + 1, missing: new Map(), heardAtMs: nowMs })
      // Whatever it announced before we knew it may be missing here.
      this.#requestAll('unknown_instance')
    } else {
      inst.heardAtMs = nowMs
      if (m.seq === inst.next) inst.next++
      else if (m.seq > inst.next) {
        if (m.seq - inst.next > this.#o.maxGap) {
          inst.missing.clear()
          this.#requestAll('gap')
        } else
          for (let s = inst.next; s < m.seq; s++)
            inst.missing.set(s, { untilMs: nowMs + this.#o.reorderGraceMs, lost: false })
        inst.next = m.seq + 1
      } else if (!inst.missing.delete(m.seq)) return false // seen already
    }
    const xid = m.xid === undefined ? null : BigInt(m.xid)
    for (const z of m.zones) {
      this.#remember({ atMs: nowMs, xid, zoneId: z.id, buckets: z.b })
      if (!this.#synced) continue
      const state = this.#zones.get(z.id)
      if (!state) this.#requestAll('unknown_zone')
      else if (xid === null) {
        this.#add(state, z.b, nowMs)
        // Without a transaction id a resync cannot tell whether it saw these: read them again.
        this.#request(z.id, 'no_xid')
      } else if (!state.snapshot || !sees(state.snapshot, xid)) this.#add(state, z.b, nowMs)
    }
    for (const z of m.resync ?? []) this.#request(z, 'requested')
    return true
  }

  #remember(d: Delta) {
    this.#recent.push(d)
    // Without clients nobody asks for counts (and so for #expire): keep the log bounded here too.
    if (this.#recent.length > MAX_RECENT) this.#forget(d.atMs, MAX_RECENT / 10)
  }

  /** Drops the deltas older than `recentMs`, and at least `atLeast` of the oldest. */
  #forget(nowMs: number, atLeast = 0) {
    const horizon = nowMs - this.#o.recentMs
    let drop = atLeast
    while (drop < this.#recent.length && (this.#recent[drop]?.atMs ?? Infinity) < horizon) drop++
    if (drop) this.#recent.splice(0, drop)
  }

  #add(state: ZoneState, rows: readonly BucketRow[], nowMs: number) {
    const windowStart = liveWindowStart(nowMs)
    for (const [bucket, passersBy, visitors] of rows) {
      if (bucket >= this.#dayStartMs) {
        state.today.passersBy += passersBy
        state.today.visitors += visitors
      }
      if (bucket < windowStart) continue
      const c = state.buckets.get(bucket)
      if (c) {
        c.passersBy += passersBy
        c.visitors += visitors
      } else state.buckets.set(bucket, { passersBy, visitors })
    }
  }

  /** Whether a resync is wanted now (asked for, a lost announcement, or the safety timer). */
  resyncDue(nowMs: number): boolean {
    this.#expire(nowMs)
    return this.#pendingAll || this.#pending.size > 0
  }

  #expire(nowMs: number) {
    if (this.#synced && nowMs - this.#lastFullAtMs >= this.#o.resyncEveryMs)
      this.#requestAll('timer')
    for (const [id, inst] of this.#instances) {
      if (nowMs - inst.heardAtMs >= this.#o.instanceTtlMs) {
        this.#instances.delete(id)
        continue
      }
      for (const [seq, m] of inst.missing) {
        if (m.lost) {
          if (nowMs - m.untilMs >= this.#o.recentMs) inst.missing.delete(seq)
        } else if (m.untilMs <= nowMs) {
          // Lost: every zone is read again (which zones it held is not known). Should it arrive
          // after all, it is still taken in (against the resync's snapshot), for `recentMs`.
          this.#requestAll('gap')
          m.lost = true
        }
      }
    }
    this.#forget(nowMs)
  }

  /** The resync to run now, if any; the caller reads it and hands it to completeResync or failResync. */
  takeResync(nowMs: number): ResyncTask | null {
    if (!this.resyncDue(nowMs)) return null
    const task: ResyncTask = {
      zones: this.#pendingAll ? 'all' : [...this.#pending],
      reasons: [...this.#reasons],
    }
    if (this.#pendingAll) this.#lastFullAtMs = nowMs
    this.#pendingAll = false
    this.#pending.clear()
    this.#reasons.clear()
    return task
  }

  /** A resync could not be read: it is asked for again. */
  failResync(task: ResyncTask): void {
    if (task.zones === 'all') {
      this.#pendingAll = true
      this.#lastFullAtMs = -Infinity
    } else for (const z of task.zones) this.#pending.add(z)
    for (const r of task.reasons) this.#reasons.add(r)
  }

  /** Replaces the zones read with the database's counts, plus the recent deltas it did not see. */
  completeResync(task: ResyncTask, r: LiveResync, nowMs: number): void {
    if (task.zones === 'all') {
      this.#order = r.zones.map((z) => z.zoneId)
      this.#zones = new Map()
      this.#synced = true
    } else if (r.dayStartMs !== this.#dayStartMs) {
      // Another day than the counts held: read every zone for that day instead.
      return this.#requestAll('day')
    } else if (r.zones.length < task.zones.length) this.#requestAll('unknown_zone')
    this.#dayStartMs = r.dayStartMs
    const windowStart = liveWindowStart(nowMs)
    const read = new Set<string>()
    for (const z of r.zones) {
      if (task.zones !== 'all' && !this.#zones.has(z.zoneId)) continue
      const buckets = new Map<number, Counts>()
      for (const [b, passersBy, visitors] of z.buckets)
        if (b >= windowStart) buckets.set(b, { passersBy, visitors })
      this.#zones.set(z.zoneId, { today: { ...z.today }, buckets, snapshot: r.snapshot })
      read.add(z.zoneId)
    }
    for (const d of this.#recent) {
      const state = read.has(d.zoneId) ? this.#zones.get(d.zoneId) : undefined
      if (!state || d.xid === null || sees(r.snapshot, d.xid)) continue
      this.#add(state, d.buckets, nowMs)
    }
  }

  /**
   * Every zone's counts at `nowMs` (today since `dayStartMs`), in feed order; null before the
   * first full resync. A new day starts "today" from the window's buckets after its midnight and
   * asks for a resync.
   */
  counts(nowMs: number, dayStartMs: number): LiveZoneTransitCounts[] | null {
    if (!this.#synced) return null
    const windowStart = liveWindowStart(nowMs)
    if (dayStartMs !== this.#dayStartMs) {
      for (const s of this.#zones.values()) {
        s.today = { passersBy: 0, visitors: 0 }
        for (const [b, c] of s.buckets)
          if (b >= dayStartMs) {
            s.today.passersBy += c.passersBy
            s.today.visitors += c.visitors
          }
      }
      this.#dayStartMs = dayStartMs
      this.#requestAll('day')
    }
    const out: LiveZoneTransitCounts[] = []
    for (const zoneId of this.#order) {
      const s = this.#zones.get(zoneId)
      if (!s) continue
      const last15m = { passersBy: 0, visitors: 0 }
      for (const [b, c] of s.buckets) {
        if (b < windowStart) {
          s.buckets.delete(b)
          continue
        }
        last15m.passersBy += c.passersBy
        last15m.visitors += c.visitors
      }
      out.push({ zoneId, today: { ...s.today }, last15m })
    }
    return out
  }
}
