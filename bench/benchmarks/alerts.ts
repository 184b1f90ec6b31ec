import { readDistrictFile } from '../../services/shared/registry/district-repository.ts'
import { AlertRulesSchema } from '../../services/shared/contracts/alert-rules.ts'
import { holidaysBetween } from '../../services/shared/contracts/holidays.ts'
import { localDateOf, startOfLocalDate } from '../../services/shared/contracts/local-time.ts'
import { createStreetModel, resolveScenario } from '../../simulator/street-model.ts'
import { createRng, type Rng } from '../../simulator/rng.ts'
import { bandConditions, gatewayConditions } from '../../services/api/lib/alert-conditions.ts'
import { expectedAt } from '../../services/api/lib/expected-range.ts'
import { fmt, printNote, printTable, progress } from '../lib/report.ts'
import { TZ } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

/**
 * False alerts over a simulated quiet month: hourly footfall of every zone of the demo district for
 * 8 weeks of history and then 4 quiet weeks (no events, no faults), drawn from the demo scenario's
 * arrival rate (weekday × hour shape, groups of 1–4 walking together, 80 % carrying a phone), and
 * the alert rules run hour by hour over the quiet weeks exactly as the API runs them (the pure
 * expected-range and alert-condition modules). Every alert raised there is false. The counts are
 * drawn, not simulated device by device (a month of the full simulator takes hours on 2 cores): this
 * measures the rules against the traffic's own variability — weekly rhythm, Poisson noise and the
 * over-dispersion of groups — which is what raises false alerts.
 */
const WHAT = 'alerts'
const H = 3_600_000
const HISTORY_WEEKS = 8
const QUIET_WEEKS = 4
/** Share of the district's pedestrians that pass a zone, by its kind (shops: those who enter). */
const PASS_SHARE = { street: 0.9, square: 0.7, shop: 0.06 } as const

function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0
  if (lambda > 50) return Math.max(0, Math.round(rng.normal(lambda, Math.sqrt(lambda))))
  const l = Math.exp(-lambda)
  let k = 0
  let p = 1
  do {
    k++
    p *= rng.next()
  } while (p > l)
  return k - 1
}

function binomial(rng: Rng, n: number, p: number): number {
  let k = 0
  for (let i = 0; i < n; i++) if (rng.next() < p) k++
  return k
}

export async function runAlerts(ctx: BenchContext): Promise<BenchResult> {
  const district = await readDistrictFile('simulator/districts/mestre.json', TZ)
  const scenario = resolveScenario('demo')
  const quietFrom = startOfLocalDate('2027-02-01', TZ) // a Monday, no holiday in the month
  const fromMs = quietFrom - HISTORY_WEEKS * 7 * 24 * H
  const toMs = quietFrom + QUIET_WEEKS * 7 * 24 * H
  const model = createStreetModel(district, 42, fromMs, toMs, scenario)
  const weights = scenario.groupSizeWeights
  const meanGroup =
    weights.reduce((a, w, i) => a + w * (i + 1), 0) / weights.reduce((a, w) => a + w, 0)
  const rng = createRng(ctx.quick ? 7 : 42)
  const groupSize = () => {
    let u = rng.next() * weights.reduce((a, w) => a + w, 0)
    for (const [i, w] of weights.entries()) if ((u -= w) < 0) return i + 1
    return 1
  }
  const holidays = new Set(
    holidaysBetween(localDateOf(fromMs, TZ), localDateOf(toMs, TZ), district.holidays ?? []).keys(),
  )

  // Hourly series per zone: groups ~ Poisson, members pass the zone together, 80 % carry a phone.
  progress(WHAT, `drawing ${HISTORY_WEEKS + QUIET_WEEKS} weeks of hourly footfall per zone`)
  const series = new Map<string, Map<number, number>>()
  for (const z of district.zones) series.set(z.id, new Map())
  for (let t = fromMs; t < toMs; t += H) {
    const groups = poisson(rng, model.expectedArrivals(t, t + H) / meanGroup)
    const sizes = Array.from({ length: groups }, groupSize)
    for (const z of district.zones) {
      let n = 0
      for (const size of sizes)
        if (rng.next() < PASS_SHARE[z.kind]) n += binomial(rng, size, scenario.deviceShare)
      series.get(z.id)?.set(t, n)
    }
  }

  const results: { buckets: number; alerts: number; collapse: number }[] = []
  for (const buckets of [1, 2, 3, 4]) {
    const rules = AlertRulesSchema.parse({ outsideBandBuckets: buckets })
    let alerts = 0
    let collapse = 0
    const open = new Set<string>()
    for (let t = quietFrom + buckets * H; t <= toMs; t += H) {
      const now = new Set<string>()
      for (const z of district.zones) {
        const values = series.get(z.id) ?? new Map<number, number>()
        const opts = { tz: TZ, excludedDates: holidays, coveredFromMs: fromMs }
        const track = {
          zoneId: z.id,
          shopId: z.kind === 'shop' ? z.id : null,
          buckets: Array.from({ length: buckets }, (_, i) => {
            const startMs = t - (buckets - i) * H
            return {
              startMs,
              value: values.get(startMs) ?? 0,
              band: expectedAt(startMs, (at) => values.get(at), opts),
              comparable: !holidays.has(localDateOf(startMs, TZ)),
            }
          }),
        }
        for (const c of bandConditions([track], rules)) now.add(`${c.kind}:${z.id}`)
        const last = track.buckets.at(-1)
        if (last)
          for (const c of gatewayConditions(
            [
              {
                gatewayId: z.id,
                zoneId: z.id,
                shopId: null,
                lastMessageMs: t,
                lastHour: last.value,
                lastHourBand: last.band,
                comparable: last.comparable,
              },
            ],
            t,
            rules,
          ))
            now.add(`${c.kind}:${z.id}`)
      }
      for (const key of now)
        if (!open.has(key)) {
          if (key.startsWith('gateway_rate_collapse')) collapse++
          else alerts++
        }
      open.clear()
      for (const key of now) open.add(key)
    }
    results.push({ buckets, alerts, collapse })
  }
  const zones = district.zones.length
  printTable(
    `False alerts over a quiet month (${zones} zones × ${QUIET_WEEKS} weeks, hourly, bands from ${HISTORY_WEEKS} weeks)`,
    ['outsideBandBuckets', 'outside band', 'per zone-month', 'rate collapse (1 gateway/zone)'],
    results.map((r) => [r.buckets, r.alerts, fmt(r.alerts / zones, 2), r.collapse]),
  )
  printNote('default outsideBandBuckets = 3; rate collapse: last hour < 25 % of a usual ≥ 30')
  return {
    settings: {
      district: district.id,
      quietFrom: new Date(quietFrom).toISOString(),
      historyWeeks: HISTORY_WEEKS,
      quietWeeks: QUIET_WEEKS,
      passShare: PASS_SHARE,
    },
    figures: { zones, results },
    notes: [
      'hourly counts drawn from the demo scenario rate (groups, phone share), not simulated device by device',
    ],
  }
}
