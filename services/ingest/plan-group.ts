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

/** One accepted sightings message, pseudonymised and filtered, waiting to be committed. */
export type BatchWork = {
  gateway: RegisteredGateway
  bootId: string
  seq: number
  sentAtMs: number
  clockSkewMs: number
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

/** A gateway's progress after one more batch (the same rules as a batch at a time). */
export function advanceProgress(
  p: GatewayProgress | undefined,
  b: { bootId: string; seq: number; sentAtMs: number },
): GatewayProgress {
  const sameBoot = p?.bootId != null && p.bootId === b.bootId && p.lastSeq !== null
  const lastSeq = p?.lastSeq ?? 0
  return {
    watermarkMs: p?.watermarkMs == null ? b.sentAtMs : Math.max(p.watermarkMs, b.sentAtMs),
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
  for (const [key, session] of loaded.open)
    open.set(key, { gatewayId: key.slice(0, key.indexOf('\u0000')), session })
  const byGateway = new Map<string, Set<string>>()
  const keysOf = (gatewayId: string) => {
    let keys = byGateway.get(gatewayId)
    if (!keys) byGateway.set(gatewayId, (keys = new Set()))
    return keys
  }
  for (const [key, s] of open) keysOf(s.gatewayId).add(key)
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
    transits.push({
      gateway,
      transit: classify(session, gateway.thresholds, gateway.shopId !== null),
    })
  const drop = (key: string, gatewayId: string) => {
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
    for (const [pseudonym, segs] of segmentSightings(w.sightings, opts.gapMs)) {
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
        open.set(key, { gatewayId: g.id, session: merged.open })
        keysOf(g.id).add(key)
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

/** The gateway of each gateway id a group touched (to classify sessions the database closes). */
export function gatewaysOf(works: readonly BatchWork[]): Map<string, RegisteredGateway> {
  return new Map(works.map((w) => [w.gateway.id, w.gateway]))
}
