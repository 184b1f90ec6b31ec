import { createServer, type Server } from 'node:net'
import { Aedes } from 'aedes'

export type EmbeddedBroker = { url: string; port: number; stop(): Promise<void> }

/**
 * Aedes on a free loopback port. It speaks MQTT 3.1.1 only and accepts `$share/…` subscriptions
 * without delivering to them, so shared-subscription scale-out needs a real broker.
 */
export async function startEmbeddedBroker(
  options: { port?: number; host?: string } = {},
): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker()
  // Without noDelay QoS 1 throughput collapses (Nagle + delayed ACK).
  const server: Server = createServer({ noDelay: true }, broker.handle)
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
