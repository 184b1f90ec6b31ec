/**
 * Micro-batching of the formats that send one message per device heard (OpenMQTTGateway/Theengs,
 * ESPresense): their messages are held per gateway and handed on as one group when the gateway has
 * `maxSightings` sightings held, when its first held message has waited `windowMs`, or when all
 * gateways together hold `maxHeldMessages` messages (they are unacknowledged meanwhile, and a
 * broker stops delivering at its in-flight window — 100 on the shipped Mosquitto — so held messages
 * must never fill it). Idle, a message waits at most the window; nothing is held past `flushAll`.
 */
export type MicroBatcher<T> = {
  /** Holds an item of a gateway; may hand on that gateway's group (or every group) at once. */
  add(gatewayId: string, item: T, sightings: number): void
  /** Hands on every held group now. */
  flushAll(): void
  /** Items held. */
  held(): number
  /** Stops the timers and forgets what is held (unacknowledged: the broker redelivers it). */
  stop(): T[]
}

export type MicroBatchOptions<T> = {
  windowMs: number
  maxSightings: number
  maxHeldMessages: number
  /** Receives one gateway's held items, in arrival order. */
  flush(gatewayId: string, items: T[]): void
}

export function createMicroBatcher<T>(options: MicroBatchOptions<T>): MicroBatcher<T> {
  type Held = { items: T[]; sightings: number; timer: NodeJS.Timeout | null }
  const held = new Map<string, Held>()
  let count = 0

  function flush(gatewayId: string) {
    const h = held.get(gatewayId)
    if (!h) return
    held.delete(gatewayId)
    if (h.timer) clearTimeout(h.timer)
    count -= h.items.length
    options.flush(gatewayId, h.items)
  }
  function flushAll() {
    for (const gatewayId of [...held.keys()]) flush(gatewayId)
  }

  return {
    add(gatewayId, item, sightings) {
      let h = held.get(gatewayId)
      if (!h) {
        h = { items: [], sightings: 0, timer: null }
        held.set(gatewayId, h)
        if (options.windowMs > 0) {
          h.timer = setTimeout(() => flush(gatewayId), options.windowMs)
          h.timer.unref()
        }
      }
      h.items.push(item)
      h.sightings += sightings
      count++
      if (options.windowMs <= 0 || h.sightings >= options.maxSightings) flush(gatewayId)
      else if (count >= options.maxHeldMessages) flushAll()
    },
    flushAll,
    held: () => count,
    stop() {
      const items: T[] = []
      for (const h of held.values()) {
        if (h.timer) clearTimeout(h.timer)
        items.push(...h.items)
      }
      held.clear()
      count = 0
      return items
    },
  }
}
