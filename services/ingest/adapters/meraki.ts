import { timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import type { DecodedSighting } from '../decode-message.ts'
import {
  DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  describeIssues,
  macOf,
  oversizedDetail,
  parseJson,
  payloadLimit,
  rejectWith,
  roundRssi,
  sighting,
  sightingLimit,
  timeWindowProblem,
  type AdapterLimits,
  type AdapterResult,
  type SourceIdentity,
} from './common.ts'

/**
 * Cisco Meraki Scanning (Location) API v3: the Meraki cloud POSTs JSON to a receiver, one post per
 * network and radio, about once a minute:
 * `{"version":"3.0","secret":"…","type":"WiFi"|"Bluetooth","data":{"networkId":"L_…","observations":[…]}}`.
 * Each observation is one client (`clientMac`) with `locations[]` (each with `time` and
 * `rssiRecords[{apMac,rssi}]`) or, when the client has no recent location, a `latestRecord`
 * `{time, nearestApMac, nearestApRssi}`. Bluetooth posts add `startTime`, `endTime`,
 * `reportingAps[]` and per-client `bleBeacons[]`.
 *
 * Every (client, AP, time, RSSI) becomes a sighting of that AP: the gateway is the AP, identified
 * by network id + AP MAC. Records outside the time window are dropped and counted, not fatal: one
 * post holds a whole network. A wrong `secret` is refused (`bad_meraki_secret`).
 */
const FORMAT = 'meraki'
const reject = rejectWith(FORMAT)

export type MerakiRequest = { method: string; contentType?: string }
export type MerakiOptions = {
  /**
   * The shared secret configured in the Meraki dashboard for this receiver; null when the receiver
   * already checked it (ingest reading the API's internal topic, which only the API may write).
   */
  secret: string | null
}

const NETWORK_ID = /^[A-Za-z0-9_-]{1,64}$/
const Time = z.iso.datetime({ offset: true })
const Rssi = z.union([z.number(), z.string().regex(/^-?\d{1,3}(\.\d+)?$/)])
const Mac = z.string().max(32)

const RssiRecordSchema = z.object({ apMac: Mac, rssi: Rssi }).loose()
const LocationSchema = z
  .object({ time: Time, rssiRecords: z.array(RssiRecordSchema).max(64).optional() })
  .loose()
const ObservationSchema = z
  .object({
    clientMac: Mac,
    locations: z.array(LocationSchema).max(64).nullish(),
    latestRecord: z
      .object({ time: Time, nearestApMac: Mac, nearestApRssi: Rssi })
      .loose()
      .nullish(),
  })
  .loose()

const PostSchema = z
  .object({
    version: z.string().regex(/^3(\.\d+)*$/, 'version: only Scanning API v3 is supported'),
    secret: z.string().max(256),
    type: z.enum(['WiFi', 'Bluetooth', 'BLE']),
    data: z
      .object({
        networkId: z.string().regex(NETWORK_ID, 'networkId: 1–64 of A–Z a–z 0–9 _ -'),
        observations: z.array(z.unknown()),
      })
      .loose(),
  })
  .loose()

/**
 * Decodes one Scanning API v3 POST body. Pure (the secret compare is constant-time); never throws;
 * no detail quotes a client or AP address, the secret or the network id.
 */
export function decodeMerakiPost(
  request: MerakiRequest,
  body: Buffer,
  nowMs: number,
  limits: AdapterLimits = DEFAULT_DECODE_LIMITS_FOR_ADAPTERS,
  options: MerakiOptions,
): AdapterResult {
  if (request.method.toUpperCase() !== 'POST')
    return reject('bad_meraki_post', 'only POST carries observations (GET is the validator)')
  if (request.contentType !== undefined && !/^application\/json\b/i.test(request.contentType))
    return reject('bad_meraki_post', 'content type is not application/json')
  if (body.length > payloadLimit(limits))
    return reject('oversized', oversizedDetail(body.length, limits))
  const json = parseJson(body)
  if (!json.ok) return reject('bad_meraki_post', 'body is not valid JSON')
  const post = PostSchema.safeParse(json.value)
  if (!post.success) return reject('bad_meraki_post', describeIssues(post.error))
  if (options.secret !== null && !secretMatches(post.data.secret, options.secret))
    return reject('bad_meraki_secret', 'secret does not match the configured one')
  const { networkId, observations } = post.data.data
  const radio = post.data.type === 'WiFi' ? 'wifi' : 'ble'

  const byAp = new Map<string, DecodedSighting[]>()
  let total = 0
  let stale = 0
  let future = 0
  const add = (apMac: string, s: DecodedSighting) => {
    const problem = timeWindowProblem(s.tMs, nowMs, limits)
    if (problem === 'stale') return void stale++
    if (problem === 'future') return void future++
    let list = byAp.get(apMac)
    if (!list) byAp.set(apMac, (list = []))
    list.push(s)
    total++
  }
  for (const [i, raw] of observations.entries()) {
    const o = ObservationSchema.safeParse(raw)
    if (!o.success)
      return reject('bad_meraki_post', `observations.${i}: ${describeIssues(o.error)}`)
    const client = macOf(o.data.clientMac)
    if (client === null) return reject('bad_mac', `observations.${i}.clientMac: not a MAC address`)
    const records: Array<{ time: string; apMac: string; rssi: string | number; where: string }> = []
    for (const [j, loc] of (o.data.locations ?? []).entries())
      for (const [k, r] of (loc.rssiRecords ?? []).entries())
        records.push({
          time: loc.time,
          apMac: r.apMac,
          rssi: r.rssi,
          where: `observations.${i}.locations.${j}.rssiRecords.${k}`,
        })
    const latest = o.data.latestRecord
    if (records.length === 0 && latest)
      records.push({
        time: latest.time,
        apMac: latest.nearestApMac,
        rssi: latest.nearestApRssi,
        where: `observations.${i}.latestRecord`,
      })
    for (const r of records) {
      const apMac = macOf(r.apMac)
      if (apMac === null) return reject('bad_meraki_post', `${r.where}: AP address is not a MAC`)
      const rssi = roundRssi(Number(r.rssi))
      if (rssi === null)
        return reject('bad_meraki_post', `${r.where}: rssi not a dBm value in [-127, 0]`)
      add(apMac, sighting(Date.parse(r.time), client, rssi, radio))
      if (total > sightingLimit(limits))
        return reject('too_many_sightings', `more than ${sightingLimit(limits)} sightings`)
    }
  }
  const groups = [...byAp].map(([apMac, sightings]) => ({
    source: { format: 'meraki', networkId, apMac } as SourceIdentity,
    sightings,
  }))
  const result: Extract<AdapterResult, { kind: 'sightings' }> = {
    ok: true,
    kind: 'sightings',
    format: FORMAT,
    groups,
  }
  if (stale > 0 || future > 0) result.dropped = { stale, future }
  return result
}

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  // Compare equal-length buffers so that the time does not reveal a common prefix.
  return a.length === b.length && expected.length > 0 && timingSafeEqual(a, b)
}
