import { describe, expect, it } from 'vitest'
import { createLogSampler } from './log-sampler.ts'

function setup() {
  let t = 0
  const lines: [Record<string, unknown>, string][] = []
  const sut = createLogSampler(
    {
      warn: ((fields: Record<string, unknown>, message: string) =>
        lines.push([fields, message])) as never,
    },
    { intervalMs: 10_000, now: () => t },
  )
  return { sut, lines, advance: (ms: number) => (t += ms) }
}

describe(createLogSampler.name, () => {
  it('logs one line per key and interval, and says how many it held back', () => {
    const { sut, lines, advance } = setup()
    for (let i = 0; i < 5003; i++) sut.warn('schema', { reason: 'schema' }, 'message rejected')
    sut.warn('bad_mac', { reason: 'bad_mac' }, 'message rejected')
    expect(lines).toHaveLength(2)
    advance(10_000)
    sut.warn('schema', { reason: 'schema' }, 'message rejected')
    expect(lines).toHaveLength(3)
    expect(lines[2]).toEqual([{ reason: 'schema', heldBack: 5002 }, 'message rejected'])
  })

  it('reports held-back lines on flush once the interval has passed, even when the flood stopped', () => {
    const { sut, lines, advance } = setup()
    sut.warn('schema', {}, 'message rejected')
    sut.warn('schema', {}, 'message rejected')
    sut.flush()
    expect(lines).toHaveLength(1)
    advance(10_000)
    sut.flush()
    expect(lines[1]).toEqual([
      { key: 'schema', heldBack: 1 },
      'message rejected (more of the same)',
    ])
    sut.flush()
    expect(lines).toHaveLength(2)
    sut.warn('schema', {}, 'message rejected')
    expect(lines).toHaveLength(3)
  })
})
