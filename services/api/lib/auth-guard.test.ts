import { describe, expect, it } from 'vitest'
import type { ApiPrincipal } from '../../shared/registry/api-key-repository.ts'
import { AuthGuard } from './auth-guard.ts'

const GOOD = 'mgl_good-key-0000000000'
const principal: ApiPrincipal = { keyId: 'k1', role: 'analyst', shopId: null, label: 'x' }

function setup(trustedForMs?: number) {
  let now = 0
  const looked: string[] = []
  let failures = 0
  let limited = 0
  const guard = new AuthGuard({
    capacity: 2,
    refillPerSecond: 0.5,
    lookup: async (key) => {
      looked.push(key)
      return key === GOOD ? principal : null
    },
    onFailure: () => failures++,
    onLimited: () => limited++,
    now: () => now,
    ...(trustedForMs ? { trustedForMs } : {}),
  })
  return {
    guard,
    looked,
    stats: () => ({ failures, limited }),
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe(AuthGuard.name, () => {
  it('refuses an address without a lookup once it spent its failures, until it earns one back', async () => {
    const { guard, looked, stats, advance } = setup()
    expect(await guard.authenticate('a', 'bad-1')).toEqual({ ok: false, reason: 'unknown' })
    guard.fail('a') // a malformed credential
    expect(await guard.authenticate('a', 'bad-2')).toEqual({
      ok: false,
      reason: 'limited',
      retryAfterS: 2,
    })
    expect(looked).toEqual(['bad-1'])
    // Another address is unaffected.
    expect((await guard.authenticate('b', 'bad-3')).ok).toBe(false)
    expect(looked).toEqual(['bad-1', 'bad-3'])
    advance(2000)
    expect(guard.blocked('a')).toBeNull()
    expect(stats()).toEqual({ failures: 3, limited: 1 })
  })

  it('still looks up, from a blocked address, a key that authenticated recently', async () => {
    const { guard, looked, advance } = setup(60_000)
    expect(await guard.authenticate('a', GOOD)).toEqual({ ok: true, principal })
    guard.fail('a')
    guard.fail('a')
    expect((await guard.authenticate('a', GOOD)).ok).toBe(true)
    expect(await guard.authenticate('a', 'bad')).toMatchObject({ reason: 'limited' })
    expect(looked).toEqual([GOOD, GOOD])
    // Trust expires.
    advance(61_000)
    guard.fail('a')
    guard.fail('a')
    expect(await guard.authenticate('a', GOOD)).toMatchObject({ reason: 'limited' })
  })

  it('stops trusting a key once its lookup fails (revoked)', async () => {
    let valid = true
    let lookups = 0
    const guard = new AuthGuard({
      capacity: 1,
      refillPerSecond: 0.001,
      lookup: async () => {
        lookups++
        return valid ? principal : null
      },
    })
    expect((await guard.authenticate('a', GOOD)).ok).toBe(true)
    valid = false
    expect(await guard.authenticate('a', GOOD)).toEqual({ ok: false, reason: 'unknown' })
    expect(await guard.authenticate('a', GOOD)).toMatchObject({ reason: 'limited' })
    expect(lookups).toBe(2)
  })
})
