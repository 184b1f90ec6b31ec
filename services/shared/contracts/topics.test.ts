import { describe, expect, it } from 'vitest'
import {
  buildSightingsTopic,
  buildStatusTopic,
  ingestSubscriptions,
  buildMerakiInternalTopic,
  merakiInternalSubscription,
  parseMerakiInternalTopic,
  parseGatewayTopic,
  TOPIC_PREFIX_PATTERN,
  withoutTopicPrefix,
  withTopicPrefix,
} from './topics.ts'

describe(buildSightingsTopic.name, () => {
  it('builds the versioned sightings topic of a gateway', () => {
    expect(buildSightingsTopic('gw-corte-legrenzi-1')).toBe(
      'miglio/v1/gw/gw-corte-legrenzi-1/sightings',
    )
  })
})

describe(buildStatusTopic.name, () => {
  it('builds the versioned status topic of a gateway', () => {
    expect(buildStatusTopic('gw-1')).toBe('miglio/v1/gw/gw-1/status')
  })
})

describe(parseGatewayTopic.name, () => {
  it.each(['gw-corte-legrenzi-1', 'a', '0', 'x'.repeat(64), 'gw--9-'])(
    'round-trips gateway id %s through build and parse',
    (gatewayId) => {
      expect(parseGatewayTopic(buildSightingsTopic(gatewayId))).toEqual({
        gatewayId,
        kind: 'sightings',
      })
      expect(parseGatewayTopic(buildStatusTopic(gatewayId))).toEqual({ gatewayId, kind: 'status' })
    },
  )

  it.each([
    ['upper case', 'GW-1'],
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['underscore', 'gw_1'],
    ['space', 'gw 1'],
    ['single-level wildcard', '+'],
    ['multi-level wildcard', '#'],
    ['dot', 'gw.1'],
  ])('rejects a gateway id with %s', (_case, gatewayId) => {
    expect(parseGatewayTopic(`miglio/v1/gw/${gatewayId}/sightings`)).toBeNull()
  })

  it.each([
    ['an extra trailing segment', 'miglio/v1/gw/gw-1/sightings/extra'],
    ['a trailing slash', 'miglio/v1/gw/gw-1/sightings/'],
    ['an extra middle segment', 'miglio/v1/gw/site/gw-1/sightings'],
    ['a missing kind', 'miglio/v1/gw/gw-1'],
    ['a leading slash', '/miglio/v1/gw/gw-1/sightings'],
    ['another protocol version', 'miglio/v2/gw/gw-1/sightings'],
    ['another root', 'other/v1/gw/gw-1/sightings'],
    ['an upper-case root', 'Miglio/v1/gw/gw-1/sightings'],
    ['an unknown kind', 'miglio/v1/gw/gw-1/config'],
    ['an upper-case kind', 'miglio/v1/gw/gw-1/Status'],
    ['a shared-subscription prefix', '$share/ingest/miglio/v1/gw/gw-1/sightings'],
    ['an OpenMQTTGateway topic', 'home/gw-1/BTtoMQTT/45E174126E00'],
    ['an empty string', ''],
  ])('rejects a topic with %s', (_case, topic) => {
    expect(parseGatewayTopic(topic)).toBeNull()
  })
})

describe(ingestSubscriptions.name, () => {
  it('subscribes to every gateway’s sightings and status without a share group', () => {
    expect(ingestSubscriptions()).toEqual(['miglio/v1/gw/+/sightings', 'miglio/v1/gw/+/status'])
  })

  it('prefixes every filter with $share/{group}/ when a share group is given', () => {
    expect(ingestSubscriptions('ingest')).toEqual([
      '$share/ingest/miglio/v1/gw/+/sightings',
      '$share/ingest/miglio/v1/gw/+/status',
    ])
  })

  it('treats an empty share group as none', () => {
    expect(ingestSubscriptions('')).toEqual(ingestSubscriptions())
  })

  it('subscribes to filters that match the topics it builds', () => {
    for (const filter of ingestSubscriptions()) {
      const pattern = new RegExp(`^${filter.replace('+', '[^/]+')}$`)
      const kind = filter.endsWith('/status') ? buildStatusTopic : buildSightingsTopic
      expect(kind('gw-corte-legrenzi-1')).toMatch(pattern)
    }
  })
})

describe(withTopicPrefix.name, () => {
  it('mounts a topic under a prefix and leaves it alone without one', () => {
    expect(withTopicPrefix('district-a', 'miglio/v1/gw/gw-1/status')).toBe(
      'district-a/miglio/v1/gw/gw-1/status',
    )
    expect(withTopicPrefix(undefined, 'miglio/v1/gw/gw-1/status')).toBe('miglio/v1/gw/gw-1/status')
  })

  it('round-trips through withoutTopicPrefix and rejects topics outside the prefix', () => {
    const t = withTopicPrefix('tenants/mestre', 'miglio/v1/gw/gw-1/sightings')
    expect(withoutTopicPrefix('tenants/mestre', t)).toBe('miglio/v1/gw/gw-1/sightings')
    expect(withoutTopicPrefix('tenants/other', t)).toBeNull()
    expect(withoutTopicPrefix('tenants/mes', t)).toBeNull()
  })

  it('prefixes ingest subscriptions inside the shared-subscription group', () => {
    expect(ingestSubscriptions('ingest', 'district-a')).toEqual([
      '$share/ingest/district-a/miglio/v1/gw/+/sightings',
      '$share/ingest/district-a/miglio/v1/gw/+/status',
    ])
  })

  it.each(['district-a', 'a/b', 'A_1'])('accepts %s as a prefix', (p) => {
    expect(TOPIC_PREFIX_PATTERN.test(p)).toBe(true)
  })

  it.each(['', '/a', 'a/', 'a//b', 'a+b', 'a/#', 'spa ce'])('rejects %j as a prefix', (p) => {
    expect(TOPIC_PREFIX_PATTERN.test(p)).toBe(false)
  })
})

describe('the internal Meraki topic', () => {
  it('round-trips a network id and refuses anything else', () => {
    const t = buildMerakiInternalTopic('L_674976994152158449')
    expect(t).toBe('miglio/v1/internal/meraki/L_674976994152158449')
    expect(parseMerakiInternalTopic(t)).toEqual({ networkId: 'L_674976994152158449' })
    expect(parseMerakiInternalTopic('miglio/v1/internal/meraki/a/b')).toBeNull()
    expect(parseMerakiInternalTopic('miglio/v1/internal/meraki/')).toBeNull()
    expect(parseMerakiInternalTopic('miglio/v1/internal/transits-changed')).toBeNull()
    expect(() => buildMerakiInternalTopic('L/1')).toThrow()
  })

  it('is subscribed under the prefix and the share group', () => {
    expect(merakiInternalSubscription()).toBe('miglio/v1/internal/meraki/+')
    expect(merakiInternalSubscription('ingest', 'district-a')).toBe(
      '$share/ingest/district-a/miglio/v1/internal/meraki/+',
    )
  })
})

describe(buildMerakiInternalTopic.name, () => {
  it('builds the internal topic of a Meraki network, and parses it back', () => {
    expect(buildMerakiInternalTopic('L_674976994152158449')).toBe(
      'miglio/v1/internal/meraki/L_674976994152158449',
    )
    for (const id of ['L_674976994152158449', 'N_24329156', 'a', 'x'.repeat(64), 'a-b_C'])
      expect(parseMerakiInternalTopic(buildMerakiInternalTopic(id))).toEqual({ networkId: id })
  })

  it.each([
    ['another root', 'miglio/v1/internal/transits-changed'],
    ['no network', 'miglio/v1/internal/meraki/'],
    ['an extra level', 'miglio/v1/internal/meraki/L_1/x'],
    ['a wildcard', 'miglio/v1/internal/meraki/+'],
    ['65 characters', `miglio/v1/internal/meraki/${'x'.repeat(65)}`],
    ['a dot', 'miglio/v1/internal/meraki/L.1'],
    ['a gateway topic', 'miglio/v1/gw/gw-1/sightings'],
  ])('refuses %s', (_case, topic) => {
    expect(parseMerakiInternalTopic(topic)).toBeNull()
  })
})
