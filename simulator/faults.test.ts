import { describe, expect, it } from 'vitest'
import {
  GatewayStatusSchema,
  MAX_PAYLOAD_BYTES,
  SightingsBatchSchema,
  toEpochMs,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { parseGatewayTopic } from '../services/shared/contracts/topics.ts'
import { formatFault, parseFaults, type FaultRecord } from './faults.ts'
import { createSimulation, type OutboundMessage } from './simulation.ts'
import { mestreDistrict, SATURDAY_9AM_MS } from './test-helpers.ts'

const district = mestreDistrict()
const MIN_MS = 60_000
const fromMs = SATURDAY_9AM_MS

function run(faults: string, minutes = 30, seed = 21) {
  const sim = createSimulation({
    district,
    seed,
    fromMs,
    toMs: fromMs + minutes * MIN_MS,
    scenario: 'simple',
    overrides: { leaveStreetByEnd: false, arrivalsPerHour: 300 },
    faults,
    collectTruth: false,
  })
  const messages = [...sim]
  return { sim, messages, records: sim.faults() }
}

const clean = run('')
const batchesPerRun = clean.messages.length

function decode(m: OutboundMessage): SightingsBatch | null {
  try {
    const parsed = SightingsBatchSchema.safeParse(JSON.parse(m.payload))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

const within4Sigma = (observed: number, n: number, p: number) =>
  expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(4 * Math.sqrt(n * p * (1 - p)) + 1)

describe(parseFaults.name, () => {
  it('reads every kind, with offsets, signs, rates and percentages', () => {
    expect(
      parseFaults(
        'offline:gw-x@10m-20m, reboot:gw-x@15m,skew:gw-y=+90s, skew:gw-z=-2m@1h-1.5h, duplicates=0.02, out-of-order:gw-x=1%, malformed=0.005,oversized=0.001,spoof=0.001',
      ),
    ).toEqual([
      { kind: 'offline', gatewayId: 'gw-x', fromOffsetMs: 600_000, toOffsetMs: 1_200_000 },
      { kind: 'reboot', gatewayId: 'gw-x', atOffsetMs: 900_000 },
      { kind: 'skew', gatewayId: 'gw-y', skewMs: 90_000 },
      {
        kind: 'skew',
        gatewayId: 'gw-z',
        skewMs: -120_000,
        fromOffsetMs: 3_600_000,
        toOffsetMs: 5_400_000,
      },
      { kind: 'duplicates', rate: 0.02 },
      { kind: 'out-of-order', rate: 0.01, gatewayId: 'gw-x' },
      { kind: 'malformed', rate: 0.005 },
      { kind: 'oversized', rate: 0.001 },
      { kind: 'spoof', rate: 0.001 },
    ])
    expect(parseFaults('')).toEqual([])
  })

  it('round-trips through formatFault', () => {
    const spec = 'offline:gw-x@10m-20m,reboot:gw-x@90s,skew:gw-y=-30s,duplicates:gw-y=0.5'
    expect(parseFaults(spec).map(formatFault).join(',')).toBe(spec)
  })

  it('names every bad item with the form it expects', () => {
    let message = ''
    try {
      parseFaults(
        'offline:gw-x@20m-10m, reboot:gw-x, duplicates=2, jitter=0.1, skew:gw-x=90s, offline:GW@1m-2m, constructor=1',
      )
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/^invalid faults:/)
    expect(message).toMatch(
      /'offline:gw-x@20m-10m': the window must end after it starts; expected offline:<gateway>@<from>-<to>/,
    )
    expect(message).toMatch(/'reboot:gw-x': expected reboot:<gateway>@<at>, e.g. reboot:gw-1@15m/)
    expect(message).toMatch(/'duplicates=2': rate must be in \[0, 1\]/)
    expect(message).toMatch(
      /'jitter=0.1': unknown fault kind; expected one of offline, reboot, skew/,
    )
    expect(message).toMatch(/'skew:gw-x=90s': expected skew:<gateway>=<\+\|-duration>/)
    expect(message).toMatch(/'offline:GW@1m-2m': gateway id must be 1-64 lowercase/)
    expect(message).toMatch(/'constructor=1': unknown fault kind/)
    expect(() => parseFaults('offline:gw-x@10x-20m')).toThrow(
      /'offline:gw-x@10x-20m': from is not a duration/,
    )
  })

  it('refuses a gateway the district does not have', () => {
    expect(() => run('reboot:gw-nowhere@1m', 2)).toThrow(
      /'reboot:gw-nowhere@1m': unknown gateway gw-nowhere[\s\S]*known gateways: gw-via-carducci/,
    )
  })
})

describe('fault injection', () => {
  it('publishes nothing from an offline gateway in its window, between retained offline and online', () => {
    const { messages, records } = run('offline:gw-via-carducci@10m-20m')
    const own = messages.filter((m) => m.gatewayId === 'gw-via-carducci')
    const statuses = own.filter((m) => m.kind === 'status')
    expect(statuses.map((m) => [m.simTimeMs - fromMs, m.retain])).toEqual([
      [10 * MIN_MS, true],
      [20 * MIN_MS, true],
    ])
    expect(statuses.map((m) => GatewayStatusSchema.parse(JSON.parse(m.payload)).state)).toEqual([
      'offline',
      'online',
    ])
    const inWindow = own.filter(
      (m) =>
        m.kind === 'sightings' &&
        m.simTimeMs >= fromMs + 10 * MIN_MS &&
        m.simTimeMs < fromMs + 20 * MIN_MS,
    )
    expect(inWindow).toEqual([])
    // 10 minutes of 5-second batches were dropped, and nothing else changed.
    const expectedDropped = clean.messages.filter(
      (m) =>
        m.gatewayId === 'gw-via-carducci' &&
        m.simTimeMs >= fromMs + 10 * MIN_MS &&
        m.simTimeMs < fromMs + 20 * MIN_MS,
    )
    expect(records).toEqual([
      {
        kind: 'offline',
        gatewayId: 'gw-via-carducci',
        atMs: fromMs + 10 * MIN_MS,
        untilMs: fromMs + 20 * MIN_MS,
        droppedBatches: 120,
        droppedSightings: expectedDropped.reduce((n, m) => n + m.sightings, 0),
      },
    ])
    expect(messages.filter((m) => m.kind === 'sightings')).toHaveLength(batchesPerRun - 120)
    // Status changes sit in time order in the stream.
    const times = messages.map((m) => m.simTimeMs)
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('reboots a gateway: new bootId, seq from 0, unsent sightings lost, online with uptime 0', () => {
    const { messages, records } = run('reboot:gw-piazza-ferretto@602s')
    const own = messages.filter((m) => m.gatewayId === 'gw-piazza-ferretto')
    const batches = own.filter((m) => m.kind === 'sightings').map((m) => decode(m))
    const boots = [...new Set(batches.map((b) => b?.bootId))]
    expect(boots).toHaveLength(2)
    const after = batches.filter((b) => b?.bootId === boots[1])
    expect(after.map((b) => b?.seq)).toEqual(after.map((_, i) => i))
    expect(toEpochMs(after[0]?.sentAt ?? 0)).toBe(fromMs + 607_000)
    const status = own.find((m) => m.kind === 'status')
    expect(status?.simTimeMs).toBe(fromMs + 602_000)
    expect(GatewayStatusSchema.parse(JSON.parse(status?.payload ?? ''))).toMatchObject({
      state: 'online',
      uptimeS: 0,
    })
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      kind: 'reboot',
      gatewayId: 'gw-piazza-ferretto',
      atMs: fromMs + 602_000,
      previousBootId: boots[0],
      bootId: boots[1],
    })
    // Sightings of the 2 s before the reboot never went out.
    const lost = records[0]?.lostSightings ?? -1
    const sentBefore = batches
      .filter((b) => b?.bootId === boots[0])
      .reduce((n, b) => n + (b?.sightings.length ?? 0), 0)
    const sentAfter = after.reduce((n, b) => n + (b?.sightings.length ?? 0), 0)
    const cleanTotal = clean.messages
      .filter((m) => m.gatewayId === 'gw-piazza-ferretto')
      .reduce((n, m) => n + m.sightings, 0)
    expect(sentBefore + sentAfter + lost).toBe(cleanTotal)
  })

  it('skews a gateway’s clock: sentAt and every t shifted, publish time unchanged', () => {
    const { messages, records } = run('skew:gw-via-palazzo=+90s@5m-10m')
    const byKey = new Map(clean.messages.map((m) => [`${m.gatewayId}@${m.simTimeMs}`, m]))
    let skewed = 0
    for (const m of messages) {
      const original = byKey.get(`${m.gatewayId}@${m.simTimeMs}`)
      const batch = decode(m)
      const before = original ? decode(original) : null
      if (!batch || !before) throw new Error('not a batch')
      const inWindow =
        m.gatewayId === 'gw-via-palazzo' &&
        m.simTimeMs >= fromMs + 5 * MIN_MS &&
        m.simTimeMs < fromMs + 10 * MIN_MS
      const shift = inWindow ? 90_000 : 0
      if (inWindow) skewed++
      expect(toEpochMs(batch.sentAt) - toEpochMs(before.sentAt)).toBe(shift)
      batch.sightings.forEach((s, i) =>
        expect(toEpochMs(s.t) - toEpochMs(before.sightings[i]?.t ?? 0)).toBe(shift),
      )
    }
    expect(skewed).toBe(60)
    expect(records).toEqual([
      {
        kind: 'skew',
        gatewayId: 'gw-via-palazzo',
        atMs: fromMs + 5 * MIN_MS,
        untilMs: fromMs + 10 * MIN_MS,
        skewMs: 90_000,
        batches: 60,
      },
    ])
  })

  it('duplicates a share of batches right after the original, recorded per batch', () => {
    const { messages, records } = run('duplicates=0.05')
    const dups = messages.filter((m) => m.fault === 'duplicates')
    within4Sigma(dups.length, batchesPerRun, 0.05)
    expect(records.filter((r) => r.kind === 'duplicates')).toHaveLength(dups.length)
    for (const d of dups) {
      const i = messages.indexOf(d)
      expect(messages[i - 1]?.payload).toBe(d.payload)
      const b = decode(d)
      expect(records).toContainEqual({
        kind: 'duplicates',
        gatewayId: d.gatewayId,
        atMs: d.simTimeMs,
        bootId: b?.bootId,
        seq: b?.seq,
      })
    }
    expect(messages.filter((m) => m.fault === undefined)).toHaveLength(batchesPerRun)
  })

  it('swaps a share of batches with the gateway’s next one', () => {
    const { messages, records } = run('out-of-order=0.03')
    const ooo = records.filter((r) => r.kind === 'out-of-order')
    within4Sigma(ooo.length, batchesPerRun, 0.03)
    expect(messages).toHaveLength(batchesPerRun)
    for (const r of ooo) {
      const end = r.atMs === fromMs + 30 * MIN_MS
      const own = messages
        .filter((m) => m.gatewayId === r.gatewayId)
        .map((m) => decode(m))
        .map((b) => `${b?.bootId}/${b?.seq}`)
      const i = own.indexOf(`${r.bootId}/${r.seq}`)
      // A batch held back at the very end of the run goes out last.
      if (end) expect(i).toBe(own.length - 1)
      else expect(own[i - 1]).toBe(`${r.bootId}/${(r.seq ?? 0) + 1}`)
      expect(r.releasedAtMs).toBe(end ? r.atMs : r.atMs + 5000)
    }
  })

  it('adds malformed, oversized and spoofed messages after a share of batches', () => {
    const { messages, records } = run('malformed=0.02,oversized=0.01,spoof=0.01')
    const byKind = (k: string) => messages.filter((m) => m.fault === k)
    within4Sigma(byKind('malformed').length, batchesPerRun, 0.02)
    within4Sigma(byKind('oversized').length, batchesPerRun, 0.01)
    within4Sigma(byKind('spoof').length, batchesPerRun, 0.01)
    expect(messages.filter((m) => m.fault === undefined)).toHaveLength(batchesPerRun)
    for (const m of byKind('malformed')) {
      expect(decode(m)).toBeNull()
      expect(parseGatewayTopic(m.topic)?.gatewayId).toBe(m.gatewayId)
    }
    const variants = new Set(records.filter((r) => r.kind === 'malformed').map((r) => r.variant))
    expect(variants).toEqual(new Set(['truncated-json', 'not-json', 'schema']))
    for (const m of byKind('oversized')) {
      expect(Buffer.byteLength(m.payload)).toBeGreaterThan(MAX_PAYLOAD_BYTES)
      expect(m.sightings).toBe(0)
    }
    for (const m of byKind('spoof')) {
      const b = decode(m)
      expect(b).not.toBeNull()
      expect(b?.gatewayId).not.toBe(parseGatewayTopic(m.topic)?.gatewayId)
      expect(district.gateways.map((g) => g.id)).toContain(b?.gatewayId)
      const record = records.find(
        (r) => r.kind === 'spoof' && r.atMs === m.simTimeMs && r.gatewayId === m.gatewayId,
      )
      expect(record?.payloadGatewayId).toBe(b?.gatewayId)
    }
    expect(records.filter((r) => r.kind === 'malformed')).toHaveLength(byKind('malformed').length)
    expect(records.filter((r) => r.kind === 'oversized')).toHaveLength(byKind('oversized').length)
  })

  it('limits a rate fault to one gateway when asked', () => {
    const { messages } = run('duplicates:gw-via-carducci=0.2', 10)
    const dups = messages.filter((m) => m.fault === 'duplicates')
    expect(dups.length).toBeGreaterThan(0)
    expect(new Set(dups.map((m) => m.gatewayId))).toEqual(new Set(['gw-via-carducci']))
  })

  it('is deterministic with the seed, and one fault never moves another', () => {
    const spec =
      'offline:gw-via-carducci@3m-6m,reboot:gw-via-palazzo@4m,duplicates=0.05,spoof=0.02,out-of-order=0.02'
    const a = run(spec, 10)
    const b = run(spec, 10)
    expect(b.messages.map((m) => m.payload)).toEqual(a.messages.map((m) => m.payload))
    expect(b.records).toEqual(a.records)
    const c = run(spec, 10, 22)
    expect(c.records).not.toEqual(a.records)
    const key = (r: FaultRecord) => `${r.gatewayId}/${r.atMs}`
    const dupsAlone = run('duplicates=0.05', 10).records.filter(
      (r) => r.gatewayId !== 'gw-via-carducci' && r.gatewayId !== 'gw-via-palazzo',
    )
    const dupsMixed = a.records.filter(
      (r) =>
        r.kind === 'duplicates' &&
        r.gatewayId !== 'gw-via-carducci' &&
        r.gatewayId !== 'gw-via-palazzo',
    )
    expect(dupsMixed.map(key)).toEqual(dupsAlone.map(key))
  })

  it('leaves a run without faults exactly as it was', () => {
    const sim = createSimulation({
      district,
      seed: 21,
      fromMs,
      toMs: fromMs + 30 * MIN_MS,
      scenario: 'simple',
      overrides: { leaveStreetByEnd: false, arrivalsPerHour: 300 },
      collectTruth: false,
    })
    expect([...sim].map((m) => m.payload)).toEqual(clean.messages.map((m) => m.payload))
    expect(sim.faults()).toEqual([])
    expect(clean.messages.every((m) => m.kind === 'sightings' && m.fault === undefined)).toBe(true)
  })
})
