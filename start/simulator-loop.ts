import type { Config } from '../services/shared/config.ts'
import type { Logger } from '../services/shared/logger.ts'
import type { DistrictFile } from '../services/shared/contracts/district.ts'
import { createSimulation } from '../simulator/simulation.ts'
import { publishSimulation } from '../simulator/publisher.ts'
import { createMqttClient } from '../services/shared/mqtt/client.ts'
import { oldestKeyedDayStart } from '../services/ingest/key-lifetime.ts'

export type SimulatorLoop = { stop(): Promise<void> }

/**
 * Where the demo backfill is recorded (the database: demo-backfill-repository.ts), so that it is
 * published once per database and never again over hours already counted.
 */
export type BackfillLedger = {
  /** Claims the backfill of this window before anything is published; false if already claimed. */
  claim(window: {
    fromMs: number
    toMs: number
  }): Promise<{ claimed: true } | { claimed: false; claimedAt: Date; finishedAt: Date | null }>
  /** The claimed backfill was published to its end. */
  finished(): Promise<void>
}

/**
 * The demo traffic of `miglio start`: on the first start of a database, the last SIM_BACKFILL of the
 * demo district as fast as the pipeline takes it (so the dashboard has history at once); then, and
 * on every later start, live traffic in real time. Timestamps stay within the live window (≤ 24 h
 * old), so it all flows through the live path.
 */
export function startSimulatorLoop(deps: {
  config: Config
  district: DistrictFile
  mqttUrl: string
  /** Credentials of the simulator's broker user (the embedded broker's miglio-simulator). */
  auth?: { username: string; password: string } | undefined
  backfill: BackfillLedger
  /** The time zone of ingest's daily keys (the district's): the backfill stays within live keys. */
  timeZone: string
  log: Logger
}): SimulatorLoop {
  const { config, district, mqttUrl, log } = deps
  // Connects in the background (retrying like every client): a stop must not wait for the broker.
  const client = createMqttClient(mqttUrl, log, {
    clientId: `miglio-sim-${process.pid}`,
    clean: true,
    protocolVersion: 4,
    ...(deps.auth ? { auth: deps.auth } : {}),
  })
  const abort = new AbortController()
  const connected = new Promise<void>((resolve) => {
    client.once('connect', () => resolve())
    abort.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  client.connect()
  const say = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) }
  const run = (async () => {
    await connected
    if (abort.signal.aborted) return
    const startMs = Date.now()
    const backfillFromMs = earliestLiveTime(startMs, {
      tz: deps.timeZone,
      keyGraceMs: config.ingest.keyGraceMs,
      backfillMs: config.simulator.backfillMs,
    })
    const backfill = await decideBackfill(deps.backfill, backfillFromMs, startMs, log)
    if (backfill && backfillFromMs > startMs - config.simulator.backfillMs) {
      log.info(
        { from: new Date(backfillFromMs).toISOString() },
        'backfill starts later than SIM_BACKFILL asks: the keys of earlier days are destroyed, so ingest would reject them',
      )
    }
    const phases = [
      {
        name: 'backfill',
        fromMs: backfillFromMs,
        toMs: startMs,
        speed: 'max' as const,
        seed: config.simulator.seed,
      },
      { name: 'live', fromMs: startMs, toMs: Infinity, speed: 1, seed: config.simulator.seed + 1 },
    ]
    for (const phase of phases) {
      if (abort.signal.aborted || phase.fromMs >= phase.toMs) continue
      if (phase.name === 'backfill' && !backfill) continue
      const fault = phase.name === 'live' ? demoFault(config, district) : null
      const simulation = createSimulation({
        district,
        seed: phase.seed,
        fromMs: phase.fromMs,
        toMs: phase.toMs,
        scenario: 'demo',
        ...(fault ? { faults: fault } : {}),
        // A flat day: the same traffic at any hour (tests and night-time demos).
        ...(config.simulator.flatDay
          ? { overrides: { hourShape: Array<number>(24).fill(1) } }
          : {}),
        collectTruth: false,
      })
      log.info(
        { phase: phase.name, from: new Date(phase.fromMs).toISOString(), fault },
        'simulator phase started',
      )
      const result = await publishSimulation({
        client,
        simulation,
        speed: phase.speed,
        log: say,
        signal: abort.signal,
        ...(config.mqtt.topicPrefix ? { topicPrefix: config.mqtt.topicPrefix } : {}),
      })
      log.info({ phase: phase.name, ...result }, 'simulator phase ended')
      if (phase.name === 'backfill' && !result.aborted) await deps.backfill.finished()
    }
  })().catch((err: unknown) => log.error({ err: String(err) }, 'simulator stopped on an error'))
  return {
    async stop() {
      abort.abort()
      await run
      await client.endAsync(!client.connected)
    },
  }
}

/**
 * The demo with history (SIM_HISTORY > 0) also shows an alert: its live traffic takes the district's
 * last gateway offline from 30 s to 20 min after the start (it says so, retained, and then sends
 * nothing), so a `gateway_silent` alert is raised after the district's `silentAfterMinutes` and
 * cleared when it comes back. Null without history.
 */
export function demoFault(config: Config, district: DistrictFile): string | null {
  const gateway = district.gateways.at(-1)
  if (config.simulator.historyDays <= 0 || !gateway) return null
  return `offline:${gateway.id}@30s-20m`
}

/**
 * Whether this start publishes the backfill: only if the window is not empty and this database has
 * never had it (the claim is recorded before the first message, so an interrupted backfill is not
 * published again either). Logs the decision.
 */
async function decideBackfill(
  ledger: BackfillLedger,
  fromMs: number,
  toMs: number,
  log: Logger,
): Promise<boolean> {
  if (fromMs >= toMs) return false
  let claim: Awaited<ReturnType<BackfillLedger['claim']>>
  try {
    claim = await ledger.claim({ fromMs, toMs })
  } catch (err) {
    log.warn(
      { err: String(err) },
      'demo backfill skipped: it could not be recorded in the database; resuming live traffic',
    )
    return false
  }
  if (claim.claimed) {
    log.info(
      { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
      'demo backfill: publishing past traffic once for this database',
    )
    return true
  }
  const on = claim.claimedAt.toISOString()
  log.info(
    { claimedAt: on, finishedAt: claim.finishedAt?.toISOString() ?? null },
    claim.finishedAt
      ? `demo backfill already published on ${on}; resuming live traffic`
      : `demo backfill already published on ${on} (interrupted, not replayed); resuming live traffic`,
  )
  return false
}

/**
 * The earliest simulated time ingest still accepts: SIM_BACKFILL back, but not into a local day whose
 * pseudonymisation key is already destroyed (ingest's rule: the previous day's dies KEY_GRACE_H after
 * midnight), and 23 h at most (an hour inside ingest's 24 h bound on stale sightings).
 */
export function earliestLiveTime(
  nowMs: number,
  o: { tz: string; keyGraceMs: number; backfillMs: number },
): number {
  const dayFloor = oldestKeyedDayStart(nowMs, o.tz, o.keyGraceMs)
  return Math.max(nowMs - o.backfillMs, dayFloor, nowMs - 23 * 3_600_000)
}
