import type { DistrictFile } from '../services/shared/contracts/district.ts'
import {
  toEpochMs,
  type GatewayStatus,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, buildStatusTopic } from '../services/shared/contracts/topics.ts'
import {
  checkFaultGateways,
  createFaultInjector,
  parseFaults,
  type DueBatch,
  type FaultableMessage,
  type FaultRecord,
  type FaultSpec,
} from './faults.ts'
import { createSimGateway, type SimGateway, type SimSighting, type TimeForm } from './gateway.ts'
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

/**
 * One message for the broker. Status messages in the stream (fault windows, reboots) carry
 * `retain: true`; messages that are, or carry, an injected fault name it in `fault`.
 */
export type OutboundMessage = FaultableMessage

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
  /** Faults to inject: a `--faults` spec (see faults.ts) or parsed specs. Default none. */
  faults?: string | readonly FaultSpec[]
}

/**
 * A sightings batch as an object, not encoded: what `batches()` yields. `sentAt` and the sightings'
 * `t` are epoch milliseconds (the protocol accepts them as well as ISO text).
 */
export type SimBatch = {
  topic: string
  gatewayId: string
  simTimeMs: number
  batch: SightingsBatch
}

export interface SimulationStats {
  pedestrians: number
  pedestriansOnStreet: number
  /** Static devices and staff shifts generated so far. */
  residents: number
  /** Messages on sightings topics (injected duplicates and bad messages included). */
  messages: number
  sightings: number
  /** Status messages inside the stream (fault windows, reboots). */
  statusMessages: number
  simTimeMs: number
}

export interface Simulation extends Iterable<OutboundMessage> {
  readonly model: StreetModel
  readonly gatewayIds: readonly string[]
  readonly faultSpecs: readonly FaultSpec[]
  /** One retained status message per gateway. */
  statusMessages(state: GatewayStatus['state'], atMs: number): OutboundMessage[]
  /**
   * Ground truth of the subjects generated so far (all of them once iteration has finished):
   * pedestrians' transits as they arrived, then static devices' and staff phones' (kind 'static' /
   * 'staff'), cut at the simulated time reached.
   */
  truth(): TruthEvent[]
  /**
   * The same sightings batches as iterating, as objects instead of JSON payloads (for a consumer in
   * the same process, such as the demo history, that would only parse them back). Iterate the
   * simulation or its batches, once; not with faults (they work on payloads).
   */
  batches(): Iterable<SimBatch>
  /** The faults injected so far, in time order. */
  faults(): FaultRecord[]
  stats(): SimulationStats
}

/**
 * Sightings batches of every gateway, interleaved in sentAt order (ties in district order), generated
 * lazily step by step; only subjects still on the street are kept. Faults, when asked, are applied
 * to that stream. Iterate once.
 */
export function createSimulation(options: SimulationOptions): Simulation {
  const { district, seed, fromMs, toMs } = options
  const scenario = resolveScenario(options.scenario, options.overrides)
  const model = createStreetModel(district, seed, fromMs, toMs, scenario)
  const collectTruth = options.collectTruth ?? true
  const stepMs = options.stepMs ?? 60_000
  if (!(stepMs > 0)) throw new Error('stepMs must be > 0')
  const faultSpecs =
    typeof options.faults === 'string' ? parseFaults(options.faults) : [...(options.faults ?? [])]
  checkFaultGateways(
    faultSpecs,
    district.gateways.map((g) => g.id),
  )
  const gateways: SimGateway[] = district.gateways.map((g) =>
    createSimGateway({
      gatewayId: g.id,
      bootId: createRng(deriveSeed(seed, `boot-${g.id}`)).hex(8),
      startMs: fromMs,
      batchIntervalS: scenario.batchIntervalS,
      endMs: toMs,
    }),
  )
  const byId = new Map(gateways.map((g) => [g.gatewayId, g]))
  const injector =
    faultSpecs.length > 0
      ? createFaultInjector({
          faults: faultSpecs,
          seed,
          fromMs,
          toMs,
          gatewayIds: gateways.map((g) => g.gatewayId),
          statusOf: (id, state, atMs) => {
            const gateway = byId.get(id)
            if (!gateway) throw new Error(`no gateway ${id}`)
            return gateway.statusMessage(state, atMs)
          },
        })
      : null
  const reboots = new Map<string, number>()
  const truth: TruthEvent[] = []
  const residents: Pedestrian[] = []
  const stats: SimulationStats = {
    pedestrians: 0,
    pedestriansOnStreet: 0,
    residents: 0,
    messages: 0,
    sightings: 0,
    statusMessages: 0,
    simTimeMs: fromMs,
  }
  let generatedUntilMs = fromMs
  let started = false

  type Due = { batch: SightingsBatch; order: number; atMs: number }

  /** The batches due at the end of each step, in sentAt order (ties in district order). */
  function* steps(form: TimeForm): Generator<{ due: Due[]; stepEnd: number }, void, undefined> {
    const arrivals = model.arrivals()
    const residentStream = model.residents()
    let next = arrivals.next()
    let nextResident = residentStream.next()
    let onStreet: Pedestrian[] = []
    const instants = injector?.instants ?? []
    let instant = 0
    for (let stepStart = fromMs; stepStart < toMs;) {
      while (instant < instants.length && (instants[instant] ?? Infinity) <= stepStart) instant++
      const stepEnd = Math.min(stepStart + stepMs, toMs, instants[instant] ?? Infinity)
      while (!next.done && next.value.arriveMs < stepEnd) {
        const pedestrian = next.value
        onStreet.push(pedestrian)
        stats.pedestrians++
        if (collectTruth) truth.push(...truthEventsOf(model, pedestrian, toMs))
        next = arrivals.next()
      }
      while (!nextResident.done && nextResident.value.arriveMs < stepEnd) {
        onStreet.push(nextResident.value)
        if (collectTruth) residents.push(nextResident.value)
        stats.residents++
        nextResident = residentStream.next()
      }
      for (const subject of onStreet) {
        for (const device of subject.devices) {
          for (const emission of device.emitUntil(stepEnd)) {
            for (const { siteIndex, rssi } of model.hear(subject, emission, device)) {
              const sighting: SimSighting = {
                tMs: emission.tMs,
                mac: emission.mac,
                rssi,
                radio: emission.radio,
              }
              if (emission.seqNum !== undefined) sighting.seqNum = emission.seqNum
              if (emission.ie !== undefined) sighting.ie = emission.ie
              gateways[siteIndex]?.add(sighting)
            }
          }
        }
      }
      onStreet = onStreet.filter((p) => p.leaveMs >= stepEnd)
      stats.pedestriansOnStreet = onStreet.filter((p) => p.kind === 'pedestrian').length
      const due = gateways.flatMap((gateway, order) =>
        gateway
          .drainUntil(stepEnd, form)
          .map((batch) => ({ batch, order, atMs: toEpochMs(batch.sentAt) })),
      )
      due.sort((a, b) => a.atMs - b.atMs || a.order - b.order || a.batch.seq - b.batch.seq)
      generatedUntilMs = stepEnd
      yield { due, stepEnd }
      stepStart = stepEnd
    }
  }

  const count = <M extends { simTimeMs: number }>(
    m: M,
    kind: 'status' | 'sightings',
    n: number,
  ) => {
    if (kind === 'status') stats.statusMessages++
    else {
      stats.messages++
      stats.sightings += n
    }
    stats.simTimeMs = Math.max(stats.simTimeMs, m.simTimeMs)
    return m
  }

  function* run(): Generator<OutboundMessage, void, undefined> {
    for (const { due, stepEnd } of steps('iso')) {
      if (injector) {
        for (const gatewayId of injector.rebootsAt(stepEnd)) {
          const gateway = byId.get(gatewayId)
          if (!gateway) continue
          const n = (reboots.get(gatewayId) ?? 0) + 1
          reboots.set(gatewayId, n)
          const previousBootId = gateway.bootId
          const bootId = createRng(deriveSeed(seed, `boot-${gatewayId}-${n}`)).hex(8)
          const lostSightings = gateway.reboot(stepEnd, bootId)
          injector.recordReboot({
            gatewayId,
            atMs: stepEnd,
            previousBootId,
            bootId,
            lostSightings,
            status: gateway.statusMessage('online', stepEnd),
          })
        }
        const batches: DueBatch[] = due.map(({ batch, atMs }) => ({ batch, atMs }))
        for (const m of injector.step(batches, stepEnd)) yield count(m, m.kind, m.sightings)
      } else {
        for (const { batch, atMs } of due) {
          const m: OutboundMessage = {
            topic: buildSightingsTopic(batch.gatewayId),
            payload: JSON.stringify(batch),
            simTimeMs: atMs,
            gatewayId: batch.gatewayId,
            kind: 'sightings',
            sightings: batch.sightings.length,
          }
          yield count(m, 'sightings', m.sightings)
        }
      }
    }
    if (injector) for (const m of injector.finish()) yield count(m, m.kind, m.sightings)
  }

  function* batches(): Generator<SimBatch, void, undefined> {
    for (const { due } of steps('epoch')) {
      for (const { batch, atMs } of due) {
        const m: SimBatch = {
          topic: buildSightingsTopic(batch.gatewayId),
          gatewayId: batch.gatewayId,
          simTimeMs: atMs,
          batch,
        }
        yield count(m, 'sightings', batch.sightings.length)
      }
    }
  }

  const begin = () => {
    if (started) throw new Error('a simulation can be iterated only once')
    started = true
  }

  return {
    model,
    gatewayIds: gateways.map((g) => g.gatewayId),
    faultSpecs,
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
    truth: () => {
      if (residents.length === 0) return truth
      const until = Math.min(toMs, generatedUntilMs)
      return [...truth, ...residents.flatMap((r) => truthEventsOf(model, r, until))]
    },
    faults: () => injector?.records() ?? [],
    stats: () => ({ ...stats }),
    batches() {
      if (injector) throw new Error('batches() cannot inject faults: iterate the simulation')
      return {
        [Symbol.iterator]() {
          begin()
          return batches()
        },
      }
    },
    [Symbol.iterator]() {
      begin()
      return run()
    },
  }
}
