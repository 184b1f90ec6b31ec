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
const MB = 2 ** 20

type Sample = {
  devices: number
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
          const sample = async (devices: number) => {
            const m = await child.memory()
            gcExposed = m.gcExposed
            // Ingest holds open sessions in memory (checkpointed every INGEST_CHECKPOINT_MS).
            const { openSessions } = await child.stats()
            const s: Sample = {
              devices,
              rssMb: m.rss / MB,
              heapUsedMb: m.heapUsed / MB,
              heapTotalMb: m.heapTotal / MB,
              externalMb: m.external / MB,
              openSessions,
            }
            run.push(s)
            progress(
              WHAT,
              `r${rep + 1} ${fmt(devices)} devices: RSS ${fmt(s.rssMb, 1)} MB, heap ${fmt(s.heapUsedMb, 1)} MB, open sessions held ${fmt(s.openSessions)}`,
            )
          }
          await sample(0)
          let present = 0
          const baseOpen = run[0]?.openSessions ?? 0
          for (const level of levels) {
            const before = await child.stats()
            let sent = 0
            let inFlight: Promise<unknown>[] = []
            while (present < level) {
              const g = sent % GATEWAYS
              if (g === 0) eventMs += 1000
              const sightings: string[] = []
              for (let j = 0; j < PER_BATCH; j++) {
                const d = deviceCounter++
                const hex = d.toString(16).padStart(10, '0')
                const mac = `04:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}`
                sightings.push(
                  `{"t":"${new Date(eventMs - 500 + j).toISOString()}","mac":"${mac}","rssi":-70,"radio":"ble"}`,
                )
              }
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
              present += PER_BATCH
            }
            await Promise.all(inFlight)
            await drained(child, before.messagesDone + sent, level)
            await sample(level)
            const last = run.at(-1)
            if (last && last.openSessions - baseOpen < level)
              progress(
                WHAT,
                `warning: only ${fmt(last.openSessions - baseOpen)} open sessions for ${fmt(level)} devices`,
              )
          }
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
  const at = (devices: number, key: keyof Sample) =>
    summarise(samples.map((r) => r.find((s) => s.devices === devices)?.[key] ?? NaN))
  const rows = [0, ...levels].map((d) => [
    fmt(d),
    fmtSummary(at(d, 'rssMb'), 1),
    fmtSummary(at(d, 'heapUsedMb'), 1),
    fmtSummary(at(d, 'heapTotalMb'), 1),
    fmtSummary(at(d, 'externalMb'), 1),
  ])
  printTable(
    `Memory of the ingest process (child process, ${gcExposed ? 'after global.gc()' : 'no --expose-gc'}; MB; median (min–max) over ${ctx.repeats} repeat(s))`,
    ['active devices', 'RSS', 'heap used', 'heap total', 'external'],
    rows,
  )
  const perDevice = summarise(
    samples.map((r) => {
      const a = r.find((s) => s.devices === levels[0])
      const b = r.find((s) => s.devices === levels[1])
      return a && b
        ? ((b.heapUsedMb - a.heapUsedMb) * MB) / ((levels[1] ?? 0) - (levels[0] ?? 0))
        : NaN
    }),
  )
  printNote(`heap per additional active device (10 k → 100 k): ${fmtSummary(perDevice)} B`)
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
