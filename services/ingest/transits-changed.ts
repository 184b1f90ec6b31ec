import { randomBytes, randomInt } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { TRANSITS_CHANGED_TOPIC, withTopicPrefix } from '../shared/contracts/topics.ts'
import type { TransitsChangedV2 } from '../shared/contracts/gateway-messages.ts'
import type { StoredTransits } from './model.ts'

/** What a commit announces: what it stored, or (an older caller) only the zones it changed. */
export type Announcement = StoredTransits | ReadonlySet<string>

/**
 * The v2 announcement of what one commit stored (TransitsChangedV2Schema): per zone, per live
 * bucket, `[bucketStartMs, passersBy, visitors]`, and the transaction's id. Zones without counts
 * (a caller that passes only zone ids) go to `resync`. Null when there is nothing to announce.
 */
export function announcementBody(
  what: Announcement,
  instance: string,
  seq: number,
): TransitsChangedV2 | null {
  const stored: StoredTransits | null = what instanceof Set ? null : (what as StoredTransits)
  const zones: ReadonlySet<string> = stored ? stored.zones : (what as ReadonlySet<string>)
  if (zones.size === 0) return null
  const live = stored?.live
  const body: TransitsChangedV2 = { v: 2, instance, seq, zones: [] }
  const resync: string[] = []
  for (const zone of zones) {
    const buckets = live?.zones.get(zone)
    if (!buckets) {
      resync.push(zone)
      continue
    }
    body.zones.push({
      id: zone,
      b: [...buckets].map(([bucket, c]) => [bucket, c.passersBy, c.visitors]),
    })
  }
  if (live && body.zones.length) body.xid = live.xid
  if (resync.length) body.resync = resync
  return body
}

/**
 * Ingest's side of TRANSITS_CHANGED_TOPIC (the contract: contracts/topics.ts and
 * TransitsChangedSchema): after each commit that stored transits, announces what it stored per
 * zone and live bucket (v2), so the API's live feed adds it to its counts without reading the
 * database. QoS 0, fire and forget: every announcement takes the next number of this process's
 * sequence (random start, `instance` random per process) — also one that cannot be published
 * while the broker is away — so the API sees a lost one as a gap and reads the database again.
 * The API listens in services/api/lib/transits-changed.ts.
 */
export function createTransitsAnnouncer(
  client: MqttClient,
  topicPrefix: string | undefined,
  opts: { instance?: string; firstSeq?: number } = {},
): { announce: (what: Announcement) => void; readonly instance: string } {
  const instance = opts.instance ?? randomBytes(8).toString('hex')
  let seq = opts.firstSeq ?? randomInt(0, 2 ** 31)
  const topic = withTopicPrefix(topicPrefix, TRANSITS_CHANGED_TOPIC)
  return {
    instance,
    announce(what) {
      const body = announcementBody(what, instance, seq)
      if (!body) return
      seq++
      if (!client.connected) return
      client.publish(topic, JSON.stringify(body), { qos: 0 }, () => undefined)
    },
  }
}
