import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sql } from 'kysely'
import { createTestDatabase, type TestDatabase } from '../../shared/testing/engines.ts'
import { tinyDistrict } from '../../shared/testing/fixtures.ts'
import { loadDistrict } from '../../shared/registry/district-repository.ts'
import { createLogCapture } from '../../shared/testing/helpers.ts'
import { loadGatewayRegistry } from '../ingest-repository.ts'
import type { RegisteredGateway } from '../model.ts'
import type { BatchWork } from '../plan-group.ts'
import type { PseudoSighting } from '../sessionise.ts'
import type { Work } from '../intake/work.ts'
import { createDeadLetters } from '../intake/dead-letter.ts'
import { createMaintenance } from '../maintenance.ts'
import { createIngestMetrics } from '../ingest-metrics.ts'
import { commitGroup } from './commit-group.ts'
import { createSessionCache, type SessionCache } from './session-cache.ts'

// The ingest's open sessions live in memory, valid at the session version read under the gateway's
// lock, and are rebuilt from the last checkpoint plus the session log otherwise. Whatever happens
// between batches — groups of any size, the gateway moving between processes, a process dying
// (its memory gone), a transaction failing after the sessions were changed in memory, checkpoints
// at any time or never — the stored transits must be exactly those of committing one batch at a
// time in one process. Real SQL, both engines.

const GAP_MS = 120_000
const RULES = { gapMs: GAP_MS, staticAfterMs: 30 * 60_000 }

let database: TestDatabase
let gateways: RegisteredGateway[]

beforeAll(async () => {
  database = await createTestDatabase()
  await loadDistrict(database.db, tinyDistrict())
  gateways = [...(await loadGatewayRegistry(database.db)).values()].sort((a, b) =>
    a.id.localeCompare(b.id),
  )
})

afterAll(async () => {
  await database?.close()
})

function random(seed: number) {
  let x = seed
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
}

/** A seeded stream of batches: residents (one on the allow list), passers-by, late data, phones probing with a random MAC per scan. */
function seededBatches(seed: number, t0: number): BatchWork[] {
  const rnd = random(seed)
  const seqs = new Map<string, number>()
  const phones = [
    { fp: '11', seq: 4090 },
    { fp: '11', seq: 700 },
    { fp: '12', seq: 10 },
  ]
  const works: BatchWork[] = []
  for (let i = 0; i < 160; i++) {
    const g = gateways[rnd() < 0.85 ? i % gateways.length : Math.floor(rnd() * gateways.length)]!
    const sentAtMs = t0 + i * 15_000
    const seq = (seqs.get(g.id) ?? 0) + 1
    seqs.set(g.id, seq)
    const sightings: PseudoSighting[] = []
    for (const pseudonym of ['1', '2', '3'])
      if (rnd() < 0.9)
        sightings.push({
          pseudonym,
          tMs: sentAtMs - 2000,
          rssi: -50,
          radio: 'wifi',
          randomised: false,
        })
    for (const phone of phones)
      if (rnd() < 0.6) {
        phone.seq = (phone.seq + 1 + Math.floor(rnd() * 8)) % 4096
        sightings.push({
          pseudonym: `${9_000_000 + Math.floor(rnd() * 999_999)}`,
          tMs: sentAtMs - Math.floor(rnd() * 10_000),
          rssi: -70,
          radio: 'wifi',
          randomised: true,
          fp: phone.fp,
          seqNum: phone.seq,
        })
      }
    const n = 1 + Math.floor(rnd() * 6)
    for (let k = 0; k < n; k++)
      sightings.push({
        pseudonym: rnd() < 0.2 ? `${1 + Math.floor(rnd() * 3)}` : `${100 + Math.floor(rnd() * 40)}`,
        tMs: sentAtMs - Math.floor(rnd() * 10_000) - (rnd() < 0.1 ? 200_000 : 0),
        rssi: -90 + Math.floor(rnd() * 40),
        radio: rnd() < 0.2 ? 'ble' : 'wifi',
        randomised: false,
      })
    works.push({
      gateway: g,
      bootId: 'boot',
      seq,
      sentAtMs,
      clockSkewMs: 0,
      receivedAtMs: sentAtMs + 50,
      sightings,
      sightingsCount: sightings.length,
      exempt: new Set(['3']),
    })
  }
  // A last empty batch per gateway, far later: its watermark closes everything still open.
  for (const g of gateways) {
    const seq = (seqs.get(g.id) ?? 0) + 1
    const sentAtMs = t0 + 200 * 15_000
    works.push({
      gateway: g,
      bootId: 'boot',
      seq,
      sentAtMs,
      clockSkewMs: 0,
      receivedAtMs: sentAtMs,
      sightings: [],
      sightingsCount: 0,
      exempt: new Set(),
    })
  }
  return works
}

function asWork(b: BatchWork, i: number): Work {
  return {
    kind: 'batch',
    work: b,
    total: b.sightings.length,
    belowFloor: 0,
    denied: 0,
    digest: String(1_000_000 + i),
    topic: `miglio/v1/gw/${b.gateway.id}/sightings`,
    payload: Buffer.from('{}'),
    ack: () => undefined,
  }
}

const deadLetter = createDeadLetters({
  log: createLogCapture('silent').log,
  now: () => 0,
}).deadLetter

async function reset() {
  await sql`TRUNCATE transits, ingest_batches, open_transits, session_log, static_devices, gateway_state`.execute(
    database.db,
  )
}

async function storedTransits(): Promise<string[]> {
  const rows = await sql<{ t: string }>`
    SELECT concat_ws('/', gateway_id, pseudonym, extract(epoch FROM first_seen) * 1000,
                     extract(epoch FROM last_seen) * 1000, samples, peak_rssi, visitor) AS t
    FROM transits ORDER BY 1`.execute(database.db)
  return rows.rows.map((r) => r.t)
}

async function commitAll(
  groups: BatchWork[][],
  cacheFor: (groupIndex: number) => SessionCache,
  works: Map<BatchWork, Work>,
) {
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!.map((b) => works.get(b)!)
    await commitGroup(
      { db: database.db, now: () => Date.now(), deadLetter, sessions: cacheFor(i) },
      group,
    )
  }
}

describe('sessions held in memory, with a session log and checkpoints', () => {
  it('store for any grouping, crash, failed transaction, checkpoint and ownership move what one batch at a time stores', async () => {
    const t0 = Date.now() - 3 * 3_600_000
    for (const seed of [3, 11]) {
      const batches = seededBatches(seed, t0)
      const works = new Map(batches.map((b, i) => [b, asWork(b, seed * 10_000 + i)]))

      await reset()
      const one = createSessionCache({ checkpointMs: 60_000, rules: RULES })
      await commitAll(
        batches.map((b) => [b]),
        () => one,
        works,
      )
      const expected = await storedTransits()
      expect(expected.length).toBeGreaterThan(40)
      expect(
        Number(
          (
            await sql<{ n: string }>`SELECT count(*) AS n FROM transits WHERE visitor`.execute(
              database.db,
            )
          ).rows[0]?.n,
        ),
      ).toBeGreaterThan(0)

      await reset()
      const rnd = random(seed * 7 + 1)
      // Two processes; each dies now and then (a fresh cache: its memory is gone).
      const caches = [0, 1].map(() =>
        createSessionCache({ checkpointMs: rnd() < 0.5 ? 0 : 3_600_000, rules: RULES }),
      )
      let rebuilds = 0
      let failures = 0
      let i = 0
      while (i < batches.length) {
        const size = 1 + Math.floor(rnd() * 12)
        const group = batches.slice(i, i + size)
        i += size
        const p = Math.floor(rnd() * 2)
        if (rnd() < 0.1)
          caches[p] = createSessionCache({
            checkpointMs: rnd() < 0.5 ? 0 : 3_600_000,
            rules: RULES,
          })
        const cache = caches[p]!
        const deps = {
          db: database.db,
          now: () => Date.now(),
          deadLetter,
          sessions: cache,
          rebuilt: (n: number) => (rebuilds += n),
        }
        if (rnd() < 0.15) {
          // The transaction fails after the group was applied to the sessions in memory (the
          // checkpoint decision comes after planning): nothing of it is stored, the broker
          // redelivers, and the same process commits it again.
          const failing: SessionCache = {
            ...cache,
            checkpointDue: () => {
              throw new Error('connection lost mid-group')
            },
          }
          await expect(
            commitGroup(
              { ...deps, sessions: failing },
              group.map((b) => works.get(b)!),
            ),
          ).rejects.toThrow('connection lost')
          failures++
        }
        await commitGroup(
          deps,
          group.map((b) => works.get(b)!),
        )
      }
      expect(await storedTransits()).toEqual(expected)
      // The scenario really moved gateways between processes and failed transactions.
      expect(rebuilds).toBeGreaterThan(5)
      expect(failures).toBeGreaterThan(0)
    }
  })

  it('closes a silent gateway from the log alone, checkpoints what it holds at a stop, and leaves no log behind', async () => {
    await reset()
    const t0 = Date.now() - 3_600_000
    const batches = seededBatches(5, t0).slice(0, 30)
    const works = new Map(batches.map((b, i) => [b, asWork(b, 900_000 + i)]))
    const writer = createSessionCache({ checkpointMs: 3_600_000, rules: RULES })
    await commitAll(
      batches.map((b) => [b]),
      () => writer,
      works,
    )
    const logged = await sql<{ n: string }>`SELECT count(*) AS n FROM session_log`.execute(
      database.db,
    )
    expect(Number(logged.rows[0]?.n)).toBeGreaterThan(0)
    const held = writer.openSessions()
    expect(held).toBeGreaterThan(0)

    // A clean stop of the writer checkpoints what it holds: open_transits has every open session.
    const metrics = createIngestMetrics()
    const log = createLogCapture('silent').log
    const registry = await loadGatewayRegistry(database.db)
    const maintenanceOf = (sessions: SessionCache, nowMs: number) =>
      createMaintenance({
        db: database.db,
        log,
        metrics,
        now: () => nowMs,
        registry: { get: (id: string) => registry.get(id) } as never,
        pseudonymiser: { rotate: async () => [], memoEntries: () => 0 } as never,
        sessions,
        idleCloseMs: 60_000,
        live: () => true,
        announce: () => undefined,
        flushLog: () => undefined,
      })
    expect(await maintenanceOf(writer, Date.now()).checkpointHeld()).toBeGreaterThan(0)
    const open = await sql<{ n: string }>`SELECT count(*) AS n FROM open_transits`.execute(
      database.db,
    )
    expect(Number(open.rows[0]?.n)).toBe(held)
    expect(
      Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM session_log`.execute(database.db))
          .rows[0]?.n,
      ),
    ).toBe(0)

    // More batches by the writer, not checkpointed; then another process (a fresh cache) closes
    // the silent gateways: it rebuilds from checkpoint + log and writes every session once.
    const more = seededBatches(5, t0).slice(30, 45)
    const moreWorks = new Map(more.map((b, i) => [b, asWork(b, 950_000 + i)]))
    await commitAll(
      more.map((b) => [b]),
      () => writer,
      moreWorks,
    )
    const before = (await storedTransits()).length
    const stillOpen = writer.openSessions()
    const other = createSessionCache({ checkpointMs: 3_600_000, rules: RULES })
    await maintenanceOf(other, Date.now() + 3_600_000).run()
    expect((await storedTransits()).length).toBe(before + stillOpen)
    for (const table of ['open_transits', 'session_log'])
      expect(
        Number(
          (
            await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(
              database.db,
            )
          ).rows[0]?.n,
        ),
      ).toBe(0)
    // The writer's memory is stale now: its next batch rebuilds (from the empty checkpoint) and
    // does not write the closed sessions again.
    let rebuilt = 0
    const last = seededBatches(5, t0).slice(45, 46)
    await commitGroup(
      {
        db: database.db,
        now: () => Date.now(),
        deadLetter,
        sessions: writer,
        rebuilt: (n) => (rebuilt += n),
      },
      last.map((b, i) => asWork(b, 990_000 + i)),
    )
    expect(rebuilt).toBe(1)
    const earliest = Math.min(...last.flatMap((b) => b.sightings.map((x) => x.tMs)))
    const state = writer.held().find(([id]) => id === last[0]!.gateway.id)?.[1]
    expect(state?.open.size).toBeGreaterThan(0)
    for (const s of state!.open.values()) expect(s.firstMs).toBeGreaterThanOrEqual(earliest)
  })

  it('never plans from memory a failed transaction changed, even when another process reaches the same version', async () => {
    const t0 = Date.now() - 2 * 3_600_000
    const all = seededBatches(17, t0)
    const g = all[0]!.gateway.id
    const mine = all.filter((b) => b.gateway.id === g)
    const [b1, b2, b3, ...rest] = mine
    const tail = rest.slice(0, 8)
    const closing = mine.at(-1)!
    const works = new Map(mine.map((b, i) => [b, asWork(b, 700_000 + i)]))
    const deps = (sessions: SessionCache) => ({
      db: database.db,
      now: () => Date.now(),
      deadLetter,
      sessions,
    })

    await reset()
    const reference = createSessionCache({ checkpointMs: 3_600_000, rules: RULES })
    for (const b of [b1!, b3!, ...tail, closing])
      await commitGroup(deps(reference), [works.get(b)!])
    const expected = await storedTransits()
    expect(expected.length).toBeGreaterThan(3)

    await reset()
    const a = createSessionCache({ checkpointMs: 3_600_000, rules: RULES })
    const other = createSessionCache({ checkpointMs: 3_600_000, rules: RULES })
    await commitGroup(deps(a), [works.get(b1!)!])
    // A's transaction fails after b2 was applied to A's sessions in memory…
    const failing: SessionCache = {
      ...a,
      checkpointDue: () => {
        throw new Error('connection lost mid-group')
      },
    }
    await expect(commitGroup(deps(failing), [works.get(b2!)!])).rejects.toThrow('connection lost')
    // …another process commits a different batch of the gateway: the same version as A's memory…
    await commitGroup(deps(other), [works.get(b3!)!])
    // …and A goes on: it must rebuild, not plan from the batch that never committed.
    for (const b of [...tail, closing]) await commitGroup(deps(a), [works.get(b)!])
    expect(await storedTransits()).toEqual(expected)
  })
})
