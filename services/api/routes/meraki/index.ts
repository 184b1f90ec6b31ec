import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Counter, Histogram } from 'prom-client'
import { ErrorBodySchema, MerakiAcceptedSchema } from '../../../shared/contracts/api.ts'
import { buildMerakiInternalTopic, withTopicPrefix } from '../../../shared/contracts/topics.ts'
import type { Logger } from '../../../shared/logger.ts'
import { checkMerakiPost, type MerakiRejectReason } from '../../lib/meraki-post.ts'
import { BrokerUnavailableError, type DurablePublisher } from '../../lib/mqtt-publisher.ts'
import { TokenBuckets } from '../../lib/token-bucket.ts'

/** Where Meraki posts; the validator GET and the POSTs share it (Meraki requires that). */
export const MERAKI_PATH = '/ingest/meraki'
/** Retry-After of a 503 while the broker cannot take the post. */
const BROKER_RETRY_AFTER_S = 10

export type MerakiMetrics = {
  rejected: Counter<'reason'>
  accepted: Counter
  messages: Counter
  /** From the request's arrival to the last PUBACK of an accepted post. */
  ackSeconds: Histogram
}

export type MerakiRouteOptions = {
  validator: string
  secret: string
  bodyLimitBytes: number
  /** Null when this process has no broker (`miglio api` without MQTT_URL): every post is a 503. */
  publisher: DurablePublisher | null
  topicPrefix: string | undefined
  metrics: MerakiMetrics
  /** Refused secrets per client address (a token bucket each); an empty bucket answers 429. */
  failureLimit: { capacity: number; refillPerSecond: number }
  log: Logger
}

/**
 * The body as received, opaque to the app's hooks: the NUL check walks bodies as objects, and a
 * Buffer's every byte would be a key. The post is parsed by the handler, once.
 */
class RawBody {
  readonly #bytes: Buffer
  constructor(bytes: Buffer) {
    this.#bytes = bytes
  }
  get bytes(): Buffer {
    return this.#bytes
  }
}

const isJson = (type: string | undefined) =>
  type !== undefined && /^application\/json\s*(;|$)/i.test(type)

/**
 * The Cisco Meraki Scanning API v3 receiver, `GET|POST /api/v1/ingest/meraki` (no API key: Meraki
 * authenticates with the shared secret inside each post). GET answers the validator as plain text;
 * POST checks the secret and hands the post, raw, to ingest over MQTT at QoS 1
 * (`miglio/v1/internal/meraki/<networkId>`), answering 200 only after the broker's PUBACK: once
 * answered, the post is the broker's. Registered only when the validator and the secret are set.
 */
export default async function merakiRoutes(app: FastifyInstance, opts: MerakiRouteOptions) {
  const { metrics } = opts
  const failures = new TokenBuckets(opts.failureLimit)
  const reject = (reason: MerakiRejectReason) => metrics.rejected.inc({ reason })

  // This scope's bodies stay bytes, whatever their type (the handler answers 415 for non-JSON),
  // up to the receiver's own limit.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: opts.bodyLimitBytes },
    (_req: FastifyRequest, body: Buffer, done: (err: null, body: RawBody) => void) =>
      done(null, new RawBody(body)),
  )
  app.addHook('onError', async (_req, _reply, err: FastifyError) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reject('too_large')
  })

  const r = app.withTypeProvider<ZodTypeProvider>()
  r.get(
    MERAKI_PATH,
    {
      schema: {
        tags: ['ingest'],
        summary: 'Cisco Meraki Scanning API validator (no key)',
        description:
          "Answers the validator string configured in MERAKI_VALIDATOR, as plain text: Meraki's dashboard calls it to check the receiver before it posts.",
        security: [],
      },
    },
    async (_req, reply) => reply.type('text/plain; charset=utf-8').send(opts.validator),
  )

  r.post(
    MERAKI_PATH,
    {
      bodyLimit: opts.bodyLimitBytes,
      schema: {
        tags: ['ingest'],
        summary: 'Cisco Meraki Scanning API v3 posts (no key: the shared secret is in the body)',
        description: `A Scanning API v3 post (\`{"version":"3.0","secret":…,"type":"WiFi"|"Bluetooth","data":{"networkId":…,"observations":[…]}}\`, \`application/json\`, at most ${opts.bodyLimitBytes} bytes). The secret must equal MERAKI_SECRET (else 403; refused secrets are limited per client address, then 429). The post is published raw at QoS 1 for ingest, which decodes it; a post over 256 KiB is published as several complete posts sharing its observations. 200 only once the broker has acknowledged every part (PUBACK); 503 with Retry-After when the broker cannot take it. Every refusal is counted in miglio_api_meraki_rejected_total{reason}.`,
        security: [],
        response: {
          200: MerakiAcceptedSchema,
          400: ErrorBodySchema.describe('Not JSON, not a v3 post, or a bad network id'),
          403: ErrorBodySchema.describe('The secret is missing or wrong'),
          413: ErrorBodySchema.describe('The post is over MERAKI_BODY_LIMIT_BYTES'),
          415: ErrorBodySchema.describe('Not application/json'),
          429: ErrorBodySchema.describe('Too many refused secrets from this address'),
          503: ErrorBodySchema.describe('The broker cannot take the post now; Meraki may retry'),
        },
      },
    },
    async (req, reply) => {
      const refused = (
        status: 400 | 403 | 413 | 415 | 429 | 503,
        reason: MerakiRejectReason,
        message: string,
      ) => {
        reject(reason)
        return reply.code(status).send({ error: { code: codeOf(status), message } })
      }
      const blocked = failures.peek(req.ip)
      if (!blocked.ok) {
        reply.header('retry-after', String(blocked.retryAfterS))
        return refused(429, 'rate_limited', 'too many refused secrets from this address')
      }
      if (!isJson(req.headers['content-type']))
        return refused(415, 'not_json', 'the body must be application/json')
      const body = req.body instanceof RawBody ? req.body.bytes : Buffer.alloc(0)
      const check = checkMerakiPost(body, opts.secret)
      if (!check.ok) {
        if (check.status === 403) failures.take(req.ip)
        return refused(check.status, check.reason, check.message)
      }
      if (!opts.publisher) {
        reply.header('retry-after', String(BROKER_RETRY_AFTER_S))
        return refused(503, 'broker_unavailable', 'this API process has no broker (MQTT_URL)')
      }
      const topic = withTopicPrefix(opts.topicPrefix, buildMerakiInternalTopic(check.networkId))
      try {
        const publisher = opts.publisher
        await Promise.all(check.messages.map((m) => publisher.publish(topic, m)))
      } catch (err) {
        if (!(err instanceof BrokerUnavailableError)) throw err
        opts.log.warn(
          { networkId: check.networkId, parts: check.messages.length, err: err.message },
          'Meraki post not taken: the broker did not acknowledge it',
        )
        reply.header('retry-after', String(BROKER_RETRY_AFTER_S))
        return refused(503, 'broker_unavailable', 'the broker cannot take the post now')
      }
      metrics.accepted.inc()
      metrics.messages.inc(check.messages.length)
      metrics.ackSeconds.observe(reply.elapsedTime / 1000)
      return { accepted: true as const, messages: check.messages.length }
    },
  )
}

const CODES: Record<number, string> = {
  400: 'bad_request',
  403: 'forbidden',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'broker_unavailable',
}
const codeOf = (status: number) => CODES[status] ?? 'bad_request'
