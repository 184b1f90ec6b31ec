/**
 * People present and arriving for a set of gateways (a zone, or a shop's inside / in front), per
 * window, from the sessions the database stores and each gateway's calibration: what the API series,
 * the live feed and the street screen serve. Pure: no I/O, no clock.
 *
 * Each gateway is estimated on its own sessions with its own calibration (`estimatePeople`); a
 * gateway without a fitted calibration, or whose calibration has no model of a kind, uses the
 * uncalibrated model (`uncalibratedModel`) for that kind and makes the figure `calibrated: false`.
 * The gateways' figures are added up, and so are their interval half-widths (their errors are
 * treated as moving together: the conservative choice, since the gateways of a zone share its
 * conditions). A person heard by two gateways counts twice, as in footfall.
 */
import { DEFAULT_ESTIMATOR_OPTIONS, estimatePeople, type PeopleFigure } from './estimator.ts'
import { uncalibratedModel, type CalibrationModel, type FittedCalibration } from './calibration.ts'
import type { Window } from './measures.ts'
import type { DeviceSession } from './sessions.ts'

export type PeopleValue = PeopleFigure & {
  /** false when at least one gateway's figure came from the uncalibrated model. */
  calibrated: boolean
}

export type GatewaysWindowEstimate = Window & { present: PeopleValue; arrivals: PeopleValue }

export type EstimateGatewaysInput = {
  /** The zone the figures are for (a gateway's sessions are all of its zone). */
  zoneId: string
  /** Every gateway that counts: those without sessions still add their (empty-room) interval. */
  gatewayIds: readonly string[]
  sessions: readonly DeviceSession[]
  /** Calibrations in force, by gateway id (absent: uncalibrated). */
  calibrations: ReadonlyMap<string, FittedCalibration>
  windows: readonly Window[]
}

const EMPTY: PeopleValue = { people: 0, low: 0, high: 0, calibrated: true }

/** People present and arriving per window, added up over the gateways. */
export function estimateGateways(o: EstimateGatewaysInput): GatewaysWindowEstimate[] {
  const totals = o.windows.map((w) => ({ ...w, present: { ...EMPTY }, arrivals: { ...EMPTY } }))
  if (o.windows.length === 0) return totals
  const byGateway = new Map<string, DeviceSession[]>(o.gatewayIds.map((id) => [id, []]))
  for (const s of o.sessions) {
    const list = byGateway.get(s.gatewayId)
    if (list) list.push(s)
    else byGateway.set(s.gatewayId, [s])
  }
  for (const [gatewayId, sessions] of byGateway) {
    const fitted = o.calibrations.get(gatewayId)
    const fallback = uncalibratedModel(o.zoneId, fitted?.estimator ?? DEFAULT_ESTIMATOR_OPTIONS)
    const model: CalibrationModel = {
      ...(fitted ?? fallback),
      zoneId: o.zoneId,
      present: fitted?.present ?? fallback.present,
      arrivals: fitted?.arrivals ?? fallback.arrivals,
    }
    const calibrated = {
      present: Boolean(fitted?.present),
      arrivals: Boolean(fitted?.arrivals),
    }
    const own = sessions.map((s) => ({ ...s, zoneId: o.zoneId }))
    estimatePeople(own, model, o.windows).forEach((e, i) => {
      const t = totals[i]
      if (!t) return
      addPeopleValue(t.present, e.present, calibrated.present)
      addPeopleValue(t.arrivals, e.arrivals, calibrated.arrivals)
    })
  }
  return totals
}

/**
 * Adds a figure to a running total: the figures and the intervals' half-widths add up (conservative:
 * the parts' errors are not assumed independent); calibrated only when every part is.
 */
export function addPeopleValue(
  into: PeopleValue,
  f: PeopleFigure | null,
  calibrated: boolean,
): void {
  // A model always has both kinds here (the uncalibrated one fills in), so f is never null.
  const figure = f ?? { people: 0, low: 0, high: 0 }
  const below = into.people - into.low + (figure.people - figure.low)
  const above = into.high - into.people + (figure.high - figure.people)
  into.people += figure.people
  into.low = Math.max(0, into.people - below)
  into.high = into.people + above
  into.calibrated &&= calibrated
}
