/**
 * mulberry32: a small seeded generator of uniform numbers in [0, 1) — 32-bit state, period 2^32 —
 * so that simulated traffic, fixtures and property tests replay exactly from their seed. The one
 * implementation every part uses (the simulator's `createRng` builds its draws on it).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
