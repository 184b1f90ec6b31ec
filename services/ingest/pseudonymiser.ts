import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import { createLocalDateResolver } from '../shared/contracts/local-time.ts'
import { keyDestroyAfter } from './key-lifetime.ts'

/** Where daily keys live so that every ingest replica uses the same one (the database). */
export interface DailyKeyStore {
  /** The key of `day`, created when missing unless it is past `destroyAfterMs`; null once destroyed. */
  getOrCreateKey(day: string, destroyAfterMs: number, nowMs: number): Promise<Buffer | null>
  /** Deletes every key whose destroy-after time has passed; returns the days destroyed. */
  destroyExpiredKeys(nowMs: number): Promise<string[]>
}

/**
 * Day keys held in this process only (random, never stored anywhere): for pipelines that
 * pseudonymise without a database — the demo history, offline evaluations, benchmarks. A key is
 * handed out as a copy (the pseudonymiser zeroes what it is given) and zeroed when destroyed.
 */
export function createMemoryKeyStore(): DailyKeyStore & { held(): number } {
  const keys = new Map<string, { key: Buffer; destroyAfterMs: number }>()
  return {
    /** Keys alive now. */
    held: () => keys.size,
    getOrCreateKey(day, destroyAfterMs) {
      let entry = keys.get(day)
      if (!entry) keys.set(day, (entry = { key: randomBytes(32), destroyAfterMs }))
      return Promise.resolve(Buffer.from(entry.key))
    },
    destroyExpiredKeys(nowMs) {
      const days: string[] = []
      for (const [day, entry] of keys) {
        if (entry.destroyAfterMs > nowMs) continue
        entry.key.fill(0)
        keys.delete(day)
        days.push(day)
      }
      return Promise.resolve(days)
    },
  }
}

/**
 * Results of the day's HMACs, bounded: two generations of at most MEMO_GENERATION entries each. A
 * lookup in the old generation moves the entry to the new one; when the new one is full the old is
 * dropped. Devices heard again and again stay memoised; per-scan random MACs, heard once and never
 * again, age out instead of growing the memo all day (a busy street sees millions of them).
 */
export const MEMO_GENERATION = 131_072

/**
 * The day's key is held as a KeyObject: OpenSSL takes the bytes in once, not at every HMAC (Node 24
 * checks a key given as bytes by throwing and catching inside createHmac: 10 µs per HMAC instead of
 * 2). The bytes read from the store are zeroed at once; the KeyObject's copy lives in native memory
 * and is cleared when the object is released at rotation and collected.
 */
type DayState = { key: KeyObject; memo: Map<string, string>; old: Map<string, string> }

export type Pseudonymiser = {
  /**
   * Loads (or creates) the keys of the days a batch touches. Returns the days whose key is gone:
   * their sightings cannot be pseudonymised any more and are rejected.
   */
  prepare(timesMs: Iterable<number>, nowMs: number): Promise<Set<string>>
  /** Keyed hash of a normalised MAC for the local day of `tMs`: a signed 64-bit decimal string. */
  pseudonymise(mac: string, tMs: number): string
  /**
   * Keyed hash of a probe's information-element id list for the local day of `tMs` (same key as
   * the pseudonyms, so it means nothing once the key is destroyed): a signed 64-bit decimal string.
   */
  fingerprint(ie: string, tMs: number): string
  /** Memoised results held now, over all days (bounded by 2 × MEMO_GENERATION per day). */
  memoEntries(): number
  /** Destroys keys past the day plus grace and forgets their memo. */
  rotate(nowMs: number): Promise<string[]>
  dayOf(tMs: number): string
}

/**
 * HMAC-SHA256(dailyKey, mac bytes), truncated to 64 bits. Memoised per MAC for the day (the HMAC is
 * the costliest step of the hot path); memo and key are dropped together at rotation, after which
 * the day's pseudonyms cannot be recomputed by anyone.
 */
export function createPseudonymiser(options: {
  store: DailyKeyStore
  tz: string
  graceMs: number
}): Pseudonymiser {
  const days = new Map<string, DayState>()
  const dayOf = createLocalDateResolver(options.tz)
  const destroyed = new Set<string>()
  const destroyAfter = (day: string) => keyDestroyAfter(day, options.tz, options.graceMs)

  function stateOf(tMs: number): DayState {
    const day = dayOf(tMs)
    const state = days.get(day)
    if (!state) throw new Error(`no pseudonymisation key prepared for ${day}`)
    return state
  }

  function memoised(state: DayState, memoKey: string, input: () => Buffer | string): string {
    let p = state.memo.get(memoKey)
    if (p !== undefined) return p
    p = state.old.get(memoKey)
    if (p === undefined) {
      const digest = createHmac('sha256', state.key).update(input()).digest()
      p = digest.readBigInt64BE(0).toString()
    } else state.old.delete(memoKey)
    if (state.memo.size >= MEMO_GENERATION) {
      state.old = state.memo
      state.memo = new Map()
    }
    state.memo.set(memoKey, p)
    return p
  }

  return {
    dayOf,

    async prepare(timesMs, nowMs) {
      const gone = new Set<string>()
      const wanted = new Set<string>()
      for (const t of timesMs) wanted.add(dayOf(t))
      for (const day of wanted) {
        if (days.has(day)) continue
        const after = destroyAfter(day)
        const key =
          after <= nowMs || destroyed.has(day)
            ? null
            : await options.store.getOrCreateKey(day, after, nowMs)
        if (key) {
          days.set(day, { key: createSecretKey(key), memo: new Map(), old: new Map() })
          key.fill(0)
        } else gone.add(day)
      }
      return gone
    },

    pseudonymise(mac, tMs) {
      return memoised(stateOf(tMs), mac, () => Buffer.from(mac, 'hex'))
    },

    fingerprint(ie, tMs) {
      // Memo keys of MACs are 12 hex digits; these cannot collide with them.
      const memoKey = `ie:${ie}`
      return memoised(stateOf(tMs), memoKey, () => memoKey)
    },

    memoEntries() {
      let n = 0
      for (const state of days.values()) n += state.memo.size + state.old.size
      return n
    },

    async rotate(nowMs) {
      for (const [day, state] of days) {
        if (destroyAfter(day) <= nowMs) {
          state.memo.clear()
          state.old.clear()
          days.delete(day)
          destroyed.add(day)
        }
      }
      const gone = await options.store.destroyExpiredKeys(nowMs)
      for (const day of gone) destroyed.add(day)
      return gone
    },
  }
}
