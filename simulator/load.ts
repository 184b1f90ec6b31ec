import { DEFAULT_TIME_ZONE, type DistrictFile } from '../services/shared/contracts/district.ts'
import type { GatewayStatus, Sighting } from '../services/shared/contracts/gateway-messages.ts'
import { buildSightingsTopic, buildStatusTopic } from '../services/shared/contracts/topics.ts'
import { formatMac } from './device.ts'
import { chunkSightings, SIMULATED_FIRMWARE } from './gateway.ts'
import { createRng, deriveSeed } from './rng.ts'
import type { OutboundMessage } from './simulation.ts'

export interface LoadGeneratorOptions {
  /** Synthetic gateways `load-gw-0001` … */
  gateways: number
  /** Sightings per second of simulated time, over all gateways. */
  sightingsPerSecond: number
  /** Size of the device population the sightings are drawn from. */
  devices: number
  /** Simulated seconds; every gateway sends round(durationS / batchIntervalS) batches. */
  durationS: number
  seed: number
  /** Simulated start (epoch ms). Default: now. */
  startMs?: number
  /** Seconds between a gateway's batches. Default 5. */
  batchIntervalS?: number
}

export interface LoadStats {
  /** Sightings batches produced so far. */
  messages: number
  sightings: number
  /** Distinct devices (MACs) in the sightings produced so far. */
  distinctDevices: number
  simTimeMs: number
}

export interface LoadGenerator extends Iterable<OutboundMessage> {
  readonly model: { readonly fromMs: number; readonly toMs: number }
  readonly gatewayIds: readonly string[]
  statusMessages(state: GatewayStatus['state'], atMs: number): OutboundMessage[]
  stats(): LoadStats
}

export const LOAD_GATEWAY_PREFIX = 'load-gw-'

/** `load-gw-0001` for index 0; at least four digits. */
export function loadGatewayId(index: number): string {
  return `${LOAD_GATEWAY_PREFIX}${String(index + 1).padStart(4, '0')}`
}

/**
 * Valid native v1 batches at a configured rate from many synthetic gateways, for benchmarks. Gateway
 * g sends at start + (k − 1 + (g + 1)/n)·interval (k = 1…K), so messages are spread evenly in time; the
 * total sightings, round(rate × K × interval), are spread over the batches by cumulative rounding,
 * each one a device drawn uniformly from the population (with a stable MAC per device), an RSSI in
 * [-95, -40] and a time inside the batch's interval. Batches over 5000 sightings or 256 KiB are
 * split (consecutive seq). Iterate once; stats() counts what has been produced.
 */
export function createLoadGenerator(options: LoadGeneratorOptions): LoadGenerator {
  const { gateways: n, sightingsPerSecond, devices, durationS, seed } = options
  const intervalS = options.batchIntervalS ?? 5
  const problems: string[] = []
  if (!(Number.isInteger(n) && n >= 1 && n <= 10_000)) problems.push('gateways must be 1…10000')
  if (!(sightingsPerSecond > 0)) problems.push('sightingsPerSecond must be > 0')
  if (!(Number.isInteger(devices) && devices >= 1)) problems.push('devices must be an integer >= 1')
  if (!(durationS > 0)) problems.push('durationS must be > 0')
  if (!(intervalS > 0)) problems.push('batchIntervalS must be > 0')
  if (problems.length > 0) throw new Error(`invalid load options: ${problems.join('; ')}`)
  const startMs = options.startMs ?? Date.now()
  const intervalMs = intervalS * 1000
  const perGateway = Math.max(1, Math.round(durationS / intervalS))
  const totalBatches = perGateway * n
  const totalSightings = Math.round(sightingsPerSecond * perGateway * intervalS)
  const toMs = startMs + perGateway * intervalMs
  const gatewayIds = Array.from({ length: n }, (_, i) => loadGatewayId(i))
  const bootIds = gatewayIds.map((id) => createRng(deriveSeed(seed, `load-boot-${id}`)).hex(8))
  const seqs = new Array<number>(n).fill(0)
  const seen = new Uint8Array(devices)
  const stats: LoadStats = { messages: 0, sightings: 0, distinctDevices: 0, simTimeMs: startMs }
  let started = false

  const macOf = (device: number) => {
    const salt = deriveSeed(seed, device)
    return formatMac([
      (salt >>> 24) & 0xfe,
      (salt >>> 16) & 0xff,
      (device >>> 24) & 0xff,
      (device >>> 16) & 0xff,
      (device >>> 8) & 0xff,
      device & 0xff,
    ])
  }

  function* run(): Generator<OutboundMessage, void, undefined> {
    const rng = createRng(deriveSeed(seed, 'load'))
    let j = 0
    for (let k = 1; k <= perGateway; k++) {
      for (let g = 0; g < n; g++, j++) {
        const sentAtMs = startMs + (k - 1) * intervalMs + Math.floor(((g + 1) * intervalMs) / n)
        const count =
          Math.floor(((j + 1) * totalSightings) / totalBatches) -
          Math.floor((j * totalSightings) / totalBatches)
        const sightings: Sighting[] = []
        for (let i = 0; i < count; i++) {
          const device = rng.int(0, devices - 1)
          if (seen[device] === 0) {
            seen[device] = 1
            stats.distinctDevices++
          }
          const t = sentAtMs - intervalMs + Math.floor(rng.next() * intervalMs)
          const ble = device % 5 === 4
          const sighting: Sighting = {
            t: new Date(t).toISOString(),
            mac: macOf(device),
            rssi: rng.int(-95, -40),
            radio: ble ? 'ble' : 'wifi',
          }
          if (!ble) sighting.seqNum = rng.int(0, 4095)
          sightings.push(sighting)
        }
        sightings.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
        const gatewayId = gatewayIds[g] ?? ''
        const bootId = bootIds[g] ?? ''
        const sentAt = new Date(sentAtMs).toISOString()
        const envelope = JSON.stringify({
          v: 1,
          gatewayId,
          bootId,
          seq: Number.MAX_SAFE_INTEGER,
          sentAt,
          sightings: [],
        }).length
        for (const chunk of chunkSightings(sightings, envelope)) {
          const seq = seqs[g] ?? 0
          seqs[g] = seq + 1
          const batch = { v: 1, gatewayId, bootId, seq, sentAt, sightings: chunk }
          stats.messages++
          stats.sightings += chunk.length
          stats.simTimeMs = sentAtMs
          yield {
            topic: buildSightingsTopic(gatewayId),
            payload: JSON.stringify(batch),
            simTimeMs: sentAtMs,
            gatewayId,
            kind: 'sightings',
            sightings: chunk.length,
          }
        }
      }
    }
  }

  return {
    model: { fromMs: startMs, toMs },
    gatewayIds,
    statusMessages(state, atMs) {
      return gatewayIds.map((gatewayId) => {
        const status: GatewayStatus = {
          v: 1,
          gatewayId,
          state,
          fw: SIMULATED_FIRMWARE,
          uptimeS: Math.max(0, Math.floor((atMs - startMs) / 1000)),
          queue: 0,
        }
        return {
          topic: buildStatusTopic(gatewayId),
          payload: JSON.stringify(status),
          simTimeMs: atMs,
          gatewayId,
          kind: 'status' as const,
          sightings: 0,
        }
      })
    },
    stats: () => ({ ...stats }),
    [Symbol.iterator]() {
      if (started) throw new Error('a load generator can be iterated only once')
      started = true
      return run()
    },
  }
}

/**
 * A district holding the load gateways (street gateways 20 m apart, each in its own street zone), so
 * that `miglio district load` tells ingest about them.
 */
export function buildLoadDistrict(
  gateways: number,
  id = 'load-district',
  timeZone = DEFAULT_TIME_ZONE,
): DistrictFile {
  const spacingM = 20
  const lon0 = 12.24
  const lat0 = 45.49
  const dLon = 0.00025
  const square = (i: number): Array<[number, number]> => {
    const x0 = lon0 + i * dLon
    const x1 = x0 + dLon * 0.9
    return [
      [x0, lat0],
      [x1, lat0],
      [x1, lat0 + 0.0002],
      [x0, lat0 + 0.0002],
      [x0, lat0],
    ]
  }
  return {
    v: 1,
    id,
    name: `Load test district (${gateways} gateways)`,
    timezone: timeZone,
    streetLengthM: gateways * spacingM,
    zones: Array.from({ length: gateways }, (_, i) => ({
      id: `load-zone-${String(i + 1).padStart(4, '0')}`,
      name: `Load zone ${i + 1}`,
      kind: 'street' as const,
      geometry: { type: 'Polygon' as const, coordinates: [square(i)] },
      streetFromM: i * spacingM,
      streetToM: (i + 1) * spacingM,
    })),
    shops: [],
    gateways: Array.from({ length: gateways }, (_, i) => ({
      id: loadGatewayId(i),
      zoneId: `load-zone-${String(i + 1).padStart(4, '0')}`,
      placement: 'street' as const,
      radios: ['wifi', 'ble'] as Array<'wifi' | 'ble'>,
      position: [lon0 + (i + 0.45) * dLon, lat0 + 0.0001] as [number, number],
      streetOffsetM: i * spacingM + spacingM / 2,
      rssiFloor: -100,
      visitor: { minRssi: -67, minDwellS: 60 },
      calibrationFactor: 1,
    })),
  }
}
