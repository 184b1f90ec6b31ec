import mqtt, { type MqttClient } from 'mqtt'
import { buildSightingsTopic, withTopicPrefix } from '../../services/shared/contracts/topics.ts'
import { nowMs, sleep } from './report.ts'

export const SIGHTINGS_PER_BATCH = 50
/** Batches a synthetic device stays in (one sighting each): 6 × 5 s ≈ a 25 s pass. */
export const BATCHES_PER_DEVICE = 6
export const BATCH_INTERVAL_MS = 5_000

/**
 * One synthetic gateway: batch `b` holds one sighting from each of 50 slots; a slot's device changes
 * every BATCHES_PER_DEVICE batches (staggered, so ~8 devices arrive and ~8 leave per batch). MACs are
 * globally administered and unique per (run salt, gateway, slot, generation).
 *
 * Clock `event`: batch b covers [t0 + b·5 s, t0 + (b+1)·5 s) whatever the wall clock, so the load
 * can run faster than real time and the expected number of closed transits is known exactly.
 * Clock `realtime`: each batch covers (previous sentAt, now].
 */
export class GatewayStream {
  seq = 0
  private lastSentMs: number
  readonly topic: string
  constructor(
    readonly gatewayId: string,
    readonly index: number,
    readonly bootId: string,
    readonly salt: number,
    readonly clock: { kind: 'event'; t0: number } | { kind: 'realtime'; startMs: number },
    topicPrefix: string,
    readonly slots = SIGHTINGS_PER_BATCH,
  ) {
    this.topic = withTopicPrefix(topicPrefix, buildSightingsTopic(gatewayId))
    this.lastSentMs = clock.kind === 'event' ? clock.t0 : clock.startMs
  }

  static offsetOf(slot: number) {
    return slot % BATCHES_PER_DEVICE
  }

  mac(slot: number, generation: number): string {
    // 48 bits: salt (6) + 2 zero bits (globally administered unicast) | gateway (10) | slot (6) |
    // generation (24). 40 bits below the first byte fit a double exactly.
    const first = (this.salt & 0x3f) << 2
    const rest = (this.index & 0x3ff) * 2 ** 30 + (slot & 0x3f) * 2 ** 24 + (generation % 2 ** 24)
    const hex = first.toString(16).padStart(2, '0') + rest.toString(16).padStart(10, '0')
    return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`
  }

  /** The event-clock start of batch b. */
  batchStart(b: number): number {
    if (this.clock.kind !== 'event') throw new Error('batchStart needs the event clock')
    return this.clock.t0 + b * BATCH_INTERVAL_MS
  }

  /** Slot j's sighting time inside a batch covering [start, end). */
  static sightingTime(start: number, end: number, slot: number, slots: number): number {
    return Math.floor(start + ((end - start) * slot) / slots)
  }

  /** The next batch as an MQTT payload. `wallMs` is used by the realtime clock. */
  next(wallMs: number): { payload: string; sentAtMs: number; seq: number; sightings: number } {
    const b = this.seq++
    let start: number
    let end: number
    if (this.clock.kind === 'event') {
      start = this.batchStart(b)
      end = start + BATCH_INTERVAL_MS
    } else {
      start = this.lastSentMs
      end = Math.max(Math.floor(wallMs), start + this.slots)
    }
    this.lastSentMs = end
    const parts: string[] = []
    for (let j = 0; j < this.slots; j++) {
      const generation = Math.floor((b + GatewayStream.offsetOf(j)) / BATCHES_PER_DEVICE)
      const t = new Date(GatewayStream.sightingTime(start, end, j, this.slots)).toISOString()
      const rssi = -55 - ((j * 7 + generation * 3) % 35)
      parts.push(`{"t":"${t}","mac":"${this.mac(j, generation)}","rssi":${rssi},"radio":"wifi"}`)
    }
    const payload = `{"v":1,"gatewayId":"${this.gatewayId}","bootId":"${this.bootId}","seq":${b},"sentAt":"${new Date(end).toISOString()}","sightings":[${parts.join(',')}]}`
    return { payload, sentAtMs: end, seq: b, sightings: this.slots }
  }

  /**
   * Transits a correct pipeline has closed once every batch so far is committed (event clock):
   * one per device and local day, closed when its last sighting is more than `gapMs` before the
   * gateway's watermark (the newest sentAt).
   */
  expectedClosedTransits(gapMs: number, midnights: readonly number[]): number {
    const B = this.seq
    if (B === 0) return 0
    const watermark = this.batchStart(B - 1) + BATCH_INTERVAL_MS
    const before = watermark - gapMs
    const dayOf = (t: number) => {
      let d = 0
      for (const m of midnights) if (t >= m) d++
      return d
    }
    let n = 0
    for (let j = 0; j < this.slots; j++) {
      const o = GatewayStream.offsetOf(j)
      const lastGen = Math.floor((B - 1 + o) / BATCHES_PER_DEVICE)
      for (let k = 0; k <= lastGen; k++) {
        const first = Math.max(0, k * BATCHES_PER_DEVICE - o)
        const last = Math.min(B - 1, k * BATCHES_PER_DEVICE - o + BATCHES_PER_DEVICE - 1)
        if (last < first) continue
        const tOf = (b: number) =>
          GatewayStream.sightingTime(
            this.batchStart(b),
            this.batchStart(b) + BATCH_INTERVAL_MS,
            j,
            this.slots,
          )
        // Sessions: one per local day the device's sightings fall on.
        let prevDay = -1
        let sessionLast = -Infinity
        for (let b = first; b <= last; b++) {
          const t = tOf(b)
          const d = dayOf(t)
          if (d !== prevDay && prevDay !== -1) {
            if (sessionLast < before) n++
          }
          prevDay = d
          sessionLast = t
        }
        if (sessionLast < before) n++
      }
    }
    return n
  }
}

export async function connectPublishers(
  url: string,
  count: number,
  idPrefix: string,
): Promise<MqttClient[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const c = await mqtt.connectAsync(url, {
        clientId: `${idPrefix}-${i}`,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 1000,
      })
      const stream = c.stream as { setNoDelay?: (v: boolean) => void }
      stream.setNoDelay?.(true)
      return c
    }),
  )
}

export type PacedResult = {
  batches: number
  sightings: number
  startedAt: number
  endedAt: number
  /** Batches per second actually published (below the target when the publisher fell behind). */
  publishedRate: number
  failures: number
}

/**
 * Publishes `rate` batches per second for `durationMs`, round-robin over the streams (stream i on
 * connection i % n, so one gateway's batches stay in order), QoS 1. Waits for every PUBACK.
 */
export async function publishPaced(opts: {
  streams: GatewayStream[]
  clients: MqttClient[]
  rate: number
  durationMs: number
  /** Called with each batch's publish time. */
  onPublish?: (stream: GatewayStream, seq: number, sentAtMs: number, at: number) => void
  maxPending?: number
}): Promise<PacedResult> {
  const { streams, clients, rate, durationMs } = opts
  const maxPending = opts.maxPending ?? 4000
  let sent = 0
  let sightings = 0
  let pending = 0
  let failures = 0
  let rr = 0
  const startedAt = nowMs()
  const total = Math.max(1, Math.round((rate * durationMs) / 1000))
  let drained: (() => void) | null = null
  while (sent < total) {
    const elapsed = nowMs() - startedAt
    const due = Math.min(total, Math.floor((rate * elapsed) / 1000) + 1)
    let burst = 0
    while (sent < due && burst < 256 && pending < maxPending) {
      const i = rr++ % streams.length
      const stream = streams[i]
      const client = clients[i % clients.length]
      if (!stream || !client) throw new Error('no stream or client')
      const batch = stream.next(Date.now())
      pending++
      client.publish(stream.topic, batch.payload, { qos: 1 }, (err) => {
        pending--
        if (err) failures++
        if (pending === 0) drained?.()
      })
      opts.onPublish?.(stream, batch.seq, batch.sentAtMs, nowMs())
      sent++
      sightings += batch.sightings
      burst++
    }
    if (sent >= total) break
    const nextDueIn = ((sent + 1) * 1000) / rate - (nowMs() - startedAt)
    if (pending >= maxPending || nextDueIn > 1) await sleep(Math.max(1, Math.min(nextDueIn, 20)))
    else await new Promise((r) => setImmediate(r))
  }
  const endedAt = nowMs()
  if (pending > 0) await new Promise<void>((r) => (drained = r))
  return {
    batches: sent,
    sightings,
    startedAt,
    endedAt,
    publishedRate: (sent * 1000) / Math.max(1, endedAt - startedAt),
    failures,
  }
}
