import type { AlertRules } from '../../shared/contracts/alert-rules.ts'
import type { AlertKind } from '../../shared/contracts/alerts.ts'
import type { Band } from './expected-range.ts'

/**
 * What should be alerting now, from figures the evaluator read (pure): one condition per kind and
 * subject. The evaluator raises an alert for a condition without an open alert and clears open
 * alerts whose condition is gone (`reconcile`).
 */
export type AlertCondition = {
  kind: AlertKind
  zoneId: string | null
  shopId: string | null
  gatewayId: string | null
  details: Record<string, unknown>
}

/** The last finished hourly buckets of a zone or shop, oldest first, with their bands. */
export type BandTrack = {
  zoneId: string
  shopId: string | null
  buckets: { startMs: number; value: number; band: Band | null; comparable: boolean }[]
}

/**
 * A zone or shop outside its band in each of its last `outsideBandBuckets` finished buckets (above
 * or below, and at least `minDeviation` from the usual; each bucket on a comparable day with a
 * band). Days that are not comparable (holidays,
 * events: expected to differ) raise nothing.
 */
export function bandConditions(tracks: readonly BandTrack[], rules: AlertRules): AlertCondition[] {
  const out: AlertCondition[] = []
  for (const t of tracks) {
    const last = t.buckets.slice(-rules.outsideBandBuckets)
    if (last.length < rules.outsideBandBuckets) continue
    const sides = last.map((b) => {
      if (!b.comparable || !b.band) return null
      if (Math.abs(b.value - b.band.usual) < rules.minDeviation) return null
      return b.value > b.band.high ? 'above' : b.value < b.band.low ? 'below' : null
    })
    if (sides.some((s) => s === null)) continue
    const latest = last.at(-1)
    out.push({
      kind: t.shopId ? 'shop_outside_band' : 'zone_outside_band',
      zoneId: t.zoneId,
      shopId: t.shopId,
      gatewayId: null,
      details: {
        direction: sides.at(-1),
        buckets: last.map((b) => ({
          start: new Date(b.startMs).toISOString(),
          value: b.value,
          usual: b.band?.usual ?? null,
          low: b.band?.low ?? null,
          high: b.band?.high ?? null,
        })),
        usual: latest?.band?.usual ?? null,
        value: latest?.value ?? null,
      },
    })
  }
  return out
}

export type GatewayFigures = {
  gatewayId: string
  zoneId: string
  shopId: string | null
  /** Its last message of any kind, or null when never heard. */
  lastMessageMs: number | null
  /** Transits of the last hour, and the band of that hour from comparable weeks. */
  lastHour: number
  lastHourBand: Band | null
  comparable: boolean
}

/**
 * A gateway heard before but silent for `silentAfterMinutes`; a gateway still talking whose last
 * hour holds under `rateCollapseShare` of its usual (on a comparable day, usual ≥ `rateMinUsual`).
 */
export function gatewayConditions(
  gateways: readonly GatewayFigures[],
  nowMs: number,
  rules: AlertRules,
): AlertCondition[] {
  const out: AlertCondition[] = []
  for (const g of gateways) {
    const base = { zoneId: g.zoneId, shopId: g.shopId, gatewayId: g.gatewayId }
    if (g.lastMessageMs === null) continue
    const silentMin = (nowMs - g.lastMessageMs) / 60_000
    if (silentMin >= rules.silentAfterMinutes) {
      out.push({
        kind: 'gateway_silent',
        ...base,
        details: {
          lastMessageAt: new Date(g.lastMessageMs).toISOString(),
          silentMinutes: Math.floor(silentMin),
        },
      })
      continue
    }
    const usual = g.lastHourBand?.usual ?? 0
    if (g.comparable && usual >= rules.rateMinUsual && g.lastHour < rules.rateCollapseShare * usual)
      out.push({
        kind: 'gateway_rate_collapse',
        ...base,
        details: { lastHour: g.lastHour, usual, share: g.lastHour / usual },
      })
  }
  return out
}

/**
 * Dead letters of the last hour at least `deadLetterMinPerHour` and `deadLetterRise` times the
 * hourly mean of the 24 hours before it.
 */
export function deadLetterConditions(
  f: { lastHour: number; dayBefore: number },
  rules: AlertRules,
): AlertCondition[] {
  const mean = f.dayBefore / 24
  if (f.lastHour < rules.deadLetterMinPerHour) return []
  if (f.lastHour < rules.deadLetterRise * mean) return []
  return [
    {
      kind: 'dead_letters_rising',
      zoneId: null,
      shopId: null,
      gatewayId: null,
      details: { lastHour: f.lastHour, hourlyMeanDayBefore: mean },
    },
  ]
}

/** Kind and subject: what makes two alerts the same one. */
export function subjectKey(a: {
  kind: string
  zoneId: string | null
  shopId: string | null
  gatewayId: string | null
}): string {
  return [a.kind, a.zoneId ?? '', a.shopId ?? '', a.gatewayId ?? ''].join('\u0000')
}

/** Conditions without an open alert are raised; open alerts without a condition are cleared. */
export function reconcile<
  T extends { id: string; kind: string } & Parameters<typeof subjectKey>[0],
>(
  open: readonly T[],
  conditions: readonly AlertCondition[],
): { raise: AlertCondition[]; clear: T[] } {
  const now = new Set(conditions.map(subjectKey))
  const had = new Set(open.map(subjectKey))
  return {
    raise: conditions.filter((c) => !had.has(subjectKey(c))),
    clear: open.filter((a) => !now.has(subjectKey(a))),
  }
}

/** One line for people, in English (the dashboards translate by kind). */
export function summaryOf(a: {
  kind: AlertKind
  zoneId: string | null
  shopId: string | null
  gatewayId: string | null
  details: Record<string, unknown>
}): string {
  const n = (k: string) => {
    const v = a.details[k]
    return typeof v === 'number' ? Math.round(v * 10) / 10 : '?'
  }
  switch (a.kind) {
    case 'zone_outside_band':
    case 'shop_outside_band': {
      const buckets = Array.isArray(a.details.buckets) ? a.details.buckets.length : '?'
      const what = a.shopId ? `shop ${a.shopId}` : `zone ${a.zoneId ?? '?'}`
      return `${what} ${String(a.details.direction)} its usual range for ${buckets} hours (last: ${n('value')}, usual ${n('usual')})`
    }
    case 'gateway_silent':
      return `gateway ${a.gatewayId ?? '?'} silent for ${n('silentMinutes')} minutes`
    case 'gateway_rate_collapse':
      return `gateway ${a.gatewayId ?? '?'}: ${n('lastHour')} transits in the last hour, usual ${n('usual')}`
    case 'dead_letters_rising':
      return `dead letters rising: ${n('lastHour')} in the last hour, ${n('hourlyMeanDayBefore')} an hour the day before`
  }
}
