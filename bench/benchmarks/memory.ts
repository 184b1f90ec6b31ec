import { loadDistrict } from '../../services/shared/registry/district-repository.ts'
import { buildSightingsTopic, withTopicPrefix } from '../../services/shared/contracts/topics.ts'
import { buildBenchDistrict, gatewayIdOf } from '../lib/district.ts'
import { childCompiled, miglioChildOf, spawnIngestChild, type IngestChild } from '../lib/child.ts'
import { connectPublishers } from '../lib/load.ts'
import {
  fmt,
  fmtSummary,
  printNote,
  printTable,
  progress,
  sleep,
  summarise,
} from '../lib/report.ts'
import { openStack } from '../lib/stack.ts'
import type { BenchContext, BenchResult } from '../lib/context.ts'

const WHAT = 'memory'
const GATEWAYS = 20
const PER_BATCH = 50
const GAP_MS = 15 * 60_000
/** The last sample: every device heard this many times (100 s of event time a pass, within the gap). */
const HEARD = 4
const MB = 2 ** 20

type Sample = {
  devices: number
  /** Times each device was heard (in that many batches) when sampled. */
  heard: number
  rssMb: number
  heapUsedMb: number
  heapTotalMb: number
  externalMb: number
  openSessions: number
}

/**
 * Ingest's memory with many devices present: batches of 50 never-seen devices each, spread over the
 * gateways, until `devices` distinct devices have open sessions (the gap is long enough that none
 * closes). Sessions live in the database, so what grows in the process is mostly the per-day HMAC
 * memo of MACs.
 */
export async function runMemory(ctx: BenchContext): Promise<BenchResult> {
  const stack = await openStack(ctx.target, 'memory')
  const levels = [10_000, 100_000]
  const samples: Sample[][] = []
  let gcExposed = false
  try {
    await loadDistrict(stack.db(), buildBenchDistrict({ zones: GATEWAYS }))
    await stack.closeDb()
    const [client] = await connectPublishers(ctx.target.mqttUrl, 1, `${stack.topicPrefix}-pub`)
    if (!client) throw new Error('no publisher')
    // Event time: consecutive repeats continue one clock per gateway, 1 s per batch.
    let eventMs = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000
    const seqs = new Array<number>(GATEWAYS).fill(0)
    let deviceCounter = 0
    try {
      for (let rep = 0; rep < ctx.repeats; rep++) {
        const child = await spawnIngestChild(
          {
            ...miglioChildOf(stack, ctx.target.mqttUrl),
            gapMs: GAP_MS,
            idleCloseMs: 24 * 3_600_000,
            keyGraceMs: 2 * 3_600_000,
            maintenanceIntervalMs: 3_600_000,
            jobs: false,
            profile: false,
          },
          { exposeGc: true },
        )
        const run: Sample[] = []
        try {
          const sample = async (devices: number, heard = 1) => {
            const m = await child.memory()
            gcExposed = m.gcExposed
            // Ingest holds open sessions in memory (checkpointed every INGEST_CHECKPOINT_MS).
            const { openSessions } = await child.stats()
            const s: Sample = {
              devices,
              heard,
              rssMb: m.rss / MB,
              heapUsedMb: m.heapUsed / MB,
              heapTotalMb: m.heapTotal / MB,
              externalMb: m.external / MB,
              openSessions,
            }
            run.push(s)
            progress(
              WHAT,
              `r${rep + 1} ${fmt(devices)} devices${heard > 1 ? ` heard ${heard}×` : ''}: RSS ${fmt(s.rssMb, 1)} MB, heap ${fmt(s.heapUsedMb, 1)} MB, open sessions held ${fmt(s.openSessions)}`,
            )
          }
          await sample(0)
          let present = 0
          const baseOpen = run[0]?.openSessions ?? 0
          /** Publishes one batch of 50 sightings per 50 device ids, round-robin over the gateways. */
          const publishDevices = async (ids: readonly number[]) => {
            const before = await child.stats()
            let sent = 0
            let inFlight: Promise<unknown>[] = []
            for (let i = 0; i < ids.length; i += PER_BATCH) {
              const g = sent % GATEWAYS
              if (g === 0) eventMs += 1000
              const sightings = ids.slice(i, i + PER_BATCH).map((d, j) => {
                const hex = d.toString(16).padStart(10, '0')
                const mac = `04:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}`
                return `{"t":"${new Date(eventMs - 500 + j).toISOString()}","mac":"${mac}","rssi":-70,"radio":"ble"}`
              })
              const payload = `{"v":1,"gatewayId":"${gatewayIdOf(g)}","bootId":"mem-${ctx.target.runId}","seq":${seqs[g]},"sentAt":"${new Date(eventMs).toISOString()}","sightings":[${sightings.join(',')}]}`
              seqs[g] = (seqs[g] ?? 0) + 1
              inFlight.push(
                client.publishAsync(
                  withTopicPrefix(stack.topicPrefix, buildSightingsTopic(gatewayIdOf(g))),
                  payload,
                  { qos: 1 },
                ),
              )
              if (inFlight.length >= 200) {
                await Promise.all(inFlight)
                inFlight = []
              }
              sent++
            }
            await Promise.all(inFlight)
            return { before, sent }
          }
          const firstDevice = deviceCounter
          for (const level of levels) {
            const fresh: number[] = []
            while (present < level) {
              for (let j = 0; j < PER_BATCH; j++) fresh.push(deviceCounter++)
              present += PER_BATCH
            }
            const { before, sent } = await publishDevices(fresh)
            await drained(child, before.messagesDone + sent, level)
            await sample(level)
            const last = run.at(-1)
            if (last && last.openSessions - baseOpen < level)
              progress(
                WHAT,
                `warning: only ${fmt(last.openSessions - baseOpen)} open sessions for ${fmt(level)} devices`,
              )
          }
          // The same devices heard again, batch after batch, as a shop's visitors are: their sessions
          // continue (within the gap) instead of new ones opening.
          const all = Array.from({ length: present }, (_, i) => firstDevice + i)
          for (let pass = 2; pass <= HEARD; pass++) {
            const { before, sent } = await publishDevices(all)
            await drained(child, before.messagesDone + sent, present)
          }
          await sample(present, HEARD)
        } finally {
          await child.stop()
        }
        samples.push(run)
      }
    } finally {
      await client.endAsync()
    }
  } finally {
    await stack.close()
  }
  const points = [
    ...[0, ...levels].map((d) => ({ d, heard: 1 })),
    { d: levels[1] ?? 0, heard: HEARD },
  ]
  const at = (devices: number, key: keyof Sample, heard = 1) =>
    summarise(
      samples.map((r) => r.find((s) => s.devices === devices && s.heard === heard)?.[key] ?? NaN),
    )
  const rows = points.map(({ d, heard }) => [
    heard > 1 ? `${fmt(d)}, each heard ${heard}×` : fmt(d),
    fmtSummary(at(d, 'rssMb', heard), 1),
    fmtSummary(at(d, 'heapUsedMb', heard), 1),
    fmtSummary(at(d, 'heapTotalMb', heard), 1),
    fmtSummary(at(d, 'externalMb', heard), 1),
  ])
  printTable(
    `Memory of the ingest process (child process, ${gcExposed ? 'after global.gc()' : 'no --expose-gc'}; MB; median (min–max) over ${ctx.repeats} repeat(s))`,
    ['active devices', 'RSS', 'heap used', 'heap total', 'external'],
    rows,
  )
  const perDevice = summarise(
    samples.map((r) => {
      const a = r.find((s) => s.devices === levels[0] && s.heard === 1)
      const b = r.find((s) => s.devices === levels[1] && s.heard === 1)
      return a && b
        ? ((b.heapUsedMb - a.heapUsedMb) * MB) / ((levels[1] ?? 0) - (levels[0] ?? 0))
        : NaN
    }),
  )
  printNote(`heap per additional active device (10 k → 100 k): ${fmtSummary(perDevice)} B`)
  // What else shapes the child's memory: its node flags and glibc's malloc settings.
  const childFlags = process.env.BENCH_CHILD_FLAGS ?? ''
  const mallocEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_')),
  )
  const flags = [
    childFlags,
    ...Object.entries(mallocEnv).map(([k, v]) => `${k}=${v ?? ''}`),
  ].filter(Boolean)
  printNote(`child node flags and malloc settings: ${flags.length ? flags.join(' ') : 'none'}`)
  printNote(
    childCompiled
      ? 'target: ingest RSS ≤ 160 MB with 100 k active devices. The process runs compiled (BENCH_CHILD_COMPILED=1), as `node dist/miglio.mjs ingest` after `npm run build`.'
      : 'target: ingest RSS ≤ 160 MB with 100 k active devices. The process runs under tsx, as `bin/miglio.mjs` does (BENCH_CHILD_COMPILED=1: compiled, as `node dist/miglio.mjs` after `npm run build`).',
  )
  return {
    settings: {
      gateways: GATEWAYS,
      sightingsPerBatch: PER_BATCH,
      levels,
      gcExposed,
      child: childCompiled ? 'compiled (esbuild bundle)' : 'tsx',
      childFlags,
      mallocEnv,
      transitGapS: GAP_MS / 1000,
      database: stack.kind,
    },
    figures: {
      byDevices: Object.fromEntries(
        [0, ...levels].map((d) => [
          d,
          {
            rssMb: at(d, 'rssMb'),
            heapUsedMb: at(d, 'heapUsedMb'),
            heapTotalMb: at(d, 'heapTotalMb'),
            externalMb: at(d, 'externalMb'),
          },
        ]),
      ),
      heardAgain: {
        devices: levels[1],
        heard: HEARD,
        rssMb: at(levels[1] ?? 0, 'rssMb', HEARD),
        heapUsedMb: at(levels[1] ?? 0, 'heapUsedMb', HEARD),
      },
      heapBytesPerDevice: perDevice,
      samples,
    },
    notes: [],
  }
}

async function drained(child: IngestChild, target: number, level: number) {
  let last = Date.now()
  for (;;) {
    const s = await child.stats()
    if (s.messagesDone >= target) return
    if (Date.now() - last > 5000) {
      last = Date.now()
      progress(WHAT, `${fmt(level)} devices: ${fmt(target - s.messagesDone)} batches to go`)
    }
    await sleep(100)
  }
}
