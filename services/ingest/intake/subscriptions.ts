import type { MqttClient } from 'mqtt'
import { redactMacs } from '../../shared/contracts/mac.ts'
import { ingestSubscriptions, merakiInternalSubscription } from '../../shared/contracts/topics.ts'
import type { Logger } from '../../shared/logger.ts'
import { subscriptionFilters } from './foreign-sources.ts'

/**
 * Ingest's subscriptions to the gateway formats its district uses, kept equal to the registry's:
 * `sync` subscribes to filters that appeared and unsubscribes from those that went (the native and
 * Meraki subscriptions are never passed here, so they are never dropped). A filter the broker
 * refuses (SUBACK 0x80: the ACL does not let ingest read it) is logged, not fatal.
 */
export function createFormatSubscriptions(mqtt: MqttClient, log: Logger) {
  let current = new Set<string>()
  let chain: Promise<void> = Promise.resolve()

  async function apply(wanted: Set<string>) {
    const added = [...wanted].filter((f) => !current.has(f))
    const removed = [...current].filter((f) => !wanted.has(f))
    if (added.length > 0) {
      const granted = await mqtt.subscribeAsync(added, { qos: 1 })
      const refused = granted.filter((g) => g.qos === 128).map((g) => redactMacs(g.topic))
      if (refused.length > 0)
        log.warn(
          { refused },
          'the broker refused subscriptions to gateway formats (check its ACL: ingest must read these topics)',
        )
    }
    if (removed.length > 0) await mqtt.unsubscribeAsync(removed)
    current = wanted
    if (added.length || removed.length)
      log.info(
        {
          subscribed: added.map((f) => redactMacs(f)),
          unsubscribed: removed.map((f) => redactMacs(f)),
        },
        'gateway format subscriptions changed',
      )
  }

  return {
    /** Makes the subscriptions these filters (serialised: the last call wins). */
    sync(filters: readonly string[]): Promise<void> {
      const wanted = new Set(filters)
      chain = chain.catch(() => undefined).then(() => apply(wanted))
      return chain
    },
    current: (): string[] => [...current],
  }
}

/**
 * All of ingest's subscriptions: native v1 and Meraki's internal topic (fixed), and the gateway
 * formats the registry uses (`formatFilters`, unprefixed), under the topic prefix and the share
 * group.
 */
export function createIngestSubscriptions(deps: {
  mqtt: MqttClient
  log: Logger
  shareGroup: string | undefined
  topicPrefix: string | undefined
  formatFilters: () => readonly string[]
}) {
  const { mqtt, log, shareGroup, topicPrefix } = deps
  const formats = createFormatSubscriptions(mqtt, log)
  const fixed = () => [
    ...ingestSubscriptions(shareGroup, topicPrefix),
    merakiInternalSubscription(shareGroup, topicPrefix),
  ]
  const formatFilters = () => subscriptionFilters(deps.formatFilters(), topicPrefix, shareGroup)
  return {
    /** Subscribes to the fixed filters, then to the formats in use. */
    async subscribe(): Promise<void> {
      await mqtt.subscribeAsync(fixed(), { qos: 1 })
      await formats.sync(formatFilters())
    },
    /** Follows the formats the registry uses (after each load); a failure is logged, retried at the next load. */
    resync(): void {
      formats
        .sync(formatFilters())
        .catch((err: unknown) =>
          log.warn(
            { err: redactMacs(String(err)) },
            'gateway format subscriptions failed; will retry',
          ),
        )
    },
    /** Every filter subscribed to, for the start log line. */
    current: (): string[] => [...fixed(), ...formats.current()],
  }
}
