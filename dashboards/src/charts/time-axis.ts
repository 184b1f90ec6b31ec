const HOUR_MS = 3_600_000

/** Wall-clock fields of `ms` in `timeZone`. */
export function zonedParts(
  ms: number,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0)
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
  }
}

/** Milliseconds `timeZone` is ahead of UTC at `ms`. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const p = zonedParts(ms, timeZone)
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute)
  return wall - Math.floor(ms / 60_000) * 60_000
}

/** The instant of local wall-clock time `hour`:00 on the local day of `ms`. */
export function localHourOf(ms: number, timeZone: string, hour: number): number {
  const p = zonedParts(ms, timeZone)
  const guess = Date.UTC(p.year, p.month - 1, p.day, hour)
  return guess - zoneOffsetMs(guess - zoneOffsetMs(guess, timeZone), timeZone)
}

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
    let t = localHourOf(fromMs, timeZone, 0)
    if (t < fromMs) t = localHourOf(t + 30 * HOUR_MS, timeZone, 0)
    let i = 0
    while (t <= toMs) {
      if (i % step === 0) ticks.push(t)
      t = localHourOf(t + 30 * HOUR_MS, timeZone, 0)
      i += 1
    }
    return { ticks, daily }
  }
  const hours = span / HOUR_MS
  const step = [1, 2, 3, 6, 12].find((s) => hours / s <= maxTicks) ?? 24
  let t = Math.ceil(fromMs / HOUR_MS) * HOUR_MS
  for (; t <= toMs; t += HOUR_MS) {
    if (zonedParts(t, timeZone).hour % step === 0) ticks.push(t)
  }
  return { ticks, daily }
}
