/**
 * Occupancy ground truth of the Brno captures, per minute. Pure; bench/lib/brno-capture.ts feeds it.
 * The error figures and the cross-validation live in bench/lib/people-eval.ts.
 */

export const MINUTE_MS = 60_000

/**
 * The ground truth per minute from the capture's rows: the mean `occupancy` of the rows whose time
 * falls in the minute. Minutes without a row have no truth and are not compared.
 */
export function createMinuteTruth(): {
  add(tMs: number, occupancy: number): void
  minutes(): Map<number, number>
} {
  const acc = new Map<number, { sum: number; n: number }>()
  return {
    add(tMs, occupancy) {
      const m = Math.floor(tMs / MINUTE_MS) * MINUTE_MS
      const a = acc.get(m) ?? { sum: 0, n: 0 }
      a.sum += occupancy
      a.n++
      acc.set(m, a)
    },
    minutes() {
      return new Map(
        [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([m, a]) => [m, a.sum / a.n]),
      )
    },
  }
}
