import type { IClientOptions, MqttClient } from 'mqtt'
import type { GatewayStatus } from '../services/shared/contracts/gateway-messages.ts'
import { buildStatusTopic, withTopicPrefix } from '../services/shared/contracts/topics.ts'
import { SIMULATED_FIRMWARE } from './gateway.ts'
import type { OutboundMessage } from './simulation.ts'

export interface PublishLog {
  info(message: string): void
  warn(message: string): void
}

export interface PublishProgress {
  simTimeMs: number
  messages: number
  sightings: number
}

/** What publishSimulation needs of a simulation (createSimulation's result fits). */
export interface PublishableSimulation extends Iterable<OutboundMessage> {
  readonly model: { readonly fromMs: number }
  statusMessages(state: GatewayStatus['state'], atMs: number): OutboundMessage[]
}

export interface PublishOptions {
  /** Already connected. */
  client: MqttClient
  simulation: PublishableSimulation
  /** 'max': as fast as the broker acknowledges; n: n seconds of simulated time per wall-clock second. */
  speed: 'max' | number
  log?: PublishLog
  signal?: AbortSignal
  onProgress?: (progress: PublishProgress) => void
  /** QoS 1 publishes awaiting PUBACK at once; order on the wire is still the iteration order. */
  maxInFlight?: number
  /** Wall clock in ms; injectable for tests. */
  now?: () => number
  /** Publish under `<prefix>/miglio/v1/gw/…` (MQTT_TOPIC_PREFIX), for brokers shared by several districts. */
  topicPrefix?: string
}

export interface PublishResult {
  /** Messages published on sightings topics (injected duplicates and bad messages included). */
  messages: number
  sightings: number
  /** Status messages published (online at start, offline at the end, and any inside the stream). */
  statusMessages: number
  aborted: boolean
}

/**
 * Publishes retained 'online' status for every gateway, then every message of the simulation with
 * QoS 1 in order (status messages inside the stream, from faults, retained), paced by simulated time
 * unless speed is 'max'. On completion or abort it publishes retained 'offline' status for every
 * gateway: one MQTT connection carries every simulated gateway, so a per-gateway last will is
 * impossible and a crashed simulator leaves its gateways 'online' (see simulatorWill).
 */
export async function publishSimulation(options: PublishOptions): Promise<PublishResult> {
  const { simulation, log } = options
  const simStartMs = simulation.model.fromMs
  const stream = createStreamPublisher({ ...options, simStartMs })
  await stream.publishAll(simulation.statusMessages('online', simStartMs))
  const streamed = await stream.publishAll(simulation, { paced: true })
  const offline = simulation.statusMessages('offline', streamed.lastSimTimeMs)
  await stream.publishAll(offline, { evenIfAborted: true })
  const result = stream.result()
  log?.info(
    `published ${result.messages} batches (${result.sightings} sightings)${result.aborted ? ', stopped early' : ''}; ${offline.length} gateways marked offline`,
  )
  return result
}

export interface StreamPublisherOptions {
  client: MqttClient
  /** Simulated time that maps to the wall-clock start of pacing. */
  simStartMs: number
  speed: 'max' | number
  signal?: AbortSignal
  onProgress?: (progress: PublishProgress) => void
  maxInFlight?: number
  now?: () => number
  topicPrefix?: string
}

/**
 * Publishes messages with QoS 1 (status messages retained), at most `maxInFlight` awaiting PUBACK,
 * in order; paced streams wait until wall start + (simTimeMs - simStartMs) / speed. Shared by the
 * simulator, replay and load mode.
 */
export function createStreamPublisher(options: StreamPublisherOptions) {
  const { client, speed, signal, onProgress, topicPrefix, simStartMs } = options
  const maxInFlight = options.maxInFlight ?? 64
  const now = options.now ?? Date.now
  if (speed !== 'max' && !(speed > 0)) throw new Error(`speed must be 'max' or > 0, got ${speed}`)
  const inFlight: Array<Promise<void>> = []
  let failure: Error | undefined
  const result: PublishResult = { messages: 0, sightings: 0, statusMessages: 0, aborted: false }
  const wallStartMs = now()
  let lastSimTimeMs = simStartMs

  const send = async (message: OutboundMessage) => {
    const retain = message.kind === 'status' && message.retain !== false
    const pending = client
      .publishAsync(withTopicPrefix(topicPrefix, message.topic), message.payload, {
        qos: 1,
        retain,
      })
      .then(
        () => undefined,
        (err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err))
        },
      )
    inFlight.push(pending)
    while (inFlight.length >= maxInFlight) await inFlight.shift()
    if (failure) throw new Error(`publish to ${message.topic} failed`, { cause: failure })
    if (message.kind === 'status') result.statusMessages++
    else {
      result.messages++
      result.sightings += message.sightings
    }
  }
  const settle = async () => {
    await Promise.all(inFlight.splice(0))
    if (failure) throw new Error('publish failed', { cause: failure })
  }

  return {
    /** Publishes every message (stops early when the signal aborts); resolves once all are acknowledged. */
    async publishAll(
      messages: Iterable<OutboundMessage> | AsyncIterable<OutboundMessage>,
      opts: { paced?: boolean; evenIfAborted?: boolean } = {},
    ): Promise<{ lastSimTimeMs: number }> {
      for await (const message of messages) {
        if (signal?.aborted && !opts.evenIfAborted) {
          result.aborted = true
          break
        }
        if (opts.paced && speed !== 'max') {
          const dueMs = wallStartMs + (message.simTimeMs - simStartMs) / speed
          const waitMs = dueMs - now()
          if (waitMs > 0 && !(await sleep(waitMs, signal))) {
            result.aborted = true
            break
          }
        }
        await send(message)
        if (opts.paced) {
          lastSimTimeMs = Math.max(lastSimTimeMs, message.simTimeMs)
          onProgress?.({
            simTimeMs: lastSimTimeMs,
            messages: result.messages,
            sightings: result.sightings,
          })
        }
      }
      await settle()
      return { lastSimTimeMs }
    },
    result: (): PublishResult => ({ ...result }),
  }
}

/**
 * The last will that would mark one gateway offline. One connection has one will, so the simulator
 * sets it only when it simulates a single gateway; otherwise it publishes 'offline' for every
 * gateway on a clean stop (publishSimulation) and a crash leaves the retained 'online' in place.
 */
export function simulatorWill(gatewayId: string): NonNullable<IClientOptions['will']> {
  const status: GatewayStatus = { v: 1, gatewayId, state: 'offline', fw: SIMULATED_FIRMWARE }
  return {
    topic: buildStatusTopic(gatewayId),
    payload: JSON.stringify(status),
    qos: 1,
    retain: true,
  }
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
