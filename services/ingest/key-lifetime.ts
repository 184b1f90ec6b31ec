import { addDays, startOfLocalDate, startOfLocalDay } from '../shared/contracts/local-time.ts'

/**
 * When the pseudonymisation key of local `day` (YYYY-MM-DD in `tz`) is destroyed: the next local
 * midnight plus the grace (KEY_GRACE_H). After that the day's sightings are `key_expired`.
 */
export function keyDestroyAfter(day: string, tz: string, graceMs: number): number {
  return startOfLocalDate(addDays(day, 1), tz) + graceMs
}

/**
 * The start of the oldest local day whose key is still alive at `nowMs`: yesterday during the grace
 * after local midnight (its key dies at `keyDestroyAfter`), today after it. Anything sent for an
 * earlier time is rejected, so a backfill must not reach before it.
 */
export function oldestKeyedDayStart(nowMs: number, tz: string, graceMs: number): number {
  const today = startOfLocalDay(nowMs, tz)
  return nowMs < today + graceMs ? startOfLocalDay(today - 1, tz) : today
}
