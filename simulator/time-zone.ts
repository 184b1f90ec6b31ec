/** Local calendar fields of an instant in an IANA time zone. */
export interface LocalTime {
  year: number
  /** 1–12 */
  month: number
  day: number
  /** 0–23 */
  hour: number
  minute: number
  second: number
  /** 0 = Monday … 6 = Sunday (ISO order). */
  weekday: number
}

const SLOT_MS = 15 * 60_000
const WEEKDAYS: Readonly<Record<string, number>> = {
  Mon: 0,
  Tue: 1,
  Wed: 2,
  Thu: 3,
  Fri: 4,
  Sat: 5,
  Sun: 6,
}

/** Throws a clear error when `timeZone` is not an IANA zone this Node knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone })
  } catch {
    throw new Error(`unknown time zone '${timeZone}' (use an IANA name such as Europe/Rome)`)
  }
}

/**
 * Local time of instants in one zone, cached per 15-minute slot (every UTC offset in use is a
 * multiple of 15 minutes, so hour and weekday are constant within a slot).
 */
export function createZonedClock(timeZone: string): {
  /** Local fields of the slot holding `tMs` (minute and second of the slot start). */
  slot(tMs: number): LocalTime
  /** UTC offset in ms at `tMs` (local = utc + offset). */
  offsetMs(tMs: number): number
} {
  assertTimeZone(timeZone)
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  })
  const cache = new Map<number, LocalTime & { offsetMs: number }>()
  const at = (slot: number) => {
    const cached = cache.get(slot)
    if (cached) return cached
    const startMs = slot * SLOT_MS
    const parts: Record<string, string> = {}
    for (const p of format.formatToParts(startMs)) parts[p.type] = p.value
    const local: LocalTime = {
      year: Number(parts.year),
      month: Number(parts.month),
      day: Number(parts.day),
      hour: Number(parts.hour) % 24,
      minute: Number(parts.minute),
      second: Number(parts.second),
      weekday: WEEKDAYS[parts.weekday ?? ''] ?? 0,
    }
    const asUtc = Date.UTC(
      local.year,
      local.month - 1,
      local.day,
      local.hour,
      local.minute,
      local.second,
    )
    const entry = { ...local, offsetMs: asUtc - startMs }
    if (cache.size > 20_000) cache.clear()
    cache.set(slot, entry)
    return entry
  }
  return {
    slot: (tMs) => at(Math.floor(tMs / SLOT_MS)),
    offsetMs: (tMs) => at(Math.floor(tMs / SLOT_MS)).offsetMs,
  }
}

const clocks = new Map<string, ReturnType<typeof createZonedClock>>()

function clockOf(timeZone: string): ReturnType<typeof createZonedClock> {
  let clock = clocks.get(timeZone)
  if (!clock) {
    clock = createZonedClock(timeZone)
    clocks.set(timeZone, clock)
  }
  return clock
}

/**
 * Epoch ms of a wall-clock time in a zone. In the hour a DST change repeats, the earlier instant;
 * a time in the hour it skips is read with the offset in force just before the change.
 */
export function localToEpochMs(
  fields: {
    year: number
    month: number
    day: number
    hour?: number
    minute?: number
    second?: number
    ms?: number
  },
  timeZone: string,
): number {
  const clock = clockOf(timeZone)
  const asUtc = Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
    fields.ms ?? 0,
  )
  // Try the offsets in force around the instant; prefer the earliest that maps back exactly.
  const candidates = [...new Set([-1, 0, 1].map((d) => clock.offsetMs(asUtc + d * 86_400_000)))]
    .map((offset) => asUtc - offset)
    .filter((t) => t + clock.offsetMs(t) === asUtc)
    .sort((a, b) => a - b)
  return candidates[0] ?? asUtc - clock.offsetMs(asUtc)
}

/** Epoch ms of local midnight starting the local day that holds `tMs`. */
export function startOfLocalDayMs(tMs: number, timeZone: string): number {
  const local = clockOf(timeZone).slot(tMs)
  return localToEpochMs({ year: local.year, month: local.month, day: local.day }, timeZone)
}
