import { describe, expect, it } from 'vitest'
import { transferablesOf, transitColumns } from './history-repository.ts'
import type { GatewayTransit, RegisteredGateway } from './model.ts'

const gateway = (id: string): RegisteredGateway => ({
  id,
  zoneId: `z-${id}`,
  shopId: null,
  rssiFloor: -90,
  thresholds: { version: 3, minRssi: -67, minDwellS: 60 },
  calibration: { version: 1, factor: 1 },
  source: { format: 'native' },
  sourceKey: null,
})
const gateways = [gateway('gw-a'), gateway('gw-b')]
const transit = (
  g: RegisteredGateway,
  over: Partial<GatewayTransit['transit']> = {},
): GatewayTransit => ({
  gateway: g,
  transit: {
    pseudonym: '-123456789',
    firstMs: 1_796_511_600_123,
    lastMs: 1_796_511_690_456,
    peakRssi: -58,
    samples: 7,
    radio: 'ble',
    randomised: false,
    dwellS: 90.333,
    visitor: false,
    thresholdVersion: 3,
    ...over,
  },
})

describe('transitColumns', () => {
  it('keeps every field of a transit but its pseudonym, in columns that move between threads', () => {
    const rows = [
      transit(gateways[1] as RegisteredGateway, { radio: 'wifi', visitor: true }),
      transit(gateways[0] as RegisteredGateway, { randomised: true, peakRssi: -127 }),
    ]
    const c = transitColumns(rows, gateways)
    expect(c.count).toBe(2)
    expect([...c.gateway]).toEqual([1, 0])
    expect([...c.firstMs]).toEqual([1_796_511_600_123, 1_796_511_600_123])
    expect([...c.lastMs]).toEqual([1_796_511_690_456, 1_796_511_690_456])
    expect(c.dwellS[0]).toBeCloseTo(90.333, 4)
    expect([...c.peakRssi]).toEqual([-58, -127])
    expect([...c.samples]).toEqual([7, 7])
    expect([...c.thresholdVersion]).toEqual([3, 3])
    // Wi-Fi 1, randomised 2, visitor 4.
    expect([...c.flags]).toEqual([1 | 4, 2])
    expect(JSON.stringify(Object.values(c).map((v) => String(v)))).not.toContain('-123456789')
    expect(transferablesOf(c)).toHaveLength(8)
    expect(() => transitColumns([transit(gateway('gw-unknown'))], gateways)).toThrow(/gw-unknown/)
  })
})
