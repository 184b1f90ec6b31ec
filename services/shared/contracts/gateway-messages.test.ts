import { describe, expect, it } from 'vitest'
import {
  SightingsBatchSchema,
  sightingsBatchFast,
  toEpochMs,
  utcIsoMs,
  type SightingsBatch,
} from './gateway-messages.ts'
import { seededRandom as rng } from './seeded-random.ts'

const iso = (ms: number, fractionDigits: number) => {
  const full = new Date(ms).toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  return fractionDigits === 0 ? `${full.slice(0, 19)}Z` : `${full.slice(0, 20 + fractionDigits)}Z`
}

describe('utcIsoMs', () => {
  it('reads every UTC timestamp of the usual form as Date.parse does, and the schema accepts each', () => {
    const next = rng(7)
    const schema = SightingsBatchSchema.shape.sentAt
    for (let i = 0; i < 5_000; i++) {
      // 1900–2200, every fraction length the form allows.
      const ms = Math.floor(-2_208_988_800_000 + next() * 9_467_280_000_000)
      const text = iso(ms, i % 4)
      expect(utcIsoMs(text), text).toBe(Date.parse(text))
      expect(schema.safeParse(text).success, text).toBe(true)
    }
  })

  it('declines what it does not read for sure, and toEpochMs then gives Date.parse', () => {
    for (const text of [
      '2026-02-29T10:00:00Z', // not a leap year
      '2026-02-30T10:00:00Z',
      '2026-04-31T10:00:00Z',
      '2026-12-07T24:00:00Z',
      '2026-12-07T23:60:00Z',
      '2026-12-07T23:59:60Z',
      '2026-12-07T10:00:00.1234Z', // four fraction digits
      '2026-12-07T10:00:00.Z',
      '2026-12-07T10:00:00+01:00',
      '2026-12-07T10:00:00',
      '2026-12-07 10:00:00Z',
      '0099-12-07T10:00:00Z', // Date.UTC reads years below 100 as 19xx
      '2026-1a-07T10:00:00Z',
      '',
    ]) {
      expect(utcIsoMs(text), text).toBeNaN()
      const parsed = Date.parse(text)
      if (Number.isNaN(parsed)) expect(toEpochMs(text)).toBeNaN()
      else expect(toEpochMs(text)).toBe(parsed)
    }
    expect(utcIsoMs('2024-02-29T10:00:00Z')).toBe(Date.parse('2024-02-29T10:00:00Z'))
    expect(utcIsoMs('2000-02-29T00:00:00.5Z')).toBe(Date.parse('2000-02-29T00:00:00.500Z'))
  })
})

const base = (): Record<string, unknown> => ({
  v: 1,
  gatewayId: 'gw-1',
  bootId: '5f0c2a9e',
  seq: 1842,
  sentAt: '2026-11-21T10:15:05.000Z',
  sightings: [
    { t: '2026-11-21T10:15:01.503Z', mac: '7e:fd:7a:e4:31:66', rssi: -71, radio: 'wifi' },
    { t: 1_763_719_702_000, mac: 'AA-BB-CC-DD-EE-FF', rssi: 0, radio: 'ble' },
    {
      t: '2026-11-21T10:15:03Z',
      mac: '02aabbccddee',
      rssi: -127,
      radio: 'wifi',
      seqNum: 4095,
      ie: '0, 1,50,3,45,127',
    },
  ],
})

/** Values a field may be replaced with: valid, invalid and borderline ones of every type. */
const POOL: unknown[] = [
  null,
  undefined,
  true,
  0,
  -0,
  1,
  -1,
  -127,
  -128,
  4095,
  4096,
  1.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  8_640_000_000_000_000,
  8_640_000_000_000_001,
  '',
  'x',
  'wifi',
  'ble',
  'WIFI',
  'gw-2',
  'GW 2',
  'aa:bb:cc:dd:ee:ff',
  '7efd7ae43166',
  'a'.repeat(18),
  'a'.repeat(33),
  '2026-11-21T10:15:01Z',
  '2026-11-21T10:15:01.5+01:00',
  '2026-02-30T10:15:01Z',
  '2026-11-21T10:15:01.1234Z',
  '1,2,3',
  '1,,2',
  '1000',
  [],
  [1],
  {},
]

const BATCH_FIELDS = ['v', 'gatewayId', 'bootId', 'seq', 'sentAt', 'sightings', 'extra']
const SIGHTING_FIELDS = ['t', 'mac', 'rssi', 'radio', 'seqNum', 'ie', 'extra']

/** The fields ingest reads, from a batch the fast check or the schema returned. */
const readFields = (b: SightingsBatch) => ({
  v: b.v,
  gatewayId: b.gatewayId,
  bootId: b.bootId,
  seq: b.seq,
  sentAt: b.sentAt,
  sightings: b.sightings.map((s) => ({
    t: s.t,
    mac: s.mac,
    rssi: s.rssi,
    radio: s.radio,
    seqNum: s.seqNum,
    ie: s.ie,
  })),
})

describe('sightingsBatchFast', () => {
  it('takes the usual batch as the schema does', () => {
    const fast = sightingsBatchFast(base())
    expect(fast).toBeDefined()
    const zod = SightingsBatchSchema.parse(base())
    expect(readFields(fast!.batch)).toEqual(readFields(zod))
    expect(fast!.sentAtMs).toBe(toEpochMs(zod.sentAt))
    expect([...fast!.times]).toEqual(zod.sightings.map((s) => toEpochMs(s.t)))
  })

  it('never accepts what the schema refuses, and reads what it accepts alike (seeded mutations)', () => {
    const next = rng(42)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!
    let fastTook = 0
    let declinedButValid = 0
    let refused = 0
    for (let i = 0; i < 20_000; i++) {
      const batch = base()
      const sightings = batch.sightings as Record<string, unknown>[]
      // One to three changes: a batch field, or a field of one sighting.
      const changes = 1 + Math.floor(next() * 3)
      for (let c = 0; c < changes; c++) {
        const value = pick(POOL)
        const target: Record<string, unknown> = next() < 0.35 ? batch : pick(sightings)
        const field = pick(target === batch ? BATCH_FIELDS : SIGHTING_FIELDS)
        if (value === undefined) Reflect.deleteProperty(target, field)
        else target[field] = value
      }
      const fast = sightingsBatchFast(batch)
      const zod = SightingsBatchSchema.safeParse(batch)
      if (fast !== undefined) {
        fastTook++
        expect(zod.success, JSON.stringify(batch)).toBe(true)
        if (zod.success) {
          expect(readFields(fast.batch)).toEqual(readFields(zod.data))
          expect(fast.sentAtMs).toBe(toEpochMs(zod.data.sentAt))
          expect([...fast.times]).toEqual(zod.data.sightings.map((s) => toEpochMs(s.t)))
        }
      } else if (zod.success) declinedButValid++
      else refused++
    }
    // The mutations reach all three outcomes, so the property is exercised both ways.
    expect(fastTook).toBeGreaterThan(1_000)
    expect(declinedButValid).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(1_000)
  })

  it('leaves a batch with a time zone offset to the schema, which accepts it', () => {
    const batch = { ...base(), sentAt: '2026-11-21T11:15:05+01:00' }
    expect(sightingsBatchFast(batch)).toBeUndefined()
    expect(SightingsBatchSchema.safeParse(batch).success).toBe(true)
  })
})
