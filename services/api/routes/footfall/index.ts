import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import {
  CompareQuerySchema,
  CompareResponseSchema,
  FootfallDetailQuerySchema,
  FootfallDetailResponseSchema,
  HeatmapQuerySchema,
  HeatmapResponseSchema,
  type CompareResponse,
  type CompareRow,
  type FootfallDetailResponse,
  type FootfallDetailRow,
  type FootfallDetailTotal,
  type HeatmapResponse,
} from '../../../shared/contracts/api.ts'
import type { Db } from '../../../shared/db/create-db.ts'
import { AppError } from '../../../shared/errors.ts'
import { requirePrincipal } from '../../plugins/auth.ts'
import { csvOf } from '../../plugins/csv.ts'
import {
  listFootfall,
  sumFootfallByWeekdayHour,
  sumFootfallByZone,
  type ZoneSums,
} from '../../queries/footfall-queries.ts'
import { captureRate, deltaOf, dwellMean, estimateBand } from '../../lib/measures.ts'
import { DAY_MS, rangeOf } from '../../lib/range.ts'
import { resolveScope } from '../../lib/scope.ts'
import { shiftLocalDays, weekdayHourOccurrences } from '../../../shared/contracts/local-time.ts'
import { AUTH_ERRORS, NOT_FOUND } from '../../lib/responses.ts'

/** Longest range per bucket width, so one request cannot ask for millions of cells. */
export const MAX_RANGE_MS = {
  '15m': 31 * DAY_MS,
  '1h': 366 * DAY_MS,
  '1d': 3 * 366 * DAY_MS,
  week: 10 * 366 * DAY_MS,
} as const
const MAX_HEATMAP_MS = 366 * DAY_MS
const MAX_COMPARE_MS = 366 * DAY_MS

export type FootfallRouteOptions = {
  db: Db
  /** The district's time zone (read from the database; MIGLIO_TZ while none is loaded). */
  timeZone: () => Promise<string>
}

function totalsOf(rows: FootfallDetailRow[]): FootfallDetailTotal[] {
  const byZone = new Map<string, FootfallDetailTotal>()
  for (const r of rows) {
    const t = byZone.get(r.zoneId) ?? {
      zoneId: r.zoneId,
      passersBy: 0,
      visitors: 0,
      dwellSecondsSum: 0,
      estimatedPeople: 0,
      captureRate: null,
      dwellMeanS: null,
      dwellHistogram: { lt1m: 0, m1to5: 0, m5to15: 0, m15to60: 0, gt60m: 0 },
      calibrationVersions: [],
      estimatedPeopleBand: { low: 0, high: 0 },
    }
    t.passersBy += r.passersBy
    t.visitors += r.visitors
    t.dwellSecondsSum += r.dwellSecondsSum
    t.estimatedPeople += r.estimatedPeople
    for (const k of Object.keys(t.dwellHistogram) as (keyof typeof t.dwellHistogram)[])
      t.dwellHistogram[k] += r.dwellHistogram[k]
    t.calibrationVersions = [...new Set([...t.calibrationVersions, ...r.calibrationVersions])].sort(
      (a, b) => a - b,
    )
    byZone.set(r.zoneId, t)
  }
  return [...byZone.values()].map((t) => ({
    ...t,
    captureRate: captureRate(t.passersBy, t.visitors),
    dwellMeanS: dwellMean(t.dwellSecondsSum, t.visitors),
    estimatedPeopleBand: estimateBand(t.passersBy + t.visitors, t.estimatedPeople),
  }))
}

function compareRow(zoneId: string | null, cur: ZoneSums | undefined, base: ZoneSums | undefined) {
  const z = { passersBy: 0, visitors: 0, dwellSecondsSum: 0, estimatedPeople: 0 }
  const c = cur ?? { zoneId: '', ...z }
  const b = base ?? { zoneId: '', ...z }
  return {
    zoneId,
    passersBy: deltaOf(c.passersBy, b.passersBy),
    visitors: deltaOf(c.visitors, b.visitors),
    captureRate: deltaOf(
      captureRate(c.passersBy, c.visitors),
      captureRate(b.passersBy, b.visitors),
    ),
    dwellMeanS: deltaOf(
      dwellMean(c.dwellSecondsSum, c.visitors),
      dwellMean(b.dwellSecondsSum, b.visitors),
    ),
    estimatedPeople: deltaOf(c.estimatedPeople, b.estimatedPeople),
    estimatedPeopleBand: estimateBand(c.passersBy + c.visitors, c.estimatedPeople),
  }
}

function sumAll(rows: ZoneSums[]): ZoneSums {
  return rows.reduce(
    (a, r) => ({
      zoneId: '',
      passersBy: a.passersBy + r.passersBy,
      visitors: a.visitors + r.visitors,
      dwellSecondsSum: a.dwellSecondsSum + r.dwellSecondsSum,
      estimatedPeople: a.estimatedPeople + r.estimatedPeople,
    }),
    { zoneId: '', passersBy: 0, visitors: 0, dwellSecondsSum: 0, estimatedPeople: 0 },
  )
}

const COMPARE_METRICS = [
  'passersBy',
  'visitors',
  'captureRate',
  'dwellMeanS',
  'estimatedPeople',
] as const

export default async function footfallRoutes(app: FastifyInstance, opts: FootfallRouteOptions) {
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/footfall',
    {
      schema: {
        tags: ['footfall'],
        summary: 'Footfall per zone and bucket (shopkeeper: its shop only)',
        description:
          "Passers-by, visitors, capture rate, dwell (sum, mean, histogram) and estimated people with the calibration versions used, per zone and bucket (15m, 1h, 1d = local day, week = ISO week in the district time zone, from the daily aggregate). `shop` counts only that shop's gateways. Longest range: 31 days (15m), 366 (1h), 1098 (1d), 3660 (week).",
        querystring: FootfallDetailQuerySchema,
        response: { 200: FootfallDetailResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('footfall', (b: FootfallDetailResponse) => ({
          columns: [
            'zoneId',
            'bucketStart',
            'passersBy',
            'visitors',
            'captureRate',
            'dwellSecondsSum',
            'dwellMeanS',
            'dwellLt1m',
            'dwell1to5m',
            'dwell5to15m',
            'dwell15to60m',
            'dwellGt60m',
            'estimatedPeople',
            'estimatedPeopleLow',
            'estimatedPeopleHigh',
            'calibrationVersions',
          ],
          rows: b.rows.map((x) => [
            x.zoneId,
            x.bucketStart,
            x.passersBy,
            x.visitors,
            x.captureRate,
            x.dwellSecondsSum,
            x.dwellMeanS,
            x.dwellHistogram.lt1m,
            x.dwellHistogram.m1to5,
            x.dwellHistogram.m5to15,
            x.dwellHistogram.m15to60,
            x.dwellHistogram.gt60m,
            x.estimatedPeople,
            x.estimatedPeopleBand.low,
            x.estimatedPeopleBand.high,
            x.calibrationVersions,
          ]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const { bucket } = req.query
      const { from, to } = rangeOf(req.query, MAX_RANGE_MS[bucket])
      const scope = await resolveScope(opts.db, p, req.query)
      const tz = await opts.timeZone()
      const rows = await listFootfall(opts.db, { from, to, bucket, tz, ...scope })
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        bucket,
        timezone: tz,
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        rows,
        totals: totalsOf(rows),
      }
    },
  )

  r.get(
    '/footfall/heatmap',
    {
      schema: {
        tags: ['footfall'],
        summary: 'Footfall by local weekday × hour over a range (shopkeeper: its shop only)',
        description:
          "Sums of the hourly aggregate per ISO weekday (1 = Monday … 7 = Sunday) and hour in the district's time zone, with the number of such hours in the range and the means per hour. At most 366 days.",
        querystring: HeatmapQuerySchema,
        response: { 200: HeatmapResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('heatmap', (b: HeatmapResponse) => ({
          columns: [
            'weekday',
            'hour',
            'passersBy',
            'visitors',
            'captureRate',
            'hours',
            'meanPassersBy',
            'meanVisitors',
          ],
          rows: b.cells.map((c) => [
            c.weekday,
            c.hour,
            c.passersBy,
            c.visitors,
            c.captureRate,
            c.hours,
            c.meanPassersBy,
            c.meanVisitors,
          ]),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const { from, to } = rangeOf(req.query, MAX_HEATMAP_MS)
      const scope = await resolveScope(opts.db, p, req.query)
      const tz = await opts.timeZone()
      const sums = await sumFootfallByWeekdayHour(opts.db, { from, to, tz, ...scope })
      const occurrences = weekdayHourOccurrences(from.getTime(), to.getTime(), tz)
      const byKey = new Map(sums.map((s) => [s.weekday * 100 + s.hour, s]))
      const cells = []
      for (let weekday = 1; weekday <= 7; weekday++) {
        for (let hour = 0; hour < 24; hour++) {
          const s = byKey.get(weekday * 100 + hour)
          const passersBy = s?.passersBy ?? 0
          const visitors = s?.visitors ?? 0
          const hours = occurrences.get(weekday * 100 + hour) ?? 0
          cells.push({
            weekday,
            hour,
            passersBy,
            visitors,
            captureRate: captureRate(passersBy, visitors),
            hours,
            meanPassersBy: hours ? passersBy / hours : null,
            meanVisitors: hours ? visitors / hours : null,
          })
        }
      }
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        timezone: tz,
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        cells,
      }
    },
  )

  r.get(
    '/footfall/compare',
    {
      schema: {
        tags: ['footfall'],
        summary:
          'Compare two periods per zone with absolute and % deltas (shopkeeper: its shop only)',
        description:
          'mode=wow: the same local times 7 days earlier; yoy: 364 days earlier (52 weeks, same weekday); custom: baseFrom/baseTo. Each period at most 366 days. Rows per zone plus a row with zoneId null for the whole scope.',
        querystring: CompareQuerySchema,
        response: { 200: CompareResponseSchema, ...AUTH_ERRORS, ...NOT_FOUND },
      },
      config: {
        csv: csvOf('compare', (b: CompareResponse) => ({
          columns: ['zoneId', 'metric', 'current', 'baseline', 'delta', 'deltaPct'],
          rows: b.rows.flatMap((row: CompareRow) =>
            COMPARE_METRICS.map((m) => [
              row.zoneId ?? 'all',
              m,
              row[m].current,
              row[m].baseline,
              row[m].delta,
              row[m].deltaPct,
            ]),
          ),
        })),
      },
    },
    async (req) => {
      const p = requirePrincipal(req)
      const q = req.query
      const cur = rangeOf(q, MAX_COMPARE_MS)
      let base: { from: Date; to: Date }
      if (q.mode === 'custom') {
        if (!q.baseFrom || !q.baseTo)
          throw new AppError(
            'bad_request',
            `${q.baseFrom ? 'baseTo' : 'baseFrom'}: required when mode is custom`,
            { statusCode: 400 },
          )
        base = rangeOf({ from: q.baseFrom, to: q.baseTo }, MAX_COMPARE_MS, {
          from: 'baseFrom',
          to: 'baseTo',
        })
      } else {
        if (q.baseFrom || q.baseTo)
          throw new AppError(
            'bad_request',
            `${q.baseFrom ? 'baseFrom' : 'baseTo'}: only with mode=custom`,
            {
              statusCode: 400,
            },
          )
        const days = q.mode === 'wow' ? -7 : -364
        const tz = await opts.timeZone()
        base = {
          from: new Date(shiftLocalDays(cur.from.getTime(), days, tz)),
          to: new Date(shiftLocalDays(cur.to.getTime(), days, tz)),
        }
      }
      const scope = await resolveScope(opts.db, p, q)
      const [c, b] = await Promise.all([
        sumFootfallByZone(opts.db, { ...cur, ...scope }),
        sumFootfallByZone(opts.db, { ...base, ...scope }),
      ])
      const zoneIds = [...new Set([...c, ...b].map((x) => x.zoneId))].sort()
      const rows = [
        ...zoneIds.map((z) =>
          compareRow(
            z,
            c.find((x) => x.zoneId === z),
            b.find((x) => x.zoneId === z),
          ),
        ),
        compareRow(null, sumAll(c), sumAll(b)),
      ]
      return {
        mode: q.mode,
        current: { from: cur.from.toISOString(), to: cur.to.toISOString() },
        baseline: { from: base.from.toISOString(), to: base.to.toISOString() },
        zoneId: scope.zoneId ?? null,
        shopId: scope.shopId ?? null,
        rows,
      }
    },
  )
}
