import { describe, expect, it } from 'vitest'
import { parseDistrictFile, type DistrictFile } from '../../services/shared/contracts/district.ts'
import { readFileSync } from 'node:fs'
import { createSimulation } from '../simulation.ts'
import {
  districtWithFormat,
  formatStream,
  SIMULATE_FORMATS,
  SIMULATED_MERAKI_NETWORK,
  sourceForFormat,
} from './stream.ts'

function mestre(): DistrictFile {
  const text = readFileSync(new URL('../districts/mestre.json', import.meta.url), 'utf8')
  const parsed = parseDistrictFile(text, 'mestre.json', 'Europe/Rome')
  if (!parsed.ok) throw new Error(parsed.problem)
  return parsed.district
}

const FROM = Date.parse('2026-11-21T10:00:00Z')

function wire(format: (typeof SIMULATE_FORMATS)[number]) {
  const district = districtWithFormat(mestre(), format)
  const simulate = () =>
    createSimulation({
      district,
      seed: 7,
      fromMs: FROM,
      toMs: FROM + 15 * 60_000,
      scenario: 'realistic',
      collectTruth: false,
    })
  const sim = simulate()
  const sources = new Map(district.gateways.flatMap((g) => (g.source ? [[g.id, g.source]] : [])))
  const native = [...simulate()]
  const messages = [...formatStream(sim, sources, { timeZone: 'Europe/Rome', lagMs: 5_000 })]
  return { district, native, messages }
}

describe('the simulator on the wire in each format', () => {
  it('gives every gateway a valid source of the format, and none for native', () => {
    for (const format of SIMULATE_FORMATS) {
      const d = districtWithFormat(mestre(), format)
      const again = parseDistrictFile(JSON.stringify(d), 'x', 'Europe/Rome')
      expect(again.ok, format).toBe(true)
      for (const g of d.gateways)
        expect(g.source?.format, `${format} ${g.id}`).toBe(format === 'native' ? undefined : format)
    }
    const meraki = sourceForFormat('gw-1', 'meraki')
    expect(meraki).toMatchObject({ networkId: SIMULATED_MERAKI_NETWORK })
    // A locally administered address: never a real vendor's.
    expect(meraki?.format === 'meraki' && meraki.apMac.startsWith('02:')).toBe(true)
  })

  it('keeps the stream in time order, one-message-per-device formats at each sighting’s time', () => {
    for (const format of ['omg', 'espresense'] as const) {
      const { native, messages } = wire(format)
      const times = messages.map((m) => m.simTimeMs)
      expect(times).toEqual([...times].sort((a, b) => a - b))
      const ble = native
        .filter((m) => m.kind === 'sightings')
        .flatMap((m) => (JSON.parse(m.payload) as { sightings: { radio: string }[] }).sightings)
        .filter((s) => s.radio === 'ble').length
      expect(ble).toBeGreaterThan(0)
      expect(messages.filter((m) => m.kind === 'sightings')).toHaveLength(ble)
    }
  })

  it('publishes Meraki posts on the internal topic, and native as it is', () => {
    const meraki = wire('meraki').messages.filter((m) => m.kind === 'sightings')
    expect(meraki.length).toBeGreaterThan(0)
    for (const m of meraki)
      expect(m.topic).toBe(`miglio/v1/internal/meraki/${SIMULATED_MERAKI_NETWORK}`)
    const native = wire('native')
    expect(native.messages).toEqual(native.native)
  })
})
