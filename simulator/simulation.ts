import type { DistrictFile } from '../services/shared/contracts/district.ts'
import { toEpochMs, type GatewayStatus } from '../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, buildStatusTopic } from '../services/shared/contracts/topics.ts'
import { createSimGateway, type SimGateway } from './gateway.ts'
import { truthEventsOf, type TruthEvent } from './ground-truth.ts'
import { createRng, deriveSeed } from './rng.ts'
import {
  createStreetModel,
  resolveScenario,
  type Pedestrian,
  type ScenarioName,
  type ScenarioOptions,
  type StreetModel,
} from './street-model.ts'

export interface OutboundMessage {
  topic: string
  payload: string
  /** Simulated time the message is due: a batch's sentAt, or the instant of a status change. */
  simTimeMs: number
  gatewayId: string
  kind: 'sightings' | 'status'
  /** Sightings in the payload (0 for status messages). */
  sightings: number
}

export interface SimulationOptions {
  district: DistrictFile
  seed: number
  fromMs: number
  /** Infinity for an endless live run. */
  toMs: number
  scenario: ScenarioName | ScenarioOptions
  overrides?: Partial<ScenarioOptions>
  /** Keep the ground truth for truth(); turn off for an endless run. Default true. */
  collectTruth?: boolean
  /** Simulated time generated per step; memory holds one step of sightings. Default 60 s. */
  stepMs?: number
}

export interface SimulationStats {
  pedestrians: number
  pedestriansOnStreet: number
  messages: number
  sightings: number
  simTimeMs: number
}

export interface Simulation extends Iterable<OutboundMessage> {
  readonly model: StreetModel
  readonly gatewayIds: readonly string[]
  /** One retained status message per gateway. */
  statusMessages(state: GatewayStatus['state'], atMs: number): OutboundMessage[]
  /** Ground truth of the pedestrians generated so far (all of them once iteration has finished). */
  truth(): TruthEvent[]
  stats(): SimulationStats
}

/**
 * Sightings batches of every gateway, interleaved in sentAt order (ties in district order), generated
 * lazily step by step; only pedestrians still on the street are kept. Iterate once.
 */
export function createSimulation(options: SimulationOptions): Simulation {
  const { district, seed, fromMs, toMs } = options
  const scenario = resolveScenario(options.scenario, options.overrides)
  const model = createStreetModel(district, seed, fromMs, toMs, scenario)
  const collectTruth = options.collectTruth ?? true
  const stepMs = options.stepMs ?? 60_000
  if (!(stepMs > 0)) throw new Error('stepMs must be > 0')
  const gateways: SimGateway[] = district.gateways.map((g) =>
    createSimGateway({
      gatewayId: g.id,
      bootId: createRng(deriveSeed(seed, `boot-${g.id}`)).hex(8),
      startMs: fromMs,
      batchIntervalS: scenario.batchIntervalS,
      endMs: toMs,
    }),
  )
  const truth: TruthEvent[] = []
  const stats: SimulationStats = {
    pedestrians: 0,
    pedestriansOnStreet: 0,
    messages: 0,
    sightings: 0,
    simTimeMs: fromMs,
  }
  let started = false

  function* run(): Generator<OutboundMessage, void, undefined> {
    const arrivals = model.arrivals()
    let next = arrivals.next()
    let onStreet: Pedestrian[] = []
    for (let stepStart = fromMs; stepStart < toMs;) {
      const stepEnd = Math.min(stepStart + stepMs, toMs)
      while (!next.done && next.value.arriveMs < stepEnd) {
        const pedestrian = next.value
        onStreet.push(pedestrian)
        stats.pedestrians++
        if (collectTruth) truth.push(...truthEventsOf(model, pedestrian, toMs))
        next = arrivals.next()
      }
      for (const pedestrian of onStreet) {
        for (const emission of pedestrian.device?.emitUntil(stepEnd) ?? []) {
          for (const { siteIndex, rssi } of model.hear(pedestrian, emission)) {
            gateways[siteIndex]?.add({ ...emission, rssi })
          }
        }
      }
      onStreet = onStreet.filter((p) => p.leaveMs >= stepEnd)
      stats.pedestriansOnStreet = onStreet.length
      const due = gateways.flatMap((gateway, order) =>
        gateway
          .drainUntil(stepEnd)
          .map((batch) => ({ batch, order, atMs: toEpochMs(batch.sentAt) })),
      )
      due.sort((a, b) => a.atMs - b.atMs || a.order - b.order || a.batch.seq - b.batch.seq)
      for (const { batch, atMs } of due) {
        stats.messages++
        stats.sightings += batch.sightings.length
        stats.simTimeMs = atMs
        yield {
          topic: buildSightingsTopic(batch.gatewayId),
          payload: JSON.stringify(batch),
          simTimeMs: atMs,
          gatewayId: batch.gatewayId,
          kind: 'sightings',
          sightings: batch.sightings.length,
        }
      }
      stepStart = stepEnd
    }
  }

  return {
    model,
    gatewayIds: gateways.map((g) => g.gatewayId),
    statusMessages(state, atMs) {
      return gateways.map((g) => ({
        topic: buildStatusTopic(g.gatewayId),
        payload: JSON.stringify(g.statusMessage(state, atMs)),
        simTimeMs: atMs,
        gatewayId: g.gatewayId,
        kind: 'status' as const,
        sightings: 0,
      }))
    },
    truth: () => truth,
    stats: () => ({ ...stats }),
    [Symbol.iterator]() {
      if (started) throw new Error('a simulation can be iterated only once')
      started = true
      return run()
    },
  }
}
