import { createHash, timingSafeEqual } from 'node:crypto'
import {
  GATEWAY_ID_PATTERN,
  MERAKI_INTERNAL_ROOT,
  TOPIC_ROOT,
  TRANSITS_CHANGED_TOPIC,
  withTopicPrefix,
} from '../contracts/topics.ts'

/** The broker users of Miglio's own services (infra/mosquitto/acl names the same). */
export const SERVICE_USERS = {
  ingest: 'miglio-ingest',
  api: 'miglio-api',
  simulator: 'miglio-simulator',
} as const
export type ServiceUser = (typeof SERVICE_USERS)[keyof typeof SERVICE_USERS]

export type BrokerAccounts = {
  /** Passwords of the service users. */
  services: Record<ServiceUser, string>
  /** Gateways, by gateway id (their username): they publish only under their own id. */
  gateways: Record<string, string>
}

export type BrokerAcl = {
  /** The authenticated username, or null when the credentials are wrong or missing. */
  authenticate(username: string | undefined, password: Buffer | undefined): string | null
  canPublish(username: string, topic: string): boolean
  /** A subscription filter is allowed when every topic it can match is readable. */
  canSubscribe(username: string, filter: string): boolean
  canRead(username: string, topic: string): boolean
}

type Rules = { read: string[][]; write: string[][] }

const levels = (topic: string) => topic.split('/')

/** MQTT topic matching of a concrete topic against an ACL pattern (`+` one level, `#` the rest). */
export function topicMatches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const p = pattern[i]
    const t = topic[i]
    if (p === '#') return true
    if (p === undefined || t === undefined) return p === t
    if (p !== '+' && p !== t) return false
  }
}

/**
 * Whether every topic `filter` (a subscription, possibly with wildcards) can match is matched by
 * `pattern`: `miglio/v1/gw/+/sightings` is covered by `miglio/v1/gw/#`, `#` is covered only by `#`.
 */
export function filterCovered(pattern: readonly string[], filter: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const p = pattern[i]
    const f = filter[i]
    if (p === '#') return true
    if (p === undefined || f === undefined) return p === f
    if (f === '#') return false
    if (p === '+') continue
    if (f === '+' || p !== f) return false
  }
}

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * The access rules of infra/mosquitto/acl, under MQTT_TOPIC_PREFIX when one is set:
 * - every user (the username is the gateway id): write `miglio/v1/gw/<username>/sightings|status`;
 * - miglio-ingest: read `miglio/v1/gw/#` (also as `$share/<group>/…`), write the transit announcements;
 * - miglio-api: read the transit announcements, write the Meraki posts it received
 *   (`miglio/v1/internal/meraki/<networkId>`), which only ingest reads;
 * - miglio-simulator: write `miglio/v1/gw/#` (it stands for every gateway of a simulated district)
 *   and the Meraki posts (it stands for the API's receiver too: `miglio simulate --format meraki`).
 * Anything else is refused: nobody subscribes to `#` or `$SYS/#`, nobody but ingest reads gateways.
 */
export function createBrokerAcl(accounts: BrokerAccounts, topicPrefix?: string): BrokerAcl {
  const t = (topic: string) => levels(withTopicPrefix(topicPrefix, topic))
  const gatewayTopics = t(`${TOPIC_ROOT}/#`)
  const announcements = t(TRANSITS_CHANGED_TOPIC)
  const merakiPosts = t(`${MERAKI_INTERNAL_ROOT}/+`)
  const rules: Record<ServiceUser, Rules> = {
    [SERVICE_USERS.ingest]: { read: [gatewayTopics, merakiPosts], write: [announcements] },
    [SERVICE_USERS.api]: { read: [announcements], write: [merakiPosts] },
    [SERVICE_USERS.simulator]: { read: [], write: [gatewayTopics, merakiPosts] },
  }
  const ownTopics = (username: string) =>
    GATEWAY_ID_PATTERN.test(username)
      ? [t(`${TOPIC_ROOT}/${username}/sightings`), t(`${TOPIC_ROOT}/${username}/status`)]
      : []
  const rulesOf = (username: string): Rules => {
    const own = ownTopics(username)
    const service = rules[username as ServiceUser] as Rules | undefined
    return { read: service?.read ?? [], write: [...own, ...(service?.write ?? [])] }
  }

  const passwords = new Map<string, Buffer>()
  for (const [user, password] of Object.entries(accounts.gateways)) {
    passwords.set(user, digest(password))
  }
  for (const [user, password] of Object.entries(accounts.services)) {
    passwords.set(user, digest(password))
  }
  const ruleCache = new Map<string, Rules>()
  const cached = (username: string) => {
    let r = ruleCache.get(username)
    if (!r) {
      r = rulesOf(username)
      ruleCache.set(username, r)
    }
    return r
  }

  return {
    authenticate(username, password) {
      if (username === undefined || password === undefined) return null
      const expected = passwords.get(username)
      // Compare digests so the time taken says nothing about the password's length or content.
      const given = digest(password)
      const ok = expected !== undefined && timingSafeEqual(expected, given)
      return ok ? username : null
    },
    canPublish(username, topic) {
      const topicLevels = levels(topic)
      return cached(username).write.some((p) => topicMatches(p, topicLevels))
    },
    canSubscribe(username, filter) {
      // `$share/<group>/<filter>`: allowed as the filter is (Mosquitto checks it the same way).
      const share = /^\$share\/[^/#+]+\/(.+)$/.exec(filter)
      const filterLevels = levels(share?.[1] ?? filter)
      return cached(username).read.some((p) => filterCovered(p, filterLevels))
    },
    canRead(username, topic) {
      const topicLevels = levels(topic)
      return cached(username).read.some((p) => topicMatches(p, topicLevels))
    },
  }
}
