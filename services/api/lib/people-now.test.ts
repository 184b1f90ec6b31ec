import { describe, expect, it, vi } from 'vitest'
import type { PeopleValue } from '../../shared/people/zone-estimate.ts'
import { createPeopleNow } from './people-now.ts'

type Estimate = { resolve: (m: Map<string, PeopleValue>) => void; reject: (e: unknown) => void }

const figures = (people: number) =>
  new Map<string, PeopleValue>([
    ['street-a', { people, low: 0, high: people + 1, calibrated: true }],
  ])

/** An estimator whose answers the test gives by hand, in the order they were asked. */
function manualEstimator() {
  const asked: { nowMs: number; answer: Estimate }[] = []
  const estimate = (nowMs: number) =>
    new Promise<Map<string, PeopleValue>>((resolve, reject) => {
      asked.push({ nowMs, answer: { resolve, reject } })
    })
  return { asked, estimate }
}

const flush = () => new Promise((r) => setImmediate(r))

describe('people present now beside the live feed', () => {
  it('waits for the first estimate only, then answers at once while a refresh reads', async () => {
    const { asked, estimate } = manualEstimator()
    const onChange = vi.fn()
    const now = createPeopleNow({ estimate, everyMs: 10_000, onChange, onError: vi.fn() })

    const got: { first?: ReadonlyMap<string, PeopleValue> } = {}
    void now.at(0).then((m) => (got.first = m))
    await flush()
    expect(got.first).toBeUndefined() // the first counts wait for the first figures
    asked[0]?.answer.resolve(figures(3))
    await flush()
    expect(got.first?.get('street-a')?.people).toBe(3)
    expect(onChange).not.toHaveBeenCalled()

    // Not due yet: no new read.
    expect((await now.at(9_999)).get('street-a')?.people).toBe(3)
    expect(asked).toHaveLength(1)

    // Due: a refresh starts, but the caller gets the last figures without waiting for it.
    expect((await now.at(10_000)).get('street-a')?.people).toBe(3)
    expect(asked).toHaveLength(2)
    expect(asked[1]?.nowMs).toBe(10_000)
    // While it reads, later ticks neither wait nor start another read.
    expect((await now.at(12_000)).get('street-a')?.people).toBe(3)
    expect(asked).toHaveLength(2)

    asked[1]?.answer.resolve(figures(5))
    await now.settled()
    expect(onChange).toHaveBeenCalledTimes(1) // new figures: push them
    expect((await now.at(12_001)).get('street-a')?.people).toBe(5)
  })

  it('does not ask for a push when a refresh brings the same figures', async () => {
    const { asked, estimate } = manualEstimator()
    const onChange = vi.fn()
    const now = createPeopleNow({ estimate, everyMs: 0, onChange, onError: vi.fn() })
    const first = now.at(0)
    asked[0]?.answer.resolve(figures(2))
    await first
    await now.at(1)
    asked[1]?.answer.resolve(figures(2))
    await now.settled()
    expect(asked).toHaveLength(2)
    expect(onChange).not.toHaveBeenCalled()
  })

  it('keeps the last figures when a refresh fails, and tries again at the next tick', async () => {
    const { asked, estimate } = manualEstimator()
    const onError = vi.fn()
    const now = createPeopleNow({ estimate, everyMs: 1_000, onChange: vi.fn(), onError })
    const first = now.at(0)
    asked[0]?.answer.resolve(figures(4))
    await first
    await now.at(1_000)
    asked[1]?.answer.reject(new Error('calibration store unavailable'))
    await now.settled()
    expect(onError).toHaveBeenCalledTimes(1)
    expect((await now.at(1_001)).get('street-a')?.people).toBe(4)
    // The failed read did not count as fresh figures: the next tick reads again.
    expect(asked).toHaveLength(3)
  })

  it('gives no figures (not a stall) when the first estimate fails', async () => {
    const { asked, estimate } = manualEstimator()
    const onError = vi.fn()
    const now = createPeopleNow({ estimate, everyMs: 10_000, onChange: vi.fn(), onError })
    const first = now.at(0)
    asked[0]?.answer.reject(new Error('down'))
    expect((await first).size).toBe(0)
    expect(onError).toHaveBeenCalledTimes(1)
  })

  it("waits ten times the last estimate's duration when that is longer than the interval", async () => {
    const { asked, estimate } = manualEstimator()
    let clockMs = 0
    const now = createPeopleNow({
      estimate,
      everyMs: 10_000,
      onChange: vi.fn(),
      onError: vi.fn(),
      clock: () => clockMs,
    })
    const first = now.at(0)
    clockMs = 4_000 // the estimate took 4 s
    asked[0]?.answer.resolve(figures(1))
    await first
    // Due by the interval (10 s), but not before 10 × 4 s after it began.
    await now.at(39_999)
    expect(asked).toHaveLength(1)
    await now.at(40_000)
    expect(asked).toHaveLength(2)
    // A fast estimate brings the interval back.
    clockMs = 4_100
    asked[1]?.answer.resolve(figures(1))
    await now.settled()
    await now.at(49_999)
    expect(asked).toHaveLength(2)
    await now.at(50_000)
    expect(asked).toHaveLength(3)
  })
})
