import { firstMsOf, type DeviceChain } from './chains.ts'

export const MINUTE_MS = 60_000

/**
 * Static (always-there) devices: a shop's PC, a speaker, a printer, a phone left on a charger, a
 * neighbour's television. A chain turns static once it has been heard in at least `minShare` of the
 * `slotMs` slots of the last `windowMs`; from then on it no longer counts (for the rest of its day:
 * pseudonyms change daily). Unlike ingest's rule (heard without a break of more than the transit gap
 * for 4 h), gaps do not reset it: a device that probes every few minutes, and so leaves a new
 * session each time, is caught as well. The rule looks back only, so a figure for a past window is
 * the figure that was shown live then.
 *
 * The cost: a device counts during its first `windowMs` (an always-on device counts for the first
 * hours of every day), and a person whose device keeps a stable address and who stays `windowMs`
 * (a shopkeeper, a lecturer) stops counting after that. In a capture shorter than `windowMs` the rule
 * cannot fire; the empty-room floor then has to come from the calibration's intercept.
 */
export type StaticOptions = { windowMs: number; slotMs: number; minShare: number }

export const DEFAULT_STATIC_OPTIONS: StaticOptions = {
  windowMs: 4 * 3_600_000,
  slotMs: 5 * MINUTE_MS,
  minShare: 0.9,
}

/**
 * When each chain turned static (the end of the slot that made it qualify), judged on what was heard
 * before `asOfMs`; chains that never did are absent.
 */
export function staticSince(
  chains: readonly DeviceChain[],
  o: StaticOptions = DEFAULT_STATIC_OPTIONS,
  asOfMs = Infinity,
): Map<DeviceChain, number> {
  const out = new Map<DeviceChain, number>()
  const n = Math.max(1, Math.round(o.windowMs / o.slotMs))
  const need = Math.ceil(o.minShare * n)
  for (const c of chains) {
    const slots = new Set<number>()
    for (const s of c.sessions) {
      if (s.firstMs >= asOfMs) continue
      const last = Math.min(s.lastMs, asOfMs - 1)
      for (let k = Math.floor(s.firstMs / o.slotMs); k <= Math.floor(last / o.slotMs); k++)
        slots.add(k)
    }
    if (slots.size < need) continue
    const sorted = [...slots].sort((a, b) => a - b)
    // Two pointers: the first slot at which `need` of the last n slots were heard.
    let lo = 0
    for (let hi = 0; hi < sorted.length; hi++) {
      while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= n) lo++
      if (hi - lo + 1 >= need) {
        const at = ((sorted[hi] ?? 0) + 1) * o.slotMs
        // A slot still running at asOfMs has not ended: it qualifies only once it has.
        if (at <= asOfMs) out.set(c, at)
        break
      }
    }
  }
  return out
}

/** A chain as it counts: until `countsUntilMs` (Infinity for a chain that never turned static). */
export type CountedChain = DeviceChain & { countsUntilMs: number }

/** Device counts split by address kind: the calibration weighs the two separately. */
export type DeviceCounts = { stable: number; randomised: number }

export type Window = { fromMs: number; toMs: number }

/**
 * Devices present per window: the mean, over the window's whole minutes, of the chains heard in that
 * minute (a session covers every minute from its first to its last sighting) and not static by then
 * (a minute counts when it began before the chain turned static). A rotated or re-probing device
 * counts once per minute whatever its sessions.
 */
export function devicesPresent(
  chains: readonly CountedChain[],
  windows: readonly Window[],
): DeviceCounts[] {
  if (windows.length === 0) return []
  const from = Math.floor(Math.min(...windows.map((w) => w.fromMs)) / MINUTE_MS)
  const to = Math.ceil(Math.max(...windows.map((w) => w.toMs)) / MINUTE_MS)
  const stable = new Float64Array(Math.max(0, to - from))
  const randomised = new Float64Array(Math.max(0, to - from))
  for (const c of chains) {
    const minutes = new Set<number>()
    const until = Math.ceil(c.countsUntilMs / MINUTE_MS) - 1
    for (const s of c.sessions) {
      const a = Math.max(from, Math.floor(s.firstMs / MINUTE_MS))
      const b = Math.min(to - 1, Math.floor(s.lastMs / MINUTE_MS), until)
      for (let m = a; m <= b; m++) minutes.add(m)
    }
    const into = c.randomised ? randomised : stable
    for (const m of minutes) into[m - from] = (into[m - from] ?? 0) + 1
  }
  return windows.map((w) => {
    const a = Math.floor(w.fromMs / MINUTE_MS) - from
    const b = Math.ceil(w.toMs / MINUTE_MS) - from
    const n = Math.max(1, b - a)
    let s = 0
    let r = 0
    for (let m = a; m < b; m++) {
      s += stable[m] ?? 0
      r += randomised[m] ?? 0
    }
    return { stable: s / n, randomised: r / n }
  })
}

/**
 * How presence is measured as device-time (see devicesPresentTime). A chain's reporting period is
 * its sessions' span over their samples, clamped to [minPeriodMs, maxPeriodMs]; `defaultPeriodMs`
 * when every session has one sample.
 */
export type PresenceOptions = { defaultPeriodMs: number; minPeriodMs: number; maxPeriodMs: number }

export const DEFAULT_PRESENCE_OPTIONS: PresenceOptions = {
  defaultPeriodMs: 30_000,
  minPeriodMs: 1_000,
  // The transit gap: within a session no two sightings are further apart.
  maxPeriodMs: 120_000,
}

const SECOND_MS = 1_000

/** A chain's reporting period (span over samples of its sessions), clamped; see PresenceOptions. */
export function reportingPeriodMs(c: DeviceChain, o: PresenceOptions): number {
  let span = 0
  let steps = 0
  for (const s of c.sessions) {
    span += s.lastMs - s.firstMs
    steps += s.samples - 1
  }
  const raw = steps > 0 ? span / steps : o.defaultPeriodMs
  return Math.min(o.maxPeriodMs, Math.max(o.minPeriodMs, raw))
}

/**
 * Devices present per window as device-time: the mean number of chains in range over the window,
 * to the second. A session covers its span widened by half the chain's reporting period P on each
 * side — a device that reports every P while in range for T is heard over about T − P, and one
 * heard once was in range about P on average — and a chain's sessions are merged, so it counts once
 * at a time; a chain stops counting when it turns static.
 *
 * Why not whole minutes (devicesPresent): a passer-by heard for 20 s across a minute boundary counts
 * two device-minutes there, a visitor staying 10 min about eleven: the device-minutes per person
 * change with how long people stay, and the calibration's one factor per address kind cannot follow
 * that. Device-time is proportional to the time people spend in range whatever the mix. Measured on
 * Brno and the simulator (docs/metrics.md).
 */
export function devicesPresentTime(
  chains: readonly CountedChain[],
  windows: readonly Window[],
  o: PresenceOptions = DEFAULT_PRESENCE_OPTIONS,
): DeviceCounts[] {
  if (windows.length === 0) return []
  const from = Math.floor(Math.min(...windows.map((w) => w.fromMs)) / SECOND_MS)
  const to = Math.ceil(Math.max(...windows.map((w) => w.toMs)) / SECOND_MS)
  const len = Math.max(0, to - from)
  // Changes of the number of chains in range, per second (a difference array).
  const steps = { stable: new Float64Array(len + 1), randomised: new Float64Array(len + 1) }
  for (const c of chains) {
    const half = reportingPeriodMs(c, o) / 2
    const spans = c.sessions
      .map((s) => [s.firstMs - half, Math.min(s.lastMs + half, c.countsUntilMs)] as const)
      .filter(([a, b]) => b > a)
      .sort((x, y) => x[0] - y[0])
    const d = c.randomised ? steps.randomised : steps.stable
    const add = (a: number, b: number) => {
      const i = Math.max(0, Math.round(a / SECOND_MS) - from)
      const j = Math.min(len, Math.round(b / SECOND_MS) - from)
      if (j <= i) return
      d[i] = (d[i] ?? 0) + 1
      d[j] = (d[j] ?? 0) - 1
    }
    let open: [number, number] | null = null
    for (const [a, b] of spans) {
      if (open && a <= open[1]) open[1] = Math.max(open[1], b)
      else {
        if (open) add(open[0], open[1])
        open = [a, b]
      }
    }
    if (open) add(open[0], open[1])
  }
  // Device-seconds before each second.
  const cumulative = (d: Float64Array) => {
    const out = new Float64Array(len + 1)
    let level = 0
    for (let k = 0; k < len; k++) {
      level += d[k] ?? 0
      out[k + 1] = (out[k] ?? 0) + level
    }
    return out
  }
  const stable = cumulative(steps.stable)
  const randomised = cumulative(steps.randomised)
  return windows.map((w) => {
    const a = Math.round(w.fromMs / SECOND_MS) - from
    const b = Math.round(w.toMs / SECOND_MS) - from
    const n = Math.max(1, b - a)
    return {
      stable: ((stable[b] ?? 0) - (stable[a] ?? 0)) / n,
      randomised: ((randomised[b] ?? 0) - (randomised[a] ?? 0)) / n,
    }
  })
}

/**
 * A chain's visits: its sessions split where the device was unheard for longer than `visitGapMs`
 * (one device can pass a zone several times a day). Returns each visit's first sighting.
 */
export function visitStarts(c: DeviceChain, visitGapMs: number): number[] {
  const sessions = [...c.sessions].sort((a, b) => a.firstMs - b.firstMs)
  const starts: number[] = []
  let lastMs = -Infinity
  for (const s of sessions) {
    if (s.firstMs - lastMs > visitGapMs) starts.push(s.firstMs)
    lastMs = Math.max(lastMs, s.lastMs)
  }
  return starts
}

/** Device arrivals per window: visits of chains beginning in the window ([from, to)), not static. */
export function deviceArrivals(
  chains: readonly CountedChain[],
  windows: readonly Window[],
  visitGapMs: number,
): DeviceCounts[] {
  const out = windows.map(() => ({ stable: 0, randomised: 0 }))
  const order = windows.map((w, i) => ({ w, i })).sort((a, b) => a.w.fromMs - b.w.fromMs)
  // A window holding t begins in (t − the longest window, t]: found by binary search, so a day of
  // minute windows costs no more than a few per visit.
  const longest = windows.reduce((a, w) => Math.max(a, w.toMs - w.fromMs), 0)
  const firstFrom = (t: number) => {
    let lo = 0
    let hi = order.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((order[mid]?.w.fromMs ?? Infinity) <= t) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  for (const c of chains) {
    if (firstMsOf(c) === Infinity) continue
    for (const t of visitStarts(c, visitGapMs)) {
      if (t >= c.countsUntilMs) break
      for (let k = firstFrom(t - longest); k < order.length; k++) {
        const x = order[k]
        if (!x || x.w.fromMs > t) break
        if (t < x.w.toMs) {
          const o = out[x.i]
          if (o) o[c.randomised ? 'randomised' : 'stable']++
        }
      }
    }
  }
  return out
}
