import type { Logger } from '../../shared/logger.ts'
import type { Alert } from '../../shared/contracts/alerts.ts'

/** The payload of a webhook call and of an MQTT alert message. */
export type AlertNotice = { change: 'raised' | 'cleared'; alert: Alert }

export type WebhookOptions = {
  url: string
  /** Attempts per notice (the first included). Default 6. */
  attempts?: number
  /** First retry after this; doubled each time, capped at maxDelayMs. Default 1 s. */
  baseDelayMs?: number
  maxDelayMs?: number
  timeoutMs?: number
  /** Notices waiting at most; beyond, the oldest is dropped (and logged). Default 200. */
  maxQueued?: number
  fetch?: typeof fetch
  sleep?: (ms: number) => Promise<void>
}

/**
 * Posts each notice to a webhook as JSON, one at a time in order, retried with exponential
 * backoff on a network error, a timeout or a non-2xx answer. `notify` only queues and returns at
 * once: a slow or failing webhook never blocks the evaluator, ingest or the API. A notice that
 * exhausts its attempts is logged and dropped (the alert stays in the database and the API).
 */
export function createWebhookNotifier(o: WebhookOptions, log: Logger) {
  const attempts = o.attempts ?? 6
  const base = o.baseDelayMs ?? 1000
  const max = o.maxDelayMs ?? 60_000
  const timeoutMs = o.timeoutMs ?? 5000
  const maxQueued = o.maxQueued ?? 200
  const doFetch = o.fetch ?? fetch
  const sleep =
    o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()))
  const queue: AlertNotice[] = []
  let draining: Promise<void> | null = null
  let stopped = false
  let delivered = 0
  let failed = 0

  async function deliver(n: AlertNotice): Promise<boolean> {
    for (let i = 0; i < attempts && !stopped; i++) {
      if (i > 0) await sleep(Math.min(max, base * 2 ** (i - 1)))
      try {
        const res = await doFetch(o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'miglio-alerts' },
          body: JSON.stringify(n),
          signal: AbortSignal.timeout(timeoutMs),
        })
        if (res.ok) return true
        log.warn({ status: res.status, attempt: i + 1 }, 'alert webhook answered an error')
      } catch (err) {
        log.warn({ err: String(err), attempt: i + 1 }, 'alert webhook unreachable')
      }
    }
    return false
  }

  async function drain() {
    for (let n = queue.shift(); n && !stopped; n = queue.shift()) {
      if (await deliver(n)) delivered++
      else {
        failed++
        log.error({ alert: n.alert.id }, 'alert webhook: gave up on a notice after its retries')
      }
    }
  }

  return {
    notify(n: AlertNotice) {
      if (stopped) return
      queue.push(n)
      if (queue.length > maxQueued) {
        const dropped = queue.shift()
        log.warn({ alert: dropped?.alert.id }, 'alert webhook queue full: oldest notice dropped')
      }
      draining ??= drain().finally(() => {
        draining = null
      })
    },
    stats: () => ({ delivered, failed, queued: queue.length }),
    /** Settles when the queue is empty (tests). */
    idle: async () => {
      while (draining) await draining
    },
    async stop() {
      stopped = true
      await draining
    },
  }
}
