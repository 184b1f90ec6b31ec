import { classify, type PseudoSighting, type Session } from './sessionise.ts'
import { GatewaySessions, type BatchOutcome } from './gateway-sessions.ts'
import {
  sessionKey,
  type DeviceRef,
  type GatewayProgress,
  type GatewayProgressWrite,
  type GatewaySession,
  type GatewayTransit,
  type RegisteredGateway,
} from './model.ts'

export { MAX_SEQ_STEP, type BatchOutcome } from './gateway-sessions.ts'

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
 * the other, against the sessions loaded for them (GatewaySessions.apply, batch by batch): a device's
 * segments merge with its open session, a device heard unbroken for `staticAfterMs` is learned as
 * static, and after each batch its gateway's watermark closes every session of that gateway last
 * heard more than `gapMs` before it. When only some of a gateway's sessions are loaded, the returned
 * cutoffs (the final watermark of each gateway) close the others where they are stored.
 */
export function planGroup(
  works: readonly BatchWork[],
  loaded: LoadedState,
  opts: { gapMs: number; staticAfterMs: number },
): GroupPlan {
  const open = new Map<string, GatewaySession>()
  const dirty = new Set<string>()
  const removed = new Set<string>()
  const seeded = new Map<string, Session[]>()
  for (const [key, session] of loaded.open) {
    const gatewayId = key.slice(0, key.indexOf('\u0000'))
    open.set(key, { gatewayId, session })
    const list = seeded.get(gatewayId)
    if (list) list.push(session)
    else seeded.set(gatewayId, [session])
  }
  const statics = new Map<string, [string, number][]>()
  for (const key of loaded.statics) {
    const cut = key.indexOf('\u0000')
    const gatewayId = key.slice(0, cut)
    const list = statics.get(gatewayId)
    const entry: [string, number] = [key.slice(cut + 1), 0]
    if (list) list.push(entry)
    else statics.set(gatewayId, [entry])
  }
  const states = new Map<string, GatewaySessions>()
  const stateOf = (gatewayId: string): GatewaySessions => {
    const known = states.get(gatewayId)
    if (known) return known
    const st = new GatewaySessions({
      version: 0,
      watermarkMs: loaded.progress.get(gatewayId)?.watermarkMs ?? null,
      open: seeded.get(gatewayId) ?? [],
      statics: statics.get(gatewayId) ?? [],
    })
    // Told only of what the group changes (the loaded sessions went in before).
    st.observer = {
      kept(pseudonym, session) {
        const key = sessionKey(gatewayId, pseudonym)
        open.set(key, { gatewayId, session })
        dirty.add(key)
        // A session closed earlier in the group and begun anew: the upsert replaces the stored row.
        removed.delete(key)
      },
      dropped(pseudonym) {
        const key = sessionKey(gatewayId, pseudonym)
        open.delete(key)
        dirty.delete(key)
        if (loaded.open.has(key)) removed.add(key)
      },
    }
    states.set(gatewayId, st)
    return st
  }
  const progress = new Map(loaded.progress)
  const lastBatch = new Map<string, BatchWork>()
  const learned: DeviceRef[] = []
  const transits: GatewayTransit[] = []
  const outcomes: BatchOutcome[] = []
  for (const w of works) {
    const g = w.gateway
    lastBatch.set(g.id, w)
    const applied = stateOf(g.id).apply(w, opts, w.receivedAtMs)
    for (const s of applied.closed) transits.push(transitOf(g, s))
    for (const pseudonym of applied.learned) learned.push({ gatewayId: g.id, pseudonym })
    progress.set(g.id, advanceProgress(progress.get(g.id), w))
    outcomes.push(applied.outcome)
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

/** A closed session as a transit of its gateway, classified by the thresholds in force. */
export function transitOf(gateway: RegisteredGateway, session: Session): GatewayTransit {
  return { gateway, transit: classify(session, gateway.thresholds, gateway.shopId !== null) }
}

/** The gateway of each gateway id a group touched (to classify sessions the database closes). */
export function gatewaysOf(works: readonly BatchWork[]): Map<string, RegisteredGateway> {
  return new Map(works.map((w) => [w.gateway.id, w.gateway]))
}
