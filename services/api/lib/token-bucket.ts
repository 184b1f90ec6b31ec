export type TokenBucketOptions = {
  /** Largest burst, in requests. */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
  now?: () => number
}

export type Take = { ok: true } | { ok: false; retryAfterS: number }

/** In-process token buckets, one per key. Idle buckets (full again) are dropped. */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  readonly #o: Required<TokenBucketOptions>

  constructor(options: TokenBucketOptions) {
    this.#o = { now: () => performance.now(), ...options }
  }

  take(key: string): Take {
    const now = this.#o.now()
    const { capacity, refillPerSecond } = this.#o
    const b = this.#buckets.get(key) ?? { tokens: capacity, at: now }
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * refillPerSecond)
    b.at = now
    if (this.#buckets.size > 10_000) this.#prune(now)
    this.#buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return { ok: true }
    }
    return this.#refusal(b.tokens)
  }

  /** What `take` would answer now, without taking a token. */
  peek(key: string): Take {
    const b = this.#buckets.get(key)
    if (!b) return { ok: true }
    const { capacity, refillPerSecond } = this.#o
    const tokens = Math.min(capacity, b.tokens + ((this.#o.now() - b.at) / 1000) * refillPerSecond)
    return tokens >= 1 ? { ok: true } : this.#refusal(tokens)
  }

  #refusal(tokens: number): Take {
    return {
      ok: false,
      retryAfterS: Math.max(1, Math.ceil((1 - tokens) / this.#o.refillPerSecond)),
    }
  }

  #prune(now: number) {
    const { capacity, refillPerSecond } = this.#o
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * refillPerSecond >= capacity) this.#buckets.delete(k)
    }
  }
}
