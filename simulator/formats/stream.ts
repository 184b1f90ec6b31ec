import { createHash } from 'node:crypto'
import type {
  DistrictFile,
  GatewayFormat,
  GatewaySource,
} from '../../services/shared/contracts/district.ts'
import { SightingsBatchSchema } from '../../services/shared/contracts/gateway-messages.ts'
import { buildMerakiInternalTopic } from '../../services/shared/contracts/topics.ts'
import type { OutboundMessage } from '../simulation.ts'
import type { FormatMessage } from './common.ts'
import { encodeBatchForSource, type EncodeOptions } from './index.ts'
import { encodeEspresenseStatus } from './espresense.ts'
import { encodeOmgStatus } from './omg.ts'

export const SIMULATE_FORMATS = [
  'native',
  'omg',
  'espresense',
  'sniffer',
  'meraki',
  'paxcounter',
] as const satisfies readonly GatewayFormat[]
export type SimulateFormat = (typeof SIMULATE_FORMATS)[number]

/** The Meraki network every simulated access point belongs to (`miglio simulate --format meraki`). */
export const SIMULATED_MERAKI_NETWORK = 'L_miglio_simulated'

/**
 * The source a simulated gateway gets under `miglio simulate --format <f>`, named after its id:
 * OpenMQTTGateway `home/<id>`, ESPresense room `<id>`, sniffer topic `sniffers/<id>`, Meraki AP
 * `02:…` (a locally administered address derived from the id) of SIMULATED_MERAKI_NETWORK,
 * Paxcounter `<id>` (its first 64 characters). Native: no source.
 */
export function sourceForFormat(
  gatewayId: string,
  format: SimulateFormat,
): GatewaySource | undefined {
  switch (format) {
    case 'native':
      return undefined
    case 'omg':
      return { format: 'omg', name: gatewayId, baseTopic: 'home' }
    case 'espresense':
      return { format: 'espresense', room: gatewayId }
    case 'sniffer':
      return { format: 'sniffer', topic: `sniffers/${gatewayId}` }
    case 'meraki': {
      const h = createHash('sha256').update(gatewayId).digest()
      const octets = [0x02, ...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))
      return { format: 'meraki', networkId: SIMULATED_MERAKI_NETWORK, apMac: octets.join(':') }
    }
    case 'paxcounter':
      return { format: 'paxcounter', deviceId: gatewayId, encoding: 'packed' }
  }
}

/**
 * The district with every gateway speaking `format` (sources from `sourceForFormat`); for `native`
 * every source is removed. What `--district-out` writes for `miglio district load`.
 */
export function districtWithFormat(district: DistrictFile, format: SimulateFormat): DistrictFile {
  return {
    ...district,
    gateways: district.gateways.map((g) => {
      const { source: _old, ...rest } = g
      const source = sourceForFormat(g.id, format)
      return source ? { ...rest, source } : rest
    }),
  }
}

/**
 * A simulation's native stream as the district's gateways put it on the wire: each gateway with a
 * `source` has its batches encoded in its format (simulator/formats), its status as the format's
 * last will where it has one (OpenMQTTGateway, ESPresense; the others have none, so theirs are left
 * out); native gateways' messages pass unchanged. A Meraki post is published on the internal topic
 * (`miglio/v1/internal/meraki/<networkId>`) as the API's receiver does after checking the secret:
 * the simulator stands for the Meraki cloud and the receiver together.
 *
 * One-message-per-device formats publish each sighting when it was heard, which is before its
 * batch's time: messages are reordered by time through a window of `lagMs` (a batch interval), so
 * the stream stays in time order and a paced run publishes each message at its own time.
 */
export function* formatStream(
  messages: Iterable<OutboundMessage>,
  sources: ReadonlyMap<string, GatewaySource>,
  options: EncodeOptions & { lagMs: number },
): Generator<OutboundMessage, void, undefined> {
  const pending = new TimeHeap()
  for (const m of messages) {
    for (const out of encodeMessage(m, sources.get(m.gatewayId), options)) pending.push(out)
    while (pending.size > 0 && pending.peekTime() <= m.simTimeMs - options.lagMs) {
      const next = pending.pop()
      if (next) yield next
    }
  }
  while (pending.size > 0) {
    const next = pending.pop()
    if (next) yield next
  }
}

function encodeMessage(
  m: OutboundMessage,
  source: GatewaySource | undefined,
  options: EncodeOptions,
): OutboundMessage[] {
  if (!source || source.format === 'native') return [m]
  const base = { gatewayId: m.gatewayId, kind: m.kind }
  if (m.kind === 'status') {
    const state = m.payload.includes('"offline"') ? 'offline' : 'online'
    const status =
      source.format === 'omg'
        ? encodeOmgStatus(state, source, m.simTimeMs)
        : source.format === 'espresense'
          ? encodeEspresenseStatus(state, source, m.simTimeMs)
          : null
    return status ? [toOutbound(status, base, source)] : []
  }
  let batch
  try {
    batch = SightingsBatchSchema.safeParse(JSON.parse(m.payload))
  } catch {
    return [m] // an injected malformed message: published as it is
  }
  if (!batch.success) return [m]
  return (encodeBatchForSource(batch.data, source, options) ?? []).map((f) =>
    toOutbound(f, base, source),
  )
}

function toOutbound(
  f: FormatMessage,
  base: Pick<OutboundMessage, 'gatewayId' | 'kind'>,
  source: GatewaySource,
): OutboundMessage {
  if (f.transport === 'http') {
    const networkId = source.format === 'meraki' ? source.networkId : ''
    return {
      ...base,
      topic: buildMerakiInternalTopic(networkId),
      payload: f.body,
      simTimeMs: f.simTimeMs,
      sightings: f.sightings,
    }
  }
  return {
    ...base,
    topic: f.topic,
    payload: f.payload,
    simTimeMs: f.simTimeMs,
    sightings: f.sightings,
    retain: f.retain,
  }
}

/**
 * Messages kept in time order, first in first out among equal times (a sorted array: the window
 * holds one batch interval of messages).
 */
class TimeHeap {
  private items: OutboundMessage[] = []
  private head = 0
  get size() {
    return this.items.length - this.head
  }
  peekTime(): number {
    return this.items[this.head]?.simTimeMs ?? Infinity
  }
  push(m: OutboundMessage) {
    // After every item of the same time or earlier: binary search from the end's side.
    let lo = this.head
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((this.items[mid]?.simTimeMs ?? Infinity) <= m.simTimeMs) lo = mid + 1
      else hi = mid
    }
    this.items.splice(lo, 0, m)
  }
  pop(): OutboundMessage | undefined {
    const m = this.items[this.head++]
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return m
  }
}
