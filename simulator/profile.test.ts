import { describe, expect, it } from 'vitest'
import { createStreetModel, DEMO_SCENARIO, SHOPPING_DAY_HOURS } from './street-model.ts'
import { mestreDistrict } from './test-helpers.ts'

const district = mestreDistrict()
const HOUR_MS = 3_600_000
/** Wednesday 18 November 2026, 00:00 in Rome (UTC+1). */
const WEDNESDAY_MS = Date.parse('2026-11-17T23:00:00Z')
/** χ² critical value for 23 degrees of freedom at p = 0.001. */
const CHI2_23_P001 = 49.73

describe('a generated weekday matches its hourly profile', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: arrivals per local hour (chi-square over 24 hours, and ±4σ each hour)`, () => {
      const model = createStreetModel(
        district,
        seed,
        WEDNESDAY_MS,
        WEDNESDAY_MS + 24 * HOUR_MS,
        DEMO_SCENARIO,
      )
      // Groups, not people, arrive as a Poisson process: count one arrival per group.
      const observed = Array.from({ length: 24 }, () => 0)
      const seen = new Set<string>()
      for (const p of model.arrivals()) {
        const unit = p.groupId ?? p.id
        if (seen.has(unit)) continue
        seen.add(unit)
        const hour = Math.floor((p.arriveMs - WEDNESDAY_MS) / HOUR_MS)
        observed[hour] = (observed[hour] ?? 0) + 1
      }
      const expected = observed.map(
        (_, h) =>
          model.expectedArrivals(WEDNESDAY_MS + h * HOUR_MS, WEDNESDAY_MS + (h + 1) * HOUR_MS) /
          model.meanGroupSize,
      )
      // The expected profile is the weekday factor × the shopping-day shape.
      const wednesday = 0.95
      expected.forEach((e, h) =>
        expect(e).toBeCloseTo((900 * wednesday * (SHOPPING_DAY_HOURS[h] ?? 0)) / 1.6, 6),
      )
      let chi2 = 0
      observed.forEach((o, h) => {
        const e = expected[h] ?? 0
        chi2 += (o - e) ** 2 / e
        expect(Math.abs(o - e), `hour ${h}: ${o} vs ${e.toFixed(1)}`).toBeLessThanOrEqual(
          4 * Math.sqrt(e) + 1,
        )
      })
      expect(chi2).toBeLessThan(CHI2_23_P001)
      expect(observed.reduce((a, b) => a + b, 0)).toBeGreaterThan(8000)
    })
  }
})
