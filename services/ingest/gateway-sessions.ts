import {
  isStaticDevice,
  mergeSessions,
  segmentSightings,
  type PseudoSighting,
  type Session,
} from './sessionise.ts'

/**
 * The largest forward step of the 802.11 sequence number from a session's last probe to a
 * randomised probe that continues it. A phone's counter advances by one per frame it sends; one scan
 * across the channels sends a few dozen probes, of which a gateway on one channel hears a handful.
 */
export const MAX_SEQ_STEP = 64

/** What one batch brings to its gateway's sessions (a native message, or a format's micro-batch). */
export type SessionInput = {
  sentAtMs: number
  sightings: readonly PseudoSighting[]
  /** Pseudonyms on the allow list: never learned as static. */
  exempt: ReadonlySet<string>
}

/**
 * `late`: the gateway's event time had already passed the batch by more than the transit gap, so
 * its devices' sessions from before were closed and stored: it starts new ones (a pass split in
 * two). One process commits a gateway's batches in arrival order, so this means they were committed
 * out of order — replicas on a round-robin shared subscription, or a gateway sending old batches
 * after new ones.
 */
export type BatchOutcome = { staticSightings: number; learned: number; late: boolean }

/** What applying one batch did: the sessions it closed and the devices it learned as static. */
export type Applied = { outcome: BatchOutcome; closed: Session[]; learned: string[] }

export type SessionRules = { gapMs: number; staticAfterMs: number }

/** Told of every change to the open sessions (planGroup turns them into its row writes). */
export type SessionObserver = {
  kept(pseudonym: string, session: Session): void
  dropped(pseudonym: string): void
}

type HeapEntry = { lastMs: number; pseudonym: string }
/** Stale heap entries tolerated beyond twice the open sessions before the heap is rebuilt. */
const HEAP_SLACK = 1024

/**
 * One gateway's open sessions, its static devices and its event-time watermark: the state a batch
 * is planned against, held in memory by the process that owns the gateway (committer/session-cache.ts)
 * and rebuilt from a checkpoint and the session log when it does not (docs/architecture.md).
 *
 * Applying a batch is what committing it alone does: its sightings (randomised probes chained first)
 * merge with the device's open session, a device heard unbroken for `staticAfterMs` is learned as
 * static, and then the gateway's watermark closes every session last heard more than `gapMs` before
 * it. Deterministic for a given order of batches: the log replays to the same state.
 *
 * `version` counts the batches applied (with the gateway's session version in the database: a
 * state is valid for a gateway only while the two are equal).
 */
export class GatewaySessions {
  version: number
  watermarkMs: number | null
  readonly open = new Map<string, Session>()
  /** Static devices, with when they were learned (to be forgotten after their day). */
  readonly statics = new Map<string, number>()
  /** Chain candidates per IE fingerprint: pseudonyms of open sessions that carry it. */
  private readonly byFingerprint = new Map<string, Set<string>>()
  /** Min-heap of (lastMs, pseudonym), lazily cleaned: what the watermark may close next. */
  private readonly heap: HeapEntry[] = []
  observer: SessionObserver | undefined

  constructor(init: {
    version: number
    watermarkMs: number | null
    open?: Iterable<Session>
    statics?: Iterable<[string, number]>
  }) {
    this.version = init.version
    this.watermarkMs = init.watermarkMs
    for (const s of init.open ?? []) this.keep(s.pseudonym, s)
    for (const [p, at] of init.statics ?? []) this.statics.set(p, at)
  }

  /** Applies one batch (in the gateway's commit order); `nowMs` stamps statics it learns. */
  apply(input: SessionInput, rules: SessionRules, nowMs: number): Applied {
    const { gapMs, staticAfterMs } = rules
    const outcome: BatchOutcome = {
      staticSightings: 0,
      learned: 0,
      late: this.watermarkMs !== null && input.sentAtMs < this.watermarkMs - gapMs,
    }
    const closed: Session[] = []
    const learned: string[] = []
    const sightings = this.chainProbes(input.sightings, gapMs)
    for (const [pseudonym, segs] of segmentSightings(sightings, gapMs)) {
      if (this.statics.has(pseudonym)) {
        for (const s of segs) outcome.staticSightings += s.samples
        continue
      }
      const merged = mergeSessions(this.open.get(pseudonym), segs, gapMs)
      closed.push(...merged.closed)
      if (!input.exempt.has(pseudonym) && isStaticDevice(merged.open, staticAfterMs)) {
        this.statics.set(pseudonym, nowMs)
        learned.push(pseudonym)
        outcome.learned++
        outcome.staticSightings += merged.open.samples
        this.drop(pseudonym)
      } else this.keep(pseudonym, merged.open)
    }
    this.watermarkMs =
      this.watermarkMs === null ? input.sentAtMs : Math.max(this.watermarkMs, input.sentAtMs)
    closed.push(...this.closeBefore(this.watermarkMs - gapMs))
    this.version++
    return { outcome, closed, learned }
  }

  /** Closes every open session last heard before `beforeMs` and returns them. */
  closeBefore(beforeMs: number): Session[] {
    const closed: Session[] = []
    for (;;) {
      const top = this.heap[0]
      if (!top || top.lastMs >= beforeMs) break
      this.pop()
      const s = this.open.get(top.pseudonym)
      // A stale entry: the session moved on (a newer entry stands for it) or is gone.
      if (!s || s.lastMs !== top.lastMs) continue
      closed.push(s)
      this.drop(top.pseudonym)
    }
    return closed
  }

  /** Closes every open session (a silent gateway: all it heard is final). */
  closeAll(): Session[] {
    const closed = [...this.open.values()]
    for (const p of [...this.open.keys()]) this.drop(p)
    this.heap.length = 0
    return closed
  }

  /** Forgets static devices learned before `beforeMs` (their pseudonyms are past their day). */
  forgetStatics(beforeMs: number): void {
    for (const [p, at] of this.statics) if (at < beforeMs) this.statics.delete(p)
  }

  private keep(pseudonym: string, session: Session): void {
    const previous = this.open.get(pseudonym)?.fp
    if (previous !== undefined && previous !== session.fp) this.unchain(previous, pseudonym)
    this.open.set(pseudonym, session)
    if (session.fp !== undefined) {
      let chain = this.byFingerprint.get(session.fp)
      if (!chain) this.byFingerprint.set(session.fp, (chain = new Set()))
      chain.add(pseudonym)
    }
    this.push({ lastMs: session.lastMs, pseudonym })
    if (this.heap.length > 2 * this.open.size + HEAP_SLACK) this.compact()
    this.observer?.kept(pseudonym, session)
  }

  private drop(pseudonym: string): void {
    const fp = this.open.get(pseudonym)?.fp
    if (fp !== undefined) this.unchain(fp, pseudonym)
    this.open.delete(pseudonym)
    this.observer?.dropped(pseudonym)
  }

  private unchain(fp: string, pseudonym: string): void {
    const chain = this.byFingerprint.get(fp)
    if (!chain) return
    chain.delete(pseudonym)
    if (chain.size === 0) this.byFingerprint.delete(fp)
  }

  /**
   * Wi-Fi de-randomisation: phones probe with a fresh random MAC per scan, so without it every scan
   * is a new device. A randomised probe with an IE fingerprint and a sequence number whose MAC has
   * no session of its own continues the open session (same fingerprint) that it follows in time
   * within the gap and whose last sequence number it advances by 1..MAX_SEQ_STEP — the smallest step
   * wins, then the most recent. Its sightings are then counted under that session's pseudonym.
   * Chains form within a batch too (probes in time order); which raw pseudonym joined which session
   * is not kept past the batch, so committing batches alone or in groups chains alike.
   */
  private chainProbes(
    sightings: readonly PseudoSighting[],
    gapMs: number,
  ): readonly PseudoSighting[] {
    if (!sightings.some((s) => s.fp !== undefined)) return sightings
    const aliases = new Map<string, string>()
    /** Heads of chains moved by this batch, per fingerprint: pseudonym → last probe. */
    const local = new Map<string, Map<string, { lastMs: number; lastSeq: number }>>()
    const out: PseudoSighting[] = []
    for (const s of [...sightings].sort((a, b) => a.tMs - b.tMs)) {
      const { fp, seqNum } = s
      if (fp === undefined || seqNum === undefined || !s.randomised || s.radio !== 'wifi') {
        out.push(s)
        continue
      }
      let heads = local.get(fp)
      if (!heads) local.set(fp, (heads = new Map()))
      let target = aliases.get(s.pseudonym)
      if (target === undefined) {
        if (heads.has(s.pseudonym) || this.open.has(s.pseudonym)) target = s.pseudonym
        else {
          // The batch's own heads first; a stored session moved by this batch is seen through them.
          let best: { pseudonym: string; step: number; lastMs: number } | undefined
          const consider = (pseudonym: string, lastMs: number, lastSeq: number) => {
            const since = s.tMs - lastMs
            if (since < 0 || since > gapMs) return
            const step = (seqNum - lastSeq + 4096) % 4096
            if (step < 1 || step > MAX_SEQ_STEP) return
            if (!best || step < best.step || (step === best.step && lastMs > best.lastMs))
              best = { pseudonym, step, lastMs }
          }
          for (const [p, h] of heads) consider(p, h.lastMs, h.lastSeq)
          for (const p of this.byFingerprint.get(fp) ?? []) {
            const c = this.open.get(p)
            if (c?.lastSeqNum !== undefined && !heads.has(p)) consider(p, c.lastMs, c.lastSeqNum)
          }
          target = best?.pseudonym ?? s.pseudonym
        }
        aliases.set(s.pseudonym, target)
      }
      heads.set(target, { lastMs: s.tMs, lastSeq: seqNum })
      out.push(target === s.pseudonym ? s : { ...s, pseudonym: target })
    }
    return out
  }

  /** Entries in the expiry heap, stale ones included (tests; bounded by compaction). */
  heapSize(): number {
    return this.heap.length
  }

  /**
   * Rebuilds the heap from the open sessions, one entry each. Every batch that continues a session
   * pushes a new entry and leaves the old one stale until the watermark reaches it: a device heard
   * in every 5-second batch for the 2-minute gap holds ~24 entries, most of a session's memory.
   * Rebuilding once stale entries outnumber live ones keeps the heap under twice the sessions, at
   * O(1) amortised per push.
   */
  private compact(): void {
    const h = this.heap
    h.length = 0
    for (const [pseudonym, session] of this.open) h.push({ lastMs: session.lastMs, pseudonym })
    for (let i = (h.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private siftDown(start: number): void {
    const h = this.heap
    const e = h[start]
    if (!e) return
    let i = start
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      let mMs = e.lastMs
      const hl = h[l]
      const hr = h[r]
      if (hl && hl.lastMs < mMs) {
        m = l
        mMs = hl.lastMs
      }
      if (hr && hr.lastMs < mMs) m = r
      if (m === i) break
      h[i] = h[m] as HeapEntry
      i = m
    }
    h[i] = e
  }

  private push(e: HeapEntry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = h[parent]
      if (!p || p.lastMs <= e.lastMs) break
      h[i] = p
      i = parent
    }
    h[i] = e
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (!last || h.length === 0) return
    h[0] = last
    this.siftDown(0)
  }
}
