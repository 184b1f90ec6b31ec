/**
 * The district's time zone for the API's local days, weeks, hours and weekdays: read from the
 * database (`read`, the districts table) on first need and remembered once a district is loaded;
 * `fallback` (MIGLIO_TZ) while none is, asked again at the next need. The API serves before its
 * database answers (`miglio start`, `miglio api`), so the zone cannot be an option fixed at build
 * time. A district reloaded with another zone takes effect when the API restarts.
 */
export function createDistrictTimeZone(
  read: () => Promise<string | null>,
  fallback: string,
): () => Promise<string> {
  let known: string | null = null
  return async () => {
    if (known !== null) return known
    known = await read()
    return known ?? fallback
  }
}
