import { describe, expect, it } from 'vitest'
import {
  conformalQuantile,
  correlationWithinGroups,
  estimateWith,
  fitCalibration,
  fitForm,
  intervalScale,
  kneeOf,
  leastSquares,
  LEVEL_NEARLY_EMPTY,
  levelIndex,
  MIN_LEVEL_SCORES,
  MIN_KNEE_DAYS,
  MIN_KNEE_SESSIONS,
  MIN_SESSIONS,
  predict,
  qOf,
  type CalibrationModel,
  type CountKind,
  type FitOptions,
  type Observation,
} from './calibration.ts'
import { DEFAULT_ESTIMATOR_OPTIONS } from './estimator.ts'
import { seededRandom } from '../contracts/seeded-random.ts'

/** The 15-minute count window `i` of day `d` (1-based day of month `month`), with its devices. */
function windowObs(
  d: number,
  i: number,
  people: number,
  devices: Observation['devices'],
  o: { kind?: Observation['session']['kind']; month?: string } = {},
): Observation {
  return {
    session: {
      zoneId: 'z-a',
      fromMs: (d * 100 + i) * 900_000,
      toMs: (d * 100 + i + 1) * 900_000,
      kind: o.kind ?? 'present',
      people,
      day: `2026-${o.month ?? '01'}-${String(d + 1).padStart(2, '0')}`,
    },
    devices,
  }
}

/** A small seeded generator (mulberry32) with uniform and normal draws. */
function createRng(seed: number) {
  const next = seededRandom(seed)
  return {
    uniform: (lo: number, hi: number) => lo + (hi - lo) * next(),
    normal: (mean: number, sd: number) =>
      mean + sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  }
}

const FIT: FitOptions = { version: 3, fittedAtMs: 1_000, estimator: DEFAULT_ESTIMATOR_OPTIONS }

/**
 * Synthetic count sessions where the truth is known: people = a + bs·stable + br·randomised plus
 * noise of sd `noise`·√(people + 1), `perDay` sessions a day over `days` days; each day has its own
 * drift (a factor of 1 ± dayDrift) as real days do.
 */
function synthetic(o: {
  a?: number
  bs: number
  br: number
  days: number
  perDay: number
  noise: number
  dayDrift?: number
  kind?: CountKind
  seed?: number
  minPeople?: number
}): Observation[] {
  const rng = createRng(o.seed ?? 1)
  const out: Observation[] = []
  for (let d = 0; d < o.days; d++) {
    const drift = 1 + (o.dayDrift ?? 0) * rng.uniform(-1, 1)
    for (let i = 0; i < o.perDay; i++) {
      const stable = rng.uniform(o.minPeople ?? 2, 20)
      const randomised = rng.uniform(0, 30)
      const mean = Math.max(0, ((o.a ?? 0) + o.bs * stable + o.br * randomised) * drift)
      const people = Math.max(0, mean + rng.normal(0, o.noise * Math.sqrt(mean + 1)))
      out.push(windowObs(d, i, people, { stable, randomised }, { kind: o.kind }))
    }
  }
  return out
}

describe(leastSquares.name, () => {
  it('solves an exact system and refuses a singular one', () => {
    const b = leastSquares(
      [
        [1, 1],
        [1, 2],
        [1, 3],
      ],
      [3, 5, 7],
    )
    expect(b?.[0]).toBeCloseTo(1)
    expect(b?.[1]).toBeCloseTo(2)
    expect(
      leastSquares(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeNull()
  })
})

describe(fitForm.name, () => {
  it('recovers the slopes of a noise-free mix, and never fits a negative slope', () => {
    const obs = synthetic({ bs: 0.8, br: 0.1, days: 2, perDay: 20, noise: 0 })
    const c = fitForm(obs, 'mix')
    expect(c.stable).toBeCloseTo(0.8)
    expect(c.randomised).toBeCloseTo(0.1)
    expect(c.intercept).toBe(0)
    // Randomised devices that only add noise get a slope of 0, not a negative one.
    const noisy = synthetic({ bs: 0.8, br: -0.2, days: 2, perDay: 30, noise: 0 })
    expect(fitForm(noisy, 'mix').randomised).toBe(0)
  })

  it('fits the empty-room floor as an intercept', () => {
    const obs = synthetic({ a: -2, bs: 1, br: 0, days: 2, perDay: 20, noise: 0, minPeople: 3 })
    const c = fitForm(obs, 'floor+mix')
    expect(c.intercept).toBeCloseTo(-2)
    expect(c.stable).toBeCloseTo(1)
  })
})

describe('held-out fits from sufficient statistics', () => {
  it('give the quality a row-by-row leave-one-day-out gives, for every form', () => {
    // Empty rooms and a negative floor: the floor forms are tried and some estimates are clipped.
    const obs = synthetic({
      a: -1.5,
      bs: 0.7,
      br: 0.1,
      days: 5,
      perDay: 14,
      noise: 0.3,
      minPeople: 0,
    })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    const days = [...new Set(obs.map((x) => x.session.day))]
    // The knee is the devices' median over all sessions (it uses no count), the same in every fold.
    const knee = kneeOf(obs)
    for (const form of ['factor', 'mix', 'floor+factor', 'floor+mix', 'knee'] as const) {
      let abs = 0
      for (const d of days) {
        const c = fitForm(
          obs.filter((x) => x.session.day !== d),
          form,
          form === 'knee' ? knee : null,
        )
        for (const x of obs.filter((y) => y.session.day === d))
          abs += Math.abs(predict(c, x.devices) - x.session.people)
      }
      expect(r.model.present?.formsTried[form]).toBeCloseTo(abs / obs.length, 9)
    }
  })

  it('fitForm equals least squares over the rows (one slope and a floor)', () => {
    const obs = synthetic({ a: -2, bs: 0.5, br: 0.5, days: 2, perDay: 20, noise: 0.5, seed: 7 })
    const b = leastSquares(
      obs.map((x) => [1, x.devices.stable + x.devices.randomised]),
      obs.map((x) => x.session.people),
    )
    const c = fitForm(obs, 'floor+factor')
    expect(c.intercept).toBeCloseTo(b?.[0] ?? NaN, 9)
    expect(c.stable).toBeCloseTo(b?.[1] ?? NaN, 9)
    expect(c.randomised).toBe(c.stable)
  })

  it('skipNestedCoverage gives the same model without the nested coverage', () => {
    const obs = synthetic({ bs: 0.8, br: 0.2, days: 5, perDay: 12, noise: 0.3 })
    const full = fitCalibration(obs, FIT)
    const fast = fitCalibration(obs, { ...FIT, skipNestedCoverage: true })
    if (!full.ok || !fast.ok) throw new Error('refused')
    expect(full.model.present?.quality.coveragePct).toBeGreaterThan(0)
    expect(fast.model.present?.quality.coveragePct).toBeNaN()
    expect({ ...fast.model.present, quality: null }).toEqual({
      ...full.model.present,
      quality: null,
    })
  })
})

describe('the floor', () => {
  it('is never positive: people without a device are not extrapolated to empty rooms', () => {
    // A crowd whose count barely follows the devices, and three nearly empty sessions.
    const obs = synthetic({ a: 8, bs: 0.2, br: 0.2, days: 3, perDay: 20, noise: 0, minPeople: 5 })
    for (let i = 0; i < 3; i++)
      obs.push({
        session: { ...(obs[0]?.session as Observation['session']), people: 1 },
        devices: { stable: 0, randomised: 0 },
      })
    for (const form of ['floor+factor', 'floor+mix'] as const) {
      const c = fitForm(obs, form)
      expect(c.intercept).toBeLessThanOrEqual(0)
      expect(c).toEqual(fitForm(obs, form === 'floor+mix' ? 'mix' : 'factor'))
    }
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(estimateWith(r.model.present, { stable: 0, randomised: 0 })?.people).toBe(0)
  })
})

describe(correlationWithinGroups.name, () => {
  it('is near 1 when a day moves all its errors together, near 0 when they are independent, 1 without pairs', () => {
    const rng = createRng(5)
    const together = Array.from({ length: 200 }, (_, i) => ({ group: i % 10, z: (i % 10) - 4.5 }))
    expect(correlationWithinGroups(together)).toBeCloseTo(1)
    const independent = Array.from({ length: 2000 }, (_, i) => ({
      group: i % 10,
      z: rng.normal(0, 1),
    }))
    expect(correlationWithinGroups(independent)).toBeLessThan(0.05)
    expect(correlationWithinGroups([{ group: 0, z: 1 }])).toBe(1)
  })
})

describe(conformalQuantile.name, () => {
  it('is the ⌈(n + 1)·0.9⌉-th smallest score, the largest when n is small', () => {
    const scores = Array.from({ length: 19 }, (_, i) => i + 1)
    expect(conformalQuantile(scores, 0.9)).toBe(18)
    expect(conformalQuantile([1, 2, 3], 0.9)).toBe(3)
    expect(conformalQuantile([], 0.9)).toBeNaN()
  })
})

describe(fitCalibration.name, () => {
  it('recovers a known factor with its fit quality, held out by day', () => {
    const obs = synthetic({ bs: 0.8, br: 0.8, days: 4, perDay: 12, noise: 0.3 })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    const m = r.model.present
    expect(m?.form).toBe('factor')
    expect(m?.coefficients.stable).toBeGreaterThan(0.75)
    expect(m?.coefficients.stable).toBeLessThan(0.85)
    expect(m?.quality).toMatchObject({ sessions: 48, folds: 4, heldOut: 'day' })
    expect(m?.quality.mapePct).toBeLessThan(10)
    expect(r.model).toMatchObject({ version: 3, zoneId: 'z-a', fittedAtMs: 1_000, arrivals: null })
    expect(r.model.refused).toEqual([{ kind: 'arrivals', reason: 'no count sessions of arrivals' }])
  })

  it('chooses the radio mix when stable and randomised devices stand for different numbers of people', () => {
    const obs = synthetic({ bs: 1, br: 0.05, days: 4, perDay: 12, noise: 0.2 })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present?.form).toBe('mix')
    expect(r.model.present?.formsTried.factor).toBeGreaterThan(r.model.present?.formsTried.mix ?? 0)
  })

  it('fits the floor only when counts saw a nearly empty room', () => {
    const busy = synthetic({ a: -3, bs: 1, br: 0, days: 4, perDay: 12, noise: 0.1, minPeople: 5 })
    const r1 = fitCalibration(busy, FIT)
    if (!r1.ok) throw new Error(r1.reason)
    expect(r1.model.present?.formsTried['floor+factor']).toBeUndefined()
    const withEmpty = synthetic({
      a: -3,
      bs: 1,
      br: 0,
      days: 4,
      perDay: 12,
      noise: 0.1,
      minPeople: 0,
    })
    const r2 = fitCalibration(withEmpty, FIT)
    if (!r2.ok) throw new Error(r2.reason)
    expect(r2.model.present?.form).toMatch(/^floor/)
    expect(r2.model.present?.coefficients.intercept).toBeLessThan(-2)
    // An empty room (its devices below the floor) is estimated at 0, not at a few people.
    expect(estimateWith(r2.model.present, { stable: 2, randomised: 0 })?.people).toBe(0)
  })

  it('gives 90 % intervals that cover about 90 % of new days (checked on days never fitted)', () => {
    let covered = 0
    let total = 0
    for (let seed = 1; seed <= 20; seed++) {
      const all = synthetic({
        bs: 0.8,
        br: 0.2,
        days: 5,
        perDay: 16,
        noise: 0.4,
        dayDrift: 0.08,
        seed,
      })
      const test = all.filter((x) => x.session.day === '2026-01-05')
      const r = fitCalibration(
        all.filter((x) => x !== undefined && !test.includes(x)),
        FIT,
      )
      if (!r.ok) throw new Error(r.reason)
      for (const x of test) {
        const e = estimateWith(r.model.present, x.devices)
        if (!e) throw new Error('no estimate')
        total++
        if (x.session.people >= e.low && x.session.people <= e.high) covered++
      }
    }
    const coverage = covered / total
    expect(total).toBe(320)
    expect(coverage).toBeGreaterThan(0.83)
    expect(coverage).toBeLessThan(0.97)
  })

  it('covers crowds about 90 % of the time too, not only the many empty rooms (a quantile per level)', () => {
    // Most counts are of an empty room (nothing heard, nobody there: no error at all); the others
    // are crowds whose error is large. One quantile over all of them is set by the empty rooms.
    const crowdCoverage = (withLevels: boolean) => {
      let covered = 0
      let total = 0
      for (let seed = 1; seed <= 30; seed++) {
        const rng = createRng(seed)
        const all: Observation[] = []
        for (let d = 0; d < 7; d++) {
          const drift = 1 + 0.1 * rng.uniform(-1, 1)
          for (let i = 0; i < 40; i++) {
            const crowd = i % 4 === 0
            const stable = crowd ? rng.uniform(3, 20) : 0
            const mean = stable * drift
            const people = crowd ? Math.max(0, mean + rng.normal(0, 0.35 * mean)) : 0
            all.push(windowObs(d, i, people, { stable, randomised: 0 }))
          }
        }
        const test = all.filter((x) => x.session.day === '2026-01-07')
        const r = fitCalibration(
          all.filter((x) => !test.includes(x)),
          FIT,
        )
        if (!r.ok || !r.model.present) throw new Error('no model')
        // No estimate falls between the empty rooms' 0 and one person: that level is merged.
        const levels = r.model.present.levels
        expect(levels?.bounds).toEqual([1])
        expect(levels?.q[1]).toBeGreaterThan(levels?.q[0] ?? Infinity)
        const model = withLevels
          ? r.model.present
          : { ...r.model.present, qFromOne: undefined, levels: undefined }
        for (const x of test) {
          const e = estimateWith(model, x.devices)
          if (!e || e.people < 1) continue
          total++
          if (x.session.people >= e.low && x.session.people <= e.high) covered++
        }
      }
      expect(total).toBe(300)
      return covered / total
    }
    const pooled = crowdCoverage(false)
    const levels = crowdCoverage(true)
    expect(pooled).toBeLessThan(0.8)
    expect(levels).toBeGreaterThan(0.84)
    expect(levels).toBeLessThan(0.97)
  })

  it('widens the interval with the estimate (scale √(estimate + 1))', () => {
    const obs = synthetic({ bs: 0.8, br: 0.8, days: 3, perDay: 12, noise: 0.3 })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    const m = r.model.present
    const small = estimateWith(m, { stable: 1, randomised: 0 })
    const big = estimateWith(m, { stable: 20, randomised: 20 })
    expect(small && big).toBeTruthy()
    if (!small || !big || !m) return
    expect(big.high - big.people).toBeCloseTo(m.q * intervalScale(big.people))
    expect(big.high - big.low).toBeGreaterThan(small.high - small.low)
    expect(small.low).toBeGreaterThanOrEqual(0)
  })

  it('refuses with the reason: too few sessions, nothing heard, nobody counted, several zones, impossible counts', () => {
    const few = synthetic({ bs: 1, br: 0, days: 1, perDay: MIN_SESSIONS - 1, noise: 0 })
    expect(fitCalibration(few, FIT)).toEqual({
      ok: false,
      reason: `present: ${MIN_SESSIONS - 1} count sessions of people present; at least ${MIN_SESSIONS} are needed; arrivals: no count sessions of arrivals`,
    })
    const base = synthetic({ bs: 1, br: 0, days: 2, perDay: 6, noise: 0 })
    const silent = base.map((x) => ({ ...x, devices: { stable: 0, randomised: 0 } }))
    expect(fitCalibration(silent, FIT)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no device was heard') as unknown,
    })
    const nobody = base.map((x) => ({ ...x, session: { ...x.session, people: 0 } }))
    expect(fitCalibration(nobody, FIT)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('counted nobody') as unknown,
    })
    const twoZones = base.map((x, i) => ({
      ...x,
      session: { ...x.session, zoneId: i % 2 ? 'z-a' : 'z-b' },
    }))
    expect(fitCalibration(twoZones, FIT)).toEqual({
      ok: false,
      reason: 'count sessions of several zones (z-a, z-b): fit one zone at a time',
    })
    const negative = base.map((x, i) => (i ? x : { ...x, session: { ...x.session, people: -1 } }))
    expect(fitCalibration(negative, FIT)).toEqual({
      ok: false,
      reason: 'a count of -1 people is impossible',
    })
    expect(fitCalibration([], FIT)).toEqual({ ok: false, reason: 'no count sessions' })
  })

  it('fits arrivals and presence apart; one kind may be refused while the other is fitted', () => {
    const present = synthetic({ bs: 0.8, br: 0.8, days: 3, perDay: 10, noise: 0.2 })
    const arrivals = synthetic({ bs: 2, br: 2, days: 1, perDay: 3, noise: 0.2, kind: 'arrivals' })
    const r = fitCalibration([...present, ...arrivals], FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present).not.toBeNull()
    expect(r.model.arrivals).toBeNull()
    expect(r.model.refused[0]?.reason).toMatch(/3 count sessions of arrivals; at least 8/)
    const both = fitCalibration(
      [
        ...present,
        ...synthetic({ bs: 2, br: 2, days: 3, perDay: 10, noise: 0.2, kind: 'arrivals' }),
      ],
      FIT,
    )
    if (!both.ok) throw new Error(both.reason)
    expect(both.model.arrivals?.coefficients.stable).toBeGreaterThan(1.8)
    expect(both.model.present?.coefficients.stable).toBeLessThan(0.9)
  })
})

/**
 * Sessions whose people follow the devices x = stable + randomised with a bend at the devices'
 * median (the knee): `below` people a device up to it, `above` a device beyond it (a crowd's
 * phones probe less); noise of sd `noise`·√(people + 1), each day with its own drift.
 */
function bent(o: {
  below: number
  above: number
  days: number
  perDay: number
  noise: number
  dayDrift?: number
  seed?: number
}): { obs: Observation[]; knee: number } {
  const rng = createRng(o.seed ?? 3)
  const obs: Observation[] = []
  for (let d = 0; d < o.days; d++)
    for (let i = 0; i < o.perDay; i++)
      obs.push(
        windowObs(
          d,
          i,
          0,
          { stable: rng.uniform(0, 16), randomised: rng.uniform(0, 8) },
          { month: '02' },
        ),
      )
  const knee = kneeOf(obs)
  if (knee === null) throw new Error('no knee')
  let day = ''
  let drift = 1
  for (const x of obs) {
    if (x.session.day !== day) {
      day = x.session.day
      drift = 1 + (o.dayDrift ?? 0) * rng.uniform(-1, 1)
    }
    const v = x.devices.stable + x.devices.randomised
    const mean = (o.below * Math.min(v, knee) + o.above * Math.max(0, v - knee)) * drift
    x.session.people = Math.max(0, mean + rng.normal(0, o.noise * Math.sqrt(mean + 1)))
  }
  return { obs, knee }
}

describe('the knee form (crowds)', () => {
  it('puts the knee at the median device count of the sessions that heard a device', () => {
    const at = (devices: number[]) =>
      devices.map((v, i) => ({
        session: {
          zoneId: 'z-a',
          fromMs: i,
          toMs: i + 1,
          kind: 'present' as const,
          people: 1,
          day: 'd',
        },
        devices: { stable: v, randomised: 0 },
      }))
    // Silent and near-silent sessions do not pull the knee toward an empty room.
    expect(kneeOf(at([0, 0, 0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8]))).toBe(4.5)
    expect(kneeOf(at([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 11]))).toBe(5)
    expect(kneeOf(at(Array.from({ length: MIN_KNEE_SESSIONS - 1 }, (_, i) => i + 1)))).toBeNull()
  })

  it('recovers a bend in a noise-free concave relation', () => {
    const { obs, knee } = bent({ below: 1.5, above: 0.6, days: 3, perDay: 30, noise: 0 })
    const c = fitForm(obs, 'knee')
    expect(c.knee).toBe(knee)
    expect(c.stable).toBeCloseTo(1.5, 9)
    expect(c.randomised).toBe(c.stable)
    expect(c.bend).toBeCloseTo(0.9, 9)
    expect(c.intercept).toBe(0)
    const v = { stable: knee + 4, randomised: 0 }
    expect(predict(c, v)).toBeCloseTo(1.5 * knee + 0.6 * 4, 9)
  })

  it('is never convex and never falls: a crowd term only bends the line down, at most to flat', () => {
    const convex = bent({ below: 0.8, above: 1.6, days: 3, perDay: 30, noise: 0 })
    const c1 = fitForm(convex.obs, 'knee')
    expect(c1.bend).toBe(0)
    expect(c1.stable).toBeCloseTo(fitForm(convex.obs, 'factor').stable, 9)
    const falling = bent({ below: 1.5, above: -0.5, days: 3, perDay: 30, noise: 0 })
    const c2 = fitForm(falling.obs, 'knee')
    expect(c2.bend).toBe(c2.stable)
    expect(predict(c2, { stable: 100, randomised: 0 })).toBeCloseTo(
      predict(c2, { stable: falling.knee, randomised: 0 }),
      9,
    )
  })

  it('is chosen when held-out days say the crowd bends, and not when the relation is straight', () => {
    const { obs } = bent({
      below: 1.5,
      above: 0.5,
      days: 6,
      perDay: 16,
      noise: 0.3,
      dayDrift: 0.05,
    })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    const m = r.model.present
    expect(m?.form).toBe('knee')
    expect(m?.formsTried.knee).toBeLessThan((m?.formsTried.factor ?? 0) * 0.95)
    expect(m?.coefficients.bend).toBeGreaterThan(0.5)
    const straight = bent({ below: 1, above: 1, days: 6, perDay: 16, noise: 0.3, dayDrift: 0.05 })
    const r2 = fitCalibration(straight.obs, FIT)
    if (!r2.ok) throw new Error(r2.reason)
    expect(r2.model.present?.form).toBe('factor')
    expect(r2.model.present?.formsTried.knee).toBeGreaterThan(0)
  })

  it('is not tried on counts of fewer than MIN_KNEE_DAYS days', () => {
    const { obs } = bent({ below: 1.5, above: 0.5, days: 6, perDay: 16, noise: 0.3 })
    const days = [...new Set(obs.map((x) => x.session.day))].slice(0, MIN_KNEE_DAYS - 1)
    const r = fitCalibration(
      obs.filter((x) => days.includes(x.session.day)),
      FIT,
    )
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present?.formsTried.knee).toBeUndefined()
    expect(r.model.present?.form).not.toBe('knee')
  })

  it('is not tried when too few sessions heard a device', () => {
    const obs = synthetic({ bs: 0.8, br: 0.8, days: 4, perDay: 12, noise: 0.3 }).map((x, i) =>
      i < 48 - MIN_KNEE_SESSIONS + 1 ? { ...x, devices: { stable: 0, randomised: 0.5 } } : x,
    )
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present?.formsTried.knee).toBeUndefined()
  })
})

describe('stored calibrations', () => {
  // A model as version 1 of a gateway was stored (calibration_versions.model, JSON) before the knee
  // form existed: no knee or bend in its coefficients.
  const stored = JSON.parse(
    JSON.stringify({
      version: 1,
      zoneId: 'z-a',
      fittedAtMs: 1_000,
      rssiGate: -65,
      estimator: DEFAULT_ESTIMATOR_OPTIONS,
      coverageTarget: 0.9,
      present: {
        kind: 'present',
        form: 'floor+mix',
        coefficients: { intercept: -0.4, stable: 0.93, randomised: 0.21 },
        q: 1.3,
        relativeError: 0.12,
        pieceCorrelation: 0.6,
        windowMinutes: 15,
        quality: {
          sessions: 40,
          folds: 4,
          heldOut: 'day',
          maePeople: 0.5,
          mapePct: 20,
          biasPeople: 0,
          coveragePct: 90,
        },
        formsTried: { factor: 0.6, mix: 0.55, 'floor+factor': 0.58, 'floor+mix': 0.5 },
      },
      arrivals: null,
      refused: [],
    }),
  ) as CalibrationModel

  it('load and predict exactly as before the knee form existed', () => {
    for (const [stable, randomised] of [
      [0, 0],
      [0.2, 0.1],
      [3, 1],
      [12.5, 7.25],
      [40, 30],
    ] as const) {
      const people = Math.max(0, -0.4 + 0.93 * stable + 0.21 * randomised)
      const half = 1.3 * Math.sqrt(people + 1 + (0.12 * people) ** 2)
      expect(estimateWith(stored.present, { stable, randomised })).toEqual({
        people,
        low: Math.max(0, people - half),
        high: people + half,
      })
    }
  })

  it('load and predict exactly as before the interval levels existed (q below one person, qFromOne from one)', () => {
    // As a version fitted between the quantile per level by the estimate and the levels field was
    // stored: `q` and `qFromOne`, no `levels`.
    const withFromOne = JSON.parse(
      JSON.stringify({ ...stored, present: { ...stored.present, qFromOne: 2.4 } }),
    ) as CalibrationModel
    expect(withFromOne.present?.levels).toBeUndefined()
    for (const [stable, randomised] of [
      [0, 0],
      [0.2, 0.1],
      [0.9, 0.5],
      [1.5, 0],
      [3, 1],
      [40, 30],
    ] as const) {
      const people = Math.max(0, -0.4 + 0.93 * stable + 0.21 * randomised)
      const half = (people >= 1 ? 2.4 : 1.3) * Math.sqrt(people + 1 + (0.12 * people) ** 2)
      expect(estimateWith(withFromOne.present, { stable, randomised })).toEqual({
        people,
        low: Math.max(0, people - half),
        high: people + half,
      })
    }
  })

  it('a model with levels survives its JSON round trip and predicts the same', () => {
    const r = fitCalibration(smallRooms(1).train, FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present?.levels?.q).toHaveLength(3)
    const back = JSON.parse(JSON.stringify(r.model)) as CalibrationModel
    for (const v of [0, 0.1, 0.4, 0.8, 3, 14])
      expect(estimateWith(back.present, { stable: v, randomised: 0 })).toEqual(
        estimateWith(r.model.present, { stable: v, randomised: 0 }),
      )
  })

  it('a knee model survives its JSON round trip and predicts the same', () => {
    const { obs } = bent({ below: 1.5, above: 0.5, days: 6, perDay: 16, noise: 0.3 })
    const r = fitCalibration(obs, FIT)
    if (!r.ok) throw new Error(r.reason)
    const back = JSON.parse(JSON.stringify(r.model)) as CalibrationModel
    expect(back.present?.coefficients.knee).toBe(r.model.present?.coefficients.knee)
    for (const v of [0, 3, 9, 14, 30])
      expect(estimateWith(back.present, { stable: v, randomised: 1 })).toEqual(
        estimateWith(r.model.present, { stable: v, randomised: 1 }),
      )
  })
})

/**
 * A site like the Brno lab: most windows are empty rooms that hear nothing; some empty rooms hear
 * a passer-by for a few minutes (a fraction of a device); rooms of one or two people are heard as
 * about as little; a few crowds. Seven days, the last one held out.
 */
function smallRooms(seed: number) {
  const rng = createRng(seed)
  const all: Observation[] = []
  for (let d = 0; d < 7; d++) {
    for (let i = 0; i < 60; i++) {
      const kind = i % 10
      // 0–5: empty, nothing heard; 6: empty, a passer-by; 7–8: one or two people; 9: a crowd.
      const people = kind <= 6 ? 0 : kind <= 8 ? 1 + (i % 2) : rng.uniform(5, 20)
      const stable =
        kind <= 5
          ? 0
          : kind === 6
            ? rng.uniform(0.3, 0.9)
            : kind <= 8
              ? rng.uniform(0.3, 1.0) * people * 0.5
              : people * rng.uniform(0.8, 1.2)
      all.push(windowObs(d, i, people, { stable, randomised: 0 }))
    }
  }
  const test = all.filter((x) => x.session.day === '2026-01-07')
  return { train: all.filter((x) => !test.includes(x)), test }
}

describe('interval levels', () => {
  it('level i holds the values above i of the bounds', () => {
    expect([0, 0.25, 0.3, 1, 1.01, 7].map((v) => levelIndex([0.25, 1], v))).toEqual([
      0, 0, 1, 1, 2, 2,
    ])
  })

  it('by the estimate: rooms of one or two people estimated below one are covered more often, an empty room that hears nothing stays narrow', () => {
    const covered = { levels: 0, before: 0 }
    let small = 0
    let emptyWidth = 0
    let empty = 0
    for (let seed = 1; seed <= 20; seed++) {
      const { train, test } = smallRooms(seed)
      const now = fitCalibration(train, FIT)
      const before = fitCalibration(train, { ...FIT, levels: null })
      if (!now.ok || !before.ok) throw new Error('no model')
      const levels = now.model.present?.levels
      expect(levels?.by).toBe('estimate')
      expect(levels?.bounds).toEqual([LEVEL_NEARLY_EMPTY, 1])
      // The middle level (passers-by and small groups) is wider than the empty rooms'.
      expect(levels?.q[1]).toBeGreaterThan(levels?.q[0] ?? Infinity)
      expect(before.model.present?.levels).toBeUndefined()
      for (const x of test) {
        const a = estimateWith(now.model.present, x.devices)
        const b = estimateWith(before.model.present, x.devices)
        if (!a || !b) throw new Error('no estimate')
        const inside = (e: { low: number; high: number }) =>
          x.session.people >= e.low - 1e-9 && x.session.people <= e.high + 1e-9
        if (x.session.people >= 1 && x.session.people <= 2 && a.people < 1) {
          small++
          if (inside(a)) covered.levels++
          if (inside(b)) covered.before++
        }
        if (x.session.people === 0 && x.devices.stable === 0) {
          empty++
          emptyWidth += a.high - a.low
        }
      }
    }
    expect(small).toBeGreaterThan(100)
    expect(covered.levels / small).toBeGreaterThan(covered.before / small + 0.1)
    expect(emptyWidth / empty).toBeLessThan(0.5)
  })

  it('merges a level with fewer than MIN_LEVEL_SCORES held-out estimates into its neighbour; one left: q alone', () => {
    // Every estimate is of a crowd: the two lower levels are empty and merged away.
    const crowds = synthetic({ bs: 1, br: 0, days: 4, perDay: 12, noise: 0.2 }).map((x) => ({
      ...x,
      devices: { stable: x.devices.stable + 5, randomised: 0 },
      session: { ...x.session, people: x.session.people + 5 },
    }))
    const r = fitCalibration(crowds, FIT)
    if (!r.ok) throw new Error(r.reason)
    expect(r.model.present?.levels).toBeUndefined()
    expect(r.model.present?.qFromOne).toBeUndefined()
    expect(MIN_LEVEL_SCORES).toBe(30)
  })

  it('by the devices heard: the level of the chains counted; without them, the widest quantile', () => {
    const m = {
      q: 1,
      levels: { by: 'devices' as const, bounds: [0], q: [0.1, 2] },
    }
    expect(qOf(m, 0.5, { stable: 0, randomised: 0 })).toBe(0.1)
    expect(qOf(m, 0.5, { stable: 0.2, randomised: 0.1 })).toBe(2)
    expect(qOf(m, 0.5)).toBe(2)
    expect(qOf({ q: 1, qFromOne: 3 }, 0.5)).toBe(1)
    expect(qOf({ q: 1, qFromOne: 3 }, 1)).toBe(3)
  })
})
