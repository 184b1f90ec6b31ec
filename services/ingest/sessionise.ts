/** A sighting after pseudonymisation: nothing in it identifies a device beyond its day. */
export type PseudoSighting = {
  pseudonym: string
  tMs: number
  rssi: number
  radio: 'wifi' | 'ble'
  randomised: boolean
  /** 802.11 sequence number of a probe request, when the gateway reported it. */
  seqNum?: number
  /** Keyed hash of a probe's IE id list (see Pseudonymiser.fingerprint). */
  fp?: string
}

/** One device's continuous presence at one gateway (open while it may still grow). */
export type Session = {
  pseudonym: string
  firstMs: number
  lastMs: number
  peakRssi: number
  samples: number
  radio: 'wifi' | 'ble'
  randomised: boolean
  /** IE fingerprint of a randomised Wi-Fi device: what de-randomisation chains on. */
  fp?: string
  /** Sequence number of the latest probe heard (by time), when reported. */
  lastSeqNum?: number
}

export type VisitorThresholds = { version: number; minRssi: number; minDwellS: number }

export type ClassifiedTransit = Session & {
  dwellS: number
  visitor: boolean
  thresholdVersion: number
}

/** A device's first sighting of a run as a session of one sample. */
function sessionOf(s: PseudoSighting): Session {
  const session: Session = {
    pseudonym: s.pseudonym,
    firstMs: s.tMs,
    lastMs: s.tMs,
    peakRssi: s.rssi,
    samples: 1,
    radio: s.radio,
    randomised: s.randomised,
  }
  if (s.seqNum !== undefined) session.lastSeqNum = s.seqNum
  if (s.fp !== undefined) session.fp = s.fp
  return session
}

/** Appends a later sighting (by time) of the device to its last run, or starts a new run. */
function extend(sessions: Session[], s: PseudoSighting, gapMs: number): void {
  const cur = sessions.at(-1)
  if (cur === undefined || s.tMs - cur.lastMs > gapMs) {
    sessions.push(sessionOf(s))
    return
  }
  cur.lastMs = s.tMs
  cur.samples++
  if (s.rssi > cur.peakRssi) cur.peakRssi = s.rssi
  if (s.seqNum !== undefined) cur.lastSeqNum = s.seqNum
  if (s.fp !== undefined && cur.fp === undefined) cur.fp = s.fp
}

/**
 * Groups a batch's sightings by pseudonym and splits each device's run where it was unheard for more
 * than `gapMs`. Devices come out in the order of their first sighting. A device's sightings are taken
 * in time order (stable for equal times); gateways send them in order nearly always, so they are
 * read in one pass and only a device whose sightings go back in time is sorted.
 */
export function segmentSightings(
  sightings: readonly PseudoSighting[],
  gapMs: number,
): Map<string, Session[]> {
  const out = new Map<string, Session[]>()
  let unordered: Set<string> | undefined
  for (const s of sightings) {
    const sessions = out.get(s.pseudonym)
    if (sessions === undefined) out.set(s.pseudonym, [sessionOf(s)])
    else if (unordered?.has(s.pseudonym)) continue
    else if (s.tMs < (sessions.at(-1)?.lastMs ?? -Infinity))
      (unordered ??= new Set()).add(s.pseudonym)
    else extend(sessions, s, gapMs)
  }
  for (const pseudonym of unordered ?? []) {
    const sessions: Session[] = []
    const list = sightings.filter((x) => x.pseudonym === pseudonym).sort((a, b) => a.tMs - b.tMs)
    for (const s of list) extend(sessions, s, gapMs)
    out.set(pseudonym, sessions)
  }
  return out
}

/** A copy of a session, field by field (one object shape for every session). */
function copyOf(
  s: Session,
  lastMs = s.lastMs,
  peakRssi = s.peakRssi,
  samples = s.samples,
): Session {
  const copy: Session = {
    pseudonym: s.pseudonym,
    firstMs: s.firstMs,
    lastMs,
    peakRssi,
    samples,
    radio: s.radio,
    randomised: s.randomised,
  }
  if (s.lastSeqNum !== undefined) copy.lastSeqNum = s.lastSeqNum
  if (s.fp !== undefined) copy.fp = s.fp
  return copy
}

/** `s` merged into `last` (the one that starts first): one session over both. */
function joined(last: Session, s: Session): Session {
  const later = s.lastMs >= last.lastMs ? s : last
  const earlier = later === s ? last : s
  const next = copyOf(
    last,
    later.lastMs,
    Math.max(last.peakRssi, s.peakRssi),
    last.samples + s.samples,
  )
  const seqNum = later.lastSeqNum ?? earlier.lastSeqNum
  if (seqNum !== undefined) next.lastSeqNum = seqNum
  const fp = last.fp ?? s.fp
  if (fp !== undefined) next.fp = fp
  return next
}

/**
 * Merges a device's new segments with its open session (if any). Sessions closer than `gapMs`
 * (or overlapping, for out-of-order batches) become one; the latest stays open, every earlier one is
 * closed and final. The sessions returned are new objects.
 */
export function mergeSessions(
  open: Session | undefined,
  segments: readonly Session[],
  gapMs: number,
): { open: Session; closed: Session[] } {
  // Nearly always one segment that starts no earlier than the open session: no sort needed.
  const only = segments.length === 1 ? segments[0] : undefined
  if (only && !open) return { open: copyOf(only), closed: [] }
  if (only && open && only.firstMs >= open.firstMs) {
    if (only.firstMs - open.lastMs <= gapMs) return { open: joined(open, only), closed: [] }
    return { open: copyOf(only), closed: [copyOf(open)] }
  }
  const all = open ? [open, ...segments] : [...segments]
  if (all.length === 0) throw new Error('mergeSessions needs an open session or a segment')
  all.sort((a, b) => a.firstMs - b.firstMs)
  const merged: Session[] = []
  for (const s of all) {
    const last = merged.at(-1)
    if (last && s.firstMs - last.lastMs <= gapMs) merged[merged.length - 1] = joined(last, s)
    else merged.push(copyOf(s))
  }
  const latest = merged.pop()
  if (!latest) throw new Error('mergeSessions needs an open session or a segment')
  return { open: latest, closed: merged }
}

/**
 * A device heard without a break for `staticAfterMs` at one gateway is no pedestrian but a shop PC,
 * a speaker or a staff phone. 0 turns the rule off.
 */
export function isStaticDevice(open: Session, staticAfterMs: number): boolean {
  return staticAfterMs > 0 && open.lastMs - open.firstMs >= staticAfterMs
}

/**
 * Passer-by or visitor by the gateway's thresholds in force; the version travels with the transit.
 * A gateway that is not in a shop (`inShop` false) counts passers-by only: there is nothing to visit.
 */
export function classify(
  session: Session,
  thresholds: VisitorThresholds,
  inShop = true,
): ClassifiedTransit {
  const dwellS = (session.lastMs - session.firstMs) / 1000
  return {
    ...session,
    dwellS,
    visitor: inShop && session.peakRssi >= thresholds.minRssi && dwellS >= thresholds.minDwellS,
    thresholdVersion: thresholds.version,
  }
}
