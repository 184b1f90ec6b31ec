import { describe, expect, it } from 'vitest'
import { TokenBuckets } from './token-bucket.ts'

describe(TokenBuckets.name, () => {
  it('allows a burst, then refuses with the seconds until a token, per key', () => {
    let now = 0
    const sut = new TokenBuckets({ capacity: 2, refillPerSecond: 0.5, now: () => now })
    expect(sut.take('a')).toEqual({ ok: true })
    expect(sut.take('a')).toEqual({ ok: true })
    expect(sut.take('a')).toEqual({ ok: false, retryAfterS: 2 })
    expect(sut.take('b')).toEqual({ ok: true })
    now = 2000
    expect(sut.take('a')).toEqual({ ok: true })
    expect(sut.take('a').ok).toBe(false)
  })

  it('peeks without taking', () => {
    let now = 0
    const sut = new TokenBuckets({ capacity: 1, refillPerSecond: 0.25, now: () => now })
    expect(sut.peek('a')).toEqual({ ok: true })
    expect(sut.peek('a')).toEqual({ ok: true })
    expect(sut.take('a')).toEqual({ ok: true })
    expect(sut.peek('a')).toEqual({ ok: false, retryAfterS: 4 })
    now = 3000
    expect(sut.peek('a')).toEqual({ ok: false, retryAfterS: 1 })
    now = 4000
    expect(sut.peek('a')).toEqual({ ok: true })
    expect(sut.take('a')).toEqual({ ok: true })
  })
})
