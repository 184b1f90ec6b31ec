import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RegisteredGateway } from '../model.ts'
import { storedSourceKey, storedSourceOf } from '../../shared/registry/gateway-source-key.ts'
import type { GatewaySource } from '../../shared/contracts/district.ts'
import { advanceProgress } from '../plan-group.ts'
import { createFloodControl } from './flood-control.ts'
import { indexForeignSources, storedIdentityKey, subscriptionFilters } from './foreign-sources.ts'
import { createMicroBatcher } from './micro-batcher.ts'
import { routeTopic } from './route-topic.ts'
import { shareAck } from './work.ts'
import { messageDigest, withoutSecret } from './foreign-intake.ts'

function gateway(id: string, source?: GatewaySource): RegisteredGateway {
  const stored = storedSourceOf(source)
  return {
    id,
    zoneId: 'z',
    shopId: null,
    rssiFloor: -100,
    thresholds: { version: 1, minRssi: -67, minDwellS: 60 },
    calibration: { version: 1, factor: 1 },
    source: stored,
    sourceKey: storedSourceKey(stored),
  }
}

const registry = new Map(
  [
    gateway('gw-native'),
    gateway('gw-omg', { format: 'omg', name: 'OpenMQTTGateway', baseTopic: 'home' }),
    gateway('gw-theengs', { format: 'omg', name: 'TheengsGateway', baseTopic: 'shops/ferretto' }),
    gateway('gw-esp', { format: 'espresense', room: 'corte' }),
    gateway('gw-sniffer', { format: 'sniffer', topic: 'sniffers/palazzo' }),
    gateway('gw-meraki', { format: 'meraki', networkId: 'L_1', apMac: 'A8:46:9D:27:56:63' }),
    gateway('gw-pax', { format: 'paxcounter', deviceId: 'pax-1', encoding: 'packed' }),
  ].map((g) => [g.id, g]),
)
const sources = indexForeignSources(registry)

describe('foreign sources', () => {
  it('resolves each decoded identity to its gateway, a Meraki AP by its digest', () => {
    expect(sources.resolve({ format: 'omg', baseTopic: 'home', name: 'OpenMQTTGateway' })?.id).toBe(
      'gw-omg',
    )
    expect(sources.resolve({ format: 'espresense', room: 'corte' })?.id).toBe('gw-esp')
    expect(sources.resolve({ format: 'meraki', networkId: 'L_1', apMac: 'a8469d275663' })?.id).toBe(
      'gw-meraki',
    )
    expect(sources.resolve({ format: 'meraki', networkId: 'L_2', apMac: 'a8469d275663' })).toBe(
      undefined,
    )
    expect(sources.resolve({ format: 'paxcounter', deviceId: 'pax-2' })).toBeUndefined()
    expect(
      storedIdentityKey({ format: 'meraki', networkId: 'L_1', apMac: 'a8469d275663' }),
    ).toMatch(/^meraki:L_1\/[0-9a-f]{16}$/)
  })

  it('subscribes to the formats in use, under the prefix and the share group', () => {
    expect(sources.filters()).toEqual([
      'home/+/BTtoMQTT/+',
      'home/+/BTtoMQTT',
      'home/+/SYStoMQTT',
      'home/+/LWT',
      'home/+/presence',
      'home/presence/+',
      'shops/ferretto/+/BTtoMQTT/+',
      'shops/ferretto/+/BTtoMQTT',
      'shops/ferretto/+/SYStoMQTT',
      'shops/ferretto/+/LWT',
      'shops/ferretto/+/presence',
      'shops/ferretto/presence/+',
      'espresense/devices/+/+',
      'espresense/rooms/+/status',
      'espresense/rooms/+/telemetry',
      'sniffers/palazzo',
      'pax-1',
      'pax-1/1',
      'pax-1/2',
    ])
    expect(subscriptionFilters(['pax-1/1'], 'district-a', 'ingest')).toEqual([
      '$share/ingest/district-a/pax-1/1',
    ])
    expect(indexForeignSources(new Map([['gw-native', gateway('gw-native')]])).filters()).toEqual(
      [],
    )
  })
})

describe(routeTopic.name, () => {
  it.each([
    ['miglio/v1/gw/gw-native/sightings', 'native'],
    ['miglio/v1/internal/meraki/L_1', 'meraki'],
    ['espresense/devices/phone/corte', 'espresense'],
    ['espresense/rooms/anywhere/status', 'espresense'],
    ['sniffers/palazzo', 'sniffer'],
    ['pax-1/1', 'paxcounter'],
    ['pax-1', 'paxcounter'],
    ['home/OpenMQTTGateway/BTtoMQTT/45E174126E00', 'omg'],
    ['home/SomeOtherGateway/LWT', 'omg'],
    ['home/presence/OpenMQTTGateway', 'omg'],
    ['shops/ferretto/TheengsGateway/BTtoMQTT/45E174126E00', 'omg'],
  ])('routes %s to %s', (topic, format) => {
    expect(routeTopic(topic, sources)?.format).toBe(format)
  })

  it.each([
    'miglio/v1/internal/transits-changed',
    'miglio/v1/internal/meraki/a/b',
    'sniffers/other',
    'pax-2/1',
    'pax-1/1/2',
    'garden/OpenMQTTGateway/BTtoMQTT/45E174126E00',
    '',
  ])('routes %j nowhere', (topic) => {
    expect(routeTopic(topic, sources)).toBeNull()
  })
})

describe(createFloodControl.name, () => {
  it('admits a burst of its rate, then the rate, and refuses the rest with one dead letter a minute', () => {
    const flood = createFloodControl({ messagesPerS: 2, sightingsPerS: 100 })
    const verdicts = Array.from({ length: 25 }, () => flood.admit('gw', 1, 0))
    expect(verdicts.filter((v) => v.admitted)).toHaveLength(20)
    expect(verdicts.filter((v) => !v.admitted && v.deadLetter)).toHaveLength(1)
    expect(flood.admit('gw', 1, 1_000).admitted).toBe(true)
    expect(flood.admit('gw', 1, 1_000).admitted).toBe(true)
    expect(flood.admit('gw', 1, 1_000)).toEqual({
      admitted: false,
      deadLetter: false,
      refusedSinceLastLetter: 5,
    })
    // Another gateway has its own buckets.
    expect(flood.admit('other', 1, 1_000).admitted).toBe(true)
    // A minute after the last dead letter, the next refusal is dead-lettered, with the count since.
    for (let i = 0; i < 200; i++) flood.admit('gw', 1, 61_000)
    const last = flood.admit('gw', 1, 61_000)
    expect(last.admitted).toBe(false)
    expect(flood.admit('gw', 1, 1_000).admitted).toBe(false)
  })

  it('refuses a message whose sightings exceed the bucket, taking nothing', () => {
    const flood = createFloodControl({ messagesPerS: 100, sightingsPerS: 10 })
    expect(flood.admit('gw', 101, 0).admitted).toBe(false)
    expect(flood.admit('gw', 100, 0).admitted).toBe(true)
    expect(flood.admit('gw', 1, 0).admitted).toBe(false)
  })

  it('meters untimed messages (statuses) by arrival in their own bucket, so a backfill is no flood', () => {
    const flood = createFloodControl({ messagesPerS: 2, sightingsPerS: 100 })
    const t0 = Date.parse('2026-12-07T08:00:00Z')
    const now = t0 + 2 * 3_600_000
    // A backfill: batches sent two hours ago, 5 s apart, arriving at full speed; a status (no
    // time of its own) arrives now in the middle of them.
    const verdicts = []
    for (let i = 0; i < 200; i++) {
      if (i === 10) expect(flood.admit('gw', 0, null, now).admitted).toBe(true)
      verdicts.push(flood.admit('gw', 50, t0 + i * 5_000, now))
    }
    expect(verdicts.filter((v) => !v.admitted)).toEqual([])
    // Untimed messages still have their ceiling: 20 at one arrival moment (the status above was one).
    const statuses = Array.from({ length: 25 }, () => flood.admit('gw', 0, null, now))
    expect(statuses.filter((v) => v.admitted)).toHaveLength(19)
    // A timed message with a time of now is metered in the timed bucket, as before.
    expect(flood.admit('gw', 1, now, now).admitted).toBe(true)
  })

  it('is off at 0', () => {
    const flood = createFloodControl({ messagesPerS: 0, sightingsPerS: 0 })
    for (let i = 0; i < 1000; i++) expect(flood.admit('gw', 5000, 0).admitted).toBe(true)
  })
})

describe(createMicroBatcher.name, () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('hands a gateway’s items on at its size, at the window, or all at the held ceiling', () => {
    vi.useFakeTimers()
    const out: [string, number[]][] = []
    const b = createMicroBatcher<number>({
      windowMs: 1000,
      maxSightings: 3,
      maxHeldMessages: 5,
      flush: (g, items) => out.push([g, items]),
    })
    b.add('a', 1, 1)
    b.add('a', 2, 1)
    b.add('b', 3, 1)
    expect(out).toEqual([])
    b.add('a', 4, 1)
    expect(out).toEqual([['a', [1, 2, 4]]])
    vi.advanceTimersByTime(999)
    expect(b.held()).toBe(1)
    vi.advanceTimersByTime(1)
    expect(out).toEqual([
      ['a', [1, 2, 4]],
      ['b', [3]],
    ])
    for (const [g, i] of [
      ['a', 5],
      ['b', 6],
      ['c', 7],
      ['d', 8],
    ] as const)
      b.add(g, i, 0)
    expect(out).toHaveLength(2)
    b.add('e', 9, 0)
    expect(out).toHaveLength(7)
    expect(b.held()).toBe(0)
    b.add('a', 10, 0)
    expect(b.stop()).toEqual([10])
    vi.advanceTimersByTime(5000)
    expect(out).toHaveLength(7)
  })
})

describe('work', () => {
  it('acknowledges a shared message once every share is called', () => {
    const ack = vi.fn()
    const [a, b] = shareAck(ack, 2)
    a?.()
    a?.()
    expect(ack).not.toHaveBeenCalled()
    b?.()
    expect(ack).toHaveBeenCalledTimes(1)
  })

  it('digests topic and payload', () => {
    const d = messageDigest('a/b', Buffer.from('x'))
    expect(d).toMatch(/^-?\d+$/)
    expect(messageDigest('a/b', Buffer.from('x'))).toBe(d)
    expect(messageDigest('a/c', Buffer.from('x'))).not.toBe(d)
  })

  it('withholds a Meraki post’s secret', () => {
    expect(withoutSecret(Buffer.from('{"secret":"s3cret","v":1}')).toString()).toBe(
      '{"secret":"(withheld)","v":1}',
    )
    expect(withoutSecret(Buffer.from('{"secret":"s3cret"')).toString()).not.toContain('s3cret')
  })

  it('moves only the watermark for a batch without a boot id', () => {
    const p = advanceProgress(undefined, { bootId: 'b1', seq: 5, sentAtMs: 1000 })
    expect(advanceProgress(p, { bootId: null, seq: null, sentAtMs: 3000 })).toEqual({
      ...p,
      watermarkMs: 3000,
    })
    expect(advanceProgress(undefined, { bootId: null, seq: null, sentAtMs: 5 })).toEqual({
      watermarkMs: 5,
      bootId: null,
      lastSeq: null,
      seqGaps: 0,
    })
  })
})
