import { describe, expect, it } from 'vitest'
import type { AdapterFormat, AdapterResult } from './common.ts'
import { createRng, leaksMac, mutatePayload, mutateTopic } from './fuzz.ts'
import { expectedResult, loadGoldenCases, type GoldenCase } from './golden-cases.ts'

/**
 * The golden and fuzz tests every adapter gets (test support for the adapters' *.test.ts):
 * each golden payload decodes to its committed expected result, and random mutations of the
 * goldens never throw and never put an address into a detail.
 */
export function describeGoldenAndFuzz(
  format: AdapterFormat,
  decode: (c: GoldenCase, topic: string | undefined, bytes: Buffer) => AdapterResult,
  opts: { update: boolean; fuzzRounds?: number },
): void {
  const cases = loadGoldenCases(format)

  describe(`${format} golden files`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const actual = decode(c, c.topic, c.bytes)
      expect(JSON.parse(JSON.stringify(actual))).toEqual(expectedResult(c, actual, opts.update))
      expect(leaksMac(actual)).toBe(false)
    })
  })

  describe(`${format} fuzz`, () => {
    it('random mutations of the goldens never throw and never quote an address', () => {
      const rng = createRng(0x5eed + format.length)
      const rounds = opts.fuzzRounds ?? 3000
      const reasons = new Set<string>()
      for (let i = 0; i < rounds; i++) {
        const c = cases[i % cases.length] as GoldenCase
        const bytes = mutatePayload(c.bytes, rng)
        const topic = c.topic !== undefined && rng() < 0.2 ? mutateTopic(c.topic, rng) : c.topic
        let result: AdapterResult
        try {
          result = decode(c, topic, bytes)
        } catch (err) {
          throw new Error(`case ${c.name}, round ${i}: threw`, { cause: err })
        }
        if (!result.ok) reasons.add(result.reason)
        expect(leaksMac(result), `case ${c.name}, round ${i}`).toBe(false)
      }
      // The mutations reach the format's own reason, not only generic ones.
      expect([...reasons].some((r) => r.startsWith('bad_'))).toBe(true)
    })
  })
}
