import type { ApiClient } from './api-client.ts'

/** The reads a view's panels share: answered once per refresh round however many panels ask. */
const CACHED = [
  'district',
  'zones',
  'shops',
  'shopSummary',
  'gateways',
  'footfall',
  'footfallDetail',
  'heatmap',
  'compare',
  'flows',
  'events',
  'uplift',
  'ingestStats',
  'deadLetters',
  'publicCrowd',
  'calibration',
  'forecast',
  'contextSeries',
] as const satisfies readonly (keyof ApiClient)[]

export type CachedRead = (typeof CACHED)[number]

export interface RequestCache {
  /** The client whose reads are shared; changes, `me` and CSV go straight through. */
  readonly client: ApiClient
  /** Forgets every answer (a new refresh round), or the answers of the reads named. */
  clear(reads?: readonly CachedRead[]): void
}

/**
 * Panels load independently (`load(api, params)`), yet several read the same thing: the zones, the
 * footfall of the range. The cache keeps each read's promise by method and arguments, so one round
 * of loads sends each request once; a failed read is forgotten at once, so the next load asks again.
 */
export function createRequestCache(client: ApiClient): RequestCache {
  const answers = new Map<string, Promise<unknown>>()
  const cached = { ...client }
  for (const method of CACHED) {
    const read = client[method] as (...args: unknown[]) => Promise<unknown>
    const shared = (...args: unknown[]): Promise<unknown> => {
      const key = `${method} ${JSON.stringify(args)}`
      const known = answers.get(key)
      if (known) return known
      const answer = read(...args)
      answers.set(key, answer)
      answer.catch(() => {
        if (answers.get(key) === answer) answers.delete(key)
      })
      return answer
    }
    Object.assign(cached, { [method]: shared })
  }
  return {
    client: cached,
    clear(reads) {
      if (!reads) {
        answers.clear()
        return
      }
      for (const key of [...answers.keys()]) {
        if (reads.some((read) => key.startsWith(`${read} `))) answers.delete(key)
      }
    },
  }
}
