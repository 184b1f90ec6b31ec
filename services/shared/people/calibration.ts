import type { DeviceCounts } from './measures.ts'
import type { EstimatorOptions } from './estimator.ts'

/**
 * Devices → people: a calibration fitted from manual counts. Pure: (count sessions with the device
 * counts the estimator measured over each session's window) → a versioned model with its fit quality,
 * or a refusal with the reason.
 *
 * The model, per kind of count (people present, people arriving):
 *
 *     people = max(0, a + b_stable · stable + b_random · randomised)
 *
 * `stable` and `randomised` are the de-randomised device chains with a globally administered and a
 * randomised address (present: the mean per minute; arrivals: visits begun in the window). They are
 * weighed apart because the two behave differently: phones that randomise probe in bursts that
 * chaining only partly reassembles, while stable addresses are laptops, PCs and older phones whose
 * share changes across sites and years. Slopes are never negative. The intercept `a` is the
 * empty-room floor (devices always heard, in people): it is only kept when held-out days say it
 * helps.
 *
 * The `knee` form bends the line once, where the devices of a room stop growing with its people:
 *
 *     people = max(0, b · x − bend · max(0, x − knee)),   x = stable + randomised
 *
 * with 0 ≤ bend ≤ b (concave, never falling). The knee is not fitted on the counts: it is the median
 * device count of the sessions that heard at least one device (a site's "busy"), so the form has one
 * more coefficient than `factor`, not two. It is tried from MIN_KNEE_DAYS days of counts on. On the Brno corpus a room of 3–10 people is heard as
 * 1.5 people a device and one of 15–20 as 1.0 (bench/README.md §8): one straight factor
 * under-counts the first and over-counts the second.
 *
 * Which terms a site gets is decided by cross-validation on its own sessions, grouped by day (a day's
 * sessions share its conditions, so a day is left out whole): the simplest form — one factor on all
 * absolute error; the forms with a floor are only tried when at least three counts saw a room with
 * at most one person (otherwise the floor would be an extrapolation).
 *
 * The 90 % interval is split-conformal on those held-out residuals, with a quantile of its own per
 * level of the estimate — at most a quarter of a person, up to one, from one on (DEFAULT_LEVELS,
 * `qOf`; models fitted before the levels: below one and from one on) — estimate ± q·spread, where the
 * spread √(estimate + 1 + (ρ·estimate)²) has a counting part and a systematic part ρ (both from the
 * held-out residuals), so an interval is narrow for an empty room, wide for a crowd, and grows as
 * estimates are added up over longer windows. The coverage the fit reports is nested: each session
 * is checked against an interval built without its day.
 */

export type CountKind = 'present' | 'arrivals'

/** A manual count: people present (mean over the window) or people arriving in it, in one zone. */
export type CountSession = {
  zoneId: string
  fromMs: number
  toMs: number
  kind: CountKind
  people: number
  /** The session's local day: sessions of one day are left out together. */
  day: string
}

export type Observation = { session: CountSession; devices: DeviceCounts }

export type ModelForm = 'factor' | 'mix' | 'floor+factor' | 'floor+mix' | 'knee'
/** Simplest first: a later form must beat the best before it by `richerGain` to be chosen. */
export const MODEL_FORMS: readonly ModelForm[] = [
  'factor',
  'mix',
  'floor+factor',
  'floor+mix',
  'knee',
]

export type Coefficients = {
  intercept: number
  stable: number
  randomised: number
  /**
   * `knee` form only: above this many devices (stable + randomised) each further device counts
   * `bend` people less. Absent in the other forms and in every model stored before the form
   * existed: those predict exactly as they did.
   */
  knee?: number
  bend?: number
}

export type FitQuality = {
  /** Count sessions the figures are over. */
  sessions: number
  /** Held-out groups (days, or sessions when all are of one day). */
  folds: number
  heldOut: 'day' | 'session'
  /** Held-out mean absolute error, people. */
  maePeople: number
  /** Held-out mean absolute percentage error over sessions with ≥ 3 people (NaN if none). */
  mapePct: number
  /** Held-out mean error (estimate − count), people. */
  biasPeople: number
  /** Share of sessions whose count lies in the interval built without their group, in %. */
  coveragePct: number
}

export type KindModel = {
  kind: CountKind
  form: ModelForm
  coefficients: Coefficients
  /**
   * Conformal quantile of |count − estimate| / intervalScale(estimate, relativeError), held out:
   * of the estimates below one person when `qFromOne` is set, of all of them otherwise.
   */
  q: number
  /**
   * The same quantile over the estimates of one person or more, on their own (see `qOf`). Absent on
   * models fitted before it existed, and when too few held-out estimates were that high.
   */
  qFromOne?: number
  /**
   * Mondrian levels of the interval by what is observed (see `IntervalLevels`): when set, `qOf`
   * takes the quantile of the window's level from here and `q` is the quantile over all held-out
   * estimates (for the record). Absent on models fitted before levels existed: those use `q` and
   * `qFromOne` exactly as before.
   */
  levels?: IntervalLevels
  /** The systematic share of the error (see intervalScale), estimated from held-out residuals. */
  relativeError: number
  /**
   * How much the errors of two count sessions of one day move together (0: independent, 1: as
   * one), from the held-out residuals: how the intervals of pieces add up over a longer window.
   */
  pieceCorrelation: number
  /** Median length of the sessions, minutes: the resolution the interval is valid at. */
  windowMinutes: number
  quality: FitQuality
  /** Held-out MAE of every form tried, for the record. */
  formsTried: Partial<Record<ModelForm, number>>
}

export type CalibrationModel = {
  version: number
  zoneId: string
  fittedAtMs: number
  /** Sessions below the gate's RSSI were left out of the device counts (null: none). */
  rssiGate: number | null
  /** How devices were counted for the fit; estimates count them the same way. */
  estimator: EstimatorOptions
  coverageTarget: number
  present: KindModel | null
  arrivals: KindModel | null
  /** Why a kind has no model. */
  refused: { kind: CountKind; reason: string }[]
}

export type FitOptions = {
  version: number
  fittedAtMs: number
  rssiGate?: number | null
  estimator: EstimatorOptions
  /** Fewer sessions of a kind than this: that kind is refused. */
  minSessions?: number
  /** A richer form must lower the held-out MAE by this share to be chosen. */
  richerGain?: number
  coverageTarget?: number
  /** Only these forms are tried (default all). */
  forms?: readonly ModelForm[]
  /**
   * Skip the nested coverage of the fit's quality (it costs a conformal quantile per held-out
   * group): `coveragePct` is then NaN. The model itself is the same. For evaluations over many
   * days that measure coverage on their own held-out days.
   */
  skipNestedCoverage?: boolean
  /**
   * The interval's Mondrian levels (default DEFAULT_LEVELS); null: the older two levels by the
   * estimate (below one person, from one on).
   */
  levels?: LevelScheme | null
}

export type FitResult = { ok: true; model: CalibrationModel } | { ok: false; reason: string }

export const MIN_SESSIONS = 8
/** A count of at most this many people is a (nearly) empty room. */
export const EMPTY_ROOM_PEOPLE = 1
/** Counts of a nearly empty room needed before the floor (intercept) is fitted. */
export const MIN_EMPTY_SESSIONS = 3
/** Sessions that heard at least one device needed before the `knee` form is tried … */
export const MIN_KNEE_SESSIONS = 8
/**
 * … and days of counts: a bend chosen on two or three days fits their noise (the simulator's
 * 2-day calibrations chose it for 8 of 96 zone models of a straight relation), as an RSSI gate
 * would (estimator.ts, MIN_GATE_DAYS).
 */
export const MIN_KNEE_DAYS = 4
const RICHER_GAIN = 0.05
/** Sessions with fewer people than this are left out of percentage errors (a count of 1 ± 1 is 100 %). */
export const MAPE_MIN_PEOPLE = 3

/**
 * The spread of an estimate's error: a counting part that grows like √estimate (who happened to carry
 * a phone, how often it probed) and a systematic part that grows with the estimate (the factor of the
 * day, the site's phones), `relativeError` of it. Longer windows add estimates up, so the systematic
 * part takes over there, as it does in the data.
 */
export const intervalScale = (estimate: number, relativeError = 0) => {
  const e = Math.max(0, estimate)
  return Math.sqrt(e + 1 + (relativeError * e) ** 2)
}

/** people = max(0, a + b·x − bend·max(0, x − knee)) for the devices counted. */
export function predict(c: Coefficients, d: DeviceCounts): number {
  const crowd =
    c.knee !== undefined && c.bend ? c.bend * Math.max(0, d.stable + d.randomised - c.knee) : 0
  return Math.max(0, c.intercept + c.stable * d.stable + c.randomised * d.randomised - crowd)
}

/**
 * The `knee` form's knee: the median device count (stable + randomised) of the sessions that heard
 * at least one device; null when fewer than MIN_KNEE_SESSIONS did. Uses no count of people.
 */
export function kneeOf(obs: readonly Observation[]): number | null {
  const heard = obs
    .map((x) => x.devices.stable + x.devices.randomised)
    .filter((x) => x >= 1)
    .sort((a, b) => a - b)
  if (heard.length < MIN_KNEE_SESSIONS) return null
  const mid = heard.length / 2
  return heard.length % 2
    ? (heard[Math.floor(mid)] as number)
    : ((heard[mid - 1] as number) + (heard[mid] as number)) / 2
}

/** Held-out estimates needed at each level for a quantile of its own. */
export const MIN_LEVEL_SCORES = 30

/**
 * What the interval's levels are told apart by: the estimate (people) or the device chains heard
 * (stable + randomised, after the RSSI gate; the mean per minute for people present).
 */
export type LevelBasis = 'estimate' | 'devices'

/**
 * How held-out estimates are split into levels: level i holds values above i of the bounds; with
 * `fromOne`, estimates of one person or more are a level of their own (the last) whatever the value.
 */
export type LevelScheme = { by: LevelBasis; bounds: readonly number[]; fromOne?: boolean }

/**
 * A fitted model's levels: the scheme's bounds as kept (levels too small merged) and a quantile
 * each (the last one of estimates from one person on, with `fromOne`).
 */
export type IntervalLevels = { by: LevelBasis; bounds: number[]; fromOne?: boolean; q: number[] }

/**
 * The levels new fits use, by the estimate: at most LEVEL_NEARLY_EMPTY people (an empty room, or a
 * device or two heard a few minutes), up to one person, and from one on. An estimate below one is
 * an empty room most of the time and a room of one or two people some of the time; the middle
 * level gathers more of the second. Chosen on the Brno corpus by leave-one-day-out among levels by
 * the estimate and by the device chains counted (bench/interval-levels.ts, docs/metrics.md): no
 * level by what the radios hear covers rooms of one or two people 90 %, since most of them sound
 * like an empty room.
 */
export const LEVEL_NEARLY_EMPTY = 0.25
export const DEFAULT_LEVELS: LevelScheme = { by: 'estimate', bounds: [LEVEL_NEARLY_EMPTY, 1] }

/** The value a level scheme splits on, for an estimate from these devices. */
const levelValue = (by: LevelBasis, estimate: number, d: DeviceCounts | undefined) =>
  by === 'estimate' ? estimate : d ? d.stable + d.randomised : NaN

/** The level of an estimate from these devices under a scheme; NaN when its value is unknown. */
export function levelOf(
  l: { by: LevelBasis; bounds: readonly number[]; fromOne?: boolean | undefined },
  estimate: number,
  d: DeviceCounts | undefined,
): number {
  if (l.fromOne && estimate >= 1) return l.bounds.length + 1
  const v = levelValue(l.by, estimate, d)
  return Number.isNaN(v) ? NaN : levelIndex(l.bounds, v)
}

/** The level of a value: how many bounds it is above. */
export function levelIndex(bounds: readonly number[], value: number): number {
  let i = 0
  for (const b of bounds) if (value > b) i++
  return i
}

/**
 * The interval's quantile for an estimate: a site's counts are mostly of empty or nearly empty
 * rooms, so one quantile over all of them is set by those and covers crowds far less than 90 % of
 * the time (Brno: windows with people covered 20–37 %). Each level of the model's `levels` has its
 * own (Mondrian split-conformal: each level covers about 90 % on its own); a model stored before
 * the levels has `q` below one person and `qFromOne` from one on.
 */
export function qOf(
  model: Pick<KindModel, 'q' | 'qFromOne' | 'levels'>,
  estimate: number,
  devices?: DeviceCounts,
): number {
  const l = model.levels
  if (l) {
    const i = levelOf(l, estimate, devices)
    // Without the devices a devices level cannot be told: the widest quantile, never too narrow.
    return Number.isNaN(i) ? Math.max(...l.q) : (l.q[i] ?? model.q)
  }
  return estimate >= 1 && model.qFromOne !== undefined ? model.qFromOne : model.q
}

/** The estimate with its interval, or null when the model cannot say (no model of the kind). */
export function estimateWith(
  model: KindModel | null,
  d: DeviceCounts,
): { people: number; low: number; high: number } | null {
  if (!model) return null
  const people = predict(model.coefficients, d)
  const half = qOf(model, people, d) * intervalScale(people, model.relativeError)
  return { people, low: Math.max(0, people - half), high: people + half }
}

/** Fits a calibration for one zone from its count sessions. */
export function fitCalibration(observations: readonly Observation[], o: FitOptions): FitResult {
  const zones = new Set(observations.map((x) => x.session.zoneId))
  if (zones.size === 0) return { ok: false, reason: 'no count sessions' }
  if (zones.size > 1)
    return {
      ok: false,
      reason: `count sessions of several zones (${[...zones].sort().join(', ')}): fit one zone at a time`,
    }
  const zoneId = [...zones][0] as string
  for (const x of observations) {
    const s = x.session
    if (!(s.people >= 0) || !Number.isFinite(s.people))
      return { ok: false, reason: `a count of ${s.people} people is impossible` }
    if (!(s.toMs > s.fromMs)) return { ok: false, reason: 'a count session ends before it starts' }
  }
  const minSessions = o.minSessions ?? MIN_SESSIONS
  const refused: CalibrationModel['refused'] = []
  const fitted: Partial<Record<CountKind, KindModel>> = {}
  for (const kind of ['present', 'arrivals'] as const) {
    const obs = observations.filter((x) => x.session.kind === kind)
    const r = fitKind(kind, obs, minSessions, o)
    if (typeof r === 'string') refused.push({ kind, reason: r })
    else fitted[kind] = r
  }
  if (!fitted.present && !fitted.arrivals)
    return { ok: false, reason: refused.map((r) => `${r.kind}: ${r.reason}`).join('; ') }
  return {
    ok: true,
    model: {
      version: o.version,
      zoneId,
      fittedAtMs: o.fittedAtMs,
      rssiGate: o.rssiGate ?? null,
      estimator: o.estimator,
      coverageTarget: o.coverageTarget ?? 0.9,
      present: fitted.present ?? null,
      arrivals: fitted.arrivals ?? null,
      refused,
    },
  }
}

function fitKind(
  kind: CountKind,
  obs: readonly Observation[],
  minSessions: number,
  o: FitOptions,
): KindModel | string {
  const what = kind === 'present' ? 'people present' : 'arrivals'
  if (obs.length === 0) return `no count sessions of ${what}`
  if (obs.length < minSessions)
    return `${obs.length} count session${obs.length === 1 ? '' : 's'} of ${what}; at least ${minSessions} are needed`
  if (obs.every((x) => x.devices.stable + x.devices.randomised === 0))
    return `no device was heard during the count sessions of ${what}`
  if (obs.every((x) => x.session.people === 0))
    return `every count session of ${what} counted nobody: the factor cannot be fitted`
  const perDay = new Map<string, Observation[]>()
  for (const x of obs) {
    const list = perDay.get(x.session.day)
    if (list) list.push(x)
    else perDay.set(x.session.day, [x])
  }
  const byDay = perDay.size >= 2
  const groups = byDay ? [...perDay.values()] : obs.map((x) => [x])
  // The floor is fitted only where the counts saw a (nearly) empty room: elsewhere it would be an
  // extrapolation that two or three days cannot pin down.
  const nearlyEmpty = obs.filter((x) => x.session.people <= EMPTY_ROOM_PEOPLE).length
  // The knee is where the site's devices are busy: it needs sessions that heard devices, on
  // enough days for held-out days to tell a bend from noise.
  const knee = perDay.size >= MIN_KNEE_DAYS ? kneeOf(obs) : null
  const forms = (o.forms ?? MODEL_FORMS).filter(
    (f) =>
      (!f.startsWith('floor') || nearlyEmpty >= MIN_EMPTY_SESSIONS) &&
      (f !== 'knee' || knee !== null),
  )
  // The sufficient statistics of each day, once without the knee's column and once with it.
  const groupStats = new Map<number | null, Stats[]>()
  const statsFor = (k: number | null) => {
    let s = groupStats.get(k)
    if (!s) groupStats.set(k, (s = groups.map((g) => statsOf(g, k))))
    return s
  }
  const kneeFor = (form: ModelForm) => (form === 'knee' ? knee : null)
  const tried: Partial<Record<ModelForm, number>> = {}
  let best: { form: ModelForm; cv: HeldOut } | null = null
  for (const form of forms) {
    const cv = heldOut(groups, statsFor(kneeFor(form)), form, kneeFor(form))
    tried[form] = cv.mae
    // Forms are listed simplest first: a later one must beat the best so far by richerGain.
    if (!best || cv.mae < best.cv.mae * (1 - (o.richerGain ?? RICHER_GAIN))) best = { form, cv }
  }
  if (!best) return 'no model form to try'
  const coefficients = fitFormFromStats(
    statsFor(kneeFor(best.form)).reduce((a, b) => addStats(a, b, 1), emptyStats()),
    best.form,
    kneeFor(best.form),
  )
  const target = o.coverageTarget ?? 0.9
  const residuals = best.cv.residuals
  const relativeError = relativeErrorOf(residuals)
  const scoreOf = (r: HeldOut['residuals'][number], rho: number) =>
    Math.abs(r.count - r.estimate) / intervalScale(r.estimate, rho)
  const scheme = o.levels === undefined ? DEFAULT_LEVELS : o.levels
  const levels = levelQuantiles(residuals, (r) => scoreOf(r, relativeError), target, scheme)
  const q = levels.q
  const pieceCorrelation = correlationWithinGroups(
    residuals.map((r) => ({
      group: r.group,
      z: (r.count - r.estimate) / intervalScale(r.estimate, relativeError),
    })),
  )
  // Coverage of intervals each built without the group it is checked on (nested): the interval
  // of a group is the same for all its sessions, so it is built once per group.
  let covered = 0
  if (!o.skipNestedCoverage) {
    const byGroup = new Map<number, HeldOut['residuals']>()
    for (const r of residuals) {
      const list = byGroup.get(r.group)
      if (list) list.push(r)
      else byGroup.set(r.group, [r])
    }
    for (const [group, mine] of byGroup) {
      const others = residuals.filter((x) => x.group !== group)
      const rho = others.length ? relativeErrorOf(others) : relativeError
      const qq = others.length
        ? levelQuantiles(others, (x) => scoreOf(x, rho), target, scheme)
        : levels
      for (const r of mine) if (scoreOf(r, rho) <= qOf(qq, r.estimate, r.devices)) covered++
    }
  }
  const lengths = obs.map((x) => (x.session.toMs - x.session.fromMs) / 60_000).sort((a, b) => a - b)
  return {
    kind,
    form: best.form,
    coefficients,
    q,
    ...(levels.qFromOne === undefined ? {} : { qFromOne: levels.qFromOne }),
    ...(levels.levels === undefined ? {} : { levels: levels.levels }),
    relativeError,
    pieceCorrelation,
    windowMinutes: lengths[Math.floor(lengths.length / 2)] ?? 0,
    quality: {
      sessions: obs.length,
      folds: groups.length,
      heldOut: byDay ? 'day' : 'session',
      maePeople: best.cv.mae,
      mapePct: best.cv.mape,
      biasPeople: best.cv.bias,
      coveragePct: o.skipNestedCoverage ? NaN : (100 * covered) / residuals.length,
    },
    formsTried: tried,
  }
}

type HeldOut = {
  mae: number
  mape: number
  bias: number
  residuals: { group: number; estimate: number; count: number; devices: DeviceCounts }[]
}

/**
 * Leave-one-group-out: each group predicted by the form fitted on the others (`perGroup`: each
 * group's statsOf with the form's knee).
 */
function heldOut(
  groups: readonly (readonly Observation[])[],
  perGroup: readonly Stats[],
  form: ModelForm,
  knee: number | null,
): HeldOut {
  let abs = 0
  let diff = 0
  let n = 0
  let ape = 0
  let big = 0
  const residuals: HeldOut['residuals'] = []
  // The training set of a fold is everything but one group: its normal equations are the totals'
  // less the group's, so each fold costs a few small solves instead of a pass over every session.
  const total = perGroup.reduce((a, b) => addStats(a, b, 1), emptyStats())
  groups.forEach((g, gi) => {
    const c = fitFormFromStats(addStats(total, perGroup[gi] ?? emptyStats(), -1), form, knee)
    for (const x of g) {
      const e = predict(c, x.devices)
      const y = x.session.people
      abs += Math.abs(e - y)
      diff += e - y
      n++
      if (y >= MAPE_MIN_PEOPLE) {
        ape += Math.abs(e - y) / y
        big++
      }
      residuals.push({ group: gi, estimate: e, count: y, devices: x.devices })
    }
  })
  return {
    mae: n ? abs / n : NaN,
    mape: big ? (100 * ape) / big : NaN,
    bias: n ? diff / n : NaN,
    residuals,
  }
}

/**
 * The systematic share ρ of held-out errors: least squares of (count − estimate)² − (estimate + 1)
 * on (ρ·estimate)², never negative.
 */
export function relativeErrorOf(residuals: readonly { estimate: number; count: number }[]): number {
  let num = 0
  let den = 0
  for (const r of residuals) {
    const e = Math.max(0, r.estimate)
    num += ((r.count - r.estimate) ** 2 - (e + 1)) * e * e
    den += e ** 4
  }
  return den > 0 && num > 0 ? Math.sqrt(num / den) : 0
}

/**
 * The correlation of normalised held-out errors between sessions of one group (day): the mean
 * product over pairs of one group over the mean square, within [0, 1]; 1 (errors move as one, the
 * conservative choice) when no group has two sessions.
 */
export function correlationWithinGroups(rows: readonly { group: number; z: number }[]): number {
  const byGroup = new Map<number, number[]>()
  for (const r of rows) {
    const list = byGroup.get(r.group)
    if (list) list.push(r.z)
    else byGroup.set(r.group, [r.z])
  }
  let products = 0
  let pairs = 0
  for (const zs of byGroup.values()) {
    const sum = zs.reduce((a, z) => a + z, 0)
    const squares = zs.reduce((a, z) => a + z * z, 0)
    products += (sum * sum - squares) / 2
    pairs += (zs.length * (zs.length - 1)) / 2
  }
  const meanSquare = rows.reduce((a, r) => a + r.z * r.z, 0) / Math.max(1, rows.length)
  if (pairs === 0 || !(meanSquare > 0)) return 1
  return Math.min(1, Math.max(0, products / pairs / meanSquare))
}

/**
 * The interval quantiles of a fit. With a scheme (`levels`): one quantile per level, a level with
 * fewer than MIN_LEVEL_SCORES held-out estimates merged into the one below it (the lowest into the
 * one above), and `q` over all; a single level left is `q` alone. With `null` (the scheme before
 * levels by devices): one for the estimates below one person and one from one on, when each has
 * MIN_LEVEL_SCORES held-out estimates; else one over all.
 */
function levelQuantiles<R extends { estimate: number; devices: DeviceCounts }>(
  residuals: readonly R[],
  score: (r: R) => number,
  target: number,
  scheme: LevelScheme | null,
): { q: number; qFromOne?: number; levels?: IntervalLevels } {
  if (scheme) {
    const q = conformalQuantile(residuals.map(score), target)
    const l = { by: scheme.by, bounds: [...scheme.bounds], fromOne: scheme.fromOne === true }
    const count = () => l.bounds.length + 1 + (l.fromOne ? 1 : 0)
    const sizes = () => {
      const n = new Array<number>(count()).fill(0)
      for (const r of residuals) {
        const i = levelOf(l, r.estimate, r.devices)
        if (!Number.isNaN(i)) n[i] = (n[i] ?? 0) + 1
      }
      return n
    }
    // Merge the smallest level below MIN_LEVEL_SCORES with a neighbour until none is left.
    for (;;) {
      const n = sizes()
      let worst = -1
      n.forEach((k, i) => {
        if (k < MIN_LEVEL_SCORES && (worst < 0 || k < (n[worst] ?? 0))) worst = i
      })
      if (worst < 0 || count() === 1) break
      // The level from one on joins the others (they then split every estimate by the value).
      if (l.fromOne && worst === count() - 1) l.fromOne = false
      // Level i lies between bounds[i − 1] and bounds[i]: dropping bounds[i − 1] joins it to the
      // level below, dropping bounds[i] to the one above.
      else l.bounds.splice(worst > 0 ? worst - 1 : 0, 1)
    }
    if (count() === 1) return { q }
    const byLevel: number[][] = Array.from({ length: count() }, () => [])
    for (const r of residuals) {
      const i = levelOf(l, r.estimate, r.devices)
      if (!Number.isNaN(i)) byLevel[i]?.push(score(r))
    }
    return {
      q,
      levels: {
        by: l.by,
        bounds: l.bounds,
        ...(l.fromOne ? { fromOne: true } : {}),
        q: byLevel.map((x) => conformalQuantile(x, target)),
      },
    }
  }
  const low = residuals.filter((r) => r.estimate < 1)
  const high = residuals.filter((r) => r.estimate >= 1)
  if (low.length < MIN_LEVEL_SCORES || high.length < MIN_LEVEL_SCORES)
    return { q: conformalQuantile(residuals.map(score), target) }
  return {
    q: conformalQuantile(low.map(score), target),
    qFromOne: conformalQuantile(high.map(score), target),
  }
}

/** The ⌈(n + 1)·target⌉-th smallest score (the largest when n is too small for the target). */
export function conformalQuantile(scores: readonly number[], target: number): number {
  if (scores.length === 0) return NaN
  const sorted = [...scores].sort((a, b) => a - b)
  const k = Math.min(sorted.length, Math.ceil((sorted.length + 1) * target))
  return sorted[k - 1] ?? NaN
}

/**
 * Sufficient statistics of a set of observations: the sums of the products of (1, stable,
 * randomised, crowd, people), 5 × 5, row-major, where crowd = max(0, stable + randomised − knee)
 * (0 without a knee). Least squares of any form and its squared error (when no estimate is clipped
 * at 0) follow from them.
 */
export type Stats = Float64Array

const DIM = 5
const Y = DIM - 1
const emptyStats = (): Stats => new Float64Array(DIM * DIM)

export function statsOf(obs: readonly Observation[], knee: number | null = null): Stats {
  const m = emptyStats()
  for (const x of obs) {
    const { stable, randomised } = x.devices
    const crowd = knee === null ? 0 : Math.max(0, stable + randomised - knee)
    const v = [1, stable, randomised, crowd, x.session.people]
    for (let i = 0; i < DIM; i++)
      for (let j = 0; j < DIM; j++)
        m[i * DIM + j] = (m[i * DIM + j] ?? 0) + (v[i] ?? 0) * (v[j] ?? 0)
  }
  return m
}

function addStats(a: Stats, b: Stats, sign: 1 | -1): Stats {
  const m = emptyStats()
  for (let i = 0; i < DIM * DIM; i++) m[i] = (a[i] ?? 0) + sign * (b[i] ?? 0)
  return m
}

/**
 * Least squares of one form, slopes ≥ 0 and a floor ≤ 0 (every subset of the slopes is tried and
 * the best feasible one kept: two slopes at most, so four small solves; a floor form with no
 * feasible candidate is fitted without its floor). `factor` and `floor+factor` put one slope on all
 * chains. A positive floor would say people are there when no device is: fitted on a few days with
 * a crowd and a couple of nearly empty minutes it can win their cross-validation and then put 9
 * people in every empty room of the following months (Brno corpus, 1-minute counts of 3 days with
 * the lab's PCs denied). `knee` (knee: default kneeOf(obs)) bends the one slope b down by
 * 0 ≤ bend ≤ b above the knee: never convex, never falling.
 */
export function fitForm(
  obs: readonly Observation[],
  form: ModelForm,
  knee: number | null = form === 'knee' ? kneeOf(obs) : null,
): Coefficients {
  const k = form === 'knee' ? knee : null
  return fitFormFromStats(statsOf(obs, k), form, k)
}

/** A candidate of a form: columns as weights on (1, stable, randomised, crowd), and its coefficients. */
type Candidate = {
  cols: number[][]
  /** The coefficients from the solution, or null when it breaks a constraint. */
  coefficients: (beta: readonly number[]) => Coefficients | null
}

function candidatesOf(form: ModelForm, knee: number | null): Candidate[] {
  const nonNegative = (beta: readonly number[]) => beta.every((b) => b >= 0)
  if (form === 'knee') {
    if (knee === null) return candidatesOf('factor', null)
    const x = [0, 1, 1, 0]
    const kneeOf = (b: number, bend: number): Coefficients => ({
      intercept: 0,
      stable: b,
      randomised: b,
      knee,
      bend,
    })
    return [
      // No bend: one factor.
      { cols: [x], coefficients: (beta) => (nonNegative(beta) ? kneeOf(beta[0] ?? 0, 0) : null) },
      // A bend that leaves the slope above the knee ≥ 0.
      {
        cols: [x, [0, 0, 0, -1]],
        coefficients: ([b = 0, bend = 0]) =>
          b >= 0 && bend >= 0 && bend <= b ? kneeOf(b, bend) : null,
      },
      // Flat above the knee (bend = b).
      {
        cols: [[0, 1, 1, -1]],
        coefficients: (beta) => (nonNegative(beta) ? kneeOf(beta[0] ?? 0, beta[0] ?? 0) : null),
      },
    ]
  }
  const floor = form === 'floor+factor' || form === 'floor+mix'
  const mix = form === 'mix' || form === 'floor+mix'
  const slopes: number[][] = mix
    ? [
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ]
    : [[0, 1, 1, 0]]
  const out: Candidate[] = []
  for (let mask = 0; mask < 1 << slopes.length; mask++) {
    const use = slopes.map((_, i) => Boolean((mask >> i) & 1))
    out.push({
      cols: [...(floor ? [[1, 0, 0, 0]] : []), ...slopes.filter((_, i) => use[i])],
      coefficients: (beta) => {
        const b = beta.slice(floor ? 1 : 0)
        if (b.some((x) => x < 0)) return null
        const intercept = floor ? (beta[0] ?? 0) : 0
        // The floor is what an empty room's devices stand for: never people without a device.
        if (intercept > 0) return null
        const all = slopes.map(() => 0)
        let j = 0
        use.forEach((u, i) => {
          if (u) all[i] = b[j++] ?? 0
        })
        return mix
          ? { intercept, stable: all[0] ?? 0, randomised: all[1] ?? 0 }
          : { intercept, stable: all[0] ?? 0, randomised: all[0] ?? 0 }
      },
    })
  }
  return out
}

/**
 * fitForm from the sufficient statistics. A column is a combination of (1, stable, randomised,
 * crowd) by weights; candidates (subsets of the slopes, the knee's bend or not) are compared on
 * their squared error, which follows from the statistics too.
 */
function fitFormFromStats(m: Stats, form: ModelForm, knee: number | null = null): Coefficients {
  // Σ u·v and Σ u·people for columns given as weights.
  const cross = (u: readonly number[], v: readonly number[]) => {
    let t = 0
    for (let i = 0; i < Y; i++)
      for (let j = 0; j < Y; j++) t += (u[i] ?? 0) * (v[j] ?? 0) * (m[i * DIM + j] ?? 0)
    return t
  }
  const withY = (u: readonly number[]) => {
    let t = 0
    for (let i = 0; i < Y; i++) t += (u[i] ?? 0) * (m[i * DIM + Y] ?? 0)
    return t
  }
  const yy = m[Y * DIM + Y] ?? 0
  let best: { sse: number; c: Coefficients } | null = null
  for (const cand of candidatesOf(form, knee)) {
    let beta: number[] | null = []
    if (cand.cols.length) {
      const a = cand.cols.map((u) => [...cand.cols.map((v) => cross(u, v)), withY(u)])
      beta = solveNormal(a)
    }
    if (!beta) continue
    const c = cand.coefficients(beta)
    if (!c) continue
    // The least-squares objective Σ(y − βx)² = yy − 2β·Xy + β·XXβ (estimates a negative floor
    // would clip at 0 are compared unclipped, as the fit itself treats them).
    const w = [c.intercept, c.stable, c.randomised, -(c.bend ?? 0)]
    const sse = yy - 2 * withY(w) + cross(w, w)
    if (!best || sse < best.sse - 1e-9 * Math.max(1, yy)) best = { sse, c }
  }
  // A floor form whose every candidate would put people in a room with no device: the form
  // without a floor (the floor at 0).
  if (!best && (form === 'floor+factor' || form === 'floor+mix'))
    return fitFormFromStats(m, form === 'floor+mix' ? 'mix' : 'factor')
  return best?.c ?? { intercept: 0, stable: 0, randomised: 0 }
}

/** Ordinary least squares by the normal equations (≤ 3 columns); null when singular. */
export function leastSquares(
  x: readonly (readonly number[])[],
  y: readonly number[],
): number[] | null {
  const k = x[0]?.length ?? 0
  const a: number[][] = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0))
  x.forEach((row, i) => {
    for (let p = 0; p < k; p++) {
      const ap = a[p] as number[]
      for (let q = 0; q < k; q++) ap[q] = (ap[q] ?? 0) + (row[p] ?? 0) * (row[q] ?? 0)
      ap[k] = (ap[k] ?? 0) + (row[p] ?? 0) * (y[i] ?? 0)
    }
  })
  return solveNormal(a)
}

/** Solves the normal equations given as an augmented k × (k + 1) matrix; null when singular. */
function solveNormal(a: number[][]): number[] | null {
  const k = a.length
  for (let col = 0; col < k; col++) {
    let pivot = col
    for (let r = col + 1; r < k; r++)
      if (Math.abs(a[r]?.[col] ?? 0) > Math.abs(a[pivot]?.[col] ?? 0)) pivot = r
    const scale = Math.max(1, ...a.map((r) => Math.abs(r[col] ?? 0)))
    if (Math.abs(a[pivot]?.[col] ?? 0) < 1e-9 * scale) return null
    ;[a[col], a[pivot]] = [a[pivot] as number[], a[col] as number[]]
    const pr = a[col] as number[]
    for (let r = 0; r < k; r++) {
      if (r === col) continue
      const row = a[r] as number[]
      const f = (row[col] ?? 0) / (pr[col] ?? 1)
      for (let c = col; c <= k; c++) row[c] = (row[c] ?? 0) - f * (pr[c] ?? 0)
    }
  }
  return a.map((row, i) => (row[k] ?? 0) / (row[i] ?? 1))
}

/**
 * A gateway's fitted calibration as the calibration workflow stores and serves it (one version,
 * applied forward only). The API is given a provider of these per gateway; an empty map means
 * uncalibrated.
 */
export type FittedCalibration = CalibrationModel

/** The uncalibrated model's interval: z of a two-sided 90 % normal interval … */
export const UNCALIBRATED_Q = 1.645
/** … and its systematic share: for a crowd, from none to ~2.3 people per device chain. */
export const UNCALIBRATED_RELATIVE_ERROR = 0.8

function uncalibratedKind(kind: CountKind): KindModel {
  return {
    kind,
    form: 'factor',
    coefficients: { intercept: 0, stable: 1, randomised: 1 },
    q: UNCALIBRATED_Q,
    relativeError: UNCALIBRATED_RELATIVE_ERROR,
    pieceCorrelation: 1,
    windowMinutes: 15,
    quality: {
      sessions: 0,
      folds: 0,
      heldOut: 'day',
      maePeople: NaN,
      mapePct: NaN,
      biasPeople: NaN,
      coveragePct: NaN,
    },
    formsTried: {},
  }
}

/**
 * What a gateway without a fitted calibration is estimated with (figures marked
 * `calibrated: false`): one device chain = one person (no floor, no RSSI gate), with a wide 90 %
 * interval, estimate ± 1.645·√(estimate + 1 + (0.8·estimate)²): for a crowd, from none to about 2.3
 * people per device chain. docs/metrics.md says why.
 */
export function uncalibratedModel(zoneId: string, estimator: EstimatorOptions): CalibrationModel {
  return {
    version: 0,
    zoneId,
    fittedAtMs: 0,
    rssiGate: null,
    estimator,
    coverageTarget: 0.9,
    present: uncalibratedKind('present'),
    arrivals: uncalibratedKind('arrivals'),
    refused: [],
  }
}
