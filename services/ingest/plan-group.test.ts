import { describe, expect, it } from 'vitest'
import { advanceProgress, planGroup, type BatchWork } from './plan-group.ts'
import { classify, type PseudoSighting, type Session } from './sessionise.ts'
import {
  sessionKey,
  type GatewayProgress,
  type GatewayTransit,
  type RegisteredGateway,
} from './ingest-repository.ts'

const GAP_MS = 120_000
const STATIC_AFTER_MS = 30 * 60_000

function gateway(id: string, shopId: string | null): RegisteredGateway {
  return {
    id,
    zoneId: `z-${id}`,
    shopId,
    rssiFloor: -100,
    thresholds: { version: 1, minRssi: -75, minDwellS: 60 },
    calibration: { version: 1, factor: 1 },
    source: { format: 'native' },
    sourceKey: null,
  }
}

/** The database as the planner sees it, with the writes a plan makes applied the way SQL does. */
type Store = {
  open: Map<string, Session>
  statics: Set<string>
  progress: Map<string, GatewayProgress>
  transits: string[]
}

function apply(store: Store, works: BatchWork[]) {
  const plan = planGroup(
    works,
    { open: new Map(store.open), statics: new Set(store.statics), progress: store.progress },
    { gapMs: GAP_MS, staticAfterMs: STATIC_AFTER_MS },
  )
  for (const u of plan.upserts)
    store.open.set(sessionKey(u.gatewayId, u.session.pseudonym), u.session)
  for (const d of plan.deletes) store.open.delete(sessionKey(d.gatewayId, d.pseudonym))
  for (const l of plan.learned) store.statics.add(sessionKey(l.gatewayId, l.pseudonym))
  for (const p of plan.progress) store.progress.set(p.gatewayId, p)
  const written: GatewayTransit[] = [...plan.transits]
  for (const c of plan.cutoffs) {
    for (const [key, s] of store.open) {
      if (key.startsWith(`${c.gatewayId}\u0000`) && s.lastMs < c.before.getTime()) {
        store.open.delete(key)
        const g = works.find((w) => w.gateway.id === c.gatewayId)?.gateway
        if (g) written.push({ gateway: g, transit: classify(s, g.thresholds, g.shopId !== null) })
      }
    }
  }
  for (const t of written)
    store.transits.push(
      `${t.gateway.id}/${t.transit.pseudonym}/${t.transit.firstMs}-${t.transit.lastMs}/${t.transit.samples}/${t.transit.visitor}`,
    )
  return plan
}

function emptyStore(): Store {
  return { open: new Map(), statics: new Set(), progress: new Map(), transits: [] }
}

/** A seeded stream of batches from three gateways: devices come and go, some stay for an hour. */
function seededBatches(seed: number): BatchWork[] {
  let x = seed
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const gateways = [gateway('gw-a', 'shop-a'), gateway('gw-b', null), gateway('gw-c', 'shop-c')]
  const t0 = Date.UTC(2026, 10, 20, 9)
  const seqs = new Map<string, number>()
  const phones = [
    { fp: 'fa', seq: 4090 },
    { fp: 'fa', seq: 700 },
    { fp: 'fb', seq: 10 },
  ]
  const works: BatchWork[] = []
  for (let i = 0; i < 240; i++) {
    const g = gateways[rnd() < 0.9 ? i % 3 : Math.floor(rnd() * 3)] ?? gateways[0]!
    const sentAtMs = t0 + i * 15_000
    const seq = (seqs.get(g.id) ?? 0) + (rnd() < 0.05 ? 2 : 1)
    seqs.set(g.id, seq)
    const sightings: PseudoSighting[] = []
    // Resident devices (a shop PC, a speaker; '3' is on the allow list), heard most of the time.
    for (const pseudonym of ['1', '2', '3'])
      if (rnd() < 0.9)
        sightings.push({
          pseudonym,
          tMs: sentAtMs - 2000,
          rssi: -50,
          radio: 'wifi',
          randomised: false,
        })
    // Phones probing with a fresh random MAC per scan; two share an IE fingerprint.
    for (const phone of phones) {
      if (rnd() < 0.6) {
        phone.seq = (phone.seq + 1 + Math.floor(rnd() * 8)) % 4096
        sightings.push({
          pseudonym: `${9_000_000 + Math.floor(rnd() * 999_999)}`,
          tMs: sentAtMs - Math.floor(rnd() * 10_000),
          rssi: -70,
          radio: 'wifi',
          randomised: true,
          fp: phone.fp,
          seqNum: phone.seq,
        })
      }
    }
    const n = 1 + Math.floor(rnd() * 6)
    for (let k = 0; k < n; k++) {
      // A few resident devices (static after 30 min) and many passing ones; some arrive late.
      const pseudonym =
        rnd() < 0.2 ? `${1 + Math.floor(rnd() * 3)}` : `${100 + Math.floor(rnd() * 40)}`
      const late = rnd() < 0.1 ? 200_000 : 0
      sightings.push({
        pseudonym,
        tMs: sentAtMs - Math.floor(rnd() * 10_000) - late,
        rssi: -90 + Math.floor(rnd() * 40),
        radio: 'wifi',
        randomised: false,
      })
    }
    works.push({
      gateway: g,
      bootId: rnd() < 0.01 ? 'reboot' : 'boot',
      seq,
      sentAtMs,
      clockSkewMs: 0,
      receivedAtMs: sentAtMs + 50,
      sightings,
      sightingsCount: sightings.length,
      exempt: new Set(pseudonymsExempt),
    })
  }
  return works
}
const pseudonymsExempt = ['3']

describe('planGroup', () => {
  it('gives, for any grouping, exactly what committing one batch at a time gives', () => {
    for (const seed of [1, 7, 42]) {
      const works = seededBatches(seed)
      const alone = emptyStore()
      for (const w of works) apply(alone, [w])
      for (const size of [2, 5, 17, 240]) {
        const grouped = emptyStore()
        for (let i = 0; i < works.length; i += size) apply(grouped, works.slice(i, i + size))
        expect(grouped.transits.sort()).toEqual([...alone.transits].sort())
        expect([...grouped.open.entries()].sort()).toEqual([...alone.open.entries()].sort())
        expect([...grouped.statics].sort()).toEqual([...alone.statics].sort())
        expect([...grouped.progress.entries()].sort()).toEqual([...alone.progress.entries()].sort())
      }
      // The stream exercises what it should: transits, learned static devices, open sessions.
      expect(alone.transits.length).toBeGreaterThan(50)
      expect(alone.statics.size).toBeGreaterThan(0)
      expect([...alone.statics].some((k) => k.endsWith('\u00003'))).toBe(false)
      // Per-scan MACs were chained: far fewer sessions than probes.
      const probeTransits = alone.transits.filter((t) => /\/9\d{6}\//.test(t)).length
      expect(probeTransits).toBeGreaterThan(0)
      expect(probeTransits).toBeLessThan(100) // ~430 probes: unchained, each would be one
    }
  })

  it('closes a session by a later batch of its gateway in the same group, not by other gateways', () => {
    const a = gateway('gw-a', 'shop-a')
    const b = gateway('gw-b', null)
    const t0 = Date.UTC(2026, 10, 20, 9)
    const batch = (g: RegisteredGateway, seq: number, sentAtMs: number, pseudonym: string) => ({
      gateway: g,
      bootId: 'boot',
      seq,
      sentAtMs,
      clockSkewMs: 0,
      receivedAtMs: sentAtMs,
      sightings: [
        { pseudonym, tMs: sentAtMs - 1000, rssi: -60, radio: 'ble' as const, randomised: false },
      ],
      sightingsCount: 1,
      exempt: new Set<string>(),
    })
    const plan = planGroup(
      [batch(a, 1, t0, '1'), batch(b, 1, t0 + 10 * 60_000, '2'), batch(a, 2, t0 + 5 * 60_000, '3')],
      { open: new Map(), statics: new Set(), progress: new Map() },
      { gapMs: GAP_MS, staticAfterMs: 0 },
    )
    expect(plan.transits.map((t) => `${t.gateway.id}/${t.transit.pseudonym}`)).toEqual(['gw-a/1'])
    expect(plan.upserts.map((u) => `${u.gatewayId}/${u.session.pseudonym}`).sort()).toEqual([
      'gw-a/3',
      'gw-b/2',
    ])
    expect(plan.cutoffs.map((c) => [c.gatewayId, c.before.getTime()])).toEqual([
      ['gw-a', t0 + 5 * 60_000 - GAP_MS],
      ['gw-b', t0 + 10 * 60_000 - GAP_MS],
    ])
  })
})

describe('Wi-Fi de-randomisation', () => {
  const shop = gateway('gw-a', 'shop-a')
  const t0 = Date.UTC(2026, 10, 20, 9)
  /** A phone scanning every 20 s with a new random MAC each time; seq advances by 3 per scan. */
  function scans(fp: string, firstSeq: number, count: number, offsetMs = 0): PseudoSighting[] {
    return Array.from({ length: count }, (_, i) => ({
      pseudonym: `${fp}-${i}-${firstSeq}`.replace(/\D/g, '') + String(i).padStart(3, '0'),
      tMs: t0 + offsetMs + i * 20_000,
      rssi: -65,
      radio: 'wifi' as const,
      randomised: true,
      fp,
      seqNum: (firstSeq + 3 * i) % 4096,
    }))
  }
  function batches(sightings: PseudoSighting[]): BatchWork[] {
    const out: BatchWork[] = []
    for (let i = 0; i * 60_000 < 20 * 60_000; i++) {
      const sentAtMs = t0 + (i + 1) * 60_000
      out.push({
        gateway: shop,
        bootId: 'boot',
        seq: i + 1,
        sentAtMs,
        clockSkewMs: 0,
        receivedAtMs: sentAtMs,
        sightings: sightings.filter((s) => s.tMs < sentAtMs && s.tMs >= sentAtMs - 60_000),
        sightingsCount: 0,
        exempt: new Set(),
      })
    }
    return out
  }
  function sessionsOf(sightings: PseudoSighting[], groupSize: number) {
    const store = emptyStore()
    const works = batches(sightings)
    for (let i = 0; i < works.length; i += groupSize) apply(store, works.slice(i, i + groupSize))
    return store.transits.length + store.open.size
  }

  it('counts one phone probing with a new MAC every scan as one session', () => {
    // 30 scans over 10 minutes, the sequence counter wrapping past 4095 on the way.
    const phone = scans('11', 4000, 30)
    expect(new Set(phone.map((s) => s.pseudonym)).size).toBe(30)
    expect(sessionsOf(phone, 1)).toBe(1)
    expect(sessionsOf(phone, 20)).toBe(1)
  })

  it('keeps two phones with the same fingerprint apart by their sequence numbers', () => {
    const both = [...scans('11', 100, 30), ...scans('11', 2000, 30, 5_000)]
    expect(sessionsOf(both, 1)).toBe(2)
  })

  it('does not chain across fingerprints, backwards steps, big jumps or gaps', () => {
    const a = scans('11', 100, 5)
    const otherFingerprint = scans('22', 115, 1, 100_000)
    const backwards = scans('11', 90, 1, 101_000)
    const jump = scans('11', 112 + 65, 1, 102_000)
    const late = scans('11', 113, 1, 80_000 + 121_000)
    expect(sessionsOf([...a, ...otherFingerprint], 1)).toBe(2)
    expect(sessionsOf([...a, ...backwards], 1)).toBe(2)
    expect(sessionsOf([...a, ...jump], 1)).toBe(2)
    expect(sessionsOf([...a, ...late], 1)).toBe(2)
    expect(sessionsOf([...a, ...scans('11', 112 + 64, 1, 102_000)], 1)).toBe(1)
  })
})

describe('advanceProgress', () => {
  it('keeps the watermark from going back and counts sequence gaps within one boot only', () => {
    let p = advanceProgress(undefined, { bootId: 'b1', seq: 5, sentAtMs: 1000 })
    expect(p).toEqual({ watermarkMs: 1000, bootId: 'b1', lastSeq: 5, seqGaps: 0 })
    p = advanceProgress(p, { bootId: 'b1', seq: 9, sentAtMs: 900 })
    expect(p).toEqual({ watermarkMs: 1000, bootId: 'b1', lastSeq: 9, seqGaps: 3 })
    p = advanceProgress(p, { bootId: 'b1', seq: 7, sentAtMs: 2000 })
    expect(p).toEqual({ watermarkMs: 2000, bootId: 'b1', lastSeq: 9, seqGaps: 3 })
    p = advanceProgress(p, { bootId: 'b2', seq: 1, sentAtMs: 3000 })
    expect(p).toEqual({ watermarkMs: 3000, bootId: 'b2', lastSeq: 1, seqGaps: 3 })
    // A row written by a status message only: no watermark, boot or sequence yet.
    const fromStatus = { watermarkMs: null, bootId: null, lastSeq: null, seqGaps: 0 }
    expect(advanceProgress(fromStatus, { bootId: 'b1', seq: 40, sentAtMs: 10 })).toEqual({
      watermarkMs: 10,
      bootId: 'b1',
      lastSeq: 40,
      seqGaps: 0,
    })
  })
})
