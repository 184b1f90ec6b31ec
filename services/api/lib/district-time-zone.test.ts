import { describe, expect, it } from 'vitest'
import { createDistrictTimeZone } from './district-time-zone.ts'

describe(createDistrictTimeZone.name, () => {
  it("answers the district's zone, read once", async () => {
    let reads = 0
    const sut = createDistrictTimeZone(async () => {
      reads++
      return 'America/New_York'
    }, 'Asia/Kolkata')
    expect(await sut()).toBe('America/New_York')
    expect(await sut()).toBe('America/New_York')
    expect(reads).toBe(1)
  })

  it('answers the fallback while no district is loaded, and reads again until one is', async () => {
    let loaded: string | null = null
    const sut = createDistrictTimeZone(async () => loaded, 'Asia/Kolkata')
    expect(await sut()).toBe('Asia/Kolkata')
    loaded = 'America/New_York'
    expect(await sut()).toBe('America/New_York')
    loaded = 'Australia/Adelaide'
    expect(await sut()).toBe('America/New_York')
  })

  it('lets a failed read fail the request, and reads again at the next', async () => {
    let up = false
    const sut = createDistrictTimeZone(async () => {
      if (!up) throw new Error('database unavailable')
      return 'America/New_York'
    }, 'Asia/Kolkata')
    await expect(sut()).rejects.toThrow('database unavailable')
    up = true
    expect(await sut()).toBe('America/New_York')
  })
})
