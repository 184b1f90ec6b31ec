import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import type { AdapterFormat, AdapterResult } from './common.ts'

/**
 * Golden files (golden/<format>/cases.json, README.md there names each file's source): the wire
 * bytes a firmware publishes and the adapter's expected result next to them
 * (`<name>.expected.json`). Test support: read by the adapters' *.test.ts.
 */
const CaseSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/),
  topic: z.string().optional(),
  request: z.object({ method: z.string(), contentType: z.string().optional() }).optional(),
  payload: z.string(),
  /** Arrival time; the default suits formats without timestamps. */
  now: z.iso.datetime().default('2026-11-21T10:15:05.000Z'),
  options: z.record(z.string(), z.string()).optional(),
})
export type GoldenCase = z.infer<typeof CaseSchema> & {
  bytes: Buffer
  nowMs: number
  expectedPath: string
}

export function goldenDir(format: AdapterFormat): URL {
  return new URL(`./golden/${format}/`, import.meta.url)
}

export function loadGoldenCases(format: AdapterFormat): GoldenCase[] {
  const dir = goldenDir(format)
  const cases = z
    .array(CaseSchema)
    .parse(JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')))
  return cases.map((c) => ({
    ...c,
    bytes: readFileSync(new URL(c.payload, dir)),
    nowMs: Date.parse(c.now),
    expectedPath: new URL(`${c.name}.expected.json`, dir).pathname,
  }))
}

/**
 * The expected result as committed. With `update` (UPDATE_GOLDEN=1) the actual result is written
 * first — review the diff before committing it.
 */
export function expectedResult(c: GoldenCase, actual: AdapterResult, update: boolean): unknown {
  if (update) writeFileSync(c.expectedPath, `${JSON.stringify(actual, null, 2)}\n`)
  if (!existsSync(c.expectedPath))
    throw new Error(`${c.expectedPath} is missing: run with UPDATE_GOLDEN=1 and review it`)
  return JSON.parse(readFileSync(c.expectedPath, 'utf8'))
}
