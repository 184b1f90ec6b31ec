import { describe, expect, it } from 'vitest'
import { demoFault, earliestLiveTime } from './simulator-loop.ts'
import { loadConfig } from '../services/shared/config.ts'
import { tinyDistrict } from '../services/shared/testing/fixtures.ts'
import { parseFaults } from '../simulator/faults.ts'

const H = 3_600_000
const config = (backfillH: number) => ({
  tz: 'Europe/Rome',
  keyGraceMs: 2 * H,
  backfillMs: backfillH * H,
})

describe(earliestLiveTime.name, () => {
  it('backfills the whole window inside today', () => {
    const now = Date.parse('2026-11-21T15:00:00Z') // 16:00 in Rome
    expect(earliestLiveTime(now, config(2))).toBe(now - 2 * H)
  })

  it('stops at local midnight once the previous day key is destroyed', () => {
    const now = Date.parse('2026-11-21T03:00:00Z') // 04:00 in Rome, past the 2 h grace
    expect(earliestLiveTime(now, config(6))).toBe(Date.parse('2026-11-20T23:00:00Z'))
  })

  it('may reach into yesterday while its key is still alive', () => {
    const now = Date.parse('2026-11-21T00:00:00Z') // 01:00 in Rome, inside the grace
    expect(earliestLiveTime(now, config(3))).toBe(now - 3 * H)
  })

  it('never goes back 24 h, the oldest sighting ingest accepts', () => {
    const now = Date.parse('2026-11-21T00:30:00Z')
    expect(earliestLiveTime(now, config(48))).toBeGreaterThanOrEqual(now - 23 * H)
  })
})

describe(demoFault.name, () => {
  it('takes the last gateway offline in the demo with history only, as a valid fault', () => {
    const district = tinyDistrict()
    const last = district.gateways.at(-1)?.id
    const fault = demoFault(loadConfig({}), district)
    expect(fault).toBe(`offline:${last}@30s-20m`)
    expect(parseFaults(fault ?? '')).toMatchObject([
      { kind: 'offline', gatewayId: last, fromOffsetMs: 30_000, toOffsetMs: 1_200_000 },
    ])
    expect(demoFault(loadConfig({ SIM_HISTORY: '0' }), district)).toBeNull()
  })
})
