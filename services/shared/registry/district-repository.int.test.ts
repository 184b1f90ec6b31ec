import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../testing/engines.ts'
import { tinyDistrict } from '../testing/fixtures.ts'
import { MAC_PATTERN } from '../testing/helpers.ts'
import type { DistrictFile, GatewaySource } from '../contracts/district.ts'
import { loadDistrict } from './district-repository.ts'
import { apMacDigest } from './gateway-source-key.ts'

// The district loader stores each gateway's format, source and source key (gateway formats, #14).
let t: TestDatabase

beforeAll(async () => {
  t = await createTestDatabase()
})

afterAll(async () => {
  await t?.close()
})

function withSources(
  sources: Record<string, GatewaySource | undefined>,
  id = 'test-district',
): DistrictFile {
  const d = tinyDistrict()
  const template = d.gateways[0]
  if (!template) throw new Error('no gateway in the fixture')
  return {
    ...d,
    id,
    gateways: Object.entries(sources).map(([gid, source]) => ({
      ...template,
      id: gid,
      ...(source ? { source } : {}),
    })),
  }
}

const rows = () =>
  t.db
    .selectFrom('gateways')
    .select(['id', 'active', 'format', 'source', 'source_key'])
    .orderBy('id')
    .execute()

describe('the district loader and gateway sources', () => {
  it('stores format, source and key, a Meraki AP as a digest and never as an address', async () => {
    await loadDistrict(
      t.db,
      withSources({
        'gw-native': undefined,
        'gw-omg': { format: 'omg', name: 'OpenMQTTGateway', baseTopic: 'home' },
        'gw-meraki': { format: 'meraki', networkId: 'L_1', apMac: 'A8:46:9D:27:56:63' },
        'gw-pax': { format: 'paxcounter', deviceId: 'pax-1', encoding: 'plain' },
      }),
    )
    const r = await rows()
    const of = (id: string) => r.find((x) => x.id === id)
    expect(of('gw-native')).toMatchObject({ format: 'native', source_key: null })
    expect(of('gw-omg')).toMatchObject({
      format: 'omg',
      source: { format: 'omg', name: 'OpenMQTTGateway', baseTopic: 'home' },
      source_key: 'omg:home/OpenMQTTGateway',
    })
    const digest = apMacDigest('a8469d275663')
    expect(digest).toMatch(/^[0-9a-f]{16}$/)
    expect(apMacDigest('A8-46-9D-27-56-63')).toBe(digest)
    expect(of('gw-meraki')).toMatchObject({
      format: 'meraki',
      source: { format: 'meraki', networkId: 'L_1', apMacDigest: digest },
      source_key: `meraki:L_1/${digest}`,
    })
    expect(of('gw-pax')?.source).toMatchObject({ encoding: 'plain' })
    expect(JSON.stringify(r)).not.toMatch(MAC_PATTERN)
  })

  it('lets a source move to a new gateway id of the same district in one load', async () => {
    await loadDistrict(
      t.db,
      withSources({
        'gw-native': undefined,
        'gw-omg-2': { format: 'omg', name: 'OpenMQTTGateway', baseTopic: 'home' },
      }),
    )
    const r = await rows()
    expect(r.find((x) => x.id === 'gw-omg')?.active).toBe(false)
    expect(r.find((x) => x.id === 'gw-omg-2')).toMatchObject({
      active: true,
      source_key: 'omg:home/OpenMQTTGateway',
    })
  })

  it('refuses a source an active gateway of another district declares, naming no address', async () => {
    const other = withSources(
      { 'gw-else': { format: 'meraki', networkId: 'L_9', apMac: 'a8:46:9d:27:56:99' } },
      'other-district',
    )
    await loadDistrict(t.db, other)
    const clash = withSources({
      'gw-native': undefined,
      'gw-clash': { format: 'meraki', networkId: 'L_9', apMac: 'A8469D275699' },
    })
    const err = await loadDistrict(t.db, clash).then(
      () => new Error('loaded'),
      (e: unknown) => e as Error,
    )
    expect(err.message).toMatch(/gateway gw-clash declares the meraki source of an active gateway/)
    expect(err.message).not.toMatch(MAC_PATTERN)
    expect(err.message).not.toContain('699')
  })
})

describe('loading a district while TimescaleDB runs the old daily aggregate’s policy', () => {
  it('tries the load again after "tuple concurrently deleted", and loads it', async () => {
    // The race itself depends on the scheduler's timing; this plugin plays it: the first call of
    // miglio_ensure_daily_aggregate fails the way PostgreSQL fails then (XX000).
    const fresh = await createTestDatabase()
    try {
      let calls = 0
      const racing = fresh.db.withPlugin({
        transformQuery(args) {
          if (JSON.stringify(args.node).includes('miglio_ensure_daily_aggregate') && ++calls === 1)
            throw Object.assign(new Error('tuple concurrently deleted'), { code: 'XX000' })
          return args.node
        },
        transformResult: async (args) => args.result,
      })
      const report = await loadDistrict(racing, tinyDistrict())
      expect(calls).toBe(2)
      expect(report.gateways).toBeGreaterThan(0)
      const districts = await fresh.db.selectFrom('districts').select('id').execute()
      expect(districts.map((r) => r.id)).toEqual([tinyDistrict().id])
    } finally {
      await fresh.close()
    }
  })
})
