import { describe, expect, it } from 'vitest'
import { createMinuteTruth } from './occupancy.ts'

describe('occupancy accuracy figures', () => {
  it('averages the occupancy of the rows of each minute and skips minutes without rows', () => {
    const truth = createMinuteTruth()
    truth.add(120_500, 3)
    truth.add(179_999, 5)
    truth.add(0, 1)
    truth.add(300_000, 0)
    expect([...truth.minutes()]).toEqual([
      [0, 1],
      [120_000, 4],
      [300_000, 0],
    ])
  })
})
