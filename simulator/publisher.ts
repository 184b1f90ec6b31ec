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
  /** Sightings batches published. */
  messages: number
  sightings: number
  /** Status messages published (online at start, offline at the end). */
  statusMessages: number
  aborted: boolean
}

/**
 * Publishes retained 'online' status for every gateway, then every batch with QoS 1 in order, paced
 * by simulated time unless speed is 'max'. On completion or abort it publishes retained 'offline'
 * status for every gateway: one MQTT connection carries every simulated gateway, so a per-gateway last
 * will is impossible and a crashed simulator leaves its gateways 'online' (see simulatorWill).
 */
export async function publishSimulation(options: PublishOptions): Promise<PublishResult> {
  const { client, simulation, speed, log, signal, onProgress, topicPrefix } = options
  const maxInFlight = options.maxInFlight ?? 64
  const now = options.now ?? Date.now
  if (speed !== 'max' && !(speed > 0)) throw new Error(`speed must be 'max' or > 0, got ${speed}`)
  const inFlight: Array<Promise<void>> = []
  let failure: Error | undefined
  const result: PublishResult = { messages: 0, sightings: 0, statusMessages: 0, aborted: false }
  const simStartMs = simulation.model.fromMs
  const wallStartMs = now()
  let lastSimTimeMs = simStartMs

  const send = async (message: OutboundMessage, retain: boolean) => {
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
  }
  const settle = async () => {
    await Promise.all(inFlight.splice(0))
    if (failure) throw new Error('publish failed', { cause: failure })
  }

  const online = simulation.statusMessages('online', simStartMs)
  for (const status of online) await send(status, true)
  result.statusMessages += online.length
  for (const message of simulation) {
    if (signal?.aborted) {
      result.aborted = true
      break
    }
    if (speed !== 'max') {
      const dueMs = wallStartMs + (message.simTimeMs - simStartMs) / speed
      const waitMs = dueMs - now()
      if (waitMs > 0 && !(await sleep(waitMs, signal))) {
        result.aborted = true
        break
      }
    }
    await send(message, false)
    result.messages++
    result.sightings += message.sightings
    lastSimTimeMs = message.simTimeMs
    onProgress?.({
      simTimeMs: lastSimTimeMs,
      messages: result.messages,
      sightings: result.sightings,
    })
  }
  await settle()
  const offline = simulation.statusMessages('offline', lastSimTimeMs)
  for (const status of offline) await send(status, true)
  await settle()
  result.statusMessages += offline.length
  log?.info(
    `published ${result.messages} batches (${result.sightings} sightings)${result.aborted ? ', stopped early' : ''}; ${offline.length} gateways marked offline`,
  )
  return result
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
