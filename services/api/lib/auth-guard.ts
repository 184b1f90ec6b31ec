import { hashApiKey, type ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import { TokenBuckets } from './token-bucket.ts'

export type AuthGuardOptions = {
  /** Failed authentications an address may burst. */
  capacity: number
  /** Failed authentications per second an address earns back. */
  refillPerSecond: number
  /** The database lookup of a key (unknown or revoked → null). */
  lookup: (key: string) => Promise<ApiPrincipal | null>
  /** A key that authenticated from anywhere is let through a blocked address for this long. */
  trustedForMs?: number
  onFailure?: () => void
  onLimited?: () => void
  now?: () => number
}

export type AuthOutcome =
  | { ok: true; principal: ApiPrincipal }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'limited'; retryAfterS: number }

const MAX_TRUSTED = 10_000

/** Keys are remembered by their hash only. */
const trustId = (key: string) => hashApiKey(key).toString('base64')

/**
 * Failed authentications per client address: a token bucket each (a failure takes a token). An
 * address without a token is answered 429 before any database lookup, so guessing keys (or a
 * misconfigured client retrying a dead one) costs the database at most `refillPerSecond` lookups
 * per second per address. A key that authenticated recently is still looked up from a blocked
 * address (known only by its hash), so the other users behind one NAT keep working.
 */
export class AuthGuard {
  readonly #o: AuthGuardOptions
  readonly #failures: TokenBuckets
  readonly #trusted = new Map<string, number>()
  readonly #now: () => number

  constructor(o: AuthGuardOptions) {
    this.#o = o
    this.#now = o.now ?? Date.now
    this.#failures = new TokenBuckets({
      capacity: o.capacity,
      refillPerSecond: o.refillPerSecond,
      now: this.#now,
    })
  }

  /** Seconds until `address` may try again, or null when it may now (with `key`, if given). */
  blocked(address: string, key?: string): number | null {
    const t = this.#failures.peek(address)
    if (t.ok || (key !== undefined && this.#isTrusted(key))) return null
    this.#o.onLimited?.()
    return t.retryAfterS
  }

  /** Looks `key` up unless `address` has failed too often; a miss counts against the address. */
  async authenticate(address: string, key: string): Promise<AuthOutcome> {
    const retryAfterS = this.blocked(address, key)
    if (retryAfterS !== null) return { ok: false, reason: 'limited', retryAfterS }
    const principal = await this.#o.lookup(key)
    if (!principal) {
      // Revoked since: no more lookups past a block for it.
      this.#trusted.delete(trustId(key))
      this.fail(address)
      return { ok: false, reason: 'unknown' }
    }
    this.#trust(key)
    return { ok: true, principal }
  }

  /** A credential from `address` was refused (unknown, revoked or malformed). */
  fail(address: string): void {
    this.#failures.take(address)
    this.#o.onFailure?.()
  }

  #isTrusted(key: string): boolean {
    const id = trustId(key)
    const until = this.#trusted.get(id)
    if (until === undefined) return false
    if (until >= this.#now()) return true
    this.#trusted.delete(id)
    return false
  }

  #trust(key: string) {
    const id = trustId(key)
    this.#trusted.delete(id)
    this.#trusted.set(id, this.#now() + (this.#o.trustedForMs ?? 15 * 60_000))
    // Oldest first: Map keeps insertion order.
    if (this.#trusted.size > MAX_TRUSTED)
      for (const k of this.#trusted.keys()) {
        this.#trusted.delete(k)
        if (this.#trusted.size <= MAX_TRUSTED) break
      }
  }
}
