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

/** Groups a batch's sightings by pseudonym and splits each device's run where it was unheard for more than `gapMs`. */
export function segmentSightings(
  sightings: readonly PseudoSighting[],
  gapMs: number,
): Map<string, Session[]> {
  const byDevice = new Map<string, PseudoSighting[]>()
  for (const s of sightings) {
    const list = byDevice.get(s.pseudonym)
    if (list) list.push(s)
    else byDevice.set(s.pseudonym, [s])
  }
  const out = new Map<string, Session[]>()
  for (const [pseudonym, list] of byDevice) {
    list.sort((a, b) => a.tMs - b.tMs)
    const sessions: Session[] = []
    let cur: Session | undefined
    for (const s of list) {
      if (cur && s.tMs - cur.lastMs <= gapMs) {
        cur.lastMs = s.tMs
        cur.samples++
        if (s.rssi > cur.peakRssi) cur.peakRssi = s.rssi
      } else {
        cur = {
          pseudonym,
          firstMs: s.tMs,
          lastMs: s.tMs,
          peakRssi: s.rssi,
          samples: 1,
          radio: s.radio,
          randomised: s.randomised,
        }
        sessions.push(cur)
      }
      if (s.seqNum !== undefined) cur.lastSeqNum = s.seqNum
      if (s.fp !== undefined && cur.fp === undefined) cur.fp = s.fp
    }
    out.set(pseudonym, sessions)
  }
  return out
}

/**
 * Merges a device's new segments with its open session (if any). Sessions closer than `gapMs`
 * (or overlapping, for out-of-order batches) become one; the latest stays open, every earlier one is
 * closed and final.
 */
export function mergeSessions(
  open: Session | undefined,
  segments: readonly Session[],
  gapMs: number,
): { open: Session; closed: Session[] } {
  const all = open ? [open, ...segments] : [...segments]
  if (all.length === 0) throw new Error('mergeSessions needs an open session or a segment')
  all.sort((a, b) => a.firstMs - b.firstMs)
  const merged: Session[] = []
  for (const s of all) {
    const last = merged.at(-1)
    if (last && s.firstMs - last.lastMs <= gapMs) {
      const later = s.lastMs >= last.lastMs ? s : last
      const earlier = later === s ? last : s
      const next: Session = {
        ...last,
        lastMs: later.lastMs,
        peakRssi: Math.max(last.peakRssi, s.peakRssi),
        samples: last.samples + s.samples,
      }
      const seqNum = later.lastSeqNum ?? earlier.lastSeqNum
      if (seqNum !== undefined) next.lastSeqNum = seqNum
      const fp = last.fp ?? s.fp
      if (fp !== undefined) next.fp = fp
      merged[merged.length - 1] = next
    } else merged.push({ ...s })
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
