import type { Logger } from '../../shared/logger.ts'
import { redactMacs } from '../../shared/contracts/mac.ts'
import type { IngestMetrics } from '../ingest-metrics.ts'
import type { StoredTransits } from '../model.ts'
import type { WithRetry } from '../retry.ts'
import type { DeadLetterFn } from '../intake/dead-letter.ts'
import { gatewayOfWork, type Work } from '../intake/work.ts'
import {
  commitGroup,
  type CommitGroupDeps,
  type GroupCommit,
  type Outcome,
} from './commit-group.ts'
import { countOutcome } from './settle.ts'

/** Messages committed in one transaction at most; more wait for the next one. */
const MAX_GROUP_MESSAGES = 250
/** Sightings committed in one transaction at most (a group closes early when it reaches this). */
const MAX_GROUP_SIGHTINGS = 20_000
/** Messages taken from MQTT and not yet committed at most (all lanes); beyond it MQTT.js stops reading. */
const MAX_QUEUED_MESSAGES = 500

export type Committer = {
  /**
   * Queues a work; a message refused without a dead letter (flood control past its first one) is
   * settled at once, so it waits for nothing (its PUBACK still goes out in order).
   */
  enqueue(work: Work): void
  /** Resolves when the queue has room (backpressure: intake waits before taking the next message). */
  room(): Promise<void>
  /** Nothing queued and nothing being committed. */
  idle(): boolean
  /** Wakes intake waiting for room and waits for the group in hand (stop). */
  stop(): Promise<void>
}

/** The lane of a gateway among `lanes`: a fixed hash of its id, so it never moves while running. */
export function laneIndex(gatewayId: string, lanes: number): number {
  let h = 0
  for (let i = 0; i < gatewayId.length; i++) h = (h * 31 + gatewayId.charCodeAt(i)) | 0
  return Math.abs(h) % Math.max(1, lanes)
}

/** Sightings a queued work carries (the group size limit). */
function sightingsOf(w: Work): number {
  if (w.kind === 'batch') return w.work.sightings.length
  if (w.kind !== 'foreign') return 0
  return w.parts.reduce((n, p) => n + (p.effect.kind === 'sightings' ? p.effect.total : 0), 0)
}

/**
 * The committer: a queue of taken messages, written in groups (up to 250 messages or 20 000
 * sightings per transaction under load; idle, a message is committed alone at once), then
 * acknowledged in arrival order (PUBACK). Nothing is acknowledged before it is durable, so a crash
 * loses nothing: the broker redelivers. A database outage is retried without end while the queue
 * fills and then holds intake (backpressure); a group that fails for another reason is split and
 * committed message by message, so one poisonous message cannot hold the others.
 */
export function createCommitter(
  deps: CommitGroupDeps & {
    log: Logger
    metrics: IngestMetrics
    withRetry: WithRetry
    running: () => boolean
    /** Tells API processes what a commit stored (after the commit): transits-changed.ts. */
    announce: (stored: StoredTransits) => void
    /**
     * Lanes committing at once, each on its own connection, each holding a fixed share of the
     * gateways (default 1). A gateway's messages always take the same lane, so they commit in
     * arrival order; lanes never share a gateway, and the gateway locks keep them apart from other
     * replicas exactly as they keep replicas apart from each other.
     */
    lanes?: number
    /** Writes a group (tests replace it); default: commitGroup in one transaction. */
    commit?: (group: readonly Work[]) => Promise<GroupCommit>
  },
): Committer {
  const { log, metrics, withRetry, running, deadLetter } = deps
  const commit = deps.commit ?? ((group: readonly Work[]) => commitGroup(deps, group))
  let roomWaiters: (() => void)[] = []
  let queued = 0

  /** Counts what a commit stored, once it is durable: metrics, the learned-statics log, announcements. */
  function published(commit: GroupCommit) {
    countStored(metrics, commit.stored)
    const learned = new Map<string, number>()
    for (const id of commit.learned) learned.set(id, (learned.get(id) ?? 0) + 1)
    for (const [gatewayId, devices] of learned)
      log.info({ gatewayId, devices }, 'learned static devices')
    metrics.openSessions.set(deps.sessions.openSessions())
    deps.announce(commit.stored)
  }

  async function commitWithFallback(group: readonly Work[]): Promise<Outcome[]> {
    try {
      const done = await withRetry('batch', () => commit(group))
      published(done)
      return done.outcomes
    } catch (err) {
      if (!running()) throw err
      if (group.length > 1) {
        const outcomes: Outcome[] = []
        for (const w of group) outcomes.push(...(await commitWithFallback([w])))
        return outcomes
      }
      const w = group[0]
      if (!w) return []
      log.error({ err: redactMacs(String(err)) }, 'message could not be written')
      await keepAsWriteFailed(w, err, deadLetter)
      return [{ kind: 'failed' }]
    }
  }

  /**
   * A message that cannot be written is kept as a `write_failed` dead letter (counted, visible) and
   * acknowledged. If even the rendering is refused, the facts are kept without it; only if that is
   * refused too is the message acknowledged unrecorded, so that one message cannot stall a district.
   */
  async function keepAsWriteFailed(w: Work, err: unknown, letterOf: DeadLetterFn) {
    // A dead letter that could not be written keeps no gateway: its own is already a rendering.
    const gatewayId = w.kind === 'dead' ? null : gatewayOfWork(w)
    const letter = letterOf(w.topic, w.payload, 'write_failed', String(err), gatewayId)
    try {
      await withRetry('dead letter', () => commit([{ ...w, ...letter }]))
    } catch {
      const bare = { ...letter.letter, payloadRedacted: '(not stored: the write was refused)' }
      try {
        await withRetry('dead letter', () => commit([{ ...w, ...letter, letter: bare }]))
      } catch (deadLetterErr) {
        log.error(
          { err: redactMacs(String(deadLetterErr)) },
          'dead letter could not be stored either; message acknowledged and counted as write_failed',
        )
      }
    }
  }

  function settle(w: Work, o: Outcome) {
    countOutcome(metrics, w, o)
    w.ack()
  }

  type Lane = { queue: Work[]; committing: Promise<void> | null }
  const first: Lane = { queue: [], committing: null }
  const lanes: Lane[] = [
    first,
    ...Array.from({ length: Math.max(1, deps.lanes ?? 1) - 1 }, () => ({
      queue: [],
      committing: null,
    })),
  ]

  /** The lane of a work: by its gateway (a dead letter without one: the first lane). */
  function laneOf(w: Work): Lane {
    const gatewayId = gatewayOfWork(w)
    return lanes[gatewayId === null ? 0 : laneIndex(gatewayId, lanes.length)] ?? first
  }

  /** The next group of a lane: its queue's head, up to the message and sighting limits. */
  function nextGroup(queue: readonly Work[]): Work[] {
    let n = 0
    let sightings = 0
    while (n < queue.length && n < MAX_GROUP_MESSAGES) {
      const w = queue[n]
      const size = w ? sightingsOf(w) : 0
      if (n > 0 && sightings + size > MAX_GROUP_SIGHTINGS) break
      sightings += size
      n++
    }
    return queue.slice(0, n)
  }

  function wakeWaiters() {
    const waiters = roomWaiters
    roomWaiters = []
    for (const wake of waiters) wake()
  }

  async function drain(lane: Lane) {
    while (running() && lane.queue.length > 0) {
      const group = nextGroup(lane.queue)
      const end = metrics.commitSeconds.startTimer()
      metrics.groupMessages.observe(group.length)
      const outcomes = await commitWithFallback(group)
      end()
      lane.queue.splice(0, group.length)
      queued -= group.length
      group.forEach((w, i) => settle(w, outcomes[i] ?? { kind: 'failed' }))
      if (queued < MAX_QUEUED_MESSAGES) wakeWaiters()
    }
  }

  function kick(lane: Lane) {
    if (lane.committing || !running()) return
    lane.committing = drain(lane)
      .catch((err: unknown) => {
        // Only when stopping: what is still queued stays unacknowledged and is redelivered.
        log.info({ err: redactMacs(String(err)) }, 'commit abandoned at stop')
      })
      .finally(() => {
        lane.committing = null
        if (running() && lane.queue.length > 0) kick(lane)
      })
  }

  return {
    enqueue(work) {
      if (!running()) return // left unacknowledged: the broker redelivers it to the next session
      if (work.kind === 'dropped') {
        settle(work, { kind: 'dropped' })
        return
      }
      const lane = laneOf(work)
      lane.queue.push(work)
      queued++
      kick(lane)
    },
    async room() {
      if (queued < MAX_QUEUED_MESSAGES) return
      await new Promise<void>((resolve) => roomWaiters.push(resolve))
    },
    idle: () => queued === 0 && lanes.every((l) => l.committing === null),
    async stop() {
      wakeWaiters()
      await Promise.all(lanes.map((l) => l.committing?.catch(() => undefined)))
    },
  }
}

/** Transit counts by class: what was stored (a transit the `transits_once` guard kept out is not). */
export function countStored(metrics: IngestMetrics, stored: StoredTransits): void {
  if (stored.visitors) metrics.transits.inc({ class: 'visitor' }, stored.visitors)
  if (stored.passersBy) metrics.transits.inc({ class: 'passer_by' }, stored.passersBy)
}
