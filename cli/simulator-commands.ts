import type { Command } from 'commander'
import { loadConfig } from '../services/shared/config.ts'
import { runSimulate } from '../simulator/main.ts'

/** `miglio simulate`: the simulator as a device on any broker; it never touches the database. */
export function registerSimulatorCommands(program: Command): void {
  program
    .command('simulate')
    .description('publish simulated street traffic (native v1 protocol) with optional ground truth')
    .option('--district <file>', 'district JSON file (default: MIGLIO_DISTRICT_FILE)')
    .option('--seed <n>', 'random seed (same seed, same traffic)', '1')
    .option('--speed <x>', "'max', or simulated seconds per wall second (1 = real time)", '1')
    .option('--from <time>', "start: ISO time, 'now' or relative like -2h", 'now')
    .option('--to <time>', "end: ISO time, relative like +30m, or 'never'", 'never')
    .option('--scenario <name>', "'demo' (noise, realistic) or 'simple' (exact, for tests)", 'demo')
    .option('--truth-out <file>', 'write the ground truth as JSONL')
    .option(
      '--topic-prefix <prefix>',
      'publish under <prefix>/miglio/v1/gw/… (default: MQTT_TOPIC_PREFIX)',
    )
    .option('--mqtt-url <url>', 'broker URL (default: MQTT_URL, else mqtt://127.0.0.1:1883)')
    .action(async (o: Record<string, string | undefined>) => {
      const config = loadConfig(process.env)
      const abort = new AbortController()
      const onSignal = () => abort.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        const r = await runSimulate(
          {
            district: o.district ?? config.districtFile,
            seed: o.seed,
            speed: o.speed === 'max' ? 'max' : o.speed,
            from: o.from,
            to: o.to,
            scenario: o.scenario as 'demo' | 'simple',
            ...(o.truthOut ? { truthOut: o.truthOut } : {}),
            ...((o.topicPrefix ?? config.mqtt.topicPrefix)
              ? { topicPrefix: o.topicPrefix ?? config.mqtt.topicPrefix }
              : {}),
            mqttUrl: o.mqttUrl ?? config.mqtt.url ?? 'mqtt://127.0.0.1:1883',
          },
          {
            log: {
              info: (m) => process.stderr.write(`${m}\n`),
              warn: (m) => process.stderr.write(`warning: ${m}\n`),
            },
            signal: abort.signal,
          },
        )
        process.stdout.write(`${JSON.stringify(r)}\n`)
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    })
}
