import { describe, expect, it } from 'vitest'
import { alertFixture } from '../api-test-helpers.ts'
import { changedAlerts } from './alert-follower.ts'

const alert = alertFixture

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
