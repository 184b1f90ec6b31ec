import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseDistrictFile } from './district.ts'

const mestre = readFileSync(
  new URL('../../../simulator/districts/mestre.json', import.meta.url),
  'utf8',
)

describe(parseDistrictFile.name, () => {
  it('accepts the demo district', () => {
    const r = parseDistrictFile(mestre, 'mestre.json')
    expect(r.ok && r.district.gateways.length).toBe(16)
  })

  it('names the source when the text is not JSON', () => {
    const r = parseDistrictFile('{"v": 1,', 'broken.json')
    expect(r.ok ? '' : r.problem).toMatch(/^district file broken\.json is not valid JSON: /)
  })

  it('lists each bad field on its own line', () => {
    const d = JSON.parse(mestre) as { gateways: { zoneId: string }[]; streetLengthM: number }
    d.gateways[0]!.zoneId = 'nowhere'
    d.streetLengthM = -1
    const r = parseDistrictFile(JSON.stringify(d), 'bad.json')
    const problem = r.ok ? '' : r.problem
    expect(problem.split('\n')[0]).toBe('district file bad.json is invalid:')
    expect(problem).toContain('  streetLengthM: ')
    expect(problem).toContain('  gateways.0.zoneId: unknown zone nowhere')
  })
})
