import { describe, expect, it } from 'vitest'
import type { Alert } from '../../shared/contracts/alerts.ts'
import { changedAlerts } from './alert-follower.ts'

const alert = (id: string, over: Partial<Alert> = {}): Alert => ({
  id,
  kind: 'gateway_silent',
  zoneId: 'z',
  shopId: null,
  gatewayId: 'gw-1',
  raisedAt: '2026-12-07T10:00:00.000Z',
  clearedAt: null,
  details: {},
  acknowledgedBy: null,
  acknowledgedAt: null,
  summary: 'gateway gw-1 silent',
  ...over,
})

describe('changedAlerts', () => {
  it('learns the state on the first read, then finds new, cleared and acknowledged alerts only', () => {
    expect(changedAlerts(null, [alert('1')])).toEqual([])
    const known = new Map([
      ['1', '|'],
      ['2', '|'],
      ['3', '|'],
    ])
    const now = [
      alert('1'),
      alert('2', { clearedAt: '2026-12-07T10:05:00.000Z' }),
      alert('3', { acknowledgedAt: '2026-12-07T10:06:00.000Z', acknowledgedBy: 'k' }),
      alert('4'),
    ]
    expect(changedAlerts(known, now).map((a) => a.id)).toEqual(['2', '3', '4'])
  })
})
