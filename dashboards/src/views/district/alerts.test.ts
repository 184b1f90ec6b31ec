import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../../services/shared/contracts/ranges-api.ts'
import { currentAlerts } from './alerts.ts'
import { bandByBucket } from './series.ts'
import { usualNow } from './kpis.ts'
import { en } from '../../i18n.ts'

const alert = (id: string, raisedAt: string, patch: Partial<Alert> = {}): Alert => ({
  id,
  kind: 'gateway_silent',
  zoneId: 'z',
  shopId: null,
  gatewayId: `gw-${id}`,
  raisedAt,
  clearedAt: null,
  details: {},
  acknowledgedBy: null,
  acknowledgedAt: null,
  summary: `gateway gw-${id} silent`,
  ...patch,
})

describe('the alerts panel', () => {
  it('shows an alert pushed live at once, and drops one cleared live', () => {
    const loaded = [alert('1', '2026-12-07T10:00:00Z'), alert('2', '2026-12-07T10:05:00Z')]
    const pushed = [
      alert('3', '2026-12-07T10:10:00Z'),
      alert('1', '2026-12-07T10:00:00Z', { clearedAt: '2026-12-07T10:12:00Z' }),
    ]
    expect(currentAlerts(loaded, pushed).map((a) => a.id)).toEqual(['3', '2'])
  })
})

describe('the series band', () => {
  it("sums the zones' bands per bucket and leaves out buckets without a band", () => {
    const row = (zoneId: string, bucketStart: string, low: number | null, high: number | null) => ({
      zoneId,
      bucketStart,
      value: 0,
      usual: low,
      low,
      high,
      samples: low === null ? 0 : 4,
      side: null,
      weekday: 1,
      hour: 11,
    })
    const band = bandByBucket({
      from: '2026-12-07T10:00:00.000Z',
      to: '2026-12-07T12:00:00.000Z',
      bucket: '1h',
      metric: 'footfall',
      timezone: 'Europe/Rome',
      zoneId: null,
      shopId: null,
      weeks: 8,
      minSamples: 3,
      z: 2,
      excluded: [],
      rows: [
        row('a', '2026-12-07T10:00:00.000Z', 5, 10),
        row('b', '2026-12-07T10:00:00.000Z', 1, 2),
        row('a', '2026-12-07T11:00:00.000Z', 5, 10),
        row('b', '2026-12-07T11:00:00.000Z', null, null),
      ],
    })
    expect(band).toEqual([{ t: '2026-12-07T10:00:00.000Z', low: 6, high: 12 }])
  })
})

describe('the KPI of this hour', () => {
  it('sums the zones into "usual for a Monday at 11", and says nothing without a band', () => {
    const row = (zoneId: string, value: number, usual: number | null) => ({
      zoneId,
      bucketStart: '2026-12-07T10:00:00.000Z',
      value,
      usual,
      low: usual === null ? null : usual - 2,
      high: usual === null ? null : usual + 2,
      samples: usual === null ? 0 : 3,
      side: null,
      weekday: 1,
      hour: 11,
    })
    const response = (rows: ReturnType<typeof row>[]) => ({
      from: '2026-12-07T10:00:00.000Z',
      to: '2026-12-07T11:00:00.000Z',
      bucket: '1h' as const,
      metric: 'footfall' as const,
      timezone: 'Europe/Rome',
      zoneId: null,
      shopId: null,
      weeks: 8,
      minSamples: 3,
      z: 2,
      excluded: [],
      rows,
    })
    expect(usualNow(response([row('a', 5, 10), row('b', 7, 20)]))).toEqual({
      value: 12,
      usual: 30,
      low: 26,
      high: 34,
      weekday: 1,
      hour: 11,
    })
    expect(usualNow(response([row('a', 5, 10), row('b', 7, null)]))).toBeNull()
    expect(en.kpi.usualFor('Monday', 11, '30', '26–34')).toBe(
      'usual for a Monday at 11: 30 (26–34)',
    )
  })
})
