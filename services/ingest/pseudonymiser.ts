import { createHmac } from 'node:crypto'
import { createDayResolver, nextDay, startOfLocalDay } from './local-day.ts'

/** Where daily keys live so that every ingest replica uses the same one (the database). */
export interface DailyKeyStore {
  /** The key of `day`, created when missing unless it is past `destroyAfterMs`; null once destroyed. */
  getOrCreateKey(day: string, destroyAfterMs: number, nowMs: number): Promise<Buffer | null>
  /** Deletes every key whose destroy-after time has passed; returns the days destroyed. */
  destroyExpiredKeys(nowMs: number): Promise<string[]>
}

type DayState = { key: Buffer; memo: Map<string, string> }

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
  const dayOf = createDayResolver(options.tz)
  const destroyed = new Set<string>()
  const destroyAfter = (day: string) => startOfLocalDay(nextDay(day), options.tz) + options.graceMs

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
        if (key) days.set(day, { key, memo: new Map() })
        else gone.add(day)
      }
      return gone
    },

    pseudonymise(mac, tMs) {
      const day = dayOf(tMs)
      const state = days.get(day)
      if (!state) throw new Error(`no pseudonymisation key prepared for ${day}`)
      let p = state.memo.get(mac)
      if (p === undefined) {
        const digest = createHmac('sha256', state.key).update(Buffer.from(mac, 'hex')).digest()
        p = digest.readBigInt64BE(0).toString()
        state.memo.set(mac, p)
      }
      return p
    },

    fingerprint(ie, tMs) {
      const day = dayOf(tMs)
      const state = days.get(day)
      if (!state) throw new Error(`no pseudonymisation key prepared for ${day}`)
      // Memo keys of MACs are 12 hex digits; these cannot collide with them.
      const memoKey = `ie:${ie}`
      let fp = state.memo.get(memoKey)
      if (fp === undefined) {
        const digest = createHmac('sha256', state.key).update(memoKey).digest()
        fp = digest.readBigInt64BE(0).toString()
        state.memo.set(memoKey, fp)
      }
      return fp
    },

    async rotate(nowMs) {
      for (const [day, state] of days) {
        if (destroyAfter(day) <= nowMs) {
          state.key.fill(0)
          state.memo.clear()
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
