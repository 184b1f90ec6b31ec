import { z } from 'zod'
import {
  MAX_PAYLOAD_BYTES,
  type GatewayStatus,
  type SightingsBatch,
} from '../services/shared/contracts/gateway-messages.ts'
import {
  buildSightingsTopic,
  buildStatusTopic,
  GATEWAY_ID_PATTERN,
} from '../services/shared/contracts/topics.ts'
import { createRng, deriveSeed, type Rng } from './rng.ts'

/**
 * Faults on demand. A spec is a comma-separated list (spaces allowed around commas):
 *
 *   offline:<gw>@<from>-<to>        no messages from <gw> in [from, to); retained 'offline' at from, 'online' at to
 *   reboot:<gw>@<at>                new bootId, seq restarts at 0, unsent sightings lost, 'online' (uptime 0)
 *   skew:<gw>=<±duration>[@<from>-<to>]   <gw>'s clock is off: sentAt and every t shifted
 *   duplicates[:<gw>]=<rate>        that share of batches published twice (a redelivery)
 *   out-of-order[:<gw>]=<rate>      that share of batches held back and sent after the gateway's next one
 *   malformed[:<gw>]=<rate>         after that share of batches, an extra message that is not a valid batch
 *   oversized[:<gw>]=<rate>         after that share of batches, an extra message over 256 KiB
 *   spoof[:<gw>]=<rate>             after that share of batches, a copy whose payload gatewayId is another gateway's
 *
 * Times (<from>, <to>, <at>) are offsets from the start of the run: a number and a unit (ms, s, m, h,
 * d), e.g. 90s, 10m, 1.5h. A rate is a share in [0, 1] or a percentage (2%). Rate faults draw per
 * batch from a seeded stream of their own per gateway, so adding a fault never changes which batches
 * another one hits.
 */
export const RATE_FAULT_KINDS = [
  'duplicates',
  'out-of-order',
  'malformed',
  'oversized',
  'spoof',
] as const
export type RateFaultKind = (typeof RATE_FAULT_KINDS)[number]
export type FaultKind = 'offline' | 'reboot' | 'skew' | RateFaultKind

export type FaultSpec =
  | { kind: 'offline'; gatewayId: string; fromOffsetMs: number; toOffsetMs: number }
  | { kind: 'reboot'; gatewayId: string; atOffsetMs: number }
  | {
      kind: 'skew'
      gatewayId: string
      skewMs: number
      fromOffsetMs?: number
      toOffsetMs?: number
    }
  | { kind: RateFaultKind; rate: number; gatewayId?: string }

/** One injected fault, as written to the ground truth (`faults.jsonl`). Times are epoch ms. */
export interface FaultRecord {
  kind: FaultKind
  /** The gateway whose traffic was hit (for spoof: the topic's gateway). */
  gatewayId: string
  /** When it was injected (simulated publish time; for offline and skew the window start). */
  atMs: number
  /** offline, skew: end of the window (exclusive). */
  untilMs?: number
  /** The batch hit (rate faults), or the new boot (reboot). */
  bootId?: string
  seq?: number
  /** reboot: the boot that ended. */
  previousBootId?: string
  /** reboot: sightings buffered and never sent. */
  lostSightings?: number
  /** offline: what the gateway did not publish. */
  droppedBatches?: number
  droppedSightings?: number
  /** skew: the offset, and how many batches carried it. */
  skewMs?: number
  batches?: number
  /** out-of-order: when the held batch went out (after the gateway's next batch). */
  releasedAtMs?: number
  /** malformed: truncated-json | not-json | schema. */
  variant?: string
  /** spoof: the gateway id claimed in the payload. */
  payloadGatewayId?: string
  /** oversized: payload bytes. */
  bytes?: number
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const EXAMPLES: Readonly<Record<FaultKind, string>> = {
  offline: 'offline:<gateway>@<from>-<to>, e.g. offline:gw-1@10m-20m',
  reboot: 'reboot:<gateway>@<at>, e.g. reboot:gw-1@15m',
  skew: 'skew:<gateway>=<+|-duration>[@<from>-<to>], e.g. skew:gw-1=+90s',
  duplicates: 'duplicates[:<gateway>]=<rate>, e.g. duplicates=0.02',
  'out-of-order': 'out-of-order[:<gateway>]=<rate>, e.g. out-of-order=0.01',
  malformed: 'malformed[:<gateway>]=<rate>, e.g. malformed=0.005',
  oversized: 'oversized[:<gateway>]=<rate>, e.g. oversized=0.001',
  spoof: 'spoof[:<gateway>]=<rate>, e.g. spoof=0.001',
}

const GatewayIdSchema = z
  .string()
  .regex(GATEWAY_ID_PATTERN, 'gateway id must be 1-64 lowercase letters, digits and dashes')
const OffsetSchema = z.number().nonnegative()
const WindowRefinement = (f: { fromOffsetMs?: number; toOffsetMs?: number }) =>
  f.fromOffsetMs === undefined || f.toOffsetMs === undefined || f.toOffsetMs > f.fromOffsetMs

const OfflineSchema = z
  .object({
    kind: z.literal('offline'),
    gatewayId: GatewayIdSchema,
    fromOffsetMs: OffsetSchema,
    toOffsetMs: OffsetSchema,
  })
  .refine(WindowRefinement, 'the window must end after it starts')
const RebootSchema = z.object({
  kind: z.literal('reboot'),
  gatewayId: GatewayIdSchema,
  atOffsetMs: OffsetSchema,
})
const SkewSchema = z
  .object({
    kind: z.literal('skew'),
    gatewayId: GatewayIdSchema,
    skewMs: z
      .number()
      .refine((v) => v !== 0, 'a skew of 0 is no fault')
      .refine((v) => Math.abs(v) <= 7 * 86_400_000, 'a skew must be within ±7d'),
    fromOffsetMs: OffsetSchema.optional(),
    toOffsetMs: OffsetSchema.optional(),
  })
  .refine(WindowRefinement, 'the window must end after it starts')
const RateSchema = z.object({
  kind: z.enum(RATE_FAULT_KINDS),
  rate: z.number().min(0, 'rate must be in [0, 1]').max(1, 'rate must be in [0, 1]'),
  gatewayId: GatewayIdSchema.optional(),
})

/** A parsed fault (what parseFaults returns, and what createSimulation's `faults` also accepts). */
export const FaultSpecSchema = z.union([OfflineSchema, RebootSchema, SkewSchema, RateSchema])

const SCHEMA_OF = {
  offline: OfflineSchema,
  reboot: RebootSchema,
  skew: SkewSchema,
} as const

/** Parses a `--faults` spec; one error names every bad item with the expected form. */
export function parseFaults(spec: string): FaultSpec[] {
  const items = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const faults: FaultSpec[] = []
  const problems: string[] = []
  for (const item of items) {
    const result = parseOne(item)
    if (typeof result === 'string') problems.push(`  - '${item}': ${result}`)
    else faults.push(result)
  }
  if (problems.length > 0)
    throw new Error(`invalid faults:\n${problems.join('\n')}\n(see simulator/README.md, Faults)`)
  return faults
}

function parseOne(item: string): FaultSpec | string {
  const kindMatch = /^([a-z-]+)/.exec(item)
  const kind = kindMatch?.[1] as FaultKind | undefined
  if (!kind || !Object.hasOwn(EXAMPLES, kind))
    return `unknown fault kind; expected one of ${Object.keys(EXAMPLES).join(', ')}`
  const expected = `expected ${EXAMPLES[kind]}`
  const rest = item.slice(kind.length)
  let candidate: unknown
  if (kind === 'offline') {
    const m = /^:([^@]+)@([^-]+)-(.+)$/.exec(rest)
    if (!m) return expected
    candidate = {
      kind,
      gatewayId: m[1],
      fromOffsetMs: duration(m[2]),
      toOffsetMs: duration(m[3]),
    }
  } else if (kind === 'reboot') {
    const m = /^:([^@]+)@(.+)$/.exec(rest)
    if (!m) return expected
    candidate = { kind, gatewayId: m[1], atOffsetMs: duration(m[2]) }
  } else if (kind === 'skew') {
    const m = /^:([^=]+)=([+-])([^@]+)(?:@([^-]+)-(.+))?$/.exec(rest)
    if (!m) return expected
    const magnitude = duration(m[3])
    candidate = {
      kind,
      gatewayId: m[1],
      skewMs: magnitude === undefined ? undefined : m[2] === '-' ? -magnitude : magnitude,
      ...(m[4] !== undefined ? { fromOffsetMs: duration(m[4]), toOffsetMs: duration(m[5]) } : {}),
    }
  } else {
    const m = /^(?::([^=]+))?=(.+)$/.exec(rest)
    if (!m) return expected
    candidate = { kind, rate: rate(m[2]), ...(m[1] !== undefined ? { gatewayId: m[1] } : {}) }
  }
  const schema =
    kind === 'offline' || kind === 'reboot' || kind === 'skew' ? SCHEMA_OF[kind] : RateSchema
  const parsed = schema.safeParse(candidate)
  if (parsed.success) return parsed.data as FaultSpec
  const issue = parsed.error.issues[0]
  const field = issue?.path.join('.') ?? ''
  const names: Record<string, string> = {
    fromOffsetMs: 'from',
    toOffsetMs: 'to',
    atOffsetMs: 'at',
    skewMs: 'skew',
  }
  const why =
    issue?.code === 'invalid_type'
      ? field === 'rate'
        ? 'rate is not a share in [0, 1] or a percentage'
        : `${names[field] ?? field} is not a duration (a number and ms, s, m, h or d)`
      : (issue?.message ?? 'invalid')
  return `${why}; ${expected}`
}

function duration(text: string | undefined): number | undefined {
  const m = text === undefined ? null : DURATION.exec(text.trim())
  if (!m) return undefined
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
}

function rate(text: string | undefined): number | undefined {
  const t = text?.trim() ?? ''
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(t)
  if (!m) return undefined
  return m[2] === '%' ? Number(m[1]) / 100 : Number(m[1])
}

/** The canonical text of a fault, as parseFaults reads it. */
export function formatFault(f: FaultSpec): string {
  const d = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`)
  switch (f.kind) {
    case 'offline':
      return `offline:${f.gatewayId}@${d(f.fromOffsetMs)}-${d(f.toOffsetMs)}`
    case 'reboot':
      return `reboot:${f.gatewayId}@${d(f.atOffsetMs)}`
    case 'skew': {
      const window =
        f.fromOffsetMs !== undefined && f.toOffsetMs !== undefined
          ? `@${d(f.fromOffsetMs)}-${d(f.toOffsetMs)}`
          : ''
      return `skew:${f.gatewayId}=${f.skewMs < 0 ? '-' : '+'}${d(Math.abs(f.skewMs))}${window}`
    }
    default:
      return `${f.kind}${f.gatewayId ? `:${f.gatewayId}` : ''}=${f.rate}`
  }
}

/** Throws when a fault names a gateway the district does not have. */
export function checkFaultGateways(faults: readonly FaultSpec[], gatewayIds: readonly string[]) {
  const known = new Set(gatewayIds)
  const unknown = faults.filter((f) => f.gatewayId !== undefined && !known.has(f.gatewayId))
  if (unknown.length > 0)
    throw new Error(
      `invalid faults:\n${unknown.map((f) => `  - '${formatFault(f)}': unknown gateway ${f.gatewayId}`).join('\n')}\n(known gateways: ${gatewayIds.join(', ')})`,
    )
}

/** A message on its way to the broker (the simulation's output). */
export interface FaultableMessage {
  topic: string
  payload: string
  simTimeMs: number
  gatewayId: string
  kind: 'sightings' | 'status'
  sightings: number
  /** Set on status messages: publish retained. */
  retain?: boolean
  /** The fault this message is (or carries), when it is one. */
  fault?: FaultKind
}

export interface DueBatch {
  batch: SightingsBatch
  /** True simulated time the batch is due (its sentAt before any skew). */
  atMs: number
}

export interface FaultInjector {
  /** Absolute instants at which the simulation must end a step (window edges and reboots). */
  readonly instants: readonly number[]
  /** Gateways rebooting at exactly `atMs`. */
  rebootsAt(atMs: number): string[]
  /** Called by the simulation after it rebooted a gateway; queues its 'online' status. */
  recordReboot(r: {
    gatewayId: string
    atMs: number
    previousBootId: string
    bootId: string
    lostSightings: number
    status: GatewayStatus
  }): void
  /** One step: due batches (in publish order) plus status changes up to `untilMs`, as messages. */
  step(due: readonly DueBatch[], untilMs: number): FaultableMessage[]
  /** Batches still held back at the end of the run. */
  finish(): FaultableMessage[]
  records(): FaultRecord[]
}

interface PendingStatus {
  atMs: number
  /** Before the batches due at the same instant (outage edges) or after them (reboot). */
  before: boolean
  message: FaultableMessage
  /** Outage edges are published even though the gateway is 'offline' then. */
  edge: boolean
}

/**
 * Applies faults to the stream of batches of a run that starts at `fromMs`. Deterministic: the same
 * seed, faults and batches give the same messages and records.
 */
export function createFaultInjector(options: {
  faults: readonly FaultSpec[]
  seed: number
  fromMs: number
  toMs: number
  gatewayIds: readonly string[]
  statusOf: (gatewayId: string, state: GatewayStatus['state'], atMs: number) => GatewayStatus
}): FaultInjector {
  const { faults, seed, fromMs, toMs, gatewayIds, statusOf } = options
  const records: FaultRecord[] = []
  const pending: PendingStatus[] = []
  const held = new Map<string, { message: FaultableMessage[]; record: FaultRecord }>()

  const statusMessage = (gatewayId: string, status: GatewayStatus, atMs: number) => ({
    topic: buildStatusTopic(gatewayId),
    payload: JSON.stringify(status),
    simTimeMs: atMs,
    gatewayId,
    kind: 'status' as const,
    sightings: 0,
    retain: true,
  })

  const outages = faults.flatMap((f, i) => {
    if (f.kind !== 'offline') return []
    const record: FaultRecord = {
      kind: 'offline',
      gatewayId: f.gatewayId,
      atMs: fromMs + f.fromOffsetMs,
      untilMs: fromMs + f.toOffsetMs,
      droppedBatches: 0,
      droppedSightings: 0,
    }
    return [
      { index: i, gatewayId: f.gatewayId, from: record.atMs, to: record.untilMs ?? 0, record },
    ]
  })
  for (const o of outages) {
    if (o.from >= toMs) continue
    records.push(o.record)
    pending.push({
      atMs: o.from,
      before: true,
      edge: true,
      message: {
        ...statusMessage(o.gatewayId, statusOf(o.gatewayId, 'offline', o.from), o.from),
        fault: 'offline',
      },
    })
    if (o.to < toMs)
      pending.push({
        atMs: o.to,
        before: true,
        edge: true,
        message: {
          ...statusMessage(o.gatewayId, statusOf(o.gatewayId, 'online', o.to), o.to),
          fault: 'offline',
        },
      })
  }
  const reboots = faults.flatMap((f) =>
    f.kind === 'reboot' && fromMs + f.atOffsetMs < toMs
      ? [{ gatewayId: f.gatewayId, atMs: fromMs + f.atOffsetMs }]
      : [],
  )
  const skews = faults.flatMap((f) => {
    if (f.kind !== 'skew') return []
    const record: FaultRecord = {
      kind: 'skew',
      gatewayId: f.gatewayId,
      atMs: fromMs + (f.fromOffsetMs ?? 0),
      skewMs: f.skewMs,
      batches: 0,
      ...(f.toOffsetMs !== undefined ? { untilMs: fromMs + f.toOffsetMs } : {}),
    }
    records.push(record)
    return [
      {
        gatewayId: f.gatewayId,
        from: record.atMs,
        to: record.untilMs ?? Infinity,
        skewMs: f.skewMs,
        record,
      },
    ]
  })
  // One stream per fault and gateway: a fault that changes one gateway's batches (a reboot, an
  // outage) or another fault in the list never moves which batches this one hits elsewhere.
  const seen = new Map<string, number>()
  const rated = faults.flatMap((f) => {
    if (f.kind === 'offline' || f.kind === 'reboot' || f.kind === 'skew') return []
    const key = `${f.kind}-${f.gatewayId ?? '*'}`
    const nth = seen.get(key) ?? 0
    seen.set(key, nth + 1)
    const label = `fault-${key}${nth > 0 ? `-${nth}` : ''}`
    const streams = new Map<string, Rng>()
    return [
      {
        kind: f.kind,
        rate: f.rate,
        gatewayId: f.gatewayId,
        hits(gatewayId: string) {
          let rng = streams.get(gatewayId)
          if (!rng) {
            rng = createRng(deriveSeed(seed, `${label}-${gatewayId}`))
            streams.set(gatewayId, rng)
          }
          return rng.bool(f.rate)
        },
      },
    ]
  })
  const variantRng = createRng(deriveSeed(seed, 'fault-variants'))
  const instants = [
    ...new Set([...outages.flatMap((o) => [o.from, o.to]), ...reboots.map((r) => r.atMs)]),
  ]
    .filter((t) => t > fromMs && t < toMs)
    .sort((a, b) => a - b)

  const offlineAt = (gatewayId: string, atMs: number) =>
    outages.find((o) => o.gatewayId === gatewayId && atMs >= o.from && atMs < o.to)

  function skewed(batch: SightingsBatch, atMs: number): SightingsBatch {
    const skew = skews.find((s) => s.gatewayId === batch.gatewayId && atMs >= s.from && atMs < s.to)
    if (!skew) return batch
    if (skew.record.batches !== undefined) skew.record.batches++
    const shift = (t: string | number) =>
      typeof t === 'number' ? t + skew.skewMs : new Date(Date.parse(t) + skew.skewMs).toISOString()
    return {
      ...batch,
      sentAt: shift(batch.sentAt),
      sightings: batch.sightings.map((s) => ({ ...s, t: shift(s.t) })),
    }
  }

  function extraMessages(
    kind: RateFaultKind,
    batch: SightingsBatch,
    base: FaultableMessage,
    rng: Rng,
  ): { messages: FaultableMessage[]; record: Partial<FaultRecord> } {
    const json = base.payload
    const extra = (payload: string): FaultableMessage => ({
      ...base,
      payload,
      sightings: 0,
      fault: kind,
    })
    switch (kind) {
      case 'malformed': {
        const variant = rng.pick(['truncated-json', 'not-json', 'schema'] as const)
        const payload =
          variant === 'truncated-json'
            ? json.slice(0, Math.max(1, Math.floor(json.length / 2)))
            : variant === 'not-json'
              ? `sightings of ${batch.gatewayId} #${batch.seq}`
              : JSON.stringify({ ...batch, v: 2, seq: -1 })
        return { messages: [extra(payload)], record: { variant } }
      }
      case 'oversized': {
        const pad = 'x'.repeat(Math.max(0, MAX_PAYLOAD_BYTES + 1024 - json.length))
        const payload = JSON.stringify({ ...batch, pad })
        return { messages: [extra(payload)], record: { bytes: Buffer.byteLength(payload) } }
      }
      case 'spoof': {
        const others = gatewayIds.filter((g) => g !== batch.gatewayId)
        const claimed =
          others.length > 0 ? rng.pick(others) : `spoofed-${batch.gatewayId}`.slice(0, 64)
        const payload = JSON.stringify({ ...batch, gatewayId: claimed })
        return { messages: [extra(payload)], record: { payloadGatewayId: claimed } }
      }
      case 'duplicates':
        return { messages: [{ ...base, fault: 'duplicates' }], record: {} }
      case 'out-of-order':
        return { messages: [], record: {} }
    }
  }

  return {
    instants,
    rebootsAt: (atMs) => reboots.filter((r) => r.atMs === atMs).map((r) => r.gatewayId),
    recordReboot(r) {
      records.push({
        kind: 'reboot',
        gatewayId: r.gatewayId,
        atMs: r.atMs,
        bootId: r.bootId,
        previousBootId: r.previousBootId,
        lostSightings: r.lostSightings,
      })
      pending.push({
        atMs: r.atMs,
        before: false,
        edge: false,
        message: { ...statusMessage(r.gatewayId, r.status, r.atMs), fault: 'reboot' },
      })
    },
    step(due, untilMs) {
      const out: Array<{ atMs: number; rank: number; message: FaultableMessage }> = []
      pending.sort((a, b) => a.atMs - b.atMs)
      while (pending.length > 0 && (pending[0]?.atMs ?? Infinity) <= untilMs) {
        const p = pending.shift()
        if (!p) break
        if (!p.edge && offlineAt(p.message.gatewayId, p.atMs)) continue
        out.push({ atMs: p.atMs, rank: p.before ? -1 : 1, message: p.message })
      }
      for (const { batch, atMs } of due) {
        const gatewayId = batch.gatewayId
        // Every rate fault draws for every batch, published or not, so selections never depend on
        // the other faults.
        const hits = rated
          .filter(
            (r) => (r.gatewayId === undefined || r.gatewayId === gatewayId) && r.hits(gatewayId),
          )
          .map((r) => r.kind)
        const outage = offlineAt(gatewayId, atMs)
        if (outage) {
          outage.record.droppedBatches = (outage.record.droppedBatches ?? 0) + 1
          outage.record.droppedSightings =
            (outage.record.droppedSightings ?? 0) + batch.sightings.length
          continue
        }
        const sent = skewed(batch, atMs)
        const message: FaultableMessage = {
          topic: buildSightingsTopic(gatewayId),
          payload: JSON.stringify(sent),
          simTimeMs: atMs,
          gatewayId,
          kind: 'sightings',
          sightings: sent.sightings.length,
        }
        const group: FaultableMessage[] = [message]
        const batchRecord = { gatewayId, atMs, bootId: batch.bootId, seq: batch.seq }
        let holdBack = false
        for (const kind of hits) {
          if (kind === 'out-of-order') {
            if (!held.has(gatewayId)) holdBack = true
            continue
          }
          const { messages, record } = extraMessages(kind, sent, message, variantRng)
          group.push(...messages)
          records.push({ kind, ...batchRecord, ...record })
        }
        const release = held.get(gatewayId)
        if (holdBack) {
          const record: FaultRecord = { kind: 'out-of-order', ...batchRecord }
          records.push(record)
          held.set(gatewayId, { message: group, record })
          continue
        }
        for (const m of group) out.push({ atMs, rank: 0, message: m })
        if (release) {
          held.delete(gatewayId)
          release.record.releasedAtMs = atMs
          for (const m of release.message)
            out.push({ atMs, rank: 0, message: { ...m, simTimeMs: atMs } })
        }
      }
      // Stable: batches keep their order; status changes go before or after the batches of their instant.
      return out
        .map((o, i) => ({ ...o, i }))
        .sort((a, b) => a.atMs - b.atMs || a.rank - b.rank || a.i - b.i)
        .map((o) => o.message)
    },
    finish() {
      const out: FaultableMessage[] = []
      for (const [gatewayId, h] of held) {
        held.delete(gatewayId)
        const atMs = Math.max(...h.message.map((m) => m.simTimeMs))
        h.record.releasedAtMs = atMs
        out.push(...h.message)
      }
      return out
    },
    records: () => records.slice().sort((a, b) => a.atMs - b.atMs),
  }
}
