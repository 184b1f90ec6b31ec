import { createHmac, KeyObject } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { createPseudonymiser, MEMO_GENERATION, type DailyKeyStore } from './pseudonymiser.ts'

/** The keys every createHmac call of this file (the pseudonymiser's included) was given. */
const hmacKeys = vi.hoisted(() => [] as unknown[])
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  return {
    ...real,
    createHmac: (...args: Parameters<typeof real.createHmac>) => {
      hmacKeys.push(args[1])
      return real.createHmac(...args)
    },
  }
})

const TZ = 'Europe/Rome'
const HOUR = 3_600_000
const GRACE = 2 * HOUR
const MAC = '7efd7ae43166'
const at = (iso: string) => Date.parse(iso)

// 2026-11-21 in Rome runs from 2026-11-20T23:00Z to 2026-11-21T23:00Z; its key dies at 01:00Z.
const DAY_T = at('2026-11-21T10:00:00.000Z')
const DAY_DESTROY_AFTER = at('2026-11-22T01:00:00.000Z')
const NEXT_DAY_T = at('2026-11-22T10:00:00.000Z')

type KeyCall = { day: string; destroyAfterMs: number; nowMs: number }

/** In-memory stand-in for the database-backed key store; records every call. */
class FakeDailyKeyStore implements DailyKeyStore {
  readonly keyCalls: KeyCall[] = []
  readonly destroyCalls: number[] = []
  readonly handedOut: Buffer[] = []
  destroyedDays: string[] = []
  private readonly keys = new Map<string, Buffer>()

  constructor(private readonly keyFor: (day: string) => Buffer | null = defaultKey) {}

  async getOrCreateKey(day: string, destroyAfterMs: number, nowMs: number): Promise<Buffer | null> {
    this.keyCalls.push({ day, destroyAfterMs, nowMs })
    let key = this.keys.get(day)
    if (!key) {
      const created = this.keyFor(day)
      if (!created) return null
      key = created
      this.keys.set(day, key)
    }
    const copy = Buffer.from(key)
    this.handedOut.push(copy)
    return copy
  }

  async destroyExpiredKeys(nowMs: number): Promise<string[]> {
    this.destroyCalls.push(nowMs)
    return this.destroyedDays
  }
}

function defaultKey(day: string): Buffer {
  return createHmac('sha256', 'test-seed').update(day).digest()
}

function setup(store = new FakeDailyKeyStore()) {
  const sut = createPseudonymiser({ store, tz: TZ, graceMs: GRACE })
  return { sut, store }
}

describe(createPseudonymiser.name, () => {
  describe('memo', () => {
    it('stays bounded over a day of per-scan MACs and still gives the same pseudonyms', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      const mac = (i: number) => i.toString(16).padStart(12, '0')
      const first = sut.pseudonymise(mac(0), DAY_T)
      const total = 3 * MEMO_GENERATION + 17
      for (let i = 1; i < total; i++) {
        sut.pseudonymise(mac(i), DAY_T)
        // A device heard all along keeps its memo entry (and its pseudonym).
        if (i % 1000 === 0) expect(sut.pseudonymise(mac(0), DAY_T)).toBe(first)
      }
      expect(sut.memoEntries()).toBeLessThanOrEqual(2 * MEMO_GENERATION)
      expect(sut.memoEntries()).toBeGreaterThan(MEMO_GENERATION / 2)
      // An entry that aged out is recomputed to the same value.
      expect(sut.pseudonymise(mac(5), DAY_T)).toBe(
        createHmac('sha256', defaultKey('2026-11-21'))
          .update(Buffer.from(mac(5), 'hex'))
          .digest()
          .readBigInt64BE(0)
          .toString(),
      )
    })

    it('hashes a fresh MAC once with the key held as a KeyObject, and a memoised one not at all', async () => {
      // Node 24 checks a key given as bytes by throwing and catching inside createHmac, every call
      // (10 µs instead of 2 µs: a day of per-scan MACs took 11 s). What keeps it fast is the key
      // object and the memo; this pins both without timing anything.
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      const macs = Array.from({ length: 500 }, (_, i) => (i + 1).toString(16).padStart(12, '0'))
      hmacKeys.length = 0
      const first = macs.map((m) => sut.pseudonymise(m, DAY_T))
      expect(hmacKeys).toHaveLength(macs.length)
      for (const key of hmacKeys) expect(key).toBeInstanceOf(KeyObject)
      expect(macs.map((m) => sut.pseudonymise(m, DAY_T))).toEqual(first)
      expect(hmacKeys).toHaveLength(macs.length)
    })
  })

  describe('fingerprint', () => {
    it('is a keyed hash of the IE list: stable within a day, new the next day, unlike any pseudonym', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T, NEXT_DAY_T], DAY_T)
      const ie = '0,1,50,3,45,127,255,221'
      const fp = sut.fingerprint(ie, DAY_T)
      expect(fp).toMatch(/^-?\d+$/)
      expect(sut.fingerprint(ie, DAY_T + HOUR)).toBe(fp)
      expect(sut.fingerprint('0,1,50,45,127,191,221', DAY_T)).not.toBe(fp)
      expect(sut.fingerprint(ie, NEXT_DAY_T)).not.toBe(fp)
      // Not the bare hash of the text: without the day's key it cannot be recomputed.
      const unkeyed = createHmac('sha256', '').update(`ie:${ie}`).digest().readBigInt64BE(0)
      expect(fp).not.toBe(unkeyed.toString())
      expect(sut.pseudonymise(MAC, DAY_T)).not.toBe(fp)
    })

    it('refuses a day whose key was not prepared', () => {
      const { sut } = setup()
      expect(() => sut.fingerprint('0,1', DAY_T)).toThrow(/no pseudonymisation key/)
    })
  })

  describe('pseudonymise', () => {
    it('gives the same MAC the same pseudonym within a day', async () => {
      const { sut } = setup()
      const later = DAY_T + 5 * HOUR
      await sut.prepare([DAY_T, later], DAY_T)
      expect(sut.pseudonymise(MAC, DAY_T)).toBe(sut.pseudonymise(MAC, later))
    })

    it('gives the same MAC the same pseudonym in another process sharing the key store', async () => {
      const store = new FakeDailyKeyStore()
      const a = setup(store).sut
      const b = setup(store).sut
      await a.prepare([DAY_T], DAY_T)
      await b.prepare([DAY_T], DAY_T)
      expect(a.pseudonymise(MAC, DAY_T)).toBe(b.pseudonymise(MAC, DAY_T))
    })

    it('gives the same MAC a different pseudonym on another day', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T, NEXT_DAY_T], DAY_T)
      expect(sut.pseudonymise(MAC, DAY_T)).not.toBe(sut.pseudonymise(MAC, NEXT_DAY_T))
    })

    it('gives the same MAC a different pseudonym under another key', async () => {
      const a = setup(new FakeDailyKeyStore(() => Buffer.alloc(32, 1))).sut
      const b = setup(new FakeDailyKeyStore(() => Buffer.alloc(32, 2))).sut
      await a.prepare([DAY_T], DAY_T)
      await b.prepare([DAY_T], DAY_T)
      expect(a.pseudonymise(MAC, DAY_T)).not.toBe(b.pseudonymise(MAC, DAY_T))
    })

    it('gives different MACs different pseudonyms', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      expect(sut.pseudonymise(MAC, DAY_T)).not.toBe(sut.pseudonymise('7efd7ae43167', DAY_T))
    })

    it('returns a signed 64-bit decimal string', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      const macs = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(12, '0'))
      const pseudonyms = macs.map((mac) => sut.pseudonymise(mac, DAY_T))
      for (const p of pseudonyms) {
        expect(p).toMatch(/^-?[1-9]\d*$|^0$/)
        expect(BigInt(p)).toBeGreaterThanOrEqual(-(2n ** 63n))
        expect(BigInt(p)).toBeLessThan(2n ** 63n)
      }
      expect(pseudonyms.some((p) => p.startsWith('-'))).toBe(true)
      expect(pseudonyms.some((p) => !p.startsWith('-'))).toBe(true)
    })

    it('is the first 64 bits of HMAC-SHA256 of the MAC bytes under the day key', async () => {
      const key = Buffer.alloc(32, 7)
      const { sut } = setup(new FakeDailyKeyStore(() => key))
      await sut.prepare([DAY_T], DAY_T)
      const digest = createHmac('sha256', key).update(Buffer.from(MAC, 'hex')).digest()
      expect(sut.pseudonymise(MAC, DAY_T)).toBe(digest.readBigInt64BE(0).toString())
    })

    it('throws for a day that was never prepared', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      expect(() => sut.pseudonymise(MAC, NEXT_DAY_T)).toThrow(/2026-11-22/)
    })
  })

  describe('prepare', () => {
    it('asks the store once per day however many sightings and MACs the day has', async () => {
      const { sut, store } = setup()
      const times = Array.from({ length: 200 }, (_, i) => DAY_T + i * 60_000)
      await sut.prepare(times, DAY_T)
      await sut.prepare(times, DAY_T + HOUR)
      times.forEach((t, i) => sut.pseudonymise(i.toString(16).padStart(12, '0'), t))
      expect(store.keyCalls.map((c) => c.day)).toEqual(['2026-11-21'])
    })

    it('asks the store for each distinct local day in a batch', async () => {
      const { sut, store } = setup()
      const gone = await sut.prepare(
        [at('2026-11-20T22:59:59.999Z'), at('2026-11-20T23:00:00.000Z'), DAY_T],
        at('2026-11-20T23:30:00.000Z'),
      )
      expect(gone.size).toBe(0)
      expect(store.keyCalls.map((c) => c.day).sort()).toEqual(['2026-11-20', '2026-11-21'])
    })

    it('passes the current time to the store', async () => {
      const { sut, store } = setup()
      await sut.prepare([DAY_T], DAY_T + 1234)
      expect(store.keyCalls[0]?.nowMs).toBe(DAY_T + 1234)
    })

    it.each([
      ['2026-03-28', '2026-03-28T12:00:00.000Z', '2026-03-29T01:00:00.000Z'],
      ['2026-03-29', '2026-03-29T12:00:00.000Z', '2026-03-30T00:00:00.000Z'],
      ['2026-10-25', '2026-10-25T12:00:00.000Z', '2026-10-26T01:00:00.000Z'],
      ['2026-07-15', '2026-07-15T12:00:00.000Z', '2026-07-16T00:00:00.000Z'],
    ])(
      'sets the destroy-after time of %s to the next Rome midnight plus grace (%s → %s)',
      async (day, tIso, destroyIso) => {
        const { sut, store } = setup()
        await sut.prepare([at(tIso)], at(tIso))
        expect(store.keyCalls).toEqual([{ day, destroyAfterMs: at(destroyIso), nowMs: at(tIso) }])
      },
    )

    it('reports a day past its destroy-after time as gone without asking the store', async () => {
      const { sut, store } = setup()
      const gone = await sut.prepare([DAY_T], DAY_DESTROY_AFTER)
      expect([...gone]).toEqual(['2026-11-21'])
      expect(store.keyCalls).toEqual([])
      expect(() => sut.pseudonymise(MAC, DAY_T)).toThrow()
    })

    it('still asks the store one ms before the destroy-after time', async () => {
      const { sut, store } = setup()
      const gone = await sut.prepare([DAY_T], DAY_DESTROY_AFTER - 1)
      expect(gone.size).toBe(0)
      expect(store.keyCalls).toHaveLength(1)
    })

    it('reports only the gone days of a batch that spans a destroyed and a live day', async () => {
      const { sut } = setup()
      const gone = await sut.prepare([DAY_T, NEXT_DAY_T], DAY_DESTROY_AFTER)
      expect([...gone]).toEqual(['2026-11-21'])
      expect(sut.pseudonymise(MAC, NEXT_DAY_T)).toMatch(/^-?\d+$/)
    })

    it('reports a day as gone when the store no longer has its key, and asks again later', async () => {
      const { sut, store } = setup(new FakeDailyKeyStore(() => null))
      expect([...(await sut.prepare([DAY_T], DAY_T))]).toEqual(['2026-11-21'])
      expect([...(await sut.prepare([DAY_T], DAY_T))]).toEqual(['2026-11-21'])
      expect(store.keyCalls).toHaveLength(2)
    })
  })

  describe('rotate', () => {
    it('makes pseudonymise throw for a day rotated out past day plus grace', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER)
      expect(() => sut.pseudonymise(MAC, DAY_T)).toThrow(/2026-11-21/)
    })

    it('never re-creates a destroyed day’s key, even if the store would hand one out', async () => {
      const { sut, store } = setup()
      await sut.prepare([DAY_T], DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER)
      const callsBefore = store.keyCalls.length
      // A clock stepped back must not resurrect the day either.
      const gone = await sut.prepare([DAY_T], DAY_DESTROY_AFTER - HOUR)
      expect([...gone]).toEqual(['2026-11-21'])
      expect(store.keyCalls).toHaveLength(callsBefore)
      expect(() => sut.pseudonymise(MAC, DAY_T)).toThrow()
    })

    it('reports the rotated day as gone at the rotation time', async () => {
      const { sut, store } = setup()
      await sut.prepare([DAY_T], DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER)
      expect([...(await sut.prepare([DAY_T], DAY_DESTROY_AFTER))]).toEqual(['2026-11-21'])
      expect(store.keyCalls).toHaveLength(1)
    })

    it('wipes the key bytes of a destroyed day', async () => {
      const { sut, store } = setup()
      await sut.prepare([DAY_T], DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER)
      const key = store.handedOut[0]
      expect(key?.every((b) => b === 0)).toBe(true)
    })

    it('keeps a day whose grace has not yet run out', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T], DAY_T)
      const before = sut.pseudonymise(MAC, DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER - 1)
      expect(sut.pseudonymise(MAC, DAY_T)).toBe(before)
    })

    it('keeps later days when destroying an earlier one', async () => {
      const { sut } = setup()
      await sut.prepare([DAY_T, NEXT_DAY_T], DAY_T)
      const next = sut.pseudonymise(MAC, NEXT_DAY_T)
      await sut.rotate(DAY_DESTROY_AFTER)
      expect(sut.pseudonymise(MAC, NEXT_DAY_T)).toBe(next)
    })

    it('asks the store to destroy expired keys and returns the days it destroyed', async () => {
      const store = new FakeDailyKeyStore()
      store.destroyedDays = ['2026-11-20', '2026-11-21']
      const { sut } = setup(store)
      expect(await sut.rotate(DAY_DESTROY_AFTER)).toEqual(['2026-11-20', '2026-11-21'])
      expect(store.destroyCalls).toEqual([DAY_DESTROY_AFTER])
    })
  })

  describe('a day the store destroyed', () => {
    it('is never re-created by this process, even for a time before its destroy-after', async () => {
      const store = new FakeDailyKeyStore()
      store.destroyedDays = ['2026-11-21']
      const { sut } = setup(store)
      await sut.rotate(DAY_DESTROY_AFTER)
      const gone = await sut.prepare([DAY_T], DAY_T)
      expect([...gone]).toEqual(['2026-11-21'])
      expect(store.keyCalls).toHaveLength(0)
    })
  })

  describe('dayOf', () => {
    it('resolves the local day in the configured zone', () => {
      const { sut } = setup()
      expect(sut.dayOf(at('2026-10-25T22:30:00.000Z'))).toBe('2026-10-25')
      expect(sut.dayOf(at('2026-10-25T23:00:00.000Z'))).toBe('2026-10-26')
    })
  })
})
