import { describe, expect, it } from 'vitest'
import { createLogger } from '../../shared/logger.ts'
import { createWebhookNotifier, type AlertNotice } from './alert-notifier.ts'
import { alertFixture } from '../api-test-helpers.ts'

const log = createLogger({ level: 'silent' })
const notice = (id: string): AlertNotice => ({ change: 'raised', alert: alertFixture(id) })

describe('the alert webhook', () => {
  it('retries with exponential backoff until the webhook answers 2xx, in order', async () => {
    const calls: string[] = []
    const sleeps: number[] = []
    let failures = 2
    const sut = createWebhookNotifier(
      {
        url: 'http://hook.invalid/alerts',
        fetch: (async (_url: string, init: RequestInit) => {
          calls.push((JSON.parse(String(init.body)) as AlertNotice).alert.id)
          if (failures-- > 0) return new Response('busy', { status: 503 })
          return new Response(null, { status: 204 })
        }) as typeof fetch,
        sleep: async (ms) => {
          sleeps.push(ms)
        },
      },
      log,
    )
    sut.notify(notice('1'))
    sut.notify(notice('2'))
    await sut.idle()
    expect(calls).toEqual(['1', '1', '1', '2'])
    expect(sleeps).toEqual([1000, 2000])
    expect(sut.stats()).toEqual({ delivered: 2, failed: 0, queued: 0 })
  })

  it('never blocks the caller, and gives a notice up after its attempts', async () => {
    let release = () => {}
    const gate = new Promise<void>((r) => (release = r))
    let calls = 0
    const sut = createWebhookNotifier(
      {
        url: 'http://hook.invalid/alerts',
        attempts: 3,
        fetch: (async () => {
          calls++
          await gate
          throw new Error('connection refused')
        }) as typeof fetch,
        sleep: async () => {},
      },
      log,
    )
    // Returns at once (nothing to await) while the first attempt is still hanging on the gate.
    expect(sut.notify(notice('1'))).toBeUndefined()
    await Promise.resolve()
    expect(sut.stats()).toMatchObject({ delivered: 0, failed: 0 })
    release()
    await sut.idle()
    expect(calls).toBe(3)
    expect(sut.stats()).toMatchObject({ delivered: 0, failed: 1 })
  })
})
