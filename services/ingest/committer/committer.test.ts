import { describe, expect, it } from 'vitest'
import type { Db } from '../../shared/db/create-db.ts'
import { createLogCapture } from '../../shared/testing/helpers.ts'
import { createIngestMetrics } from '../ingest-metrics.ts'
import type { Work } from '../intake/work.ts'
import { createDeadLetters } from '../intake/dead-letter.ts'
import { createSessionCache } from './session-cache.ts'
import { createCommitter, laneIndex } from './committer.ts'
import type { GroupCommit } from './commit-group.ts'

/** A status message of a gateway: the committer only needs its kind, gateway and ack. */
function statusOf(gatewayId: string, n: number, acked: string[]): Work {
  return {
    kind: 'status',
    write: { gatewayId, status: { uptimeS: n } as never, at: new Date(n) },
    topic: `miglio/v1/gw/${gatewayId}/status`,
    payload: Buffer.from(String(n)),
    ack: () => acked.push(`${gatewayId}#${n}`),
  }
}

type Pending = { group: readonly Work[]; release: () => void }

/** A committer whose commits wait until the test releases them, recording every group. */
function harness(lanes: number) {
  const groups: string[][] = []
  const pending: Pending[] = []
  const acked: string[] = []
  const log = createLogCapture('silent').log
  const committer = createCommitter({
    db: null as unknown as Db,
    sessions: createSessionCache({ checkpointMs: 0, rules: { gapMs: 120_000, staticAfterMs: 0 } }),
    now: () => 0,
    deadLetter: createDeadLetters({ log, now: () => 0 }).deadLetter,
    log,
    metrics: createIngestMetrics(),
    withRetry: (_what, fn) => fn(),
    running: () => true,
    announce: () => undefined,
    lanes,
    commit: (group) =>
      new Promise<GroupCommit>((resolve) => {
        groups.push(group.map((w) => (w.kind === 'status' ? w.write.gatewayId : '?')))
        pending.push({
          group,
          release: () =>
            resolve({
              outcomes: group.map(() => ({ kind: 'status' })),
              stored: { visitors: 0, passersBy: 0, zones: new Set() },
              learned: [],
            }),
        })
      }),
  })
  return { committer, groups, pending, acked }
}

const tick = () => new Promise((r) => setImmediate(r))

/** The lane of a group (its first gateway's). */
const laneOf = (group: readonly Work[]) =>
  laneIndex(group[0]?.kind === 'status' ? group[0].write.gatewayId : '', 4)

describe('the committer with lanes', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `gw-${i}`)

  it('commits different lanes at once, never mixes lanes in a group, and keeps each gateway in order', async () => {
    const { committer, groups, pending, acked } = harness(4)
    const lanes = new Set(ids.map((id) => laneIndex(id, 4)))
    expect(lanes.size).toBeGreaterThan(1)
    for (let n = 0; n < 3; n++) for (const id of ids) committer.enqueue(statusOf(id, n, acked))
    await tick()
    let most = 0
    while (pending.length) {
      // Groups in flight together belong to different lanes: one transaction per lane at a time.
      const inFlight = pending.map((p) => laneOf(p.group))
      expect(new Set(inFlight).size).toBe(inFlight.length)
      most = Math.max(most, inFlight.length)
      pending.shift()?.release()
      await tick()
      await tick()
    }
    // Every busy lane had a transaction open at the same moment.
    expect(most).toBe(lanes.size)
    expect(committer.idle()).toBe(true)
    // Each group holds gateways of one lane only.
    for (const g of groups) expect(new Set(g.map((id) => laneIndex(id, 4))).size).toBe(1)
    // Every message acknowledged once, and each gateway's messages in the order they came.
    expect(acked).toHaveLength(ids.length * 3)
    for (const id of ids) {
      const mine = acked.filter((a) => a.startsWith(`${id}#`))
      expect(mine).toEqual([`${id}#0`, `${id}#1`, `${id}#2`])
    }
  })

  it('lets a lane commit while another lane waits on a slow transaction', async () => {
    const { committer, pending, acked } = harness(4)
    for (const id of ids) committer.enqueue(statusOf(id, 0, acked))
    await tick()
    const slow = pending.shift()
    const slowLane = slow ? laneOf(slow.group) : -1
    // Release every other lane's groups; the slow one stays open, and its lane waits behind it.
    while (pending.length) {
      pending.shift()?.release()
      await tick()
      await tick()
    }
    const others = ids.filter((id) => laneIndex(id, 4) !== slowLane)
    expect(others.length).toBeGreaterThan(0)
    for (const id of others) expect(acked).toContain(`${id}#0`)
    for (const id of ids.filter((id) => laneIndex(id, 4) === slowLane))
      expect(acked).not.toContain(`${id}#0`)
    expect(committer.idle()).toBe(false)
    slow?.release()
    for (let i = 0; i < 10 && pending.length + 1 > 0; i++) {
      await tick()
      pending.shift()?.release()
    }
    await tick()
    expect(acked).toHaveLength(ids.length)
    expect(committer.idle()).toBe(true)
  })

  it('with one lane commits one group at a time', async () => {
    const { committer, pending, acked } = harness(1)
    for (const id of ids) committer.enqueue(statusOf(id, 0, acked))
    await tick()
    for (let i = 0; i < 10 && !committer.idle(); i++) {
      expect(pending.length).toBeLessThanOrEqual(1)
      pending.shift()?.release()
      await tick()
      await tick()
    }
    expect(acked).toHaveLength(ids.length)
  })
})
