import { describe, expect, it } from 'vitest'
import { compareTransits, multisetDiff, type OpenRow, type TransitRow } from './compare.ts'

const t = (gatewayId: string, firstS: number, lastS: number, samples: number): TransitRow => ({
  gatewayId,
  zoneId: `z-${gatewayId}`,
  shopId: null,
  firstMs: firstS * 1000,
  lastMs: lastS * 1000,
  samples,
  peakRssi: -60,
  visitor: false,
  dwellS: lastS - firstS,
  radio: 'wifi',
  randomised: false,
  thresholdVersion: 1,
  calibrationVersion: 1,
})
const open = (gatewayId: string, samples: number): OpenRow => ({
  gatewayId,
  firstMs: 0,
  lastMs: 1000,
  samples,
  peakRssi: -60,
  radio: 'ble',
  randomised: true,
  lastSeqNum: null,
})

const base = {
  transits: [t('a', 0, 100, 5), t('a', 0, 100, 5), t('b', 10, 400, 9), t('c', 5, 6, 2)],
  open: [open('a', 3)],
}

describe('comparing a fault run with its baseline', () => {
  it('finds nothing when the runs match, whatever the row order', () => {
    const c = compareTransits(base, {
      transits: [...base.transits].reverse(),
      open: base.open,
    })
    expect(c).toEqual({
      same: 4,
      splits: [],
      merges: [],
      lost: [],
      duplicated: [],
      sightingDiff: new Map(),
    })
  })

  it('counts a missing transit as lost and an extra one as duplicated, as multisets', () => {
    const c = compareTransits(base, {
      transits: [t('a', 0, 100, 5), t('b', 10, 400, 9), t('c', 5, 6, 2), t('c', 5, 6, 2)],
      open: base.open,
    })
    expect(c.lost).toEqual([t('a', 0, 100, 5)])
    expect(c.duplicated).toEqual([t('c', 5, 6, 2)])
    expect(c.sightingDiff).toEqual(
      new Map([
        ['a', 5],
        ['c', -2],
      ]),
    )
  })

  it('tells a split (same sightings, two transits) from a loss', () => {
    const parts = [t('b', 10, 150, 4), t('b', 290, 400, 5)]
    const c = compareTransits(base, {
      transits: [base.transits[0]!, base.transits[1]!, ...parts, base.transits[3]!],
      open: base.open,
    })
    expect(c.splits).toEqual([{ whole: t('b', 10, 400, 9), parts }])
    expect(c.lost).toEqual([])
    expect(c.duplicated).toEqual([])
    expect(c.sightingDiff.size).toBe(0)
    // Parts that do not add up to the whole are a loss and a duplicate, not a split.
    const short = compareTransits(base, {
      transits: [base.transits[0]!, base.transits[1]!, t('b', 10, 150, 4), t('b', 290, 400, 4)],
      open: base.open,
    })
    expect(short.splits).toEqual([])
    expect(short.lost).toHaveLength(2)
  })

  it('tells a merge from a duplicate', () => {
    const c = compareTransits(
      { transits: [t('d', 0, 50, 2), t('d', 200, 300, 3)], open: [] },
      { transits: [t('d', 0, 300, 5)], open: [] },
    )
    expect(c.merges).toEqual([
      { whole: t('d', 0, 300, 5), parts: [t('d', 0, 50, 2), t('d', 200, 300, 3)] },
    ])
    expect(c.duplicated).toEqual([])
    expect(c.lost).toEqual([])
  })

  it('counts sightings of open sessions too', () => {
    const c = compareTransits(base, { transits: base.transits, open: [open('a', 2)] })
    expect(c.sightingDiff).toEqual(new Map([['a', 1]]))
    expect(multisetDiff([1, 1, 2], [1, 2, 2], String)).toEqual({ onlyA: [1], onlyB: [2] })
  })
})
