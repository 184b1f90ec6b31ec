import type { DecodedSighting } from '../decode-message.ts'
import type { DeviceList } from '../ingest-service.ts'
import type { RegisteredGateway } from '../ingest-repository.ts'
import type { Pseudonymiser } from '../pseudonymiser.ts'
import type { PseudoSighting } from '../sessionise.ts'

export type FilteredSightings = {
  sightings: PseudoSighting[]
  exempt: Set<string>
  belowFloor: number
  denied: number
  /** Each input sighting's pseudonym, or null when a filter dropped it first (for digests). */
  pseudonyms: (string | null)[]
}

/**
 * The gateway's RSSI floor and the deny list, then pseudonymisation (the day's keys must be
 * prepared): from here on no MAC exists. Randomised Wi-Fi probes keep their de-randomisation hints
 * as a keyed fingerprint and a sequence number (see plan-group.ts). Shared by every format.
 */
export function filterAndPseudonymise(
  pseudonymiser: Pseudonymiser,
  decoded: readonly DecodedSighting[],
  gateway: RegisteredGateway,
  list: DeviceList | undefined,
): FilteredSightings {
  const sightings: PseudoSighting[] = []
  const exempt = new Set<string>()
  let belowFloor = 0
  let denied = 0
  const pseudonyms: (string | null)[] = new Array<string | null>(decoded.length).fill(null)
  for (const [i, s] of decoded.entries()) {
    if (s.rssi < gateway.rssiFloor) {
      belowFloor++
      continue
    }
    if (list?.deny.has(s.mac)) {
      denied++
      continue
    }
    const pseudonym = pseudonymiser.pseudonymise(s.mac, s.tMs)
    pseudonyms[i] = pseudonym
    if (list?.allow.has(s.mac)) exempt.add(pseudonym)
    const sighting: PseudoSighting = {
      pseudonym,
      tMs: s.tMs,
      rssi: s.rssi,
      radio: s.radio,
      randomised: s.randomised,
    }
    if (s.randomised && s.radio === 'wifi' && s.ie !== undefined && s.seqNum !== undefined) {
      sighting.fp = pseudonymiser.fingerprint(s.ie, s.tMs)
      sighting.seqNum = s.seqNum
    }
    sightings.push(sighting)
  }
  return { sightings, exempt, belowFloor, denied, pseudonyms }
}
