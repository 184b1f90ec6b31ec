import { describe, expect, it } from 'vitest'
import { DEFAULT_MICRO_BATCH, withDefaults, type IngestConfig } from './ingest-config.ts'

const base: IngestConfig = { tz: 'Europe/Rome', gapMs: 120_000, idleCloseMs: 60_000, keyGraceMs: 0 }

describe(withDefaults.name, () => {
  it('fills in what the config leaves out', () => {
    expect(withDefaults(base)).toEqual({
      ...base,
      staticAfterMs: 4 * 3_600_000,
      registryRefreshMs: 30_000,
      maintenanceIntervalMs: 5_000,
      microBatch: DEFAULT_MICRO_BATCH,
      flood: { messagesPerS: 0, sightingsPerS: 0 },
      commitLanes: 4,
      checkpointMs: 10_000,
    })
  })

  it('keeps a 0 (static rule off, a checkpoint with every commit) and merges a partial micro-batch', () => {
    const s = withDefaults({
      ...base,
      staticAfterMs: 0,
      checkpointMs: 0,
      microBatch: { windowMs: 0 },
    })
    expect(s.staticAfterMs).toBe(0)
    expect(s.checkpointMs).toBe(0)
    expect(s.microBatch).toEqual({ ...DEFAULT_MICRO_BATCH, windowMs: 0 })
  })
})
