import { describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { createIngestMetrics } from '../ingest-metrics.ts'
import type { Work } from '../intake/work.ts'
import type { RegisteredGateway } from '../model.ts'
import { countOutcome } from './settle.ts'

const gateway: RegisteredGateway = {
  id: 'gw-1',
  zoneId: 'z',
  shopId: null,
  rssiFloor: -90,
  thresholds: { version: 1, minRssi: -67, minDwellS: 60 },
  calibration: { version: 1, factor: 1 },
  source: { format: 'native' },
  sourceKey: null,
}

const batch: Work = {
  kind: 'batch',
  total: 50,
  belowFloor: 2,
  denied: 0,
  digest: '1',
  work: {
    gateway,
    bootId: 'b',
    seq: 1,
    sentAtMs: 0,
    clockSkewMs: 0,
    receivedAtMs: 0,
    sightings: [],
    sightingsCount: 50,
    exempt: new Set(),
  },
  topic: 't',
  payload: Buffer.alloc(0),
  ack: () => undefined,
}

const value = async (metrics: ReturnType<typeof createIngestMetrics>) =>
  (await metrics.lateBatches.get()).values[0]?.value ?? 0

describe(countOutcome.name, () => {
  it('counts a batch committed late (out of order, past the gap), and only such a batch', async () => {
    const metrics = createIngestMetrics(new Registry())
    countOutcome(metrics, batch, {
      kind: 'batch',
      fresh: true,
      outcome: { staticSightings: 0, learned: 0, late: false },
    })
    expect(await value(metrics)).toBe(0)
    countOutcome(metrics, batch, {
      kind: 'batch',
      fresh: true,
      outcome: { staticSightings: 0, learned: 0, late: true },
    })
    expect(await value(metrics)).toBe(1)
    expect((await metrics.sightings.get()).values[0]?.value).toBe(100)
  })
})
