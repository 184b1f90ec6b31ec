import { AppError } from '../../shared/errors.ts'

export const DAY_MS = 86_400_000
const EARLIEST_MS = Date.UTC(2000, 0, 1)
const LATEST_MS = Date.UTC(9999, 0, 1)

function badRequest(message: string): AppError {
  return new AppError('bad_request', message, { statusCode: 400 })
}

/** An instant from a validated ISO string; 400 naming the field outside 2000–9999. */
export function instantOf(field: string, iso: string): Date {
  const d = new Date(iso)
  if (!(d.getTime() >= EARLIEST_MS && d.getTime() < LATEST_MS))
    throw badRequest(`${field}: must lie between 2000-01-01 and 9999-01-01`)
  return d
}

/**
 * A [from, to) range: 400 naming `from` when it is not before `to`, naming `to` when the range is
 * longer than `maxMs`.
 */
export function rangeOf(
  q: { from: string; to: string },
  maxMs: number,
  names: { from: string; to: string } = { from: 'from', to: 'to' },
): { from: Date; to: Date } {
  const from = instantOf(names.from, q.from)
  const to = instantOf(names.to, q.to)
  if (from >= to) throw badRequest(`${names.from}: must be before ${names.to}`)
  if (to.getTime() - from.getTime() > maxMs)
    throw badRequest(`${names.to}: the range may span at most ${Math.floor(maxMs / DAY_MS)} days`)
  return { from, to }
}

/** Optional bounds (both, one or none), same rules as rangeOf. */
export function optionalRangeOf(
  q: { from?: string | undefined; to?: string | undefined },
  maxMs = Number.POSITIVE_INFINITY,
): { from?: Date; to?: Date } {
  const from = q.from === undefined ? undefined : instantOf('from', q.from)
  const to = q.to === undefined ? undefined : instantOf('to', q.to)
  if (from && to) return rangeOf({ from: q.from ?? '', to: q.to ?? '' }, maxMs)
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) }
}
