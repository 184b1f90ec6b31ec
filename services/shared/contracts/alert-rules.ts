import { z } from 'zod'

/**
 * A district's alert thresholds (`alerts` in its district file); every one has a documented default
 * (README, "Alerts").
 */
export const AlertRulesSchema = z.strictObject({
  /** A zone or shop outside its expected range for this many consecutive hourly buckets. */
  outsideBandBuckets: z.number().int().min(1).max(48).default(3),
  /**
   * A bucket counts as outside only when it is also at least this far from the usual value
   * (transits): a quiet hour's band is a few transits wide, and one group of friends is not news.
   */
  minDeviation: z.number().int().min(0).default(5),
  /** Bands need at least this many comparable weeks (fewer: no band, no alert). */
  minSamples: z.number().int().min(2).max(52).default(3),
  /** A gateway with no message for this many minutes is silent. */
  silentAfterMinutes: z
    .number()
    .int()
    .min(2)
    .max(24 * 60)
    .default(15),
  /**
   * A gateway's transits over the last hour below this share of its usual for that hour (and the
   * usual at least `rateMinUsual`): its rate collapsed.
   */
  rateCollapseShare: z.number().gt(0).lt(1).default(0.25),
  rateMinUsual: z.number().int().min(1).default(30),
  /** Dead letters of the last hour at least this many, and `deadLetterRise` × the hourly mean of the day before. */
  deadLetterMinPerHour: z.number().int().min(1).default(20),
  deadLetterRise: z.number().gt(1).default(3),
})
export type AlertRules = z.output<typeof AlertRulesSchema>
export type AlertRulesInput = z.input<typeof AlertRulesSchema>

export const DEFAULT_ALERT_RULES: AlertRules = AlertRulesSchema.parse({})
