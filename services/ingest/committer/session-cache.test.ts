import { describe, expect, it } from 'vitest'
import { packSightings } from '../session-log.ts'
import { replay } from './session-cache.ts'

const RULES = { gapMs: 120_000, staticAfterMs: 30 * 60_000 }
const T0 = Date.UTC(2026, 11, 7, 9)
const sighting = (pseudonym: string, tMs: number) =>
  ({ pseudonym, tMs, rssi: -60, radio: 'wifi', randomised: false }) as const

describe('replay', () => {
  it('rebuilds from the checkpoint and the log after it, statics kept, the version from the head', () => {
    const state = replay(
      // The privacy job moved the version past the log's last row (7 > 5).
      { sessionVersion: 7, checkpointVersion: 3, checkpointWatermarkMs: T0 },
      {
        open: [
          {
            pseudonym: '1',
            firstMs: T0 - 60_000,
            lastMs: T0,
            peakRssi: -70,
            samples: 2,
            radio: 'wifi',
            randomised: false,
          },
        ],
        statics: [['9', T0 - 3_600_000]],
        log: [
          {
            version: 4,
            sentAtMs: T0 + 30_000,
            sightings: packSightings(
              [sighting('1', T0 + 20_000), sighting('9', T0 + 20_000)],
              new Set(),
            ),
          },
          {
            version: 5,
            sentAtMs: T0 + 60_000,
            sightings: packSightings([sighting('2', T0 + 50_000)], new Set()),
          },
        ],
      },
      RULES,
      T0 + 60_000,
    )
    expect(state.version).toBe(7)
    expect(state.watermarkMs).toBe(T0 + 60_000)
    expect(state.open.get('1')).toMatchObject({
      firstMs: T0 - 60_000,
      lastMs: T0 + 20_000,
      samples: 3,
    })
    expect(state.open.get('2')).toMatchObject({ firstMs: T0 + 50_000, samples: 1 })
    // A static device stays out of the sessions.
    expect(state.open.has('9')).toBe(false)
  })
})
