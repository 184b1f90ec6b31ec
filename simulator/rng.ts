import { seededRandom } from '../services/shared/contracts/seeded-random.ts'

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  uniform(min: number, max: number): number
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number
  normal(mean: number, sd: number): number
  /** Lognormal with the given median and log-space standard deviation. */
  logNormal(median: number, sigma: number): number
  /** Exponential with the given rate (mean 1 / rate). */
  exponential(rate: number): number
  bool(probability: number): boolean
  pick<T>(items: readonly T[]): T
  /** `count` lowercase hex digits. */
  hex(count: number): string
  /** An independent stream derived from this generator's seed and a label; does not advance this one. */
  fork(label: string | number): Rng
}

/** mulberry32: 32-bit state, period 2^32, good enough for a traffic model and fast. */
export function createRng(seed: number): Rng {
  const baseSeed = seed >>> 0
  let spareNormal: number | null = null
  const next = seededRandom(baseSeed)

  const normal = (mean: number, sd: number): number => {
    if (spareNormal !== null) {
      const z = spareNormal
      spareNormal = null
      return mean + sd * z
    }
    // Box-Muller; 1 - next() keeps the logarithm finite.
    const u = 1 - next()
    const v = next()
    const r = Math.sqrt(-2 * Math.log(u))
    spareNormal = r * Math.sin(2 * Math.PI * v)
    return mean + sd * r * Math.cos(2 * Math.PI * v)
  }

  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal,
    logNormal: (median, sigma) => median * Math.exp(normal(0, sigma)),
    exponential: (rate) => -Math.log(1 - next()) / rate,
    bool: (probability) => next() < probability,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[Math.floor(next() * items.length)] as T
    },
    hex(count) {
      let out = ''
      for (let i = 0; i < count; i++) out += Math.floor(next() * 16).toString(16)
      return out
    },
    fork: (label) => createRng(deriveSeed(baseSeed, label)),
  }
}

/** Mixes a seed and a label into a new 32-bit seed (FNV-1a over the label, then a murmur3 finaliser). */
export function deriveSeed(seed: number, label: string | number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0
  const text = String(label)
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
