import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { MAX_PAYLOAD_BYTES } from '../../shared/contracts/gateway-messages.ts'
import { MERAKI_NETWORK_ID_PATTERN } from '../../shared/contracts/topics.ts'

/**
 * What the API's Meraki receiver checks in a Scanning API v3 post before it hands the post to
 * ingest, and how it cuts one that is too large for one MQTT message. Pure: no I/O, never throws.
 *
 * The receiver does not decode observations (ingest's adapter does, with the same secret): it
 * checks only what it needs to route and protect the post — JSON, the shared secret (first, so a
 * sender without it learns nothing about the format), the major version, the network id (a topic
 * level) and that the observations are a list. Nothing it answers quotes the body.
 */

/** Why a post is refused; the label of `miglio_api_meraki_rejected_total{reason}`. */
export type MerakiRejectReason =
  | 'not_json'
  | 'missing_secret'
  | 'wrong_secret'
  | 'bad_post'
  | 'too_large'
  | 'rate_limited'
  | 'broker_unavailable'

export const MERAKI_REJECT_REASONS: readonly MerakiRejectReason[] = [
  'not_json',
  'missing_secret',
  'wrong_secret',
  'bad_post',
  'too_large',
  'rate_limited',
  'broker_unavailable',
]

export type MerakiCheck =
  | {
      ok: true
      networkId: string
      /** MQTT payloads: the body itself when it fits one message, else complete posts in parts. */
      messages: Buffer[]
    }
  | { ok: false; status: 400 | 403 | 413; reason: MerakiRejectReason; message: string }

type Post = { secret?: unknown; version?: unknown; data?: unknown; [k: string]: unknown }

const refuse = (
  status: 400 | 403 | 413,
  reason: MerakiRejectReason,
  message: string,
): MerakiCheck => ({ ok: false, status, reason, message })

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/**
 * Whether `given` is the configured secret, in a time that says nothing about either (both are
 * hashed first, so neither their length nor a common prefix shows).
 */
export function secretMatches(given: string, expected: string): boolean {
  return expected.length > 0 && timingSafeEqual(digest(given), digest(expected))
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Checks one POST body against the configured secret; on success gives the network and the
 * messages to publish (each at most `maxMessageBytes`, MAX_PAYLOAD_BYTES by default).
 */
export function checkMerakiPost(
  body: Buffer,
  secret: string,
  maxMessageBytes: number = MAX_PAYLOAD_BYTES,
): MerakiCheck {
  let post: unknown
  try {
    post = JSON.parse(body.toString('utf8'))
  } catch {
    return refuse(400, 'not_json', 'the body is not valid JSON')
  }
  if (!isObject(post)) return refuse(400, 'not_json', 'the body is not a JSON object')
  const p = post as Post
  if (typeof p.secret !== 'string' || p.secret === '')
    return refuse(403, 'missing_secret', 'secret: missing')
  if (!secretMatches(p.secret, secret))
    return refuse(403, 'wrong_secret', 'secret: does not match the configured one')
  const version = typeof p.version === 'number' ? String(p.version) : p.version
  if (typeof version !== 'string' || !/^3(\.\d+)*$/.test(version))
    return refuse(400, 'bad_post', 'version: only Scanning API v3 posts are accepted')
  const data = p.data
  if (!isObject(data)) return refuse(400, 'bad_post', 'data: must be an object')
  const { networkId, observations } = data
  if (typeof networkId !== 'string' || !MERAKI_NETWORK_ID_PATTERN.test(networkId))
    return refuse(400, 'bad_post', 'data.networkId: must be 1–64 of A–Z a–z 0–9 _ -')
  if (!Array.isArray(observations))
    return refuse(400, 'bad_post', 'data.observations: must be a list')
  if (body.length <= maxMessageBytes) return { ok: true, networkId, messages: [body] }
  const parts = splitObservations(p, data, observations, maxMessageBytes)
  if (!parts)
    return refuse(
      413,
      'too_large',
      `one observation does not fit in a message of ${maxMessageBytes} bytes`,
    )
  return { ok: true, networkId, messages: parts }
}

/**
 * The post cut into complete posts (the same envelope: version, secret, type, network and every
 * other field) that share the observations in order, each at most `maxBytes` once serialised;
 * null when one observation alone does not fit. Every observation is in exactly one part.
 */
function splitObservations(
  post: Post,
  data: Record<string, unknown>,
  observations: unknown[],
  maxBytes: number,
): Buffer[] | null {
  // The envelope serialised once around a marker no post can contain (random, per call), then
  // each part is the envelope's text with the marker replaced by its observations' texts.
  const marker = `"${randomUUID()}"`
  const envelope = JSON.stringify({ ...post, data: { ...data, observations: JSON.parse(marker) } })
  const at = envelope.indexOf(marker)
  const head = `${envelope.slice(0, at)}[`
  const tail = `]${envelope.slice(at + marker.length)}`
  const emptyBytes = Buffer.byteLength(head) + Buffer.byteLength(tail)
  const parts: Buffer[] = []
  let texts: string[] = []
  let bytes = emptyBytes
  const flush = () => {
    parts.push(Buffer.from(`${head}${texts.join(',')}${tail}`, 'utf8'))
    texts = []
    bytes = emptyBytes
  }
  for (const o of observations) {
    const text = JSON.stringify(o) ?? 'null'
    const size = Buffer.byteLength(text)
    if (emptyBytes + size > maxBytes) return null
    // One comma between observations.
    if (texts.length > 0 && bytes + 1 + size > maxBytes) flush()
    bytes += size + (texts.length > 0 ? 1 : 0)
    texts.push(text)
  }
  if (texts.length > 0 || parts.length === 0) flush()
  return parts
}
