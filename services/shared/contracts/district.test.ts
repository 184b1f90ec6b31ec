import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseDistrictFile } from './district.ts'

const TZ = 'Europe/Rome'

const mestre = readFileSync(
  new URL('../../../simulator/districts/mestre.json', import.meta.url),
  'utf8',
)

describe(parseDistrictFile.name, () => {
  it('accepts the demo district', () => {
    const r = parseDistrictFile(mestre, 'mestre.json', TZ)
    expect(r.ok && r.district.gateways.length).toBe(16)
  })

  it('names the source when the text is not JSON', () => {
    const r = parseDistrictFile('{"v": 1,', 'broken.json', TZ)
    expect(r.ok ? '' : r.problem).toMatch(/^district file broken\.json is not valid JSON: /)
  })

  it('lists each bad field on its own line', () => {
    const d = JSON.parse(mestre) as { gateways: { zoneId: string }[]; streetLengthM: number }
    d.gateways[0]!.zoneId = 'nowhere'
    d.streetLengthM = -1
    const r = parseDistrictFile(JSON.stringify(d), 'bad.json', TZ)
    const problem = r.ok ? '' : r.problem
    expect(problem.split('\n')[0]).toBe('district file bad.json is invalid:')
    expect(problem).toContain('  streetLengthM: ')
    expect(problem).toContain('  gateways.0.zoneId: unknown zone nowhere')
  })

  it("keeps the file's time zone, and gives a file without one the default it is handed", () => {
    const d = JSON.parse(mestre) as { timezone?: string }
    d.timezone = 'America/New_York'
    const named = parseDistrictFile(JSON.stringify(d), 'ny.json', TZ)
    expect(named.ok && named.district.timezone).toBe('America/New_York')
    delete d.timezone
    const unnamed = parseDistrictFile(JSON.stringify(d), 'plain.json', 'Asia/Kolkata')
    expect(unnamed.ok && unnamed.district.timezone).toBe('Asia/Kolkata')
  })

  it('refuses a time zone that is not an IANA name', () => {
    for (const timezone of ['Mars/Base', '+01:00', '']) {
      const d = { ...(JSON.parse(mestre) as object), timezone }
      const r = parseDistrictFile(JSON.stringify(d), 'bad.json', TZ)
      expect(r.ok ? '' : r.problem, timezone).toContain('  timezone: must be an IANA time zone')
    }
  })
})
