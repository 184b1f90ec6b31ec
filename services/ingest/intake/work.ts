import type { AdapterFormat, DeviceCounts, GatewayHealth } from '../adapters/common.ts'
import type { RejectReason } from '../decode-message.ts'
import type { DeadLetterWrite, RegisteredGateway, StatusWrite } from '../model.ts'
import type { BatchOutcome, BatchWork } from '../plan-group.ts'
import type { IngestMetrics } from '../ingest-metrics.ts'
import type { PseudoSighting } from '../sessionise.ts'

/** A native batch taken in: what it will write once committed. */
export type NativeBatchTaken = {
  kind: 'batch'
  work: BatchWork
  total: number
  belowFloor: number
  denied: number
  /** Tells a redelivery (same digest) from a replay with other content (see batch-digest.ts). */
  digest: string
}

/** What one message of a gateway format does once committed. */
export type ForeignEffect =
  | {
      kind: 'sightings'
      sightings: PseudoSighting[]
      /** Pseudonyms on the allow list: never learned as static. */
      exempt: ReadonlySet<string>
      /** Sightings the message carried for this gateway, before any filter. */
      total: number
      belowFloor: number
      denied: number
      /** The newest sighting time (the arrival time for formats without one): the watermark. */
      eventMs: number
    }
  | { kind: 'counts'; counts: DeviceCounts }
  | { kind: 'health'; health: GatewayHealth }
  | { kind: 'ignored' }

/**
 * One message of a gateway format, for one gateway (a Meraki post yields one per access point).
 * `digest` (64 bits of a SHA-256 of topic and payload) is recorded in message_digests when it
 * commits; a message the broker delivers again (`dup`) whose digest is there changes nothing.
 */
export type ForeignPart = {
  digest: string
  dup: boolean
  receivedAtMs: number
  effect: ForeignEffect
}

/** A message taken in: what it will write once committed. */
export type Taken =
  | NativeBatchTaken
  | { kind: 'status'; write: StatusWrite }
  | { kind: 'dead'; letter: DeadLetterWrite; reason: RejectReason }
  /** Messages of one gateway of a format (a micro-batch holds several), committed together. */
  | { kind: 'foreign'; gateway: RegisteredGateway; format: AdapterFormat; parts: ForeignPart[] }
  /** Refused without a dead letter (flood control past its first dead letter): counted, acknowledged. */
  | { kind: 'dropped'; reason: RejectReason }

/** A queued message: what it writes, the message as it came, and how to acknowledge it. */
export type Work = Taken & {
  /** Kept for a `write_failed` dead letter, should the write fail. */
  topic: string
  payload: Buffer
  ack: () => void
}

export type ForeignWork = Extract<Work, { kind: 'foreign' }>

/** The gateway a taken message belongs to (a dead letter's as stored), or null when none. */
export function gatewayOfWork(w: Taken): string | null {
  switch (w.kind) {
    case 'batch':
      return w.work.gateway.id
    case 'foreign':
      return w.gateway.id
    case 'status':
      return w.write.gatewayId
    case 'dead':
      return w.letter.gatewayId
    case 'dropped':
      return null
  }
}

/** `n` acknowledgements of one message: the message is acknowledged once all `n` are called. */
export function shareAck(ack: () => void, n: number): (() => void)[] {
  if (n <= 1) return [ack]
  let left = n
  return Array.from({ length: n }, () => {
    let called = false
    return () => {
      if (called) return
      called = true
      if (--left === 0) ack()
    }
  })
}

/** One gateway's held micro-batch as one queued work (its messages acknowledged together). */
export function mergeForeignWorks(works: readonly ForeignWork[]): ForeignWork | null {
  const first = works[0]
  if (!first) return null
  if (works.length === 1) return first
  return {
    ...first,
    parts: works.flatMap((w) => w.parts),
    ack: () => {
      for (const w of works) w.ack()
    },
  }
}

/** Metrics of a gateway format's work once committed: one count per message, by what it carried. */
export function countForeign(
  metrics: IngestMetrics,
  w: ForeignWork,
  fresh: readonly boolean[],
  outcome: BatchOutcome | null,
): void {
  w.parts.forEach((p, i) => {
    const kind = p.effect.kind
    if (!fresh[i]) {
      metrics.messages.inc({ kind, outcome: 'duplicate' })
      metrics.formatMessages.inc({ format: w.format, outcome: 'duplicate' })
      return
    }
    metrics.messages.inc({ kind, outcome: 'accepted' })
    metrics.formatMessages.inc({ format: w.format, outcome: 'accepted' })
    if (p.effect.kind !== 'sightings') return
    metrics.sightings.inc(p.effect.total)
    if (p.effect.belowFloor) metrics.filtered.inc({ reason: 'rssi_floor' }, p.effect.belowFloor)
    if (p.effect.denied) metrics.filtered.inc({ reason: 'deny_list' }, p.effect.denied)
  })
  countBatchOutcome(metrics, outcome)
}

/** What planning a committed batch did (native or a format's), in the metrics. */
export function countBatchOutcome(metrics: IngestMetrics, outcome: BatchOutcome | null): void {
  if (!outcome) return
  if (outcome.staticSightings)
    metrics.filtered.inc({ reason: 'static_device' }, outcome.staticSightings)
  if (outcome.learned) metrics.staticDevices.inc(outcome.learned)
  if (outcome.late) metrics.lateBatches.inc()
}
