import { describe, expect, it } from 'vitest'
import {
  classify,
  mergeSessions,
  segmentSightings,
  type PseudoSighting,
  type Session,
} from './sessionise.ts'
import { seededRandom as rng } from '../shared/contracts/seeded-random.ts'

const GAP = 120_000
const T0 = Date.parse('2026-11-21T10:00:00.000Z')

function sighting(pseudonym: string, offsetMs: number, rssi = -70): PseudoSighting {
  return { pseudonym, tMs: T0 + offsetMs, rssi, radio: 'wifi', randomised: true }
}

function session(
  firstOffsetMs: number,
  lastOffsetMs: number,
  overrides: Partial<Session> = {},
): Session {
  return {
    pseudonym: 'p1',
    firstMs: T0 + firstOffsetMs,
    lastMs: T0 + lastOffsetMs,
    peakRssi: -70,
    samples: 1,
    radio: 'ble',
    randomised: false,
    ...overrides,
  }
}

const span = (s: Session) => [s.firstMs - T0, s.lastMs - T0]

describe(segmentSightings.name, () => {
  it('keeps a device in one session when the silence equals the gap', () => {
    const sut = segmentSightings(
      [sighting('p1', 0), sighting('p1', GAP), sighting('p1', 2 * GAP)],
      GAP,
    )
    expect(sut.get('p1')?.map(span)).toEqual([[0, 2 * GAP]])
  })

  it('splits a device’s run where it was unheard for more than the gap', () => {
    const sut = segmentSightings(
      [sighting('p1', 0), sighting('p1', 10_000), sighting('p1', 10_000 + GAP + 1)],
      GAP,
    )
    expect(sut.get('p1')?.map(span)).toEqual([
      [0, 10_000],
      [10_000 + GAP + 1, 10_000 + GAP + 1],
    ])
  })

  it('measures the gap from the previous sighting, not from the session start', () => {
    const sut = segmentSightings(
      [0, 100_000, 200_000, 300_000].map((t) => sighting('p1', t)),
      GAP,
    )
    expect(sut.get('p1')?.map(span)).toEqual([[0, 300_000]])
  })

  it('orders out-of-order sightings by time before splitting', () => {
    const sut = segmentSightings(
      [sighting('p1', 500_000), sighting('p1', 0), sighting('p1', 510_000), sighting('p1', 60_000)],
      GAP,
    )
    expect(sut.get('p1')?.map(span)).toEqual([
      [0, 60_000],
      [500_000, 510_000],
    ])
  })

  it('does not reorder the caller’s array', () => {
    const input = [sighting('p1', 5000), sighting('p1', 0)]
    segmentSightings(input, GAP)
    expect(input.map((s) => s.tMs - T0)).toEqual([5000, 0])
  })

  it('keeps devices apart even when their sightings interleave', () => {
    const sut = segmentSightings(
      [sighting('p1', 0), sighting('p2', 1000), sighting('p1', 2000), sighting('p2', 200_000)],
      GAP,
    )
    expect([...sut.keys()].sort()).toEqual(['p1', 'p2'])
    expect(sut.get('p1')?.map(span)).toEqual([[0, 2000]])
    expect(sut.get('p2')?.map(span)).toEqual([
      [1000, 1000],
      [200_000, 200_000],
    ])
    expect(sut.get('p2')?.every((s) => s.pseudonym === 'p2')).toBe(true)
  })

  it('counts samples and keeps the strongest RSSI per session', () => {
    const sut = segmentSightings(
      [sighting('p1', 0, -80), sighting('p1', 1000, -55), sighting('p1', 2000, -90)],
      GAP,
    )
    expect(sut.get('p1')).toEqual([
      {
        pseudonym: 'p1',
        firstMs: T0,
        lastMs: T0 + 2000,
        peakRssi: -55,
        samples: 3,
        radio: 'wifi',
        randomised: true,
      },
    ])
  })

  it('returns no devices for no sightings', () => {
    expect(segmentSightings([], GAP).size).toBe(0)
  })
})

describe(mergeSessions.name, () => {
  it('extends the open session with a segment that starts exactly the gap later', () => {
    const sut = mergeSessions(session(0, 60_000), [session(60_000 + GAP, 300_000)], GAP)
    expect(span(sut.open)).toEqual([0, 300_000])
    expect(sut.closed).toEqual([])
  })

  it('closes the open session when the next segment starts more than the gap later', () => {
    const open = session(0, 60_000)
    const sut = mergeSessions(open, [session(60_000 + GAP + 1, 300_000)], GAP)
    expect(sut.closed.map(span)).toEqual([[0, 60_000]])
    expect(span(sut.open)).toEqual([60_000 + GAP + 1, 300_000])
  })

  it('closes an out-of-order segment that ended long before the open session', () => {
    const sut = mergeSessions(session(600_000, 700_000), [session(0, 10_000)], GAP)
    expect(sut.closed.map(span)).toEqual([[0, 10_000]])
    expect(span(sut.open)).toEqual([600_000, 700_000])
  })

  it('pulls the open session’s start back for an out-of-order segment within the gap', () => {
    const sut = mergeSessions(session(200_000, 300_000), [session(50_000, 100_000)], GAP)
    expect(sut.closed).toEqual([])
    expect(span(sut.open)).toEqual([50_000, 300_000])
  })

  it('merges overlapping segments without shrinking the end', () => {
    const sut = mergeSessions(
      session(0, 500_000),
      [session(100_000, 200_000), session(450_000, 600_000)],
      GAP,
    )
    expect(span(sut.open)).toEqual([0, 600_000])
    expect(sut.closed).toEqual([])
  })

  it('accumulates samples and the peak RSSI across merged sessions', () => {
    const sut = mergeSessions(
      session(0, 10_000, { samples: 4, peakRssi: -80 }),
      [
        session(20_000, 30_000, { samples: 3, peakRssi: -50 }),
        session(40_000, 50_000, { samples: 2, peakRssi: -90 }),
      ],
      GAP,
    )
    expect(sut.open.samples).toBe(9)
    expect(sut.open.peakRssi).toBe(-50)
  })

  it('keeps only the latest session open and closes every earlier one in order', () => {
    const sut = mergeSessions(
      undefined,
      [session(1_000_000, 1_000_000), session(0, 1000), session(500_000, 510_000)],
      GAP,
    )
    expect(sut.closed.map(span)).toEqual([
      [0, 1000],
      [500_000, 510_000],
    ])
    expect(span(sut.open)).toEqual([1_000_000, 1_000_000])
  })

  it('opens the single segment when there is no open session', () => {
    const segment = session(0, 1000, { samples: 5 })
    const sut = mergeSessions(undefined, [segment], GAP)
    expect(sut).toEqual({ open: segment, closed: [] })
  })

  it('keeps the open session when there are no new segments', () => {
    const open = session(0, 1000)
    expect(mergeSessions(open, [], GAP)).toEqual({ open, closed: [] })
  })

  it('throws when there is neither an open session nor a segment', () => {
    expect(() => mergeSessions(undefined, [], GAP)).toThrow(/needs an open session or a segment/)
  })

  it('does not mutate the sessions it is given', () => {
    const open = session(0, 10_000, { samples: 2 })
    const segment = session(20_000, 30_000, { samples: 3 })
    mergeSessions(open, [segment], GAP)
    expect(open).toEqual(session(0, 10_000, { samples: 2 }))
    expect(segment).toEqual(session(20_000, 30_000, { samples: 3 }))
  })
})

describe(classify.name, () => {
  const thresholds = { version: 7, minRssi: -75, minDwellS: 60 }

  it.each([
    ['strong and long', -75, 60_000, true],
    ['strong and much longer', -40, 600_000, true],
    ['just too weak', -76, 600_000, false],
    ['just too short', -40, 59_999, false],
    ['weak and short', -90, 1000, false],
  ])(
    'classifies a %s session (peak %i dBm, %i ms) as visitor=%s',
    (_case, peakRssi, durationMs, visitor) => {
      const sut = classify(session(0, durationMs, { peakRssi }), thresholds)
      expect(sut.visitor).toBe(visitor)
    },
  )

  it('reports dwell in seconds, with fractions', () => {
    expect(classify(session(0, 90_500), thresholds).dwellS).toBe(90.5)
    expect(classify(session(5000, 5000), thresholds).dwellS).toBe(0)
  })

  it('carries the threshold version and the session fields', () => {
    const s = session(0, 90_000, { peakRssi: -60, samples: 12 })
    expect(classify(s, thresholds)).toEqual({
      ...s,
      dwellS: 90,
      visitor: true,
      thresholdVersion: 7,
    })
    expect(classify(s, { ...thresholds, version: 8 }).thresholdVersion).toBe(8)
  })
})

/** The definition the one-pass segmenting must agree with: group, sort each device by time, split. */
function segmentBySorting(sightings: readonly PseudoSighting[], gapMs: number) {
  const byDevice = new Map<string, PseudoSighting[]>()
  for (const s of sightings) byDevice.set(s.pseudonym, [...(byDevice.get(s.pseudonym) ?? []), s])
  const out = new Map<string, Session[]>()
  for (const [pseudonym, list] of byDevice) {
    const sessions: Session[] = []
    for (const s of [...list].sort((a, b) => a.tMs - b.tMs)) {
      const cur = sessions.at(-1)
      if (cur && s.tMs - cur.lastMs <= gapMs) {
        cur.lastMs = s.tMs
        cur.samples++
        cur.peakRssi = Math.max(cur.peakRssi, s.rssi)
      } else {
        sessions.push({
          pseudonym,
          firstMs: s.tMs,
          lastMs: s.tMs,
          peakRssi: s.rssi,
          samples: 1,
          radio: s.radio,
          randomised: s.randomised,
        })
      }
      const last = sessions.at(-1)!
      if (s.seqNum !== undefined) last.lastSeqNum = s.seqNum
      if (s.fp !== undefined && last.fp === undefined) last.fp = s.fp
    }
    out.set(pseudonym, sessions)
  }
  return out
}

describe('the fast paths of segmenting and merging', () => {
  it('segment batches in order, out of order and with equal times as sorting would (seeded)', () => {
    const next = rng(11)
    for (let round = 0; round < 2_000; round++) {
      const n = Math.floor(next() * 30)
      const ordered = next() < 0.5
      let t = 0
      const batch: PseudoSighting[] = []
      for (let i = 0; i < n; i++) {
        t = ordered ? t + Math.floor(next() * 3) * 40_000 : Math.floor(next() * 10) * 40_000
        const s = sighting(`p${Math.floor(next() * 4)}`, t, -90 + Math.floor(next() * 40))
        if (next() < 0.3) s.seqNum = Math.floor(next() * 4096)
        if (next() < 0.3) s.fp = `f${Math.floor(next() * 3)}`
        batch.push(s)
      }
      const sut = segmentSightings(batch, GAP)
      const expected = segmentBySorting(batch, GAP)
      expect([...sut.keys()]).toEqual([...expected.keys()])
      expect(sut).toEqual(expected)
    }
  })

  it('merge one segment with an open session as the general merge does (seeded)', () => {
    const next = rng(12)
    for (let round = 0; round < 2_000; round++) {
      const a = Math.floor(next() * 10) * 40_000
      const b = a + Math.floor(next() * 4) * 40_000
      const c = Math.floor(next() * 14) * 40_000
      const d = c + Math.floor(next() * 4) * 40_000
      const open = session(a, b, {
        samples: 1 + Math.floor(next() * 5),
        peakRssi: -80 + Math.floor(next() * 30),
        ...(next() < 0.5 ? { lastSeqNum: 7 } : {}),
        ...(next() < 0.5 ? { fp: 'f1' } : {}),
      })
      const seg = session(c, d, {
        samples: 1 + Math.floor(next() * 5),
        peakRssi: -80 + Math.floor(next() * 30),
        ...(next() < 0.5 ? { lastSeqNum: 9 } : {}),
        ...(next() < 0.5 ? { fp: 'f2' } : {}),
      })
      // No open session and two segments: the general path, over the same sessions.
      expect(mergeSessions(open, [seg], GAP)).toEqual(mergeSessions(undefined, [open, seg], GAP))
      expect(mergeSessions(undefined, [seg], GAP)).toEqual({ open: seg, closed: [] })
    }
  })
})
