import { parseGatewayTopic } from '../shared/contracts/topics.ts'
import {
  decodeMessage,
  decodeSightingsValue,
  DEFAULT_DECODE_LIMITS,
  type DecodeResult,
} from './decode-message.ts'
import { filterAndPseudonymise } from './intake/pseudonymise-sightings.ts'
import { planGroup, transitOf, type BatchWork } from './plan-group.ts'
import { createMemoryKeyStore, createPseudonymiser } from './pseudonymiser.ts'
import type { Session } from './sessionise.ts'
import {
  sessionKey,
  type GatewayProgress,
  type GatewayTransit,
  type RegisteredGateway,
} from './model.ts'

/**
 * One message of a gateway at `atMs`: as it would arrive over MQTT (topic and JSON payload), or as
 * the simulator's batch object for that topic — decoded by the same schema, bounds and normalisation
 * (`decodeSightingsValue`), without encoding it to JSON only to parse it back.
 */
export type HistoryMessage =
  { topic: string; payload: string; atMs: number } | { topic: string; batch: unknown; atMs: number }

/** A message decoded as ingest decodes it; the message's own time is "now" (the past is the present). */
function decodeHistoryMessage(m: HistoryMessage): DecodeResult {
  if ('payload' in m)
    return decodeMessage(m.topic, Buffer.from(m.payload), m.atMs, DEFAULT_DECODE_LIMITS)
  const topic = parseGatewayTopic(m.topic)
  if (topic?.kind !== 'sightings')
    return {
      ok: false,
      reason: 'unknown_topic',
      detail: 'not a sightings topic',
      gatewayId: topic?.gatewayId ?? null,
    }
  return decodeSightingsValue(topic.gatewayId, m.batch, m.atMs, DEFAULT_DECODE_LIMITS)
}

export type HistoryDay = {
  /** Closed transits of the day, classified; their pseudonyms are never written (see the writer). */
  transits: GatewayTransit[]
  messages: number
  sightings: number
  /** Messages the decoder or the registry refused (none expected from the simulator). */
  rejected: number
}

/** Messages planned together, as ingest groups them (its committer takes up to 250). */
const GROUP_MESSAGES = 250

/**
 * The backfill mode of the design: past days go through ingest's own pure steps — decode, the RSSI
 * floor, pseudonymisation, sessionisation, classification — in memory, one local day at a time, each
 * day with its own random key that never leaves this object and is destroyed (zeroed and forgotten)
 * as soon as the day is done. Nothing here touches the database or a broker; the caller writes the
 * day's transits (without pseudonyms) and logs what it does.
 */
export function createHistoryPipeline(o: {
  gateways: ReadonlyMap<string, RegisteredGateway>
  tz: string
  gapMs: number
  staticAfterMs: number
}) {
  const store = createMemoryKeyStore()
  const pseudonymiser = createPseudonymiser({ store, tz: o.tz, graceMs: 0 })
  const opts = { gapMs: o.gapMs, staticAfterMs: o.staticAfterMs }

  return {
    /** Keys alive now (0 between days: each day's key is destroyed when the day is done). */
    liveKeys: () => store.held(),

    /**
     * Runs one local day's messages (in sentAt order, all inside that day) through the pipeline and
     * returns its transits; sessions still open at the end of the messages are closed.
     */
    async runDay(
      messages: Iterable<HistoryMessage> | AsyncIterable<HistoryMessage>,
    ): Promise<HistoryDay> {
      const open = new Map<string, Session>()
      const statics = new Set<string>()
      const progress = new Map<string, GatewayProgress>()
      const day: HistoryDay = { transits: [], messages: 0, sightings: 0, rejected: 0 }
      let works: BatchWork[] = []
      const flush = () => {
        if (works.length === 0) return
        const plan = planGroup(works, { open, statics, progress }, opts)
        for (const d of plan.deletes) open.delete(sessionKey(d.gatewayId, d.pseudonym))
        for (const u of plan.upserts)
          open.set(sessionKey(u.gatewayId, u.session.pseudonym), u.session)
        for (const l of plan.learned) {
          statics.add(sessionKey(l.gatewayId, l.pseudonym))
          open.delete(sessionKey(l.gatewayId, l.pseudonym))
        }
        for (const p of plan.progress) progress.set(p.gatewayId, p)
        for (const t of plan.transits) day.transits.push(t)
        works = []
      }
      try {
        for await (const m of messages) {
          day.messages++
          const decoded = decodeHistoryMessage(m)
          if (!decoded.ok) {
            day.rejected++
            continue
          }
          if (decoded.kind !== 'sightings') continue
          const b = decoded.batch
          const gateway = o.gateways.get(b.gatewayId)
          if (!gateway) {
            day.rejected++
            continue
          }
          const gone = await pseudonymiser.prepare(
            b.sightings.map((s) => s.tMs),
            b.sentAtMs,
          )
          if (gone.size > 0) {
            day.rejected++
            continue
          }
          const f = filterAndPseudonymise(pseudonymiser, b.sightings, gateway, undefined)
          day.sightings += b.sightings.length
          works.push({
            gateway,
            bootId: b.bootId,
            seq: b.seq,
            sentAtMs: b.sentAtMs,
            clockSkewMs: 0,
            receivedAtMs: b.sentAtMs,
            sightings: f.sightings,
            sightingsCount: b.sightings.length,
            exempt: f.exempt,
          })
          if (works.length >= GROUP_MESSAGES) flush()
        }
        flush()
        for (const [key, session] of open) {
          const gateway = o.gateways.get(key.slice(0, key.indexOf('\u0000')))
          if (gateway) day.transits.push(transitOf(gateway, session))
        }
        return day
      } finally {
        // The day is done (or failed): its key dies now, and with it any way to recompute its
        // pseudonyms.
        await pseudonymiser.rotate(Number.MAX_SAFE_INTEGER)
      }
    },
  }
}
