import { describe, expect, it } from 'vitest'
import type { SightingsBatch } from '../../services/shared/contracts/gateway-messages.ts'
import { buildBenchDistrict, gatewayIdOf } from './district.ts'
import { ingestOffline, registryOf } from './offline-ingest.ts'

const GW = gatewayIdOf(0)
const T0 = Date.parse('2026-03-10T10:00:00Z')

/** Two stable devices heard every 10 s for 5 minutes, in batches of 30 s. */
function batches(): SightingsBatch[] {
  const out: SightingsBatch[] = []
  for (let k = 0; k < 10; k++) {
    const sightings = []
    for (let j = 0; j < 3; j++) {
      const t = T0 + k * 30_000 + j * 10_000
      for (const mac of ['00:11:22:33:44:55', '00:11:22:33:44:66'])
        sightings.push({ mac, rssi: -60, t: new Date(t).toISOString(), radio: 'wifi' as const })
    }
    out.push({
      v: 1,
      gatewayId: GW,
      bootId: 'b',
      seq: k,
      sentAt: new Date(T0 + (k + 1) * 30_000).toISOString(),
      sightings,
    } as SightingsBatch)
  }
  return out
}

describe(ingestOffline.name, () => {
  it("drops the devices of a district's deny list as ingest does, and counts them", async () => {
    const district = buildBenchDistrict({ zones: 1, shopEvery: 1, id: 'brno-lab' })
    const o = {
      gateways: registryOf(district),
      gapMs: 120_000,
      staticAfterMs: 0,
      timeZone: 'Europe/Rome',
    }
    const all = await ingestOffline(batches(), o)
    expect(all.rejectedBatches).toBe(0)
    expect(new Set(all.sessions.map((s) => s.pseudonym)).size).toBe(2)
    expect(all.denied).toBe(0)
    const listed = await ingestOffline(batches(), {
      ...o,
      // As loadDeviceList holds it: normalised (normaliseMac).
      deviceList: { deny: new Set(['001122334466']), allow: new Set() },
    })
    expect(new Set(listed.sessions.map((s) => s.pseudonym)).size).toBe(1)
    expect(listed.denied).toBe(30)
    expect(listed.sightings).toBe(60)
    // No raw MAC in what comes out.
    expect(JSON.stringify(listed)).not.toMatch(/00:11:22|001122/)
  })
})
