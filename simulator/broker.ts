import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { PublishLog } from './publisher.ts'

export const CONNECT_TIMEOUT_MS = 10_000

/**
 * Connects to the broker once, failing with a clear error (the URL without credentials, and why)
 * after `timeoutMs` instead of retrying forever before the first CONNACK.
 */
export async function connectBroker(
  url: string,
  options: {
    clientIdPrefix: string
    log: PublishLog
    timeoutMs?: number
    will?: IClientOptions['will']
  },
): Promise<MqttClient> {
  const { log } = options
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS
  const shown = redactUrl(url)
  let client: MqttClient | undefined
  try {
    // allowRetries=false: the first failure rejects. The race bounds a connection that hangs.
    const connecting = mqtt.connectAsync(
      url,
      {
        protocolVersion: 4,
        clientId: `${options.clientIdPrefix}-${randomBytes(4).toString('hex')}`,
        clean: true,
        reconnectPeriod: 1000,
        connectTimeout: timeoutMs,
        ...(options.will ? { will: options.will } : {}),
      },
      false,
    )
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), timeoutMs + 1000)
    })
    try {
      client = await Promise.race([connecting, timeout])
    } finally {
      clearTimeout(timer)
      connecting.then(
        (c) => {
          if (c !== client) c.end(true)
        },
        () => undefined,
      )
    }
  } catch (err) {
    throw new Error(
      `could not connect to the MQTT broker ${shown} within ${timeoutMs / 1000} s: ${describe(err)}`,
      { cause: err },
    )
  }
  client.on('error', (err) => log.warn(`MQTT ${shown}: ${err.message}`))
  client.on('offline', () => log.warn(`MQTT ${shown}: offline`))
  client.on('reconnect', () => log.info(`MQTT ${shown}: reconnecting`))
  log.info(`connected to ${shown}`)
  return client
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ECONNREFUSED') return 'connection refused (is the broker running?)'
  if (code === 'ENOTFOUND') return 'unknown host'
  return err.message || code || 'failed'
}

/** The URL without user, password or query, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return 'the broker'
  }
}
