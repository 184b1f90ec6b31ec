import {
  HOUR_MS,
  localHourOf,
  startOfLocalDay,
  startOfNextLocalDay,
} from '../../../services/shared/contracts/local-time.ts'

/**
 * Tick instants on local wall-clock boundaries in [from, to]: every few local hours for a day or
 * so, local midnights for longer spans; sparser when the axis is short.
 */
export function localTicks(
  fromMs: number,
  toMs: number,
  timeZone: string,
  maxTicks: number,
): { ticks: number[]; daily: boolean } {
  const span = toMs - fromMs
  const daily = span > 36 * HOUR_MS
  const ticks: number[] = []
  if (daily) {
    const days = Math.ceil(span / (24 * HOUR_MS))
    const step = Math.max(1, Math.ceil(days / Math.max(1, maxTicks)))
    let t = startOfLocalDay(fromMs, timeZone)
    if (t < fromMs) t = startOfNextLocalDay(fromMs, timeZone)
    let i = 0
    while (t <= toMs) {
      if (i % step === 0) ticks.push(t)
      t = startOfNextLocalDay(t, timeZone)
      i += 1
    }
    return { ticks, daily }
  }
  const hours = span / HOUR_MS
  const step = [1, 2, 3, 6, 12].find((s) => hours / s <= maxTicks) ?? 24
  let t = Math.ceil(fromMs / HOUR_MS) * HOUR_MS
  for (; t <= toMs; t += HOUR_MS) {
    if (localHourOf(t, timeZone) % step === 0) ticks.push(t)
  }
  return { ticks, daily }
}
