import { describe, expect, it } from 'vitest'
import { DEFAULT_ALERT_RULES } from '../../shared/contracts/alert-rules.ts'
import {
  bandConditions,
  deadLetterConditions,
  gatewayConditions,
  reconcile,
  summaryOf,
  type BandTrack,
} from './alert-conditions.ts'

const rules = DEFAULT_ALERT_RULES
const band = { usual: 100, low: 80, high: 120, samples: 8 }
const H = 3_600_000
const track = (values: number[], o: Partial<BandTrack> = {}, comparable = true): BandTrack => ({
  zoneId: 'piazza',
  shopId: null,
  buckets: values.map((value, i) => ({ startMs: i * H, value, band, comparable })),
  ...o,
})

describe('alert conditions', () => {
  it('raises a zone or shop outside its band for N consecutive hours, not fewer', () => {
    expect(bandConditions([track([100, 200, 200, 200])], rules)).toMatchObject([
      { kind: 'zone_outside_band', zoneId: 'piazza', details: { direction: 'above', value: 200 } },
    ])
    expect(bandConditions([track([200, 200, 100])], rules)).toEqual([])
    expect(bandConditions([track([200, 200])], rules)).toEqual([])
    // Below, then above: outside all the same.
    expect(bandConditions([track([10, 10, 300], { shopId: 'bar' })], rules)).toMatchObject([
      { kind: 'shop_outside_band', shopId: 'bar', details: { direction: 'above' } },
    ])
    expect(
      bandConditions([track([200, 200], {})], { ...rules, outsideBandBuckets: 2 }),
    ).toHaveLength(1)
  })

  it('raises nothing on days that are not comparable or without a band', () => {
    expect(bandConditions([track([300, 300, 300], {}, false)], rules)).toEqual([])
    const noBand = track([300, 300, 300])
    noBand.buckets[1] = { startMs: H, value: 300, band: null, comparable: true }
    expect(bandConditions([noBand], rules)).toEqual([])
  })

  it('raises a silent gateway, and a collapsing rate only against a usual worth comparing', () => {
    const now = 100 * 60_000
    const g = {
      gatewayId: 'gw-1',
      zoneId: 'z',
      shopId: null,
      lastMessageMs: now - 60_000,
      lastHour: 10,
      lastHourBand: band,
      comparable: true,
    }
    expect(gatewayConditions([g], now, rules)).toMatchObject([
      { kind: 'gateway_rate_collapse', gatewayId: 'gw-1', details: { lastHour: 10, usual: 100 } },
    ])
    expect(gatewayConditions([{ ...g, lastHour: 30 }], now, rules)).toEqual([])
    expect(gatewayConditions([{ ...g, comparable: false }], now, rules)).toEqual([])
    expect(
      gatewayConditions([{ ...g, lastHourBand: { ...band, usual: 20 }, lastHour: 0 }], now, rules),
    ).toEqual([])
    expect(
      gatewayConditions([{ ...g, lastMessageMs: now - 16 * 60_000 }], now, rules),
    ).toMatchObject([{ kind: 'gateway_silent', details: { silentMinutes: 16 } }])
    expect(gatewayConditions([{ ...g, lastMessageMs: null, lastHour: 0 }], now, rules)).toEqual([])
  })

  it('raises rising dead letters only above the floor and the rise over the day before', () => {
    expect(deadLetterConditions({ lastHour: 25, dayBefore: 24 }, rules)).toHaveLength(1)
    expect(deadLetterConditions({ lastHour: 19, dayBefore: 0 }, rules)).toEqual([])
    expect(deadLetterConditions({ lastHour: 50, dayBefore: 24 * 20 }, rules)).toEqual([])
  })

  it('raises what is new, clears what is gone, leaves what holds', () => {
    const open = [
      { id: '1', kind: 'gateway_silent', zoneId: 'z', shopId: null, gatewayId: 'gw-1' },
      { id: '2', kind: 'dead_letters_rising', zoneId: null, shopId: null, gatewayId: null },
    ]
    const plan = reconcile(open, [
      { kind: 'gateway_silent', zoneId: 'z', shopId: null, gatewayId: 'gw-1', details: {} },
      { kind: 'gateway_silent', zoneId: 'z', shopId: null, gatewayId: 'gw-2', details: {} },
    ])
    expect(plan.raise.map((c) => c.gatewayId)).toEqual(['gw-2'])
    expect(plan.clear.map((a) => a.id)).toEqual(['2'])
  })

  it('says each kind in one line', () => {
    expect(
      summaryOf({
        kind: 'zone_outside_band',
        zoneId: 'piazza',
        shopId: null,
        gatewayId: null,
        details: { direction: 'above', buckets: [1, 2, 3], value: 200, usual: 100 },
      }),
    ).toBe('zone piazza above its usual range for 3 hours (last: 200, usual 100)')
  })
})
