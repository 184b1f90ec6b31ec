import { createServer, type Server, type Socket } from 'node:net'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import type { Logger } from '../logger.ts'
import { MAX_PAYLOAD_BYTES } from '../contracts/gateway-messages.ts'
import { createBrokerAcl, type BrokerAccounts } from './broker-acl.ts'
import { guardPacketSize } from './packet-size-guard.ts'

export type EmbeddedBroker = { url: string; port: number; stop(): Promise<void> }

/**
 * Room for a PUBLISH packet's topic, packet id and properties on top of the largest payload the
 * protocol allows. Payloads a little over MAX_PAYLOAD_BYTES still reach ingest, which records them as
 * `oversized` dead letters; far larger packets are cut off at the broker.
 */
export const PACKET_HEADER_ALLOWANCE_BYTES = 8 * 1024
export const MAX_PACKET_REMAINING_LENGTH = MAX_PAYLOAD_BYTES + PACKET_HEADER_ALLOWANCE_BYTES

export type EmbeddedBrokerOptions = {
  port?: number
  host?: string
  /**
   * Users and passwords: when given, anonymous and unknown clients are refused and the ACL of
   * infra/mosquitto/acl applies (see broker-acl.ts). Without it anyone may connect (the tests'
   * broker).
   */
  auth?: { accounts: BrokerAccounts; topicPrefix?: string | undefined }
  /**
   * Largest MQTT remaining length accepted (`miglio start`: MAX_PACKET_REMAINING_LENGTH); a larger
   * packet closes its connection before its body is buffered. Absent: no limit (the test suites'
   * broker, whose fuzz tests send oversized batches for ingest to dead-letter).
   */
  maxPacketRemainingLength?: number
  log?: Logger
}

function refused(returnCode: 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError
}

/**
 * Aedes on a loopback port (a free one unless `port` is given). It speaks MQTT 3.1.1 only and
 * accepts `$share/…` subscriptions without delivering to them, so shared-subscription scale-out needs
 * a real broker. With `maxPacketRemainingLength`, every connection's inbound bytes pass a framing
 * guard that drops the connection when a packet's fixed header announces more, before the body is
 * buffered (neither Aedes 1.2 nor mqtt-packet has a packet size limit: moscajs/aedes#831).
 */
export async function startEmbeddedBroker(
  options: EmbeddedBrokerOptions = {},
): Promise<EmbeddedBroker> {
  const { log } = options
  const maxRemaining = options.maxPacketRemainingLength
  const broker = await Aedes.createBroker()
  if (options.auth) {
    const acl = createBrokerAcl(options.auth.accounts, options.auth.topicPrefix)
    const users = new WeakMap<Client, string>()
    broker.authenticate = (client, username, password, done) => {
      const user = acl.authenticate(username, password)
      if (user) {
        users.set(client, user)
        return done(null, true)
      }
      log?.warn({ clientId: client.id, username: username ?? null }, 'MQTT connection refused')
      done(
        username === undefined
          ? refused(5, 'not authorised: a username and password are required')
          : refused(4, 'bad username or password'),
        false,
      )
    }
    broker.authorizePublish = (client, packet, done) => {
      const user = client ? users.get(client) : undefined
      if (user && acl.canPublish(user, packet.topic)) return done(null)
      // Aedes closes the connection of a client whose publish is refused.
      log?.warn({ username: user ?? null, topic: packet.topic }, 'MQTT publish refused by the ACL')
      done(new Error(`not authorised to publish to ${packet.topic}`))
    }
    broker.authorizeSubscribe = (client, sub, done) => {
      const user = users.get(client)
      if (user && acl.canSubscribe(user, sub.topic)) return done(null, sub)
      log?.warn(
        { username: user ?? null, filter: sub.topic },
        'MQTT subscription refused by the ACL',
      )
      // null: SUBACK with 0x80 (failure) for this filter, as Mosquitto answers.
      done(null, null)
    }
    broker.authorizeForward = (client, packet) => {
      const user = users.get(client)
      return user && acl.canRead(user, packet.topic) ? packet : null
    }
  }
  // Without noDelay QoS 1 throughput collapses (Nagle + delayed ACK).
  const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
    if (maxRemaining === undefined) {
      broker.handle(socket)
      return
    }
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    const conn = guardPacketSize(socket, maxRemaining, (violation) => {
      log?.warn(
        { remote, ...violation, limit: maxRemaining },
        'MQTT packet over the size limit (or malformed); connection closed',
      )
    })
    broker.handle(conn)
  })
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('broker has no TCP address')
  return {
    port: address.port,
    url: `mqtt://${host}:${address.port}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()))
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
