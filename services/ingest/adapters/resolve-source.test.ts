import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_TIME_ZONE,
  parseDistrictFile,
  type DistrictFile,
} from '../../shared/contracts/district.ts'
import { containsMac } from '../../shared/contracts/mac.ts'
import { createSourceResolver, resolveGatewayId } from './resolve-source.ts'

const mestre = JSON.parse(
  readFileSync(new URL('../../../simulator/districts/mestre.json', import.meta.url), 'utf8'),
) as { gateways: Array<Record<string, unknown>> }

/** The demo district with sources given to its first gateways (in order). */
function districtWith(
  ...sources: unknown[]
): { ok: true; district: DistrictFile } | { ok: false; problem: string } {
  const d = structuredClone(mestre)
  sources.forEach((source, i) => {
    d.gateways[i]!.source = source
  })
  return parseDistrictFile(JSON.stringify(d), 'test.json', DEFAULT_TIME_ZONE)
}

function valid(...sources: unknown[]): DistrictFile {
  const r = districtWith(...sources)
  if (!r.ok) throw new Error(r.problem)
  return r.district
}

const id = (i: number) => mestre.gateways[i]!.id as string

describe('gateway source in the district file', () => {
  it('defaults to native: the demo district parses unchanged', () => {
    const d = valid()
    expect(d.gateways.every((g) => g.source === undefined)).toBe(true)
  })

  it('fills the format defaults (OMG base topic, Paxcounter encoding)', () => {
    const d = valid(
      { format: 'omg', name: 'OpenMQTTGateway' },
      { format: 'paxcounter', deviceId: 'paxout' },
    )
    expect(d.gateways[0]!.source).toEqual({
      format: 'omg',
      name: 'OpenMQTTGateway',
      baseTopic: 'home',
    })
    expect(d.gateways[1]!.source).toEqual({
      format: 'paxcounter',
      deviceId: 'paxout',
      encoding: 'packed',
    })
  })

  it('refuses two gateways declaring the same source, naming both and not the address', () => {
    const r = districtWith(
      { format: 'meraki', networkId: 'L_1', apMac: 'a8:46:9d:27:56:63' },
      { format: 'meraki', networkId: 'L_1', apMac: 'A8-46-9D-27-56-63' },
    )
    const problem = r.ok ? '' : r.problem
    expect(problem).toContain(
      `gateways.1.source: gateway ${id(1)} declares the same meraki source as gateway ${id(0)}`,
    )
    expect(containsMac(problem)).toBe(false)
  })

  it.each([
    ['a wildcard in an OMG name', { format: 'omg', name: 'shop/+' }, 'gateways.0.source.name'],
    [
      'an AP address that is not a MAC',
      { format: 'meraki', networkId: 'L_1', apMac: 'ap-12' },
      'gateways.0.source.apMac',
    ],
    ['an unknown format', { format: 'lorawan', deviceId: 'x' }, 'gateways.0.source.format'],
    [
      'a sniffer on a native topic',
      { format: 'sniffer', topic: 'miglio/v1/gw/x/sightings' },
      'gateways.0.source.topic',
    ],
  ])('refuses %s', (_name, source, path) => {
    const r = districtWith(source)
    expect(r.ok ? '' : r.problem).toContain(`  ${path}: `)
  })

  it('refuses a sniffer topic inside another gateway’s topics (ambiguous)', () => {
    const r = districtWith(
      { format: 'paxcounter', deviceId: 'paxout' },
      { format: 'sniffer', topic: 'paxout/1' },
    )
    expect(r.ok ? '' : r.problem).toContain(
      `gateways.1.source.topic: gateway ${id(1)}: its sniffer topic is also a topic of gateway ${id(0)} (paxcounter)`,
    )
  })
})

describe(createSourceResolver.name, () => {
  const district = valid(
    { format: 'omg', name: 'OpenMQTTGateway' },
    { format: 'espresense', room: 'basement' },
    { format: 'sniffer', topic: 'sniffers/sc6-61/position_1' },
    { format: 'meraki', networkId: 'L_674976994152158449', apMac: 'A8:46:9D:27:56:63' },
    { format: 'paxcounter', deviceId: 'pax-shop-12', encoding: 'plain' },
  )
  const resolver = createSourceResolver(district)

  it.each([
    [{ format: 'omg', baseTopic: 'home', name: 'OpenMQTTGateway' }, 0],
    [{ format: 'espresense', room: 'basement' }, 1],
    [{ format: 'sniffer', topic: 'sniffers/sc6-61/position_1' }, 2],
    [{ format: 'meraki', networkId: 'L_674976994152158449', apMac: 'a8469d275663' }, 3],
    [{ format: 'paxcounter', deviceId: 'pax-shop-12' }, 4],
  ] as const)('maps %j to its gateway', (identity, i) => {
    expect(resolver.resolve(identity)).toBe(id(i))
    expect(resolveGatewayId(identity, district)).toBe(id(i))
  })

  it.each([
    [{ format: 'omg', baseTopic: 'office', name: 'OpenMQTTGateway' }],
    [{ format: 'omg', baseTopic: 'home', name: 'openmqttgateway' }],
    [{ format: 'espresense', room: 'kitchen' }],
    [{ format: 'meraki', networkId: 'L_674976994152158449', apMac: 'a8469d275664' }],
    [{ format: 'meraki', networkId: 'N_1', apMac: 'a8469d275663' }],
    [{ format: 'paxcounter', deviceId: 'paxout' }],
  ] as const)('returns null for an undeclared source %j', (identity) => {
    expect(resolver.resolve(identity)).toBeNull()
  })

  it('gives each gateway its declaration (native when absent), for format options', () => {
    expect(resolver.sourceOf(id(4))).toEqual({
      format: 'paxcounter',
      deviceId: 'pax-shop-12',
      encoding: 'plain',
    })
    expect(resolver.sourceOf(id(5))).toEqual({ format: 'native' })
    expect(resolver.sourceOf('no-such-gateway')).toBeNull()
  })
})
