import type { Logger } from '../../shared/logger.ts'
import { redactMacs } from '../../shared/contracts/mac.ts'
import { createLogSampler } from '../../shared/log-sampler.ts'
import type { RejectReason } from '../decode-message.ts'
import { renderPayload } from '../render-payload.ts'
import type { Taken } from './work.ts'

export type DeadLetterFn = (
  topic: string,
  payload: Buffer,
  reason: RejectReason,
  detail: string,
  gatewayId: string | null,
  /** The payload as an operator may see it, when it is not the bytes (a Meraki post's secret). */
  shown?: Buffer,
) => Extract<Taken, { kind: 'dead' }>

export type DeadLetters = {
  deadLetter: DeadLetterFn
  /** Writes the sampled warn lines still held (maintenance calls it). */
  flush(): void
}

/**
 * Rejected messages as dead letters: every text redacted before it is stored or logged, and the
 * payload stored as a redacted rendering (render-payload.ts), never as the bytes that came. One
 * warn line per reason and 10 s: a gateway sending thousands of bad messages must not drown the log
 * (every rejection is still counted in miglio_ingest_rejects_total and dead-lettered).
 */
export function createDeadLetters(deps: { log: Logger; now: () => number }): DeadLetters {
  const rejectLog = createLogSampler(deps.log, { intervalMs: 10_000, now: deps.now })
  // Postgres text cannot hold NUL characters.
  const storable = (text: string) => redactMacs(text).replaceAll('\u0000', '\ufffd')
  return {
    flush: () => rejectLog.flush(),
    deadLetter(topic, payload, reason, detail, gatewayId, shown = payload) {
      rejectLog.warn(
        reason,
        { topic: storable(topic), reason, detail: storable(detail) },
        'message rejected',
      )
      return {
        kind: 'dead',
        reason,
        letter: {
          topic: storable(topic),
          // A gateway id may look like a MAC (some firmwares name gateways after their own address).
          gatewayId: gatewayId === null ? null : storable(gatewayId),
          reason,
          detail: storable(detail),
          payloadBytes: payload.length,
          payloadRedacted: renderPayload(shown),
        },
      }
    },
  }
}
