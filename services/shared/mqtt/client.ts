import mqtt, { type MqttClient } from 'mqtt'
import type { Logger } from '../logger.ts'

export type MqttOptions = {
  clientId: string
  clean: boolean
  protocolVersion: 4 | 5
  will?: mqtt.IClientOptions['will']
  /** Broker user (the embedded broker's own users); otherwise whatever the URL carries. */
  auth?: { username: string; password: string }
}

/**
 * An MQTT client that reconnects forever (backoff 1 s doubling to 30 s) and logs every state change.
 * It is created unconnected (`manualConnect`): ingest installs its message handler first, because a
 * persistent session delivers queued messages right after CONNACK. Call `client.connect()` or use
 * `connectMqtt`.
 */
export function createMqttClient(url: string, log: Logger, opts: MqttOptions): MqttClient {
  const client = mqtt.connect(url, {
    manualConnect: true,
    clientId: opts.clientId,
    clean: opts.clean,
    protocolVersion: opts.protocolVersion,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    // A refused CONNACK (bad credentials, client id taken) is retried too: an operator fixes the
    // broker, the service comes back by itself; every refusal is logged.
    reconnectOnConnackError: true,
    ...(opts.protocolVersion === 5 && !opts.clean
      ? { properties: { sessionExpiryInterval: 24 * 3600 } }
      : {}),
    ...(opts.will ? { will: opts.will } : {}),
    ...(opts.auth ? { username: opts.auth.username, password: opts.auth.password } : {}),
  })
  const where = (() => {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}:${u.port}`
  })()
  let failures = 0
  client.on('connect', () => {
    failures = 0
    client.options.reconnectPeriod = 1000
    const stream = client.stream as { setNoDelay?: (v: boolean) => void }
    stream.setNoDelay?.(true)
    log.info({ broker: where, clientId: opts.clientId }, 'MQTT connected')
  })
  client.on('error', (err) => log.warn({ broker: where, err: err.message }, 'MQTT error'))
  client.on('offline', () => log.warn({ broker: where }, 'MQTT offline'))
  client.on('reconnect', () => {
    failures++
    client.options.reconnectPeriod = Math.min(30_000, 1000 * 2 ** Math.min(failures, 5))
    if (failures === 1 || failures % 10 === 0)
      log.info({ broker: where, attempt: failures }, 'MQTT reconnecting')
  })
  return client
}

/** Creates the client, connects and resolves on the first CONNACK (retrying meanwhile). */
export async function connectMqtt(
  url: string,
  log: Logger,
  opts: MqttOptions,
): Promise<MqttClient> {
  const client = createMqttClient(url, log, opts)
  const connected = new Promise<void>((resolve) => client.once('connect', () => resolve()))
  client.connect()
  await connected
  return client
}
