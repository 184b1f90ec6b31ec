import type { DeviceSession } from './sessions.ts'

/**
 * Device chains: the sessions one physical radio left at one gateway on one local day.
 *
 * - Sessions with the same pseudonym at the same gateway are one device (the day's keyed hash of a
 *   MAC is stable; a device unheard for longer than the transit gap simply has several sessions).
 *   Wi-Fi per-scan MACs were already chained by ingest (IE fingerprint + sequence number) into one
 *   pseudonym per chain, so they arrive here as ordinary sessions.
 * - BLE rotation linking: a randomised BLE session that ends, followed at the same gateway by a new
 *   randomised BLE session that starts within one and a half of the first one's reporting interval
 *   (its duration over its samples; at most `bleMaxGapMs`) and whose peak RSSI is within
 *   `bleMaxRssiStepDb`, is the same device having rotated its address — but only when the match is
 *   unambiguous: the ending session has no other such successor and the new one no other such
 *   predecessor. On a busy street several wearables end and start within seconds of each other;
 *   linking those by guess merges different people, so they are left apart (rotation then counts a
 *   device twice, which the calibration absorbs as long as the street is as busy as when it was
 *   counted).
 *
 * The database keeps peak RSSI per session only, so "continuous RSSI" is judged on the two sessions'
 * peaks; the advertisement content is not stored at all. Both would make linking sharper, and both
 * live in ingest's memory: the linking belongs in ingest's sessioniser (next to the Wi-Fi chaining in
 * plan-group.ts, where it can compare the last and first RSSI and the advertisement payload) once
 * ingest is rebuilt; until then it runs here, over stored sessions.
 */

export type ChainOptions = {
  /** Largest gap between the end of a BLE session and the start of its rotated successor. */
  bleMaxGapMs: number
  /** Largest difference between the two sessions' peak RSSI (dB). */
  bleMaxRssiStepDb: number
}

export const DEFAULT_CHAIN_OPTIONS: ChainOptions = { bleMaxGapMs: 45_000, bleMaxRssiStepDb: 8 }

/** One device at one gateway: its sessions in time order, and whether its address is randomised. */
export type DeviceChain = {
  gatewayId: string
  zoneId: string
  /** Stable: a globally administered address. Randomised chains may be a rotation's pieces linked. */
  randomised: boolean
  radio: 'wifi' | 'ble'
  sessions: DeviceSession[]
  /** BLE rotations linked inside this chain. */
  links: number
}

const isRotating = (s: DeviceSession) => s.randomised && s.radio === 'ble'

/** A device's reporting interval from its sessions (duration over samples), null with one sample each. */
function periodOf(sessions: readonly DeviceSession[]): number | null {
  let span = 0
  let steps = 0
  for (const s of sessions) {
    span += s.lastMs - s.firstMs
    steps += s.samples - 1
  }
  return steps > 0 ? span / steps : null
}

/** Groups sessions into device chains (same pseudonym, then BLE rotation links). Pure. */
export function buildChains(
  sessions: readonly DeviceSession[],
  options: ChainOptions = DEFAULT_CHAIN_OPTIONS,
): DeviceChain[] {
  const byGateway = new Map<string, DeviceSession[]>()
  for (const s of sessions) {
    const list = byGateway.get(s.gatewayId)
    if (list) list.push(s)
    else byGateway.set(s.gatewayId, [s])
  }
  const chains: DeviceChain[] = []
  for (const list of byGateway.values()) chains.push(...chainsAtGateway(list, options))
  return chains.sort(
    (a, b) => firstMsOf(a) - firstMsOf(b) || a.gatewayId.localeCompare(b.gatewayId),
  )
}

export const firstMsOf = (c: DeviceChain) => c.sessions[0]?.firstMs ?? Infinity
export const lastMsOf = (c: DeviceChain) => Math.max(...c.sessions.map((s) => s.lastMs))

function chainsAtGateway(list: DeviceSession[], o: ChainOptions): DeviceChain[] {
  // 1. Same pseudonym → one device. A session without a pseudonym is a device of its own.
  const groups: DeviceSession[][] = []
  const byPseudonym = new Map<string, DeviceSession[]>()
  for (const s of [...list].sort((a, b) => a.firstMs - b.firstMs)) {
    if (s.pseudonym === null) {
      groups.push([s])
      continue
    }
    const g = byPseudonym.get(s.pseudonym)
    if (g) g.push(s)
    else {
      const fresh = [s]
      byPseudonym.set(s.pseudonym, fresh)
      groups.push(fresh)
    }
  }
  // 2. BLE rotation: link the end of one rotating group to the start of another.
  const rotating = groups.filter((g) => g.every(isRotating))
  const ends = rotating.map((g) => ({
    g,
    s: g[g.length - 1] as DeviceSession,
    period: periodOf(g),
  }))
  const starts = rotating.map((g) => ({ g, s: g[0] as DeviceSession }))
  starts.sort((a, b) => a.s.firstMs - b.s.firstMs)
  const candidates: { from: DeviceSession[]; to: DeviceSession[] }[] = []
  for (const e of ends) {
    const endMs = Math.max(...e.g.map((s) => s.lastMs))
    // starts are sorted: scan those beginning after this group's end, within the gap.
    let lo = 0
    let hi = starts.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((starts[mid]?.s.firstMs ?? Infinity) <= endMs) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < starts.length; i++) {
      const st = starts[i]
      if (!st) break
      const gap = st.s.firstMs - endMs
      if (gap > o.bleMaxGapMs) break
      if (e.period !== null && gap > 1.5 * e.period) continue
      if (st.g === e.g) continue
      if (Math.abs(st.s.peakRssi - e.s.peakRssi) > o.bleMaxRssiStepDb) continue
      candidates.push({ from: e.g, to: st.g })
    }
  }
  // Only unambiguous pairs: one successor for the ending group, one predecessor for the new one.
  const successors = new Map<DeviceSession[], number>()
  const predecessors = new Map<DeviceSession[], number>()
  for (const c of candidates) {
    successors.set(c.from, (successors.get(c.from) ?? 0) + 1)
    predecessors.set(c.to, (predecessors.get(c.to) ?? 0) + 1)
  }
  const next = new Map<DeviceSession[], DeviceSession[]>()
  const hasPrev = new Set<DeviceSession[]>()
  for (const c of candidates) {
    if (successors.get(c.from) !== 1 || predecessors.get(c.to) !== 1) continue
    next.set(c.from, c.to)
    hasPrev.add(c.to)
  }
  const chains: DeviceChain[] = []
  for (const g of groups) {
    if (hasPrev.has(g)) continue
    const sessions = [...g]
    let links = 0
    const seen = new Set([g])
    for (let n = next.get(g); n && !seen.has(n); n = next.get(n)) {
      seen.add(n)
      sessions.push(...n)
      links++
    }
    const first = sessions[0] as DeviceSession
    chains.push({
      gatewayId: first.gatewayId,
      zoneId: first.zoneId,
      randomised: sessions.some((s) => s.randomised),
      radio: first.radio,
      sessions,
      links,
    })
  }
  return chains
}
