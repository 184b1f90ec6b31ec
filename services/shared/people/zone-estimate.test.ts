import { describe, expect, it } from 'vitest'
import {
  uncalibratedModel,
  UNCALIBRATED_Q,
  UNCALIBRATED_RELATIVE_ERROR,
  type CalibrationModel,
  type KindModel,
} from './calibration.ts'
import { DEFAULT_ESTIMATOR_OPTIONS } from './estimator.ts'
import type { DeviceSession } from './sessions.ts'
import { estimateGateways } from './zone-estimate.ts'

const M = 60_000
const H = 60 * M
let n = 0
const session = (o: Partial<DeviceSession>): DeviceSession => ({
  gatewayId: 'gw-a',
  zoneId: 'z-a',
  pseudonym: String(++n),
  firstMs: 0,
  lastMs: 15 * M,
  samples: 30,
  peakRssi: -60,
  radio: 'wifi',
  randomised: false,
  ...o,
})

const kind = (k: 'present' | 'arrivals', factor: number, q: number): KindModel => ({
  ...(uncalibratedModel('z-a', DEFAULT_ESTIMATOR_OPTIONS)[k] as KindModel),
  coefficients: { intercept: 0, stable: factor, randomised: factor },
  q,
  relativeError: 0,
})

const fitted = (o: Partial<CalibrationModel> = {}): CalibrationModel => ({
  ...uncalibratedModel('z-other', DEFAULT_ESTIMATOR_OPTIONS),
  version: 3,
  present: kind('present', 0.5, 1),
  arrivals: kind('arrivals', 2, 1),
  ...o,
})

const windows = [{ fromMs: 0, toMs: 15 * M }]
const spread = (e: number, rho: number) => Math.sqrt(e + 1 + (rho * e) ** 2)

describe('estimateGateways', () => {
  it('uncalibrated: one device chain is one person, with the wide default interval', () => {
    const sessions = [session({}), session({}), session({}), session({})]
    const [w] = estimateGateways({
      zoneId: 'z-a',
      gatewayIds: ['gw-a'],
      sessions,
      calibrations: new Map(),
      windows,
    })
    const half = UNCALIBRATED_Q * spread(4, UNCALIBRATED_RELATIVE_ERROR)
    expect(w?.present).toEqual({
      people: 4,
      low: Math.max(0, 4 - half),
      high: 4 + half,
      calibrated: false,
    })
    expect(w?.arrivals.people).toBe(4)
    expect(w?.arrivals.calibrated).toBe(false)
  })

  it('a fitted calibration of another zone id applies to the gateway it is given for', () => {
    const sessions = [session({}), session({}), session({}), session({})]
    const [w] = estimateGateways({
      zoneId: 'z-a',
      gatewayIds: ['gw-a'],
      sessions,
      calibrations: new Map([['gw-a', fitted()]]),
      windows,
    })
    expect(w?.present).toEqual({
      people: 2,
      low: 2 - spread(2, 0),
      high: 2 + spread(2, 0),
      calibrated: true,
    })
    expect(w?.arrivals.people).toBe(8)
    expect(w?.arrivals.calibrated).toBe(true)
  })

  it('adds gateways up; one uncalibrated gateway makes the sum uncalibrated', () => {
    const sessions = [
      session({ gatewayId: 'gw-a' }),
      session({ gatewayId: 'gw-a' }),
      session({ gatewayId: 'gw-b' }),
    ]
    const [w] = estimateGateways({
      zoneId: 'z-a',
      gatewayIds: ['gw-a', 'gw-b'],
      sessions,
      calibrations: new Map([['gw-a', fitted()]]),
      windows,
    })
    const halfA = spread(1, 0)
    const halfB = UNCALIBRATED_Q * spread(1, UNCALIBRATED_RELATIVE_ERROR)
    expect(w?.present.people).toBeCloseTo(2)
    expect(w?.present.high).toBeCloseTo(2 + halfA + halfB)
    expect(w?.present.low).toBe(0)
    expect(w?.present.calibrated).toBe(false)
  })

  it('a calibration without a model of a kind leaves that kind uncalibrated', () => {
    const [w] = estimateGateways({
      zoneId: 'z-a',
      gatewayIds: ['gw-a'],
      sessions: [session({})],
      calibrations: new Map([['gw-a', fitted({ arrivals: null })]]),
      windows,
    })
    expect(w?.present.calibrated).toBe(true)
    expect(w?.arrivals).toMatchObject({ people: 1, calibrated: false })
  })

  it('a gateway without sessions still adds its empty-room interval', () => {
    const [w] = estimateGateways({
      zoneId: 'z-a',
      gatewayIds: ['gw-a'],
      sessions: [],
      calibrations: new Map([['gw-a', fitted()]]),
      windows: [
        { fromMs: 0, toMs: 15 * M },
        { fromMs: H, toMs: 2 * H },
      ],
    })
    expect(w?.present).toEqual({ people: 0, low: 0, high: 1, calibrated: true })
  })

  it('no windows: no figures', () => {
    expect(
      estimateGateways({
        zoneId: 'z-a',
        gatewayIds: ['gw-a'],
        sessions: [session({})],
        calibrations: new Map(),
        windows: [],
      }),
    ).toEqual([])
  })
})
