import { describe, expect, it } from 'vitest'
import { GatewaySessions } from './gateway-sessions.ts'
import type { PseudoSighting, Session } from './sessionise.ts'

const RULES = { gapMs: 120_000, staticAfterMs: 30 * 60_000 }

function random(seed: number) {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

describe('GatewaySessions', () => {
  it('after every batch holds exactly the sessions the watermark has not passed, and closes each once', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = random(seed)
      const st = new GatewaySessions({ version: 0, watermarkMs: null })
      const t0 = Date.UTC(2026, 11, 7, 9)
      const closedKeys = new Set<string>()
      let sightings = 0
      let counted = 0
      for (let i = 0; i < 400; i++) {
        const sentAtMs = t0 + i * 10_000
        const batch: PseudoSighting[] = []
        for (let k = 0; k < 1 + Math.floor(rnd() * 20); k++)
          batch.push({
            pseudonym: `${Math.floor(rnd() * 60)}`,
            // Mostly fresh, some late by up to 5 minutes (older than the watermark − gap).
            tMs: sentAtMs - Math.floor(rnd() * (rnd() < 0.1 ? 300_000 : 10_000)),
            rssi: -90 + Math.floor(rnd() * 50),
            radio: 'wifi',
            randomised: false,
          })
        sightings += batch.length
        const before = new Map(st.open)
        const applied = st.apply({ sentAtMs, sightings: batch, exempt: new Set() }, RULES, 0)
        const cutoff = st.watermarkMs! - RULES.gapMs
        // What stays open is exactly what the watermark has not passed…
        for (const s of st.open.values()) expect(s.lastMs).toBeGreaterThanOrEqual(cutoff)
        // …and every session closed by the watermark had been passed by it, each closed once.
        for (const s of applied.closed) {
          const key = `${s.pseudonym}/${s.firstMs}`
          expect(closedKeys.has(key)).toBe(false)
          closedKeys.add(key)
          counted += s.samples
        }
        // A session open before the batch and neither continued nor closed is still there.
        for (const [p, s] of before)
          if (!batch.some((x) => x.pseudonym === p) && s.lastMs >= cutoff)
            expect(st.open.get(p)).toEqual(s)
        expect(st.version).toBe(i + 1)
      }
      for (const s of st.closeAll()) counted += s.samples
      // Every sighting ends in exactly one session (none static: nobody stays 30 minutes).
      expect(counted).toBe(sightings)
      expect(st.open.size).toBe(0)
    }
  })

  it('keeps its expiry heap under twice the open sessions while devices are heard batch after batch', () => {
    const st = new GatewaySessions({ version: 0, watermarkMs: null })
    const t0 = Date.UTC(2026, 11, 7, 9)
    const devices = 2_000
    for (let b = 0; b < 30; b++) {
      const sentAtMs = t0 + b * 5_000
      const sightings: PseudoSighting[] = Array.from({ length: devices }, (_, d) => ({
        pseudonym: `d${d}`,
        tMs: sentAtMs - 1_000,
        rssi: -60,
        radio: 'wifi',
        randomised: false,
      }))
      st.apply({ sentAtMs, sightings, exempt: new Set() }, RULES, 0)
      // Without compaction: one entry per device per batch (60 000 by the end).
      expect(st.heapSize()).toBeLessThanOrEqual(2 * st.open.size + 1024)
    }
    expect(st.open.size).toBe(devices)
    // The rebuilt heap still closes every session once, when the watermark passes it.
    const later = t0 + 29 * 5_000 + RULES.gapMs + 10_000
    const applied = st.apply({ sentAtMs: later, sightings: [], exempt: new Set() }, RULES, 0)
    expect(applied.closed).toHaveLength(devices)
    expect(new Set(applied.closed.map((c) => c.pseudonym)).size).toBe(devices)
    for (const c of applied.closed) expect(c.samples).toBe(30)
    expect(st.open.size).toBe(0)
  })

  it('learns a device heard without a break as static, but never one on the allow list', () => {
    const st = new GatewaySessions({ version: 0, watermarkMs: null })
    const t0 = Date.UTC(2026, 11, 7, 9)
    const learned: string[] = []
    for (let i = 0; i <= 40; i++) {
      const tMs = t0 + i * 60_000
      const sightings: PseudoSighting[] = ['7', '8'].map((pseudonym) => ({
        pseudonym,
        tMs,
        rssi: -50,
        radio: 'wifi',
        randomised: false,
      }))
      learned.push(
        ...st.apply({ sentAtMs: tMs, sightings, exempt: new Set(['8']) }, RULES, tMs).learned,
      )
    }
    expect(learned).toEqual(['7'])
    expect([...st.statics.keys()]).toEqual(['7'])
    expect(st.open.has('7')).toBe(false)
    expect(st.open.get('8')?.samples).toBe(41)
    st.forgetStatics(t0 + 31 * 60_000)
    expect(st.statics.size).toBe(0)
  })

  it('starts from loaded sessions and closes them by the watermark like its own', () => {
    const t0 = Date.UTC(2026, 11, 7, 9)
    const stored: Session[] = [
      {
        pseudonym: '1',
        firstMs: t0,
        lastMs: t0 + 10_000,
        peakRssi: -60,
        samples: 3,
        radio: 'ble',
        randomised: true,
      },
      {
        pseudonym: '2',
        firstMs: t0,
        lastMs: t0 + 200_000,
        peakRssi: -60,
        samples: 9,
        radio: 'wifi',
        randomised: false,
      },
    ]
    const st = new GatewaySessions({ version: 41, watermarkMs: t0 + 60_000, open: stored })
    const applied = st.apply({ sentAtMs: t0 + 200_000, sightings: [], exempt: new Set() }, RULES, 0)
    expect(applied.closed.map((s) => s.pseudonym)).toEqual(['1'])
    expect([...st.open.keys()]).toEqual(['2'])
    expect(st.version).toBe(42)
  })
})

describe('GatewaySessions: batches committed out of order', () => {
  const t0 = Date.UTC(2026, 11, 7, 9)
  const seen = (pseudonym: string, tMs: number): PseudoSighting => ({
    pseudonym,
    tMs,
    rssi: -60,
    radio: 'wifi',
    randomised: false,
  })
  const batch = (sentAtMs: number, ...sightings: PseudoSighting[]) => ({
    sentAtMs,
    sightings,
    exempt: new Set<string>(),
  })

  it('marks a batch late when the watermark had passed it by more than the gap, and the pass splits', () => {
    const st = new GatewaySessions({ version: 0, watermarkMs: null })
    // The device is heard at t0 and t0 + 10 s; the gateway's later batches move its event time on.
    const first = st.apply(batch(t0, seen('a', t0)), RULES, 0)
    expect(first.outcome.late).toBe(false)
    const third = st.apply(batch(t0 + 200_000, seen('b', t0 + 200_000)), RULES, 0)
    expect(third.outcome.late).toBe(false)
    expect(third.closed.map((s) => s.pseudonym)).toEqual(['a'])
    // The second batch committed last: its sighting of 'a' can only start a new session.
    const second = st.apply(batch(t0 + 10_000, seen('a', t0 + 10_000)), RULES, 0)
    expect(second.outcome.late).toBe(true)
    expect(second.closed.map((s) => [s.pseudonym, s.firstMs])).toEqual([['a', t0 + 10_000]])
  })

  it('does not mark a batch late that arrives out of order within the gap', () => {
    const st = new GatewaySessions({ version: 0, watermarkMs: null })
    st.apply(batch(t0 + 60_000, seen('a', t0 + 60_000)), RULES, 0)
    const earlier = st.apply(batch(t0, seen('a', t0)), RULES, 0)
    expect(earlier.outcome.late).toBe(false)
    expect(earlier.closed).toEqual([])
    expect(st.open.get('a')).toMatchObject({ firstMs: t0, lastMs: t0 + 60_000, samples: 2 })
  })
})
