/**
 * Flood control per gateway: a ceiling on messages and on sightings per second, each a token bucket
 * that holds `burstS` seconds of its rate (a native batch of 5 s, a Meraki post of a minute pass
 * whole). A message is admitted only when both buckets hold enough; a refused message takes nothing.
 * Refusals are counted by the caller (`flood`) and dead-lettered at most once per gateway every
 * `deadLetterEveryMs`, so a flood never becomes a flood of dead letters; no gateway waits for
 * another. Pure: the caller passes the time.
 *
 * The time is the message's own where the format has one (a native batch's `sentAt`, the newest
 * sighting of a sniffer message or a Meraki post), else its arrival: a backlog the broker kept while
 * ingest was away is then not mistaken for a flood — except for the formats that carry no time,
 * whose backlog arrives faster than it was sent (they publish at QoS 0 by default, which a broker
 * does not queue for an absent subscriber).
 *
 * A message with no time of its own among messages that have one (a native status beside its
 * batches, an access point's health beside its sightings) passes `null` and is metered by its
 * arrival in a bucket of its own (same ceilings). Sharing the timed bucket, a status arriving during
 * a backfill (batches sent hours ago, at full speed) would push the bucket's time to now, and the
 * past batches after it would refill nothing: the backfill would read as a flood.
 */
export type FloodLimits = {
  /** Messages per second per gateway; 0 turns the ceiling off. */
  messagesPerS: number
  /** Sightings per second per gateway; 0 turns the ceiling off. */
  sightingsPerS: number
  /** Seconds of each rate a bucket holds (the largest burst admitted). Default 10. */
  burstS?: number
  /** One dead letter per gateway per this interval at most. Default 60 s. */
  deadLetterEveryMs?: number
}

export type FloodVerdict =
  { admitted: true } | { admitted: false; deadLetter: boolean; refusedSinceLastLetter: number }

type Bucket = { messages: number; sightings: number; atMs: number }

export type FloodControl = {
  /**
   * `atMs`: the message's own time; null when it has none (then `arrivalMs` meters it, in the
   * gateway's bucket of untimed messages).
   */
  admit(gatewayId: string, sightings: number, atMs: number | null, arrivalMs?: number): FloodVerdict
}

export function createFloodControl(limits: FloodLimits): FloodControl {
  const burstS = limits.burstS ?? 10
  const every = limits.deadLetterEveryMs ?? 60_000
  const capMessages = limits.messagesPerS * burstS
  const capSightings = limits.sightingsPerS * burstS
  const buckets = new Map<string, Bucket>()
  const letters = new Map<string, { atMs: number; refused: number }>()
  return {
    admit(gatewayId, sightings, ownMs, arrivalMs = 0) {
      if (limits.messagesPerS <= 0 && limits.sightingsPerS <= 0) return { admitted: true }
      const key = ownMs === null ? `${gatewayId}\u0000untimed` : gatewayId
      const atMs = ownMs ?? arrivalMs
      let b = buckets.get(key)
      if (!b) buckets.set(key, (b = { messages: capMessages, sightings: capSightings, atMs }))
      // Time never runs backwards for a bucket (an out-of-order batch refills nothing).
      const elapsedS = Math.max(0, atMs - b.atMs) / 1000
      b.atMs = Math.max(b.atMs, atMs)
      b.messages = Math.min(capMessages, b.messages + elapsedS * limits.messagesPerS)
      b.sightings = Math.min(capSightings, b.sightings + elapsedS * limits.sightingsPerS)
      const messagesOk = limits.messagesPerS <= 0 || b.messages >= 1
      const sightingsOk = limits.sightingsPerS <= 0 || b.sightings >= sightings
      if (messagesOk && sightingsOk) {
        if (limits.messagesPerS > 0) b.messages -= 1
        if (limits.sightingsPerS > 0) b.sightings -= sightings
        return { admitted: true }
      }
      const letter = letters.get(key)
      // Dead letters are spaced by arrival order of refusals, in the same time as the buckets.
      if (!letter || atMs - letter.atMs >= every || atMs < letter.atMs) {
        const refused = letter?.refused ?? 0
        letters.set(key, { atMs, refused: 0 })
        return { admitted: false, deadLetter: true, refusedSinceLastLetter: refused }
      }
      letter.refused++
      return { admitted: false, deadLetter: false, refusedSinceLastLetter: letter.refused }
    },
  }
}

/** A flood dead letter's detail: who, what happens to the excess, how many since the last one. */
export function floodDetail(gatewayId: string, refusedSinceLastLetter: number): string {
  const more = refusedSinceLastLetter
    ? ` (${refusedSinceLastLetter} more refused since the last dead letter)`
    : ''
  return `gateway ${gatewayId} sends more than its ceiling of messages or sightings per second; excess is counted (miglio_ingest_rejects_total{reason="flood"}) and dead-lettered once a minute${more}`
}
