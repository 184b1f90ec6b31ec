import { describe, expect, it } from 'vitest'
import { createRng, deriveSeed } from './rng.ts'

const draw = (seed: number, n = 50) => {
  const sut = createRng(seed)
  return Array.from({ length: n }, () => sut.next())
}

describe(createRng.name, () => {
  it('repeats the same sequence for the same seed', () => {
    expect(draw(7)).toEqual(draw(7))
  })

  it('gives a different sequence for a different seed', () => {
    expect(draw(7)).not.toEqual(draw(8))
  })

  it('stays in [0, 1) and covers it evenly', () => {
    const values = draw(3, 20_000)
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    expect(mean).toBeCloseTo(0.5, 1)
  })

  it('draws normals with the asked mean and standard deviation', () => {
    const sut = createRng(11)
    const values = Array.from({ length: 20_000 }, () => sut.normal(1.3, 0.2))
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
    expect(mean).toBeCloseTo(1.3, 2)
    expect(sd).toBeCloseTo(0.2, 2)
  })

  it('draws exponentials with mean 1 / rate', () => {
    const sut = createRng(12)
    const values = Array.from({ length: 20_000 }, () => sut.exponential(4))
    const mean = values.reduce((a, b) => a + b, 0) / values.length
    expect(mean).toBeGreaterThan(0.24)
    expect(mean).toBeLessThan(0.26)
  })

  it('picks, draws integers and hex within bounds', () => {
    const sut = createRng(13)
    for (let i = 0; i < 1000; i++) {
      expect(['a', 'b', 'c']).toContain(sut.pick(['a', 'b', 'c']))
      const n = sut.int(2, 5)
      expect(n).toBeGreaterThanOrEqual(2)
      expect(n).toBeLessThanOrEqual(5)
    }
    expect(sut.hex(8)).toMatch(/^[0-9a-f]{8}$/)
    expect(() => sut.pick([])).toThrow()
  })

  it('forks independent streams without advancing the parent', () => {
    const a = createRng(5)
    const b = createRng(5)
    const fork = a.fork('device')
    expect(a.next()).toBe(b.next())
    expect(fork.next()).toBe(createRng(5).fork('device').next())
    expect(createRng(5).fork('x').next()).not.toBe(createRng(5).fork('y').next())
  })
})

describe(deriveSeed.name, () => {
  it('is stable and label-sensitive', () => {
    expect(deriveSeed(1, 'a')).toBe(deriveSeed(1, 'a'))
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(1, 'b'))
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(2, 'a'))
  })
})
