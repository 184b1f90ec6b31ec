import type { Command } from 'commander'
import { loadConfig } from '../services/shared/config.ts'
import { runLoadProcess, runReplayProcess, runSimulateProcess } from '../simulator/main.ts'

const FAULTS_HELP = `
Faults (--faults, comma-separated; times are offsets from --from: 90s, 10m, 1.5h):
  offline:<gw>@<from>-<to>           nothing from <gw> in the window; retained offline, then online
  reboot:<gw>@<at>                   new bootId, seq from 0, unsent sightings lost
  skew:<gw>=<+|-dur>[@<from>-<to>]   <gw>'s clock off: sentAt and sighting times shifted
  duplicates[:<gw>]=<rate>           a share of batches published twice
  out-of-order[:<gw>]=<rate>         a share of batches sent after the gateway's next one
  malformed[:<gw>]=<rate>            an extra invalid message after a share of batches
  oversized[:<gw>]=<rate>            an extra message over 256 KiB after a share of batches
  spoof[:<gw>]=<rate>                an extra copy whose payload gatewayId is another gateway's
  e.g. --faults offline:gw-via-carducci@10m-20m,reboot:gw-via-palazzo@15m,duplicates=0.02
Rates are shares (0.02) or percentages (2%); the same --seed injects the same faults.`

const collect = (value: string, previous: string[] = []) => [...previous, value]

/**
 * `miglio simulate` and `miglio replay`: the simulator as a device on any broker; it never touches
 * the database. The options are read here; simulator/main.ts runs them.
 */
export function registerSimulatorCommands(program: Command): void {
  registerSimulate(program)
  registerReplay(program)
}

function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description(
      'publish simulated street traffic (native v1 or a gateway format) with optional ground truth and faults; --load for benchmark traffic',
    )
    .option('--district <file>', 'district JSON file (default: MIGLIO_DISTRICT_FILE)')
    .option('--seed <n>', 'random seed (same seed, same traffic, same faults)', '1')
    .option('--speed <x>', "'max', or simulated seconds per wall second (1 = real time)", '1')
    .option('--from <time>', "start: ISO time, 'now' or relative like -2h", 'now')
    .option('--to <time>', "end: ISO time, relative like +30m, or 'never'", 'never')
    .option(
      '--scenario <name>',
      "'demo' (week rhythm, groups, noise), 'realistic' (+ MAC randomisation, wearables, static devices, staff) or 'simple' (exact, for tests)",
      'demo',
    )
    .option(
      '--event <zone,from,to,factor>',
      'an event raising arrivals in a zone, e.g. piazza-ferretto,+1h,+3h,2.5 (times ISO or offsets from --from); repeatable',
      collect,
    )
    .option(
      '--format <f>',
      "every gateway speaks native|omg|espresense|sniffer|meraki|paxcounter (default: each gateway as its district entry's source says)",
    )
    .option(
      '--meraki-secret <s>',
      'the shared secret in simulated Meraki posts (published on the internal topic, as the API would)',
    )
    .option('--faults <list>', 'faults to inject, comma-separated (see below)')
    .option('--truth-out <file>', 'write the ground truth as JSONL (one transit per line)')
    .option(
      '--faults-out <file>',
      'write the injected faults as JSONL (default with --truth-out: <truth-out>.faults.jsonl)',
    )
    .option(
      '--topic-prefix <prefix>',
      'publish under <prefix>/miglio/v1/gw/… (default: MQTT_TOPIC_PREFIX)',
    )
    .option('--mqtt-url <url>', 'broker URL (default: MQTT_URL, else mqtt://127.0.0.1:1883)')
    .option('--load', 'load mode: synthetic gateways load-gw-0001… at a configured rate')
    .option('--gateways <n>', 'load mode: number of gateways', '10')
    .option('--rate <n>', 'load mode: sightings per second over all gateways', '100')
    .option('--devices <n>', 'load mode: size of the device population', '1000')
    .option('--duration <dur>', 'load mode: simulated duration, e.g. 60s, 10m, 1h', '60s')
    .option('--batch-interval <s>', 'load mode: seconds between a gateway’s batches', '5')
    .option(
      '--district-out <file>',
      "write the district as simulated — with the --format sources, or the load gateways — then 'miglio district load' it",
    )
    .addHelpText(
      'after',
      `${FAULTS_HELP}

Gateway formats: OpenMQTTGateway and ESPresense publish one message per BLE sighting when heard,
the sniffer one CSV message per batch, Paxcounter the counts of each batch, Meraki one post per
radio and batch on miglio/v1/internal/meraki/<networkId> (as the API's receiver publishes it).
Prints a JSON summary on stdout; progress goes to stderr every 5 s.
Load mode uses --seed, --speed, --from, --topic-prefix and --mqtt-url; from 'now' at a speed above 1
the run is moved back so that no timestamp is in the future. See simulator/README.md.`,
    )
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const config = loadConfig(process.env)
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
      const topicPrefix = str(o.topicPrefix) ?? config.mqtt.topicPrefix
      const mqttUrl = str(o.mqttUrl) ?? config.mqtt.url ?? 'mqtt://127.0.0.1:1883'
      const r = o.load
        ? await runLoadProcess({
            gateways: str(o.gateways),
            sightingsPerSecond: str(o.rate),
            devices: str(o.devices),
            durationS: str(o.duration),
            batchIntervalS: str(o.batchInterval),
            seed: str(o.seed),
            speed: str(o.speed),
            from: str(o.from),
            ...(str(o.districtOut) ? { districtOut: str(o.districtOut) } : {}),
            ...(topicPrefix ? { topicPrefix } : {}),
            mqttUrl,
          })
        : await runSimulateProcess({
            district: str(o.district) ?? config.districtFile,
            defaultTimeZone: config.tz,
            seed: str(o.seed),
            speed: str(o.speed),
            from: str(o.from),
            to: str(o.to),
            scenario: str(o.scenario) as 'demo' | 'simple' | 'realistic',
            ...(Array.isArray(o.event) ? { events: o.event } : {}),
            ...(str(o.faults) ? { faults: str(o.faults) } : {}),
            ...(str(o.truthOut) ? { truthOut: str(o.truthOut) } : {}),
            ...(str(o.faultsOut) ? { faultsOut: str(o.faultsOut) } : {}),
            ...(str(o.format) ? { format: str(o.format) as 'native' } : {}),
            ...(str(o.merakiSecret) ? { merakiSecret: str(o.merakiSecret) } : {}),
            ...(str(o.districtOut) ? { districtOut: str(o.districtOut) } : {}),
            ...(topicPrefix ? { topicPrefix } : {}),
            mqttUrl,
          })
      process.stdout.write(`${JSON.stringify(r)}\n`)
    })
}

function registerReplay(program: Command): void {
  program
    .command('replay')
    .argument('<file>', 'recording: native v1 JSONL (one batch per line) or ESP32 sniffer CSV')
    .description(
      'publish recorded sightings at their original pace or N× faster, shifted to the present',
    )
    .option(
      '--gateway <id>',
      'the gateway the capture stands for (required for CSV; renames the batches of a JSONL file)',
    )
    .option('--format <f>', "'auto' (by extension, then content), 'jsonl' or 'csv'", 'auto')
    .option('--speed <x>', "'max', or recorded seconds per wall second (1 = original pace)", '1')
    .option(
      '--keep-time',
      'keep the recorded dates instead of shifting them to now (ingest rejects data older than 24 h)',
    )
    .option('--tz <zone>', 'time zone of the CSV wall-clock times (default: MIGLIO_TZ)')
    .option('--batch-interval <s>', 'CSV: seconds of capture per published batch', '5')
    .option(
      '--topic-prefix <prefix>',
      'publish under <prefix>/miglio/v1/gw/… (default: MQTT_TOPIC_PREFIX)',
    )
    .option('--mqtt-url <url>', 'broker URL (default: MQTT_URL, else mqtt://127.0.0.1:1883)')
    .addHelpText(
      'after',
      `
Malformed lines are reported with their line number, counted and skipped. By default the recording
is moved to the present (it starts now at speed 1; faster, it ends when its last batch is published);
--keep-time logs a warning, since ingest rejects sightings older than 24 h. Prints a JSON summary.
Example: miglio replay ../shared/datasets/brno-probe-requests/position_1_2022-10-18.csv \\
           --gateway gw-ottica-carducci --tz Europe/Prague --speed 60`,
    )
    .action(async (file: string, o: Record<string, string | boolean | undefined>) => {
      const config = loadConfig(process.env)
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
      const topicPrefix = str(o.topicPrefix) ?? config.mqtt.topicPrefix
      const r = await runReplayProcess({
        file,
        format: str(o.format) as 'auto' | 'jsonl' | 'csv',
        ...(str(o.gateway) ? { gateway: str(o.gateway) } : {}),
        speed: str(o.speed),
        keepTime: o.keepTime === true,
        tz: str(o.tz) ?? config.tz,
        batchIntervalS: str(o.batchInterval),
        ...(topicPrefix ? { topicPrefix } : {}),
        mqttUrl: str(o.mqttUrl) ?? config.mqtt.url ?? 'mqtt://127.0.0.1:1883',
      })
      process.stdout.write(`${JSON.stringify(r)}\n`)
    })
}
