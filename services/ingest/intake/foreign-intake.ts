import { createHash } from 'node:crypto'
import type { Logger } from '../../shared/logger.ts'
import type { AdapterFormat, AdapterResult, SourceIdentity } from '../adapters/common.ts'
import { decodeEspresenseMessage } from '../adapters/espresense.ts'
import { decodeMerakiPost } from '../adapters/meraki.ts'
import { decodeOmgMessage } from '../adapters/omg.ts'
import { decodePaxcounterMessage } from '../adapters/paxcounter.ts'
import { decodeSnifferMessage } from '../adapters/sniffer.ts'
import type { DecodedSighting, RejectReason } from '../decode-message.ts'
import type { RegisteredGateway } from '../model.ts'
import { floodDetail, type FloodControl } from './flood-control.ts'
import type { ForeignSources } from './foreign-sources.ts'
import { createMicroBatcher, type MicroBatcher } from './micro-batcher.ts'
import type { FilteredSightings } from './pseudonymise-sightings.ts'
import { routeTopic, type Route } from './route-topic.ts'
import {
  mergeForeignWorks,
  shareAck,
  type ForeignEffect,
  type ForeignWork,
  type Taken,
  type Work,
} from './work.ts'

/** The formats that send one message per device heard: their messages are micro-batched. */
const MICRO_BATCHED: ReadonlySet<AdapterFormat> = new Set(['omg', 'espresense'])

export type MicroBatchConfig = {
  /** Longest a held message waits (ms); 0 turns micro-batching off. */
  windowMs: number
  /** A gateway's held sightings that hand its micro-batch on at once. */
  maxSightings: number
  /** Held messages of all gateways together that hand every micro-batch on. */
  maxHeldMessages: number
}

export type ForeignIntakeDeps = {
  /** The district's time zone (sniffer wall-clock times). */
  tz: string
  log: Logger
  microBatch: MicroBatchConfig
  flood: FloodControl
  sources(): ForeignSources
  /** Reloads the registry (rate-limited by the caller) after an unknown source. */
  reloadRegistry(): Promise<void>
  /** Prepares the day keys of these times, then filters and pseudonymises; null when a key is gone. */
  pseudonymise(
    sightings: readonly DecodedSighting[],
    gateway: RegisteredGateway,
    nowMs: number,
  ): Promise<FilteredSightings | { gone: string[] }>
  deadLetter(
    topic: string,
    payload: Buffer,
    reason: RejectReason,
    detail: string,
    gatewayId: string | null,
    shown?: Buffer,
  ): Extract<Taken, { kind: 'dead' }>
  /** Queues a work for the committer (micro-batches arrive here when they are handed on). */
  enqueue(work: Work): void
  /** Counts sightings an adapter left out for their time (Meraki). */
  countDropped(reason: 'stale_timestamp' | 'future_timestamp', n: number): void
}

export type ForeignIntake = {
  /**
   * Takes one message of a gateway format in: decode with its adapter at the arrival time, resolve
   * the source, flood control, pseudonymise. Returns the works to queue now; micro-batched ones are
   * held and queued by the batcher.
   */
  take(message: {
    topic: string
    rawTopic: string
    payload: Buffer
    dup: boolean
    receivedAtMs: number
    ack: () => void
  }): Promise<Work[]>
  /** Whether this (unprefixed) topic is a gateway format's rather than native. */
  route(topic: string): Route | null
  batcher: MicroBatcher<ForeignWork>
}

/** 64 bits of a SHA-256 of a message's topic and payload, as a signed decimal (a bigint). */
export function messageDigest(topic: string, payload: Buffer): string {
  return createHash('sha256')
    .update(topic)
    .update('\u0000')
    .update(payload)
    .digest()
    .readBigInt64BE(0)
    .toString()
}

type Out = { taken: Taken; hold: boolean; sightings: number }

/** The `data.networkId` of a Meraki post, or null when the body does not say (the adapter decides). */
function merakiNetworkOf(payload: Buffer): string | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { data?: { networkId?: unknown } } | null
    return typeof v?.data?.networkId === 'string' ? v.data.networkId : null
  } catch {
    return null
  }
}

/** A Meraki post with its `secret` withheld (or the bytes as they are when it is not JSON). */
export function withoutSecret(payload: Buffer): Buffer {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'))
    if (value === null || typeof value !== 'object' || !('secret' in value)) return payload
    return Buffer.from(JSON.stringify({ ...value, secret: '(withheld)' }))
  } catch {
    return Buffer.from('(not JSON: not shown, it may hold the shared secret)')
  }
}

export function createForeignIntake(deps: ForeignIntakeDeps): ForeignIntake {
  const batcher = createMicroBatcher<ForeignWork>({
    windowMs: deps.microBatch.windowMs,
    maxSightings: deps.microBatch.maxSightings,
    maxHeldMessages: deps.microBatch.maxHeldMessages,
    flush: (_gatewayId, items) => {
      const merged = mergeForeignWorks(items)
      if (merged) deps.enqueue(merged)
    },
  })

  function decode(route: Route, topic: string, payload: Buffer, nowMs: number): AdapterResult {
    switch (route.format) {
      case 'omg':
        return decodeOmgMessage(topic, payload, nowMs)
      case 'espresense':
        return decodeEspresenseMessage(topic, payload, nowMs)
      case 'sniffer':
        return decodeSnifferMessage(topic, payload, nowMs, undefined, { timeZone: deps.tz })
      case 'paxcounter': {
        const id = topic.split('/')[0] ?? ''
        const gw = deps.sources().resolve({ format: 'paxcounter', deviceId: id })
        const encoding = gw?.source.format === 'paxcounter' ? gw.source.encoding : 'packed'
        return decodePaxcounterMessage(topic, payload, nowMs, undefined, { encoding })
      }
      case 'meraki': {
        // The post's network must be the topic's (a post is published under its own network).
        if (merakiNetworkOf(payload) !== route.networkId && merakiNetworkOf(payload) !== null)
          return {
            ok: false,
            format: 'meraki',
            reason: 'bad_meraki_post',
            detail: 'data.networkId differs from the network of the topic',
            source: null,
          }
        // The API checked the secret before it published the post (the ACL lets only it write).
        return decodeMerakiPost(
          { method: 'POST', contentType: 'application/json' },
          payload,
          nowMs,
          undefined,
          { secret: null },
        )
      }
      case 'native':
        throw new Error('native messages are not taken here')
    }
  }

  async function resolve(identity: SourceIdentity): Promise<RegisteredGateway | undefined> {
    const found = deps.sources().resolve(identity)
    if (found) return found
    await deps.reloadRegistry()
    return deps.sources().resolve(identity)
  }

  /** Where an unknown source is named in a dead letter: never a Meraki AP's address. */
  function describeSource(identity: SourceIdentity): string {
    switch (identity.format) {
      case 'omg':
        return `OpenMQTTGateway ${identity.name} under ${identity.baseTopic}`
      case 'espresense':
        return `ESPresense room ${identity.room}`
      case 'sniffer':
        return `sniffer topic ${identity.topic}`
      case 'meraki':
        return `an access point of Meraki network ${identity.networkId}`
      case 'paxcounter':
        return `Paxcounter ${identity.deviceId}`
    }
  }

  async function take(m: {
    topic: string
    rawTopic: string
    payload: Buffer
    dup: boolean
    receivedAtMs: number
  }): Promise<Out[]> {
    const { topic, rawTopic, payload, dup, receivedAtMs } = m
    const route = routeTopic(topic, deps.sources())
    // A Meraki post carries the receiver's shared secret: a dead letter never shows it.
    const shown = route?.format === 'meraki' ? withoutSecret(payload) : payload
    const dead = (reason: RejectReason, detail: string, gatewayId: string | null): Out => ({
      taken: deps.deadLetter(rawTopic, payload, reason, detail, gatewayId, shown),
      hold: false,
      sightings: 0,
    })
    if (!route || route.format === 'native')
      return [dead('unknown_topic', 'the topic is not one of a declared gateway format', null)]
    const result = decode(route, topic, payload, receivedAtMs)
    if (!result.ok) {
      const gw = result.source ? deps.sources().resolve(result.source) : undefined
      return [dead(result.reason, result.detail, gw?.id ?? null)]
    }
    const digest = messageDigest(topic, payload)
    const part = (gateway: RegisteredGateway, effect: ForeignEffect, hold = false): Out => ({
      taken: {
        kind: 'foreign',
        gateway,
        format: result.format,
        parts: [{ digest, dup, receivedAtMs, effect }],
      },
      hold,
      sightings: effect.kind === 'sightings' ? effect.total : 0,
    })
    const unknown = (identity: SourceIdentity | null) =>
      dead(
        'unknown_gateway',
        identity
          ? `${describeSource(identity)} is not in the district registry`
          : 'the message names no gateway',
        null,
      )
    /** Flood control: null when admitted, else the refusal (a dead letter once per interval). */
    const refused = (
      gateway: RegisteredGateway,
      sightings: number,
      atMs: number | null,
    ): Out | null => {
      const verdict = deps.flood.admit(gateway.id, sightings, atMs, receivedAtMs)
      if (verdict.admitted) return null
      if (!verdict.deadLetter)
        return { taken: { kind: 'dropped', reason: 'flood' }, hold: false, sightings: 0 }
      return dead('flood', floodDetail(gateway.id, verdict.refusedSinceLastLetter), gateway.id)
    }

    switch (result.kind) {
      case 'ignored': {
        const gw = result.source ? deps.sources().resolve(result.source) : undefined
        // Settings echoes of gateways the district does not declare are nobody's business.
        return gw
          ? [part(gw, { kind: 'ignored' })]
          : [{ taken: { kind: 'dropped', reason: 'unknown_gateway' }, hold: false, sightings: 0 }]
      }
      case 'health':
      case 'counts': {
        const gw = await resolve(result.source)
        if (!gw) return [unknown(result.source)]
        // Health has no time of its own beside sightings that have one (sniffer, Meraki): charged
        // at the bucket's time; counts (Paxcounter: every message at arrival) by their arrival.
        const flood = refused(gw, 0, result.kind === 'health' ? null : receivedAtMs)
        if (flood) return [flood]
        return [
          part(
            gw,
            result.kind === 'health'
              ? { kind: 'health', health: result.health }
              : { kind: 'counts', counts: result.counts },
          ),
        ]
      }
      case 'sightings': {
        if (result.dropped?.stale) deps.countDropped('stale_timestamp', result.dropped.stale)
        if (result.dropped?.future) deps.countDropped('future_timestamp', result.dropped.future)
        const outs: Out[] = []
        let unknownSightings = 0
        let unknownSources = 0
        let firstUnknown: SourceIdentity | null = null
        for (const group of result.groups) {
          const gw = await resolve(group.source)
          if (!gw) {
            unknownSightings += group.sightings.length
            unknownSources++
            firstUnknown ??= group.source
            continue
          }
          const eventMs = group.sightings.reduce((t, s) => Math.max(t, s.tMs), -Infinity)
          const atMs = Number.isFinite(eventMs) ? eventMs : receivedAtMs
          const flood = refused(gw, group.sightings.length, atMs)
          if (flood) {
            outs.push(flood)
            continue
          }
          const filtered = await deps.pseudonymise(group.sightings, gw, receivedAtMs)
          if ('gone' in filtered) {
            outs.push(
              dead(
                'key_expired',
                `the pseudonymisation key of ${filtered.gone.join(', ')} is destroyed`,
                gw.id,
              ),
            )
            continue
          }
          outs.push(
            part(
              gw,
              {
                kind: 'sightings',
                sightings: filtered.sightings,
                exempt: filtered.exempt,
                total: group.sightings.length,
                belowFloor: filtered.belowFloor,
                denied: filtered.denied,
                eventMs: atMs,
              },
              MICRO_BATCHED.has(result.format),
            ),
          )
        }
        if (unknownSources > 0) {
          if (result.groups.length === 1) outs.push(unknown(firstUnknown))
          else
            outs.push(
              dead(
                'unknown_gateway',
                `${unknownSightings} sightings of ${unknownSources} ${result.format === 'meraki' ? 'access points' : 'sources'} the district registry does not declare`,
                null,
              ),
            )
        }
        return outs
      }
    }
  }

  return {
    batcher,
    route: (topic) => routeTopic(topic, deps.sources()),
    async take(m) {
      const outs = await take(m)
      const acks = shareAck(m.ack, outs.length)
      const now: Work[] = []
      outs.forEach((o, i) => {
        const work = { ...o.taken, topic: m.rawTopic, payload: m.payload, ack: acks[i] ?? m.ack }
        if (o.hold && work.kind === 'foreign' && deps.microBatch.windowMs > 0)
          batcher.add(work.gateway.id, work, o.sightings)
        else now.push(work)
      })
      if (outs.length === 0) m.ack()
      return now
    },
  }
}
