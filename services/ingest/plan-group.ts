import {
  classify,
  isStaticDevice,
  mergeSessions,
  segmentSightings,
  type PseudoSighting,
  type Session,
} from './sessionise.ts'
import {
  sessionKey,
  type DeviceRef,
  type GatewayProgress,
  type GatewayProgressWrite,
  type GatewaySession,
  type GatewayTransit,
  type RegisteredGateway,
} from './ingest-repository.ts'

/**
 * The largest forward step of the 802.11 sequence number from a session's last probe to a
 * randomised probe that continues it. A phone's counter advances by one per frame it sends; one scan
 * across the channels sends a few dozen probes, of which a gateway on one channel hears a handful.
 */
export const MAX_SEQ_STEP = 64

/**
 * One accepted sightings message, pseudonymised and filtered, waiting to be committed — or a
 * gateway format's (micro-)batch of messages, which has no boot id or sequence number (null): it
 * moves only its gateway's watermark, to `sentAtMs` (its newest sighting).
 */
export type BatchWork = {
  gateway: RegisteredGateway
  bootId: string | null
  seq: number | null
  sentAtMs: number
  /** Null when the format does not say (its clock is not compared with ours). */
  clockSkewMs: number | null
  receivedAtMs: number
  sightings: readonly PseudoSighting[]
  /** Sightings the message carried, before any filter. */
  sightingsCount: number
  /** Pseudonyms on the allow list: never learned as static. */
  exempt: ReadonlySet<string>
}

/** What the database holds for a group's devices and gateways, read under the gateways' locks. */
export type LoadedState = {
  open: ReadonlyMap<string, Session>
  statics: ReadonlySet<string>
  progress: ReadonlyMap<string, GatewayProgress>
}

export type BatchOutcome = { staticSightings: number; learned: number }

/** Every write a group of batches makes, and what each batch did (for metrics and logs). */
export type GroupPlan = {
  outcomes: BatchOutcome[]
  upserts: GatewaySession[]
  deletes: DeviceRef[]
  learned: DeviceRef[]
  progress: GatewayProgressWrite[]
  /** Per gateway: open sessions last heard before this are final (watermark − gap). */
  cutoffs: { gatewayId: string; before: Date }[]
  /** Sessions the group itself closed, classified. */
  transits: GatewayTransit[]
}

/** The devices a group touches, each once: what must be loaded before planning. */
export function devicesOf(works: readonly BatchWork[]): DeviceRef[] {
  const seen = new Set<string>()
  const refs: DeviceRef[] = []
  for (const w of works) {
    for (const s of w.sightings) {
      const key = sessionKey(w.gateway.id, s.pseudonym)
      if (seen.has(key)) continue
      seen.add(key)
      refs.push({ gatewayId: w.gateway.id, pseudonym: s.pseudonym })
    }
  }
  return refs
}

/** The (gateway, IE fingerprint) pairs of a group's randomised probes, each once. */
export function fingerprintsOf(works: readonly BatchWork[]): { gatewayId: string; fp: string }[] {
  const seen = new Map<string, { gatewayId: string; fp: string }>()
  for (const w of works)
    for (const s of w.sightings)
      if (s.fp !== undefined)
        seen.set(sessionKey(w.gateway.id, s.fp), { gatewayId: w.gateway.id, fp: s.fp })
  return [...seen.values()]
}

/** The time of a group's earliest randomised probe (Infinity when there is none). */
export function earliestProbeOf(works: readonly BatchWork[]): number {
  let earliest = Infinity
  for (const w of works)
    for (const s of w.sightings) if (s.fp !== undefined && s.tMs < earliest) earliest = s.tMs
  return earliest
}

/**
 * A gateway's progress after one more batch (the same rules as a batch at a time). A batch without
 * a boot id and sequence number (a gateway format's) moves only the watermark.
 */
export function advanceProgress(
  p: GatewayProgress | undefined,
  b: { bootId: string | null; seq: number | null; sentAtMs: number },
): GatewayProgress {
  const watermarkMs = p?.watermarkMs == null ? b.sentAtMs : Math.max(p.watermarkMs, b.sentAtMs)
  if (b.bootId === null || b.seq === null)
    return {
      watermarkMs,
      bootId: p?.bootId ?? null,
      lastSeq: p?.lastSeq ?? null,
      seqGaps: p?.seqGaps ?? 0,
    }
  const sameBoot = p?.bootId != null && p.bootId === b.bootId && p.lastSeq !== null
  const lastSeq = p?.lastSeq ?? 0
  return {
    watermarkMs,
    bootId: b.bootId,
    lastSeq: sameBoot ? Math.max(lastSeq, b.seq) : b.seq,
    seqGaps: (p?.seqGaps ?? 0) + (sameBoot && b.seq > lastSeq + 1 ? b.seq - lastSeq - 1 : 0),
  }
}

/**
 * Plans a group of fresh batches (in arrival order) as if each had been committed alone, one after
 * the other: a device's segments merge with its open session, a device heard unbroken for
 * `staticAfterMs` is learned as static, and after each batch its gateway's watermark closes every
 * session of that gateway last heard more than `gapMs` before it. Sessions the group does not touch
 * are closed by the returned cutoffs (the final watermark of each gateway) in the database.
 */
export function planGroup(
  works: readonly BatchWork[],
  loaded: LoadedState,
  opts: { gapMs: number; staticAfterMs: number },
): GroupPlan {
  const open = new Map<string, GatewaySession>()
  const byGateway = new Map<string, Set<string>>()
  const byFingerprint = new Map<string, Set<string>>()
  const keysOf = (gatewayId: string) => {
    let keys = byGateway.get(gatewayId)
    if (!keys) byGateway.set(gatewayId, (keys = new Set()))
    return keys
  }
  const chainsOf = (gatewayId: string, fp: string) => {
    const at = sessionKey(gatewayId, fp)
    let keys = byFingerprint.get(at)
    if (!keys) byFingerprint.set(at, (keys = new Set()))
    return keys
  }
  const keep = (key: string, s: GatewaySession) => {
    open.set(key, s)
    keysOf(s.gatewayId).add(key)
    if (s.session.fp !== undefined) chainsOf(s.gatewayId, s.session.fp).add(key)
  }
  for (const [key, session] of loaded.open)
    keep(key, { gatewayId: key.slice(0, key.indexOf('\u0000')), session })
  const statics = new Set(loaded.statics)
  const progress = new Map(loaded.progress)
  const gateways = new Map<string, RegisteredGateway>()
  const lastBatch = new Map<string, BatchWork>()
  const dirty = new Set<string>()
  const removed = new Set<string>()
  const learned: DeviceRef[] = []
  const transits: GatewayTransit[] = []
  const outcomes: BatchOutcome[] = []

  const close = (gateway: RegisteredGateway, session: Session) =>
    transits.push(transitOf(gateway, session))
  const drop = (key: string, gatewayId: string) => {
    const fp = open.get(key)?.session.fp
    if (fp !== undefined) chainsOf(gatewayId, fp).delete(key)
    open.delete(key)
    keysOf(gatewayId).delete(key)
    dirty.delete(key)
    if (loaded.open.has(key)) removed.add(key)
  }

  for (const w of works) {
    const g = w.gateway
    gateways.set(g.id, g)
    lastBatch.set(g.id, w)
    const outcome: BatchOutcome = { staticSightings: 0, learned: 0 }
    const sightings = chainProbes(w, open, chainsOf, opts.gapMs)
    for (const [pseudonym, segs] of segmentSightings(sightings, opts.gapMs)) {
      const key = sessionKey(g.id, pseudonym)
      if (statics.has(key)) {
        for (const s of segs) outcome.staticSightings += s.samples
        continue
      }
      const merged = mergeSessions(open.get(key)?.session, segs, opts.gapMs)
      for (const s of merged.closed) close(g, s)
      if (!w.exempt.has(pseudonym) && isStaticDevice(merged.open, opts.staticAfterMs)) {
        statics.add(key)
        learned.push({ gatewayId: g.id, pseudonym })
        outcome.learned++
        outcome.staticSightings += merged.open.samples
        drop(key, g.id)
      } else {
        const previous = open.get(key)?.session.fp
        if (previous !== undefined && previous !== merged.open.fp)
          chainsOf(g.id, previous).delete(key)
        keep(key, { gatewayId: g.id, session: merged.open })
        dirty.add(key)
        // A session closed earlier in the group and begun anew: the upsert replaces the stored row.
        removed.delete(key)
      }
    }
    const p = advanceProgress(progress.get(g.id), w)
    progress.set(g.id, p)
    const before = (p.watermarkMs ?? w.sentAtMs) - opts.gapMs
    for (const key of keysOf(g.id)) {
      const s = open.get(key)
      if (s && s.session.lastMs < before) {
        close(g, s.session)
        drop(key, g.id)
      }
    }
    outcomes.push(outcome)
  }

  const progressWrites: GatewayProgressWrite[] = []
  const cutoffs: GroupPlan['cutoffs'] = []
  for (const [gatewayId, w] of lastBatch) {
    const p = progress.get(gatewayId)
    if (!p) continue
    progressWrites.push({
      ...p,
      gatewayId,
      lastBatchAt: new Date(w.receivedAtMs),
      clockSkewMs: w.clockSkewMs,
    })
    cutoffs.push({ gatewayId, before: new Date((p.watermarkMs ?? w.sentAtMs) - opts.gapMs) })
  }
  const refOf = (key: string): DeviceRef => {
    const cut = key.indexOf('\u0000')
    return { gatewayId: key.slice(0, cut), pseudonym: key.slice(cut + 1) }
  }
  return {
    outcomes,
    upserts: [...dirty].flatMap((key) => {
      const s = open.get(key)
      return s ? [s] : []
    }),
    deletes: [...removed].map(refOf),
    learned,
    progress: progressWrites,
    cutoffs,
    transits,
  }
}

type Head = { lastMs: number; lastSeq: number }

/**
 * Wi-Fi de-randomisation: phones probe with a fresh random MAC per scan, so without it every scan
 * is a new device. A randomised probe with an IE fingerprint and a sequence number whose MAC has no
 * session of its own at the gateway continues the open session (same gateway, same fingerprint) that
 * it follows in time within the gap and whose last sequence number it advances by 1..MAX_SEQ_STEP —
 * the smallest step wins, then the most recent. Its sightings are then counted under that session's
 * pseudonym. Chains form within a batch too (probes in time order); which raw pseudonym joined which
 * session is not kept past the batch, so committing batches alone or in groups chains alike.
 */
function chainProbes(
  w: BatchWork,
  open: ReadonlyMap<string, GatewaySession>,
  chainsOf: (gatewayId: string, fp: string) => ReadonlySet<string>,
  gapMs: number,
): readonly PseudoSighting[] {
  const g = w.gateway.id
  if (!w.sightings.some((s) => s.fp !== undefined)) return w.sightings
  const aliases = new Map<string, string>()
  /** Heads of chains moved by this batch, per fingerprint: pseudonym → last probe. */
  const local = new Map<string, Map<string, Head>>()
  const out: PseudoSighting[] = []
  for (const s of [...w.sightings].sort((a, b) => a.tMs - b.tMs)) {
    const { fp, seqNum } = s
    if (fp === undefined || seqNum === undefined || !s.randomised || s.radio !== 'wifi') {
      out.push(s)
      continue
    }
    let heads = local.get(fp)
    if (!heads) local.set(fp, (heads = new Map()))
    let target = aliases.get(s.pseudonym)
    if (target === undefined) {
      if (heads.has(s.pseudonym) || open.has(sessionKey(g, s.pseudonym))) target = s.pseudonym
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
        for (const key of chainsOf(g, fp)) {
          const c = open.get(key)?.session
          if (c?.lastSeqNum !== undefined && !heads.has(c.pseudonym))
            consider(c.pseudonym, c.lastMs, c.lastSeqNum)
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

/** A closed session as a transit of its gateway, classified by the thresholds in force. */
export function transitOf(gateway: RegisteredGateway, session: Session): GatewayTransit {
  return { gateway, transit: classify(session, gateway.thresholds, gateway.shopId !== null) }
}

/** The gateway of each gateway id a group touched (to classify sessions the database closes). */
export function gatewaysOf(works: readonly BatchWork[]): Map<string, RegisteredGateway> {
  return new Map(works.map((w) => [w.gateway.id, w.gateway]))
}
